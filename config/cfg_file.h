#ifndef ZOOINIT_CFG_FILE_H
#define ZOOINIT_CFG_FILE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

/* Internal to config/: what cfg.c (the flat keys, the layers) shares with
 * svc.c (the "service" group) while a file is read, so both read values
 * and word messages the same way. Not for the rest of zooinit. */

struct cfg;

/* Room for a quoted hostile value in a message; str_quote() truncates. */
#define CFG_QUOTE_MAX 96

/* The file being read. Every pointer is borrowed for the load. */
struct cfg_file {
	const char *path;	/* as given */
	const char *dir;	/* its directory, the include dir */
	const char *text;	/* the main file's contents */
	const config_setting_t *root;
};

/* Returns "FILE:LINE" of s, FILE as the user would open it (an included
 * file relative to the main one's directory); a new string. */
char *cfg_file_where(const struct cfg_file *fx, const config_setting_t *s);

/* Reads the integer setting s as the user wrote it. libconfig 1.5 keeps
 * only the low 32 bits of a big decimal literal, so the literal is read
 * again from the file's text; one beyond 64 bits reads as LLONG_MAX (or
 * LLONG_MIN), which any range check rejects. Returns 0 with *v set and
 * the literal as written in found (for "found 4294967301"); -1 when s is
 * not an integer at all, with found describing what it is. */
int cfg_file_int(const struct cfg_file *fx, const config_setting_t *s,
    long long *v, char *found, size_t foundlen);

/* Describes a setting of the wrong type for "found ...": "5", "the
 * string \"x\"", "a list". */
void cfg_describe(const config_setting_t *s, char *out, size_t outlen);

/* Writes s into out in double quotes with anything unprintable escaped;
 * returns out. */
char *cfg_quote(const char *s, char *out, size_t outlen);

/* Non-empty printable UTF-8 (no control characters, no overlong or
 * surrogate forms): the rule for paths and program names. */
bool cfg_valid_path(const char *s);
/* The same rule, the empty string allowed (a hook's argument). */
bool cfg_valid_text(const char *s);
/* Well-formed UTF-8, control characters allowed (a password). */
bool cfg_valid_utf8(const char *s);
/* 1 to 128 printable ASCII characters without spaces (a cluster token). */
bool cfg_valid_token(const char *s);

/* ---- svc.c ------------------------------------------------------------ */

/* A service's name (the group's, and each entry of "services"): an
 * RFC 1035 label of at most SVC_NAME_MAX bytes. */
bool svc_name_valid(const char *s);
#define SVC_NAME_EXPECT "a service name (a letter, then letters, digits " \
	"and hyphens, at most 63 bytes, not ending in a hyphen)"

/* Reads the file's top-level "service" setting into c->svcs and
 * c->n_svcs (replacing nothing: c has none yet). Returns 0, or -1 with
 * one sentence in err ("FILE:LINE: service.zk.size: ..."); c's services
 * are then unchanged. */
int svc_load_file(struct cfg *c, const struct cfg_file *fx,
    const config_setting_t *group, char *err, size_t errlen);

/* Where each key that svc_check() relates came from ("FILE:LINE",
 * "environment ZOOINIT_SERVICES", "--services"), NULL when it kept its
 * default. Borrowed. */
struct svc_srcs {
	const char *services;
	const char *data_dir;
	const char *seed_data_dir;
};

/* The checks that need every layer: each of c->services names a group
 * of c->svcs, once; no service shares etcd's or the seed's data_dir.
 * Returns 0, or -1 with one sentence in err. */
int svc_check(const struct cfg *c, const struct svc_srcs *src, char *err,
    size_t errlen);

#endif
