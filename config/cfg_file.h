#ifndef ZOOINIT_CFG_FILE_H
#define ZOOINIT_CFG_FILE_H

#include <libconfig.h>
#include <stddef.h>

/* Internal to config/: reading a libconfig file, shared by cfg.c (the
 * flat keys) and svc.c (the "service" group) so both read values and
 * word messages the same way. Knows nothing of either's structs. Not for
 * the rest of zooinit. */

/* Room for a quoted hostile value in a message; str_quote() truncates. */
#define CFG_QUOTE_MAX 96

/* The file being read. Every pointer is borrowed for the load. */
struct cfg_file {
	const char *path;	/* as given */
	const char *dir;	/* its directory, the include dir */
	const char *text;	/* the main file's contents */
	const config_setting_t *root;
};

/* Reads the whole text file at path into *out (a new string; free with
 * free()). Refuses a directory, a file with a NUL byte and one over
 * 1 MiB. Returns 0, or -1 with the reason in why. */
int cfg_file_read(const char *path, char **out, char *why, size_t whylen);

/* libconfig 1.5 exits the process on an @include of a directory, so the
 * main file's text (and what it includes) is checked first. Returns 0, or
 * -1 with "FILE:LINE: @include ...: not a regular file" in err. */
int cfg_file_check_includes(const char *file, const char *text,
    const char *dir, char *err, size_t errlen);

/* Returns the path of the file libconfig calls file (NULL for the main
 * one, read from a string), as the user would open it; a new string. */
char *cfg_file_source(const struct cfg_file *fx, const char *file);

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

#endif
