#ifndef ZOOINIT_STR_H
#define ZOOINIT_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Strings: one growing builder, one string vector, quoting for messages
 * and one UTF-8 check. Allocation aborts through xmalloc. */

/* A growing string. Zero-initialise it; p is NULL until the first add.
 * A builder with max != 0 stops growing at max bytes and ends what it
 * holds with "..." (for messages built from untrusted lists); with
 * max == 0 it grows without limit (callers bound their input). */
struct sbuf {
	char *p;
	size_t len, cap, max;
};

void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_puts(struct sbuf *b, const char *s);
void sb_putn(struct sbuf *b, const char *s, size_t n);
/* The text so far, borrowed: "" before the first add. */
const char *sb_str(const struct sbuf *b);
/* Returns the text as a new string ("" when empty; free with free()) and
 * resets b. */
char *sb_take(struct sbuf *b);
void sb_free(struct sbuf *b);

/* A NULL-terminated vector of owned strings, as execve takes. Zero-
 * initialise it; v is NULL until the first add. */
struct strv {
	char **v;
	size_t n, cap;
};

/* Appends a copy of s. */
void strv_add(struct strv *a, const char *s);
/* Appends copies of flag and value (an argv option and its argument). */
void strv_add2(struct strv *a, const char *flag, const char *value);
void strv_addf(struct strv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Returns the vector (never NULL; free with strv_free()) and resets a. */
char **strv_take(struct strv *a);

/* For plain NULL-terminated char ** vectors. */
size_t strv_len(char *const *v);
/* Returns a deep copy; NULL for NULL. Free with strv_free(). */
char **strv_dup(char *const *v);
/* Frees each string and the vector; NULL is fine. */
void strv_free(char **v);
/* True when a and b hold the same strings in the same order (NULL is an
 * empty vector). */
bool strv_eq(char *const *a, char *const *b);
/* An environment: base's NAME=VALUE entries but those whose NAME over
 * sets (and those with no name or no '='), then over's entries. Returns
 * a new vector of borrowed strings: free it with free() only. */
char **strv_overlay(char *const *base, char *const *over);

/* Copies s into out (size outlen) with every byte outside printable ASCII
 * and every quote or backslash shown as \xNN, truncated with "..." if
 * needed, so hostile text can be quoted in messages. Returns out. */
char *str_quote(const char *s, char *out, size_t outlen);
/* The same for the n bytes at s, which may hold NULs. */
char *str_quote_n(const char *s, size_t n, char *out, size_t outlen);

/* Writes t as "YYYY-MM-DD HH:MM:SS UTC" into buf (32 bytes hold it) and
 * returns buf; "" when buf is too small. */
char *str_utc(time_t t, char *buf, size_t len);

/* Formats a message into err (size errlen; nothing when errlen is 0) and
 * returns -1, for the failure sites of functions that report into a
 * caller's buffer. */
int str_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True when s is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF); with printable, also without control
 * characters (C0, DEL and C1). */
bool str_utf8_valid(const char *s, bool printable);

#endif
