#ifndef ZOOINIT_ETCD_JSON_H
#define ZOOINIT_ETCD_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Helpers shared by the etcd answer parsers (api.c, kv.c). Answers come
 * from the network: every message quotes what it shows. */

/* snprintf into err (errlen bytes; err may be NULL). */
void ej_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Quotes the n bytes at s as printable ASCII into out; returns out. */
const char *ej_quote(const char *s, size_t n, char *out, size_t outlen);

/* "an object", "a string", ...: what v is, for messages. */
const char *ej_type_name(const json_t *v);

/* Parses body as one JSON object; returns a new reference, or NULL with
 * "WHAT: ..." in err. */
json_t *ej_load(const char *what, const char *body, size_t len, char *err,
    size_t errlen);

/* Parses the decimal digits s[from..n) into *out, at most max; the
 * messages quote all n bytes of s as the value of key. The caller deals
 * with an empty digit string. */
int ej_digits(const char *what, const char *key, const char *s, size_t n,
    size_t from, uint64_t max, uint64_t *out, char *err, size_t errlen);

/* Reads the optional boolean obj[key] (missing: false). */
int ej_get_bool(const char *what, json_t *obj, const char *key, bool *out,
    char *err, size_t errlen);

#endif
