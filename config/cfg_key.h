#ifndef ZOOINIT_CFG_KEY_H
#define ZOOINIT_CFG_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "config/cfg.h"

/* Internal to config/: the table of flat keys and the load in progress,
 * shared by the files that make up cfg_load():
 *   cfg.c        the table, setting a key from text, defaults, the file
 *   cfg_flags.c  the environment and the command line
 *   cfg_check.c  the checks between keys, once every layer is in
 *   cfg_usage.c  the flag list of "zooinit help"
 * Not for the rest of zooinit. */

enum ktype {
	KT_STR,		/* one string, checked by valid() */
	KT_INT,		/* an int from min to max */
	KT_ENUM,	/* one of choices[]; stored as the index */
	KT_LIST		/* up to max strings, each checked by valid() */
};

struct key {
	const char *name;	/* file key; env and flag derive from it */
	enum ktype type;
	size_t off;		/* the field in struct cfg */
	size_t count_off;	/* KT_LIST: its size_t count */
	int min, max;		/* KT_INT range; KT_LIST most entries */
	const char *const *choices; /* KT_ENUM, NULL-terminated */
	bool (*valid)(const char *s);
	const char *expect;	/* what valid() accepts, for messages */
	bool strip_dot;		/* drop a trailing dot before storing */
	bool flags;		/* KT_LIST of command-line flags: a value may
				   begin with "--", and the environment's
				   list splits only at a comma before "--" */
	const char *def;	/* default as it would be typed, or NULL */
	const char *meta;	/* the flag's value in cfg_usage() */
	const char *help;
};

/* Every flat key, once: cfg_keys[0 .. CFG_NKEYS-1] (cfg.c checks the
 * count at compile time). */
#define CFG_NKEYS 55
extern const struct key *const cfg_keys;

/* The output under construction: it reaches the caller only when every
 * layer and every cross-key check has passed. */
struct load {
	struct cfg c;
	char *src[CFG_NKEYS];	/* where each key was set: for conflicts */
	char *err;
	size_t errlen;
};

/* The command line, split before anything else is read: -f decides
 * which file to read, but flags apply only after the environment. */
struct flags {
	size_t *key;		/* table index of each --key, argv order */
	const char **val;	/* its value; borrowed from argv */
	size_t n;
	const char *file;	/* -f / --config; borrowed */
	bool json, help;
	const char **args;	/* positional arguments; borrowed */
	size_t n_args;
};

/* ---- cfg.c: keys and values ------------------------------------------ */

/* The key of that file name, or NULL; borrowed from the table. */
const struct key *cfg_key_by_name(const char *name);
size_t cfg_key_index(const struct key *k);

/* Writes the message into ld's error buffer; returns -1. */
int cfg_ld_fail(struct load *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets k from the text s (a default, an environment value or a flag's
 * value); a KT_LIST entry is appended. where names the source for the
 * message. Returns 0 or -1. */
int cfg_ld_set_text(struct load *ld, const struct key *k, const char *s,
    const char *where);
/* Records where k was set; takes src (a new string). */
void cfg_ld_set_src(struct load *ld, const struct key *k, char *src);
/* Fails when a list of n entries is too long for k. */
int cfg_ld_check_count(struct load *ld, const struct key *k, size_t n,
    const char *where);
/* Empties the KT_LIST field of k in c. */
void cfg_list_clear(struct cfg *c, const struct key *k);

/* ---- cfg_flags.c: environment and command line ----------------------- */

/* The key's environment variable ("ZOOINIT_DATA_DIR") and flag
 * ("--data-dir"), written into out. */
void cfg_key_env_name(const struct key *k, char *out, size_t outlen);
void cfg_key_flag_name(const struct key *k, char *out, size_t outlen);

/* The first non-empty value of name in envp, or NULL; borrowed. */
const char *cfg_env_get(char **envp, const char *name);
/* Splits argv into f (values borrowed from argv); -1 on a bad flag. */
int cfg_flags_parse(struct load *ld, struct flags *f, int argc, char **argv);
void cfg_flags_free(struct flags *f);
/* The environment layer, then the flag layer. */
int cfg_ld_env(struct load *ld, char **envp);
int cfg_ld_flags(struct load *ld, const struct flags *f);

/* ---- cfg_check.c ------------------------------------------------------ */

/* The checks between keys, the services' among them. */
int cfg_ld_check(struct load *ld);

#endif
