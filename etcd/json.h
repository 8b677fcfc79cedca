#ifndef ZOOINIT_ETCD_JSON_H
#define ZOOINIT_ETCD_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Helpers shared by the etcd answer parsers (api.c, kv_parse.c, kv.c)
 * and the builders of request and answer bodies (kv_req.c, v2_serve.c).
 * Answers come from the network: every message quotes what it shows.
 * The builders abort when jansson is out of memory, as xmalloc does, so
 * callers need no checks. */

/* How much of a hostile string a message may quote. */
#define EJ_QUOTE_MAX 64

/* A new empty object or array. */
json_t *ej_obj(void);
json_t *ej_arr(void);
/* Sets o[key] to v, or appends v to a, taking v (a jansson constructor's
 * result: its NULL counts as out of memory). */
void ej_set(json_t *o, const char *key, json_t *v);
void ej_append(json_t *a, json_t *v);
/* Dumps o compactly and drops the caller's reference: a new string. */
char *ej_dump(json_t *o);

/* "an object", "a string", ...: what v is, for messages. */
const char *ej_type_name(const json_t *v);

/* Parses body as one JSON object; returns a new reference, or NULL with
 * "WHAT: ..." in err. */
json_t *ej_load(const char *what, const char *body, size_t len, char *err,
    size_t errlen);

/* Reads obj[key], a JSON string of decimal digits (etcd's form of 64-bit
 * numbers), as a uint64 no larger than max. A missing key is 0 unless
 * required: etcd leaves zeros out. */
int ej_get_u64(const char *what, json_t *obj, const char *key, bool required,
    uint64_t max, uint64_t *out, char *err, size_t errlen);

/* The same for an int64 (an optional '-', then digits) of at least min;
 * a missing key is 0. */
int ej_get_i64(const char *what, json_t *obj, const char *key, int64_t min,
    int64_t *out, char *err, size_t errlen);

/* Reads the optional boolean obj[key] (missing: false). */
int ej_get_bool(const char *what, json_t *obj, const char *key, bool *out,
    char *err, size_t errlen);

/* Reads etcd's error objects: {"error":"..","message":"..","code":N}
 * from the gateway, {"grpc_code":N,"message":".."} inside a stream.
 * Returns the gRPC code (-1 if none given) with the message quoted into
 * q, or -2 when o is neither. */
int ej_error_parts(json_t *o, char *q, size_t qlen);

/* As ej_error_parts(), writing "WHAT: etcd error: MSG (gRPC code N)" to
 * err; returns the code (0 if none given) or -1 when o is no error. */
int ej_etcd_error(const char *what, json_t *o, char *err, size_t errlen);

/* Describes a non-200 answer for a message, into out: "etcd error: MSG
 * (gRPC code N, HTTP S)" when body is one of etcd's error objects (also
 * nested as {"error":{...}}), else "HTTP S: BODY" with the body quoted.
 * Returns the gRPC code found, or 0. */
int ej_http_detail(long status, const char *body, size_t len, char *out,
    size_t outlen);

#endif
