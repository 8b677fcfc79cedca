#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/http.h"
#include "etcd/json.h"
#include "etcd/kv.h"

/* How much of a hostile string a message may quote. */
#define QUOTE_MAX 64
/* Ops or compares in one transaction; also the most responses believed. */
#define MAX_TXN_OPS 128
#define DEFAULT_TIMEOUT_MS 5000L
/* After a failed keepalive, the next try comes this much later; a lease
 * with less than KEEP_LAST_MS left that we could not renew is lost. */
#define KEEP_RETRY_MS 1000
#define KEEP_LAST_MS 200

/* Parsing */

/* Reads etcd's error objects: {"error":"..","message":"..","code":N}
 * from the gateway, {"grpc_code":N,"message":".."} inside a stream.
 * Returns the gRPC code (-1 if none given) with the message quoted into
 * q, or -2 when o is neither. */
static int
error_parts(json_t *o, char *q, size_t qlen)
{
	json_t *msg = json_object_get(o, "message");
	json_t *code = json_object_get(o, "grpc_code");
	json_int_t c;

	if (code == NULL)
		code = json_object_get(o, "code");
	if (!json_is_string(msg) && json_is_string(json_object_get(o,
	    "error")))
		msg = json_object_get(o, "error");
	if (!json_is_string(msg))
		return -2;
	c = json_is_integer(code) ? json_integer_value(code) : -1;
	if (c < 0 || c > 100)
		c = -1;
	ej_quote(json_string_value(msg), json_string_length(msg), q, qlen);
	return (int)c;
}

/* As error_parts(), writing "WHAT: etcd error: MSG (gRPC code N)" to
 * err; returns the code (0 if none given) or -1 when o is no error. */
static int
etcd_error(const char *what, json_t *o, char *err, size_t errlen)
{
	char q[QUOTE_MAX * 2];
	int c = error_parts(o, q, sizeof(q));

	if (c == -2)
		return -1;
	if (c < 0)
		ej_seterr(err, errlen, "%s: etcd error: %s", what, q);
	else
		ej_seterr(err, errlen, "%s: etcd error: %s (gRPC code %d)", what,
		    q, c);
	return c < 0 ? 0 : c;
}

/* Reads obj[key], a JSON string of decimal digits with an optional '-',
 * as an int64 in [min, INT64_MAX]. Missing is 0: etcd leaves zeros out. */
static int
get_i64(const char *what, json_t *obj, const char *key, int64_t min,
    int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n, i = 0;
	uint64_t x = 0, lim = (uint64_t)INT64_MAX;
	bool neg = false;
	char q[QUOTE_MAX];

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		ej_seterr(err, errlen, "%s: \"%s\" should be a string of decimal "
		    "digits, found %s", what, key, ej_type_name(v));
		return -1;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > 0 && s[0] == '-') {
		neg = true;
		lim++;
		i = 1;
	}
	if (i == n) {
		ej_seterr(err, errlen, "%s: \"%s\" should be decimal digits, "
		    "found \"%s\"", what, key, ej_quote(s, n, q, sizeof(q)));
		return -1;
	}
	if (ej_digits(what, key, s, n, i, lim, &x, err, errlen) < 0)
		return -1;
	if (neg)
		*out = x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
	else
		*out = (int64_t)x;
	if (*out < min) {
		ej_seterr(err, errlen, "%s: \"%s\" should be at least %" PRId64
		    ", found %" PRId64, what, key, min, *out);
		*out = 0;
		return -1;
	}
	return 0;
}

/* As get_i64() for a uint64 (member IDs use all 64 bits). */
static int
get_u64(const char *what, json_t *obj, const char *key, uint64_t *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n;
	uint64_t x = 0;
	char q[QUOTE_MAX];

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		ej_seterr(err, errlen, "%s: \"%s\" should be a string of decimal "
		    "digits, found %s", what, key, json_is_string(v) ?
		    "an empty one" : ej_type_name(v));
		return -1;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - (unsigned)'0';

		if (d > 9 || x > (UINT64_MAX - d) / 10) {
			ej_seterr(err, errlen, "%s: \"%s\" should be a uint64 in "
			    "decimal digits, found \"%s\"", what, key,
			    ej_quote(s, n, q, sizeof(q)));
			return -1;
		}
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* Base64, standard alphabet with padding: what Go's encoding/json makes
 * of []byte. */

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
etcd_kv_b64_encode(const void *p, size_t n)
{
	const unsigned char *s = p;
	char *out, *o;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		abort();
	out = xmalloc((n + 2) / 3 * 4 + 1);
	o = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		*o++ = B64[v >> 18];
		*o++ = B64[(v >> 12) & 63];
		*o++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? B64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

char *
etcd_kv_b64_decode(const char *s, size_t n, size_t *outlen)
{
	char *out;
	size_t o = 0;

	if (n % 4 != 0)
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		size_t pad = 0;
		uint32_t x;

		for (size_t j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)s[i + j];

			/* '=' only at the end, as the last one or two. */
			if (c == '=' && i + 4 == n && j >= 2 &&
			    (j == 3 || s[i + 3] == '=')) {
				v[j] = 0;
				pad++;
				continue;
			}
			v[j] = b64_val(c);
			if (v[j] < 0)
				goto bad;
		}
		x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical: the bits that padding drops must be zero. */
		if ((pad == 1 && (x & 0xff) != 0) ||
		    (pad == 2 && (x & 0xffff) != 0))
			goto bad;
		out[o++] = (char)(x >> 16);
		if (pad < 2)
			out[o++] = (char)(x >> 8);
		if (pad < 1)
			out[o++] = (char)x;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* Reads obj[key], base64 bytes, into a new NUL-terminated buffer; missing
 * is empty. */
static int
get_bytes(const char *what, json_t *obj, const char *key, size_t max,
    char **out, size_t *len, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	char q[QUOTE_MAX];

	if (v == NULL) {
		*out = xstrdup("");
		*len = 0;
		return 0;
	}
	if (!json_is_string(v)) {
		ej_seterr(err, errlen, "%s: \"%s\" should be a base64 string, "
		    "found %s", what, key, ej_type_name(v));
		return -1;
	}
	*out = etcd_kv_b64_decode(json_string_value(v), json_string_length(v),
	    len);
	if (*out == NULL) {
		ej_seterr(err, errlen, "%s: \"%s\" is not valid base64: \"%s\"",
		    what, key, ej_quote(json_string_value(v),
		    json_string_length(v), q, sizeof(q)));
		return -1;
	}
	if (*len > max) {
		ej_seterr(err, errlen, "%s: \"%s\" is %zu bytes, more than the "
		    "%zu allowed", what, key, *len, max);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void
pair_free(struct etcd_kv_pair *p)
{
	free(p->key);
	free(p->value);
	memset(p, 0, sizeof(*p));
}

/* Parses one mvccpb.KeyValue. A failure leaves p freeable. */
static int
parse_pair(const char *what, json_t *o, struct etcd_kv_pair *p, char *err,
    size_t errlen)
{
	if (!json_is_object(o)) {
		ej_seterr(err, errlen, "%s should be an object, found %s", what,
		    ej_type_name(o));
		return -1;
	}
	if (get_bytes(what, o, "key", ETCD_KV_MAX_KEY, &p->key, &p->key_len,
	    err, errlen) < 0)
		return -1;
	if (p->key_len == 0) {
		ej_seterr(err, errlen, "%s: no \"key\"", what);
		return -1;
	}
	if (get_bytes(what, o, "value", SIZE_MAX, &p->value, &p->value_len,
	    err, errlen) < 0 ||
	    get_i64(what, o, "create_revision", 0, &p->create_revision, err,
	    errlen) < 0 ||
	    get_i64(what, o, "mod_revision", 0, &p->mod_revision, err,
	    errlen) < 0 ||
	    get_i64(what, o, "version", 0, &p->version, err, errlen) < 0 ||
	    get_i64(what, o, "lease", 0, &p->lease, err, errlen) < 0)
		return -1;
	return 0;
}

/* Parses obj[key], an optional array of pairs; *v and *n stay freeable. */
static int
parse_pairs(const char *what, json_t *obj, const char *key,
    struct etcd_kv_pair **v, size_t *n, char *err, size_t errlen)
{
	json_t *a = json_object_get(obj, key);
	size_t size;

	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		ej_seterr(err, errlen, "%s: \"%s\" should be an array, found %s",
		    what, key, ej_type_name(a));
		return -1;
	}
	size = json_array_size(a);
	if (size == 0)
		return 0;
	*v = xcalloc(size, sizeof(**v));
	for (size_t i = 0; i < size; i++) {
		char w[96];

		*n = i + 1;
		snprintf(w, sizeof(w), "%s: %s[%zu]", what, key, i);
		if (parse_pair(w, json_array_get(a, i), &(*v)[i], err,
		    errlen) < 0)
			return -1;
	}
	return 0;
}

static void
resp_free(struct etcd_kv_resp *r)
{
	for (size_t i = 0; i < r->n_kvs; i++)
		pair_free(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

void
etcd_kv_result_free(struct etcd_kv_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_resp; i++)
		resp_free(&r->resp[i]);
	free(r->resp);
	memset(r, 0, sizeof(*r));
}

/* Parses the body of one op's answer (also a txn's nested ones). */
static int
parse_resp(const char *what, enum etcd_kv_op_type type, json_t *o,
    struct etcd_kv_resp *r, char *err, size_t errlen)
{
	r->type = type;
	if (!json_is_object(o)) {
		ej_seterr(err, errlen, "%s should be an object, found %s", what,
		    ej_type_name(o));
		return -1;
	}
	switch (type) {
	case ETCD_KV_RANGE:
		if (parse_pairs(what, o, "kvs", &r->kvs, &r->n_kvs, err,
		    errlen) < 0 ||
		    ej_get_bool(what, o, "more", &r->more, err, errlen) < 0 ||
		    get_i64(what, o, "count", 0, &r->count, err, errlen) < 0)
			return -1;
		if ((uint64_t)r->count < r->n_kvs) {
			ej_seterr(err, errlen, "%s: \"count\" is %" PRId64 " but "
			    "%zu pairs came", what, r->count, r->n_kvs);
			return -1;
		}
		return 0;
	case ETCD_KV_PUT:
		return 0;
	case ETCD_KV_DELETE:
		return get_i64(what, o, "deleted", 0, &r->deleted, err,
		    errlen);
	}
	return 0;
}

static int
parse_txn(const char *what, json_t *root, struct etcd_kv_result *out,
    char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum etcd_kv_op_type type;
	} kinds[] = {
		{ "response_range", ETCD_KV_RANGE },
		{ "response_put", ETCD_KV_PUT },
		{ "response_delete_range", ETCD_KV_DELETE },
	};
	json_t *a = json_object_get(root, "responses");
	size_t size;

	if (ej_get_bool(what, root, "succeeded", &out->succeeded, err,
	    errlen) < 0)
		return -1;
	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		ej_seterr(err, errlen, "%s: \"responses\" should be an array, "
		    "found %s", what, ej_type_name(a));
		return -1;
	}
	size = json_array_size(a);
	if (size > MAX_TXN_OPS) {
		ej_seterr(err, errlen, "%s: %zu responses, more than the %d ops "
		    "a transaction may have", what, size, MAX_TXN_OPS);
		return -1;
	}
	if (size == 0)
		return 0;
	out->resp = xcalloc(size, sizeof(*out->resp));
	for (size_t i = 0; i < size; i++) {
		json_t *o = json_array_get(a, i);
		json_t *inner = NULL;
		size_t k = 0, found = 0;
		char w[64];

		out->n_resp = i + 1;
		snprintf(w, sizeof(w), "%s: responses[%zu]", what, i);
		if (!json_is_object(o)) {
			ej_seterr(err, errlen, "%s should be an object, found %s",
			    w, ej_type_name(o));
			return -1;
		}
		for (size_t j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++) {
			if (json_object_get(o, kinds[j].name) != NULL) {
				inner = json_object_get(o, kinds[j].name);
				k = j;
				found++;
			}
		}
		if (found != 1 || json_object_size(o) != 1) {
			ej_seterr(err, errlen, "%s should hold exactly one of "
			    "response_range, response_put, "
			    "response_delete_range", w);
			return -1;
		}
		if (parse_resp(w, kinds[k].type, inner, &out->resp[i], err,
		    errlen) < 0)
			return -1;
	}
	return 0;
}

/* Reads the header every answer has. */
static int
parse_header(const char *what, json_t *root, int64_t *revision,
    uint64_t *member_id, int *grpc_code, char *err, size_t errlen)
{
	json_t *hdr = json_object_get(root, "header");

	if (hdr == NULL) {
		int c = etcd_error(what, root, err, errlen);

		if (c < 0)
			ej_seterr(err, errlen, "%s: no \"header\" object in the "
			    "answer", what);
		else
			*grpc_code = c;
		return -1;
	}
	if (!json_is_object(hdr)) {
		ej_seterr(err, errlen, "%s: \"header\" should be an object, "
		    "found %s", what, ej_type_name(hdr));
		return -1;
	}
	if (get_i64(what, hdr, "revision", 0, revision, err, errlen) < 0)
		return -1;
	return get_u64(what, hdr, "member_id", member_id, err, errlen);
}

static const char *const answer_name[] = {
	[ETCD_KV_ANS_RANGE] = "range answer",
	[ETCD_KV_ANS_PUT] = "put answer",
	[ETCD_KV_ANS_DELETE] = "delete answer",
	[ETCD_KV_ANS_TXN] = "txn answer",
	[ETCD_KV_ANS_LEASE_GRANT] = "lease grant answer",
	[ETCD_KV_ANS_LEASE_KEEPALIVE] = "lease keepalive answer",
	[ETCD_KV_ANS_LEASE_REVOKE] = "lease revoke answer",
};

int
etcd_kv_parse(enum etcd_kv_answer kind, const char *body, size_t len,
    struct etcd_kv_result *out, char *err, size_t errlen)
{
	const char *what = answer_name[kind];
	struct etcd_kv_result r;
	json_t *root, *obj;
	json_t *e;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	root = ej_load(what, body, len, err, errlen);
	if (root == NULL)
		return -1;
	obj = root;
	if (kind == ETCD_KV_ANS_LEASE_KEEPALIVE) {
		/* A streaming RPC: {"result":{...}} or {"error":{...}}. */
		obj = json_object_get(root, "result");
		e = json_object_get(root, "error");
		if (obj == NULL && json_is_object(e)) {
			int c = etcd_error(what, e, err, errlen);

			if (c < 0)
				ej_seterr(err, errlen, "%s: an \"error\" without "
				    "a message", what);
			out->grpc_code = c < 0 ? 0 : c;
			goto fail;
		}
		if (obj == NULL)
			obj = root;	/* may be the gateway's error form */
		else if (!json_is_object(obj)) {
			ej_seterr(err, errlen, "%s: \"result\" should be an "
			    "object, found %s", what, ej_type_name(obj));
			goto fail;
		}
	}
	if (parse_header(what, obj, &r.revision, &r.member_id, &out->grpc_code,
	    err, errlen) < 0)
		goto fail;
	switch (kind) {
	case ETCD_KV_ANS_RANGE:
	case ETCD_KV_ANS_PUT:
	case ETCD_KV_ANS_DELETE:
		r.resp = xcalloc(1, sizeof(*r.resp));
		r.n_resp = 1;
		if (parse_resp(what, kind == ETCD_KV_ANS_RANGE ? ETCD_KV_RANGE :
		    kind == ETCD_KV_ANS_PUT ? ETCD_KV_PUT : ETCD_KV_DELETE,
		    obj, &r.resp[0], err, errlen) < 0)
			goto fail;
		break;
	case ETCD_KV_ANS_TXN:
		if (parse_txn(what, obj, &r, err, errlen) < 0)
			goto fail;
		break;
	case ETCD_KV_ANS_LEASE_GRANT:
		e = json_object_get(obj, "error");
		if (json_is_string(e) && json_string_length(e) > 0) {
			char q[QUOTE_MAX];

			ej_seterr(err, errlen, "%s: etcd error: %s", what,
			    ej_quote(json_string_value(e), json_string_length(e),
			    q, sizeof(q)));
			goto fail;
		}
		/* fall through */
	case ETCD_KV_ANS_LEASE_KEEPALIVE:
		if (get_i64(what, obj, "ID", 0, &r.lease_id, err, errlen) < 0 ||
		    get_i64(what, obj, "TTL", 0, &r.ttl, err, errlen) < 0)
			goto fail;
		if (r.lease_id == 0) {
			ej_seterr(err, errlen, "%s: no lease \"ID\"", what);
			goto fail;
		}
		if (kind == ETCD_KV_ANS_LEASE_GRANT && r.ttl == 0) {
			ej_seterr(err, errlen, "%s: no \"TTL\"", what);
			goto fail;
		}
		break;
	case ETCD_KV_ANS_LEASE_REVOKE:
		break;
	}
	if (r.n_resp > 0) {
		r.kvs = r.resp[0].kvs;
		r.n_kvs = r.resp[0].n_kvs;
	}
	json_decref(root);
	*out = r;
	return 0;
fail:
	etcd_kv_result_free(&r);
	json_decref(root);
	return -1;
}

void
etcd_kv_watch_msg_free(struct etcd_kv_watch_msg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_events; i++)
		pair_free(&m->events[i].kv);
	free(m->events);
	free(m->cancel_reason);
	memset(m, 0, sizeof(*m));
}

static int
parse_event(const char *what, json_t *o, struct etcd_kv_event *ev, char *err,
    size_t errlen)
{
	json_t *t, *kv;

	if (!json_is_object(o)) {
		ej_seterr(err, errlen, "%s should be an object, found %s", what,
		    ej_type_name(o));
		return -1;
	}
	/* PUT is the zero value of the enum, so etcd leaves it out. */
	t = json_object_get(o, "type");
	if (t == NULL || (json_is_string(t) &&
	    strcmp(json_string_value(t), "PUT") == 0))
		ev->type = ETCD_KV_EVENT_PUT;
	else if (json_is_string(t) &&
	    strcmp(json_string_value(t), "DELETE") == 0)
		ev->type = ETCD_KV_EVENT_DELETE;
	else {
		char q[QUOTE_MAX];

		ej_seterr(err, errlen, "%s: \"type\" should be \"PUT\" or "
		    "\"DELETE\", found %s%s%s", what, json_is_string(t) ?
		    "\"" : "", json_is_string(t) ? ej_quote(json_string_value(t),
		    json_string_length(t), q, sizeof(q)) : ej_type_name(t),
		    json_is_string(t) ? "\"" : "");
		return -1;
	}
	kv = json_object_get(o, "kv");
	if (kv == NULL) {
		ej_seterr(err, errlen, "%s: no \"kv\"", what);
		return -1;
	}
	return parse_pair(what, kv, &ev->kv, err, errlen);
}

int
etcd_kv_parse_watch(const char *line, size_t len,
    struct etcd_kv_watch_msg *out, char *err, size_t errlen)
{
	const char *what = "watch message";
	struct etcd_kv_watch_msg m;
	json_t *root, *res, *e, *a;
	uint64_t member;
	size_t size;

	memset(&m, 0, sizeof(m));
	memset(out, 0, sizeof(*out));
	root = ej_load(what, line, len, err, errlen);
	if (root == NULL)
		return -1;
	res = json_object_get(root, "result");
	e = json_object_get(root, "error");
	if (res == NULL) {
		/* In a stream: {"error":{"grpc_code":14,...}}; before it:
		 * the gateway's {"error":"..","message":"..","code":N}. */
		int c = etcd_error(what, json_is_object(e) ? e : root, err,
		    errlen);

		if (c < 0)
			ej_seterr(err, errlen, "%s: neither \"result\" nor an "
			    "etcd error", what);
		out->grpc_code = c < 0 ? 0 : c;
		goto fail;
	}
	if (!json_is_object(res)) {
		ej_seterr(err, errlen, "%s: \"result\" should be an object, "
		    "found %s", what, ej_type_name(res));
		goto fail;
	}
	if (parse_header(what, res, &m.revision, &member, &out->grpc_code,
	    err, errlen) < 0 ||
	    get_i64(what, res, "watch_id", -1, &m.watch_id, err, errlen) < 0 ||
	    ej_get_bool(what, res, "created", &m.created, err, errlen) < 0 ||
	    ej_get_bool(what, res, "canceled", &m.canceled, err, errlen) < 0 ||
	    get_i64(what, res, "compact_revision", 0, &m.compact_revision,
	    err, errlen) < 0)
		goto fail;
	e = json_object_get(res, "cancel_reason");
	if (e != NULL && !json_is_string(e)) {
		ej_seterr(err, errlen, "%s: \"cancel_reason\" should be a string, "
		    "found %s", what, ej_type_name(e));
		goto fail;
	}
	m.cancel_reason = e != NULL ? xstrndup(json_string_value(e),
	    json_string_length(e)) : xstrdup("");
	a = json_object_get(res, "events");
	if (a != NULL && !json_is_array(a)) {
		ej_seterr(err, errlen, "%s: \"events\" should be an array, found "
		    "%s", what, ej_type_name(a));
		goto fail;
	}
	size = a != NULL ? json_array_size(a) : 0;
	if (size > 0)
		m.events = xcalloc(size, sizeof(*m.events));
	for (size_t i = 0; i < size; i++) {
		char w[48];

		m.n_events = i + 1;
		snprintf(w, sizeof(w), "%s: events[%zu]", what, i);
		if (parse_event(w, json_array_get(a, i), &m.events[i], err,
		    errlen) < 0)
			goto fail;
		if (i > 0 && m.events[i].kv.mod_revision <
		    m.events[i - 1].kv.mod_revision) {
			ej_seterr(err, errlen, "%s: events out of revision order "
			    "(%" PRId64 " after %" PRId64 ")", w,
			    m.events[i].kv.mod_revision,
			    m.events[i - 1].kv.mod_revision);
			goto fail;
		}
	}
	json_decref(root);
	*out = m;
	return 0;
fail:
	etcd_kv_watch_msg_free(&m);
	json_decref(root);
	return -1;
}

/* Requests */

static void
jset(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) < 0) {
		log_error("jansson: out of memory building a request");
		abort();
	}
}

static json_t *
jobj(void)
{
	json_t *o = json_object();

	if (o == NULL) {
		log_error("jansson: out of memory building a request");
		abort();
	}
	return o;
}

static json_t *
jarr(void)
{
	json_t *a = json_array();

	if (a == NULL) {
		log_error("jansson: out of memory building a request");
		abort();
	}
	return a;
}

static void
jappend(json_t *a, json_t *v)
{
	if (v == NULL || json_array_append_new(a, v) < 0) {
		log_error("jansson: out of memory building a request");
		abort();
	}
}

static json_t *
jbytes(const void *p, size_t n)
{
	char *s = etcd_kv_b64_encode(p, n);
	json_t *j = json_string(s);

	free(s);
	return j;
}

static json_t *
jint(int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_string(b);
}

static char *
jdump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s == NULL) {
		log_error("jansson: out of memory building a request");
		abort();
	}
	json_decref(o);
	return s;
}

/* Sets "key" and, for a prefix or range, "range_end" of o. etcd wants a
 * non-empty key; "all keys" is ["\0", "\0"). */
static void
jkeys(json_t *o, const void *key, size_t key_len, bool prefix,
    const void *end, size_t end_len)
{
	static const char zero[1] = { 0 };

	if (prefix) {
		const unsigned char *k = key;
		size_t n = key_len;
		unsigned char *e;

		/* The range end of a prefix: drop trailing 0xff bytes and
		 * add one to the last; none left means no end. */
		while (n > 0 && k[n - 1] == 0xff)
			n--;
		if (n == 0) {
			jset(o, "key", key_len > 0 ? jbytes(key, key_len) :
			    jbytes(zero, 1));
			jset(o, "range_end", jbytes(zero, 1));
			return;
		}
		e = xmalloc(n);
		memcpy(e, k, n);
		e[n - 1]++;
		jset(o, "key", jbytes(key, key_len));
		jset(o, "range_end", jbytes(e, n));
		free(e);
		return;
	}
	jset(o, "key", jbytes(key, key_len));
	if (end != NULL)
		jset(o, "range_end", jbytes(end, end_len));
}

/* Checks an op; returns NULL or what is wrong. */
static const char *
op_invalid(const struct etcd_kv_op *op)
{
	if (op->type != ETCD_KV_RANGE && op->type != ETCD_KV_PUT &&
	    op->type != ETCD_KV_DELETE)
		return "unknown op type";
	if (op->key_len == 0 && !(op->prefix && op->type != ETCD_KV_PUT))
		return "empty key (etcd has none; use prefix for all keys)";
	if (op->key_len > 0 && op->key == NULL)
		return "NULL key";
	if (op->key_len > ETCD_KV_MAX_KEY)
		return "key longer than 64 KiB";
	if (op->range_end == NULL && op->range_end_len > 0)
		return "NULL range end";
	if (op->value == NULL && op->value_len > 0)
		return "NULL value";
	if (op->limit < 0 || op->lease < 0)
		return "negative limit or lease";
	return NULL;
}

static json_t *
op_json(const struct etcd_kv_op *op)
{
	json_t *o = jobj();
	bool ranged = op->type != ETCD_KV_PUT;

	jkeys(o, op->key, op->key_len, ranged && op->prefix,
	    ranged && !op->prefix ? op->range_end : NULL, op->range_end_len);
	if (op->type == ETCD_KV_RANGE && op->limit > 0)
		jset(o, "limit", jint(op->limit));
	if (op->type == ETCD_KV_PUT) {
		jset(o, "value", jbytes(op->value, op->value_len));
		if (op->lease != 0)
			jset(o, "lease", jint(op->lease));
	}
	return o;
}

static const char *
cmp_invalid(const struct etcd_kv_cmp *c)
{
	if ((unsigned)c->target > ETCD_KV_CMP_VALUE)
		return "unknown compare target";
	if ((unsigned)c->result > ETCD_KV_GREATER)
		return "unknown compare result";
	if (c->key_len == 0 || c->key == NULL)
		return "compare without a key";
	if (c->key_len > ETCD_KV_MAX_KEY)
		return "key longer than 64 KiB";
	if (c->value == NULL && c->value_len > 0)
		return "NULL value";
	return NULL;
}

static json_t *
cmp_json(const struct etcd_kv_cmp *c)
{
	static const char *const target[] = {
		[ETCD_KV_CMP_CREATE] = "CREATE", [ETCD_KV_CMP_MOD] = "MOD",
		[ETCD_KV_CMP_VERSION] = "VERSION",
		[ETCD_KV_CMP_LEASE] = "LEASE", [ETCD_KV_CMP_VALUE] = "VALUE",
	};
	static const char *const field[] = {
		[ETCD_KV_CMP_CREATE] = "create_revision",
		[ETCD_KV_CMP_MOD] = "mod_revision",
		[ETCD_KV_CMP_VERSION] = "version",
		[ETCD_KV_CMP_LEASE] = "lease", [ETCD_KV_CMP_VALUE] = "value",
	};
	static const char *const result[] = {
		[ETCD_KV_EQUAL] = "EQUAL", [ETCD_KV_NOT_EQUAL] = "NOT_EQUAL",
		[ETCD_KV_LESS] = "LESS", [ETCD_KV_GREATER] = "GREATER",
	};
	json_t *o = jobj();

	jset(o, "target", json_string(target[c->target]));
	jset(o, "result", json_string(result[c->result]));
	jset(o, "key", jbytes(c->key, c->key_len));
	if (c->target == ETCD_KV_CMP_VALUE)
		jset(o, field[c->target], jbytes(c->value, c->value_len));
	else
		jset(o, field[c->target], jint(c->number));
	return o;
}

static json_t *
ops_json(const struct etcd_kv_op *ops, size_t n)
{
	static const char *const name[] = {
		[ETCD_KV_RANGE] = "request_range",
		[ETCD_KV_PUT] = "request_put",
		[ETCD_KV_DELETE] = "request_delete_range",
	};
	json_t *a = jarr();

	for (size_t i = 0; i < n; i++) {
		json_t *o = jobj();

		jset(o, name[ops[i].type], op_json(&ops[i]));
		jappend(a, o);
	}
	return a;
}

/* Operations in flight.
 *
 * Every operation is a struct op on kv's list while it can still be
 * cancelled. A callback into the caller runs with op->in_cb set: if the
 * caller then cancels the op or frees kv, the op is only marked dead and
 * freed once the callback has returned (cb_end). A finished one-shot op
 * is taken off the list before its callback, so that cancelling its id
 * from there does nothing. */

enum op_kind { OP_CALL, OP_WATCH, OP_KEEP };

struct op {
	struct op *prev, *next;
	struct etcd_kv *kv;
	uint64_t id;
	enum op_kind kind;
	bool linked, in_cb, dead;
	enum etcd_kv_answer ans;
	const char *path;	/* "/v3/kv/range", ... */
	char *body;		/* the request's JSON */
	char *url;		/* of the request in flight */
	size_t ep;		/* endpoint of the request in flight */
	size_t tries;		/* endpoints tried for this request */
	uint64_t req;		/* etcd_http id, 0 when none */
	uint64_t timer;
	char *early;		/* an error found before any request */
	etcd_kv_cb cb;
	etcd_kv_watch_cb wcb;
	etcd_kv_lost_cb lost;
	void *arg;
	/* OP_WATCH */
	bool lines;		/* a line came on this stream */
	bool created;
	int64_t start_rev, next_rev;
	char what[96];		/* "watch of prefix \"svc/\"" */
	/* OP_KEEP */
	int64_t lease, ttl_ms;
	int64_t sent, deadline;	/* loop_now_ms() times */
	char msg[600];		/* the error being reported */
};

struct etcd_kv {
	struct etcd_http *h;
	struct loop *loop;
	char **ep;
	size_t n, cur;
	long timeout_ms;
	uint64_t next_id;
	struct op *ops;
	int depth;		/* callbacks of ours running */
	bool doomed;		/* etcd_kv_free() ran inside one */
};

static void op_send(struct op *o);

static void
op_link(struct op *o)
{
	struct etcd_kv *kv = o->kv;

	o->prev = NULL;
	o->next = kv->ops;
	if (kv->ops != NULL)
		kv->ops->prev = o;
	kv->ops = o;
	o->linked = true;
}

static void
op_unlink(struct op *o)
{
	if (!o->linked)
		return;
	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		o->kv->ops = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
	o->prev = o->next = NULL;
	o->linked = false;
}

/* Stops whatever o has in flight. */
static void
op_quiet(struct op *o)
{
	if (o->req != 0) {
		uint64_t id = o->req;

		o->req = 0;
		etcd_http_cancel(o->kv->h, id);
	}
	loop_cancel(o->kv->loop, o->timer);
	o->timer = 0;
}

static void
op_free(struct op *o)
{
	op_quiet(o);
	free(o->body);
	free(o->url);
	free(o->early);
	free(o);
}

/* Ends o now, or once the callback it is in returns. */
static void
op_kill(struct op *o)
{
	op_unlink(o);
	op_quiet(o);
	if (o->in_cb)
		o->dead = true;
	else
		op_free(o);
}

static void
kv_destroy(struct etcd_kv *kv)
{
	for (size_t i = 0; i < kv->n; i++)
		free(kv->ep[i]);
	free(kv->ep);
	free(kv);
}

static void
cb_begin(struct op *o)
{
	o->in_cb = true;
	o->kv->depth++;
}

/* Returns true when o must not be touched any more. */
static bool
cb_end(struct op *o)
{
	struct etcd_kv *kv = o->kv;
	bool gone = o->dead;

	o->in_cb = false;
	kv->depth--;
	if (gone)
		op_free(o);
	if (kv->doomed) {
		if (kv->depth == 0)
			kv_destroy(kv);
		return true;
	}
	return gone;
}

static struct op *
op_new(struct etcd_kv *kv, enum op_kind kind, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));

	o->kv = kv;
	o->id = kv->next_id++;
	o->kind = kind;
	o->arg = arg;
	o->ep = kv->cur;
	op_link(o);
	return o;
}

/* Hands a finished one-shot result to the caller and frees o. */
static void
call_finish(struct op *o, struct etcd_kv_result *r)
{
	op_unlink(o);
	op_quiet(o);
	o->dead = true;
	cb_begin(o);
	if (o->cb != NULL)
		o->cb(o->arg, r);
	cb_end(o);
}

static void
call_fail(struct op *o, long status, int grpc_code)
{
	struct etcd_kv_result r;

	memset(&r, 0, sizeof(r));
	r.error = o->msg;
	r.http_status = status;
	r.grpc_code = grpc_code;
	call_finish(o, &r);
}

static void
watch_end(struct op *o, int64_t compact)
{
	struct etcd_kv_watch_update u;
	struct etcd_kv *kv = o->kv;

	/* A member that broke a watch (lost its leader, shut down) is not
	 * the first one asked when the caller watches again. */
	if (compact == 0 && o->created && kv->cur == o->ep)
		kv->cur = (o->ep + 1) % kv->n;

	memset(&u, 0, sizeof(u));
	u.kind = ETCD_KV_WATCH_END;
	u.next_revision = o->next_rev;
	u.compact_revision = compact;
	u.error = o->msg;
	op_unlink(o);
	op_quiet(o);
	o->dead = true;
	cb_begin(o);
	if (o->wcb != NULL)
		o->wcb(o->arg, &u);
	cb_end(o);
}

static void
keep_lost(struct op *o)
{
	op_unlink(o);
	op_quiet(o);
	o->dead = true;
	cb_begin(o);
	if (o->lost != NULL)
		o->lost(o->arg, o->lease, o->msg);
	cb_end(o);
}

/* Reports o->msg through whatever callback o has. */
static void
op_fail(struct op *o, long status, int grpc_code)
{
	switch (o->kind) {
	case OP_CALL:
		call_fail(o, status, grpc_code);
		break;
	case OP_WATCH:
		watch_end(o, 0);
		break;
	case OP_KEEP:
		keep_lost(o);
		break;
	}
}

static void
on_early(struct loop *l, void *arg)
{
	struct op *o = arg;

	(void)l;
	o->timer = 0;
	snprintf(o->msg, sizeof(o->msg), "%s", o->early);
	op_fail(o, 0, 0);
}

/* Fails o from the loop, never from inside the starter. */
static uint64_t
op_reject(struct op *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static uint64_t
op_reject(struct op *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	uint64_t id = o->id;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->early = xstrdup(buf);
	o->timer = loop_timer(o->kv->loop, 0, on_early, o);
	return id;
}

static void
on_drop(void *arg)
{
	struct op *o = arg;

	o->req = 0;
}

/* Whether an answer means "try another member": the request did not get
 * through (transport error) or this member cannot serve (503: no leader,
 * learner, shutting down). */
static bool
failover_worthy(const struct etcd_http_result *r)
{
	return r->error != NULL || r->status == 503;
}

/* Moves o to the next endpoint not tried yet; false when none is left. */
static bool
op_next_endpoint(struct op *o)
{
	if (o->tries + 1 >= o->kv->n)
		return false;
	o->tries++;
	o->ep = (o->ep + 1) % o->kv->n;
	return true;
}

/* Writes "POST URL: " and a description of a failed answer to o->msg;
 * returns the gRPC code found, or 0. */
static int
describe(struct op *o, const struct etcd_http_result *r)
{
	char detail[QUOTE_MAX * 2];
	char tail[64] = "";
	json_t *root, *e;
	int c;

	if (o->tries > 0 && failover_worthy(r))
		snprintf(tail, sizeof(tail), " (all %zu endpoints failed)",
		    o->kv->n);
	if (r->error != NULL) {
		snprintf(o->msg, sizeof(o->msg), "POST %s: %s%s", o->url,
		    r->error, tail);
		return 0;
	}
	root = json_loadb(r->body, r->len, 0, NULL);
	e = json_object_get(root, "error");
	c = error_parts(json_is_object(e) ? e : root, detail, sizeof(detail));
	json_decref(root);
	if (c >= 0)
		snprintf(o->msg, sizeof(o->msg), "POST %s: etcd error: %s "
		    "(gRPC code %d, HTTP %ld)%s", o->url, detail, c, r->status,
		    tail);
	else if (c == -1)
		snprintf(o->msg, sizeof(o->msg), "POST %s: etcd error: %s "
		    "(HTTP %ld)%s", o->url, detail, r->status, tail);
	else
		snprintf(o->msg, sizeof(o->msg), "POST %s: HTTP %ld%s%s%s",
		    o->url, r->status, r->len > 0 ? ": " : "",
		    ej_quote(r->body, r->len, detail, sizeof(detail)), tail);
	return c < 0 ? 0 : c;
}

static void
keep_schedule(struct op *o, int64_t ms);

static void
keep_answer(struct op *o, const struct etcd_kv_result *r, long status)
{
	int64_t now = loop_now_ms();

	if (r->error == NULL) {
		/* etcd's own limit on TTLs (MaxLeaseTTL) bounds hostile
		 * answers. */
		int64_t ttl = r->ttl < 9000000000 ? r->ttl : 9000000000;

		o->ttl_ms = ttl * 1000;
		o->deadline = o->sent + o->ttl_ms;
		keep_schedule(o, o->ttl_ms / 3);
		return;
	}
	if (status != 0 && r->grpc_code == 5) {
		/* o->msg says it already: the lease is gone. */
		keep_lost(o);
		return;
	}
	/* The lease lives until the deadline whatever we heard, so try
	 * again while a try has time to get through. */
	if (o->deadline - now > KEEP_LAST_MS) {
		int64_t wait = o->deadline - now - KEEP_LAST_MS;

		log_warn("lease %" PRId64 ": %s; retrying", o->lease, o->msg);
		keep_schedule(o, wait < KEEP_RETRY_MS ? wait : KEEP_RETRY_MS);
		return;
	}
	{
		char why[sizeof(o->msg)];

		snprintf(why, sizeof(why), "%s", o->msg);
		snprintf(o->msg, sizeof(o->msg), "lease %" PRId64 ": no "
		    "keepalive got through for %" PRId64 " ms of its %" PRId64
		    " s TTL, so it is taken as expired; the last attempt: "
		    "%.400s", o->lease, now - (o->deadline - o->ttl_ms),
		    o->ttl_ms / 1000, why);
	}
	keep_lost(o);
}

static void
on_answer(void *arg, const struct etcd_http_result *hr)
{
	struct op *o = arg;
	struct etcd_kv_result r;
	char err[400];
	int code = 0;

	o->req = 0;
	if (failover_worthy(hr) && op_next_endpoint(o)) {
		log_debug("POST %s: %s; trying the next endpoint", o->url,
		    hr->error != NULL ? hr->error : "HTTP 503");
		op_send(o);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (!failover_worthy(hr))
		o->kv->cur = o->ep;
	if (hr->status != 200) {
		code = describe(o, hr);
		r.error = o->msg;
	} else if (etcd_kv_parse(o->ans, hr->body, hr->len, &r, err,
	    sizeof(err)) < 0) {
		code = r.grpc_code;
		snprintf(o->msg, sizeof(o->msg), "POST %s: %s", o->url, err);
		r.error = o->msg;
	} else if (o->ans == ETCD_KV_ANS_LEASE_KEEPALIVE && r.ttl == 0) {
		/* etcd answers a keepalive of an unknown lease with 200 and
		 * no TTL. */
		snprintf(o->msg, sizeof(o->msg), "POST %s: lease %" PRId64
		    " not found (expired or revoked)", o->url, r.lease_id);
		r.error = o->msg;
		code = 5;
	}
	r.http_status = hr->status;
	if (r.error != NULL)
		r.grpc_code = code;
	if (o->kind == OP_KEEP)
		keep_answer(o, &r, hr->status);
	else
		call_finish(o, &r);
	etcd_kv_result_free(&r);
}

static void on_watch_line(void *arg, const char *line, size_t len);
static void on_watch_done(void *arg, const struct etcd_http_result *r);

/* Sends o's request to its current endpoint. */
static void
op_send(struct op *o)
{
	struct etcd_kv *kv = o->kv;
	long timeout = kv->timeout_ms;

	free(o->url);
	o->url = xasprintf("%s%s", kv->ep[o->ep], o->path);
	if (o->kind == OP_WATCH) {
		o->lines = false;
		o->req = etcd_http_stream(kv->h, o->url, o->body,
		    ETCD_KV_WATCH_MAX_LINE, on_watch_line, on_watch_done,
		    on_drop, o);
		return;
	}
	if (o->kind == OP_KEEP) {
		/* An answer after the deadline is of no use. */
		int64_t left = o->deadline - loop_now_ms();

		if (left < 1)
			left = 1;
		if (timeout <= 0 || left < timeout)
			timeout = (long)left;
	}
	o->req = etcd_http_request_ex(kv->h, o->url, o->body, timeout,
	    on_answer, on_drop, o);
}

static uint64_t
call_start(struct etcd_kv *kv, enum etcd_kv_answer ans, const char *path,
    char *body, etcd_kv_cb cb, void *arg)
{
	struct op *o = op_new(kv, OP_CALL, arg);

	o->ans = ans;
	o->path = path;
	o->body = body;
	o->cb = cb;
	op_send(o);
	return o->id;
}

static uint64_t
call_reject(struct etcd_kv *kv, etcd_kv_cb cb, void *arg, const char *what,
    const char *why)
{
	struct op *o = op_new(kv, OP_CALL, arg);

	o->cb = cb;
	return op_reject(o, "%s: %s", what, why);
}

/* Watches */

/* The revision after r, saturating: revisions come from the network. */
static int64_t
after(int64_t r)
{
	return r < INT64_MAX ? r + 1 : INT64_MAX;
}

static void
on_watch_line(void *arg, const char *line, size_t len)
{
	struct op *o = arg;
	struct etcd_kv_watch_msg m;
	struct etcd_kv_watch_update u;
	char err[400];
	char q[QUOTE_MAX * 2];

	if (etcd_kv_parse_watch(line, len, &m, err, sizeof(err)) < 0) {
		/* An error before the watch exists (e.g. "no leader") is
		 * this member's: try another. */
		if (!o->created && m.grpc_code != 0 && op_next_endpoint(o)) {
			log_debug("POST %s: %s; trying the next endpoint",
			    o->url, err);
			op_quiet(o);
			op_send(o);
			return;
		}
		snprintf(o->msg, sizeof(o->msg), "POST %s: %s: %s", o->url,
		    o->what, err);
		watch_end(o, 0);
		return;
	}
	o->lines = true;
	memset(&u, 0, sizeof(u));
	u.revision = m.revision;
	if (m.canceled) {
		if (m.compact_revision > 0)
			snprintf(o->msg, sizeof(o->msg), "POST %s: %s from "
			    "revision %" PRId64 ": history before revision %"
			    PRId64 " was compacted away; get the keys again "
			    "and watch from that answer's revision + 1",
			    o->url, o->what, o->next_rev, m.compact_revision);
		else
			snprintf(o->msg, sizeof(o->msg), "POST %s: etcd "
			    "cancelled the %s: %s", o->url, o->what,
			    m.cancel_reason[0] != '\0' ? ej_quote(m.cancel_reason,
			    strlen(m.cancel_reason), q, sizeof(q)) :
			    "no reason given");
		u.compact_revision = m.compact_revision;
		etcd_kv_watch_msg_free(&m);
		watch_end(o, u.compact_revision);
		return;
	}
	if (m.created && !o->created) {
		o->created = true;
		o->kv->cur = o->ep;
		if (o->start_rev == 0)
			o->next_rev = after(m.revision);
		u.kind = ETCD_KV_WATCH_CREATED;
		u.next_revision = o->next_rev;
		cb_begin(o);
		if (o->wcb != NULL)
			o->wcb(o->arg, &u);
		if (cb_end(o)) {
			etcd_kv_watch_msg_free(&m);
			return;
		}
	}
	if (m.n_events > 0) {
		int64_t last = m.events[m.n_events - 1].kv.mod_revision;

		if (m.events[0].kv.mod_revision < o->next_rev) {
			snprintf(o->msg, sizeof(o->msg), "POST %s: %s: events "
			    "of revision %" PRId64 " came after revision %"
			    PRId64 " was expected", o->url, o->what,
			    m.events[0].kv.mod_revision, o->next_rev);
			etcd_kv_watch_msg_free(&m);
			watch_end(o, 0);
			return;
		}
		o->next_rev = after(last);
		u.kind = ETCD_KV_WATCH_EVENTS;
		u.events = m.events;
		u.n_events = m.n_events;
		u.next_revision = o->next_rev;
		cb_begin(o);
		if (o->wcb != NULL)
			o->wcb(o->arg, &u);
		cb_end(o);
	} else if (!m.created && o->created && after(m.revision) >
	    o->next_rev) {
		/* A progress notice: nothing is missing up to revision. */
		o->next_rev = after(m.revision);
	}
	etcd_kv_watch_msg_free(&m);
}

static void
on_watch_done(void *arg, const struct etcd_http_result *r)
{
	struct op *o = arg;

	o->req = 0;
	if (!o->lines && failover_worthy(r) && op_next_endpoint(o)) {
		log_debug("POST %s: %s; trying the next endpoint", o->url,
		    r->error != NULL ? r->error : "HTTP 503");
		op_send(o);
		return;
	}
	if (r->error == NULL && r->status >= 200 && r->status <= 299)
		snprintf(o->msg, sizeof(o->msg), "POST %s: etcd closed the "
		    "stream of the %s", o->url, o->what);
	else
		describe(o, r);
	watch_end(o, 0);
}

uint64_t
etcd_kv_watch(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, int64_t start_revision, etcd_kv_watch_cb cb, void *arg)
{
	struct op *o = op_new(kv, OP_WATCH, arg);
	json_t *req, *root;
	char q[QUOTE_MAX];

	o->wcb = cb;
	o->path = "/v3/watch";
	if (key == NULL && key_len > 0)
		return op_reject(o, "watch: NULL key");
	snprintf(o->what, sizeof(o->what), "watch of %s\"%s\"",
	    prefix ? "prefix " : "key ", ej_quote(key, key_len, q, sizeof(q)));
	if (key_len == 0 && !prefix)
		return op_reject(o, "%s: empty key", o->what);
	if (key_len > ETCD_KV_MAX_KEY)
		return op_reject(o, "%s: key longer than 64 KiB", o->what);
	if (start_revision < 0)
		return op_reject(o, "%s: negative start revision", o->what);
	req = jobj();
	jkeys(req, key, key_len, prefix, NULL, 0);
	if (start_revision > 0)
		jset(req, "start_revision", jint(start_revision));
	root = jobj();
	jset(root, "create_request", req);
	o->body = jdump(root);
	o->start_rev = start_revision;
	o->next_rev = start_revision;
	op_send(o);
	return o->id;
}

/* Lease keeper */

static void
on_keep_timer(struct loop *l, void *arg)
{
	struct op *o = arg;

	(void)l;
	o->timer = 0;
	o->tries = 0;
	o->ep = o->kv->cur;
	o->sent = loop_now_ms();
	op_send(o);
}

static void
keep_schedule(struct op *o, int64_t ms)
{
	if (ms < 1)
		ms = 1;
	o->timer = loop_timer(o->kv->loop, ms, on_keep_timer, o);
}

uint64_t
etcd_kv_lease_keep(struct etcd_kv *kv, int64_t lease_id, int64_t ttl,
    etcd_kv_lost_cb lost, void *arg)
{
	struct op *o = op_new(kv, OP_KEEP, arg);
	json_t *root;

	o->lost = lost;
	o->lease = lease_id;
	o->ans = ETCD_KV_ANS_LEASE_KEEPALIVE;
	o->path = "/v3/lease/keepalive";
	if (lease_id <= 0)
		return op_reject(o, "lease %" PRId64 ": not a lease ID",
		    lease_id);
	if (ttl <= 0 || ttl > INT64_MAX / 1000)
		return op_reject(o, "lease %" PRId64 ": TTL %" PRId64 " s is "
		    "out of range", lease_id, ttl);
	root = jobj();
	jset(root, "ID", jint(lease_id));
	o->body = jdump(root);
	o->ttl_ms = ttl * 1000;
	o->deadline = loop_now_ms() + o->ttl_ms;
	keep_schedule(o, o->ttl_ms / 3);
	return o->id;
}

/* One-shot calls */

uint64_t
etcd_kv_get(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, int64_t limit, etcd_kv_cb cb, void *arg)
{
	struct etcd_kv_op op = {
		.type = ETCD_KV_RANGE, .key = key, .key_len = key_len,
		.prefix = prefix, .limit = limit,
	};
	const char *bad = op_invalid(&op);

	if (bad != NULL)
		return call_reject(kv, cb, arg, "get", bad);
	return call_start(kv, ETCD_KV_ANS_RANGE, "/v3/kv/range",
	    jdump(op_json(&op)), cb, arg);
}

uint64_t
etcd_kv_put(struct etcd_kv *kv, const void *key, size_t key_len,
    const void *value, size_t value_len, int64_t lease, etcd_kv_cb cb,
    void *arg)
{
	struct etcd_kv_op op = {
		.type = ETCD_KV_PUT, .key = key, .key_len = key_len,
		.value = value, .value_len = value_len, .lease = lease,
	};
	const char *bad = op_invalid(&op);

	if (bad != NULL)
		return call_reject(kv, cb, arg, "put", bad);
	return call_start(kv, ETCD_KV_ANS_PUT, "/v3/kv/put",
	    jdump(op_json(&op)), cb, arg);
}

uint64_t
etcd_kv_delete(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, etcd_kv_cb cb, void *arg)
{
	struct etcd_kv_op op = {
		.type = ETCD_KV_DELETE, .key = key, .key_len = key_len,
		.prefix = prefix,
	};
	const char *bad = op_invalid(&op);

	if (bad != NULL)
		return call_reject(kv, cb, arg, "delete", bad);
	return call_start(kv, ETCD_KV_ANS_DELETE, "/v3/kv/deleterange",
	    jdump(op_json(&op)), cb, arg);
}

uint64_t
etcd_kv_txn(struct etcd_kv *kv, const struct etcd_kv_cmp *cmp,
    size_t n_cmp, const struct etcd_kv_op *then, size_t n_then,
    const struct etcd_kv_op *otherwise, size_t n_otherwise, etcd_kv_cb cb,
    void *arg)
{
	json_t *root, *a;
	char why[96];

	if (n_cmp > MAX_TXN_OPS || n_then > MAX_TXN_OPS ||
	    n_otherwise > MAX_TXN_OPS)
		return call_reject(kv, cb, arg, "txn", "more than 128 "
		    "compares or ops in a branch");
	for (size_t i = 0; i < n_cmp; i++) {
		const char *bad = cmp_invalid(&cmp[i]);

		if (bad != NULL) {
			snprintf(why, sizeof(why), "compare %zu: %s", i, bad);
			return call_reject(kv, cb, arg, "txn", why);
		}
	}
	for (size_t i = 0; i < n_then + n_otherwise; i++) {
		const struct etcd_kv_op *op = i < n_then ? &then[i] :
		    &otherwise[i - n_then];
		const char *bad = op_invalid(op);

		if (bad != NULL) {
			snprintf(why, sizeof(why), "%s op %zu: %s", i < n_then ?
			    "then" : "else", i < n_then ? i : i - n_then, bad);
			return call_reject(kv, cb, arg, "txn", why);
		}
	}
	root = jobj();
	a = jarr();
	for (size_t i = 0; i < n_cmp; i++)
		jappend(a, cmp_json(&cmp[i]));
	jset(root, "compare", a);
	jset(root, "success", ops_json(then, n_then));
	jset(root, "failure", ops_json(otherwise, n_otherwise));
	return call_start(kv, ETCD_KV_ANS_TXN, "/v3/kv/txn", jdump(root), cb,
	    arg);
}

uint64_t
etcd_kv_txn_create(struct etcd_kv *kv, const void *key, size_t key_len,
    const void *value, size_t value_len, int64_t lease, etcd_kv_cb cb,
    void *arg)
{
	struct etcd_kv_cmp cmp = {
		.target = ETCD_KV_CMP_CREATE, .result = ETCD_KV_EQUAL,
		.key = key, .key_len = key_len, .number = 0,
	};
	struct etcd_kv_op put = {
		.type = ETCD_KV_PUT, .key = key, .key_len = key_len,
		.value = value, .value_len = value_len, .lease = lease,
	};
	struct etcd_kv_op get = {
		.type = ETCD_KV_RANGE, .key = key, .key_len = key_len,
	};

	return etcd_kv_txn(kv, &cmp, 1, &put, 1, &get, 1, cb, arg);
}

static uint64_t
lease_call(struct etcd_kv *kv, enum etcd_kv_answer ans, const char *path,
    const char *field, int64_t v, etcd_kv_cb cb, void *arg)
{
	json_t *root;

	if (v <= 0) {
		char why[64];

		snprintf(why, sizeof(why), "%s %" PRId64 " should be > 0",
		    field, v);
		return call_reject(kv, cb, arg, answer_name[ans], why);
	}
	root = jobj();
	jset(root, field, jint(v));
	return call_start(kv, ans, path, jdump(root), cb, arg);
}

uint64_t
etcd_kv_lease_grant(struct etcd_kv *kv, int64_t ttl, etcd_kv_cb cb,
    void *arg)
{
	return lease_call(kv, ETCD_KV_ANS_LEASE_GRANT, "/v3/lease/grant",
	    "TTL", ttl, cb, arg);
}

uint64_t
etcd_kv_lease_keepalive(struct etcd_kv *kv, int64_t lease_id,
    etcd_kv_cb cb, void *arg)
{
	return lease_call(kv, ETCD_KV_ANS_LEASE_KEEPALIVE,
	    "/v3/lease/keepalive", "ID", lease_id, cb, arg);
}

uint64_t
etcd_kv_lease_revoke(struct etcd_kv *kv, int64_t lease_id, etcd_kv_cb cb,
    void *arg)
{
	return lease_call(kv, ETCD_KV_ANS_LEASE_REVOKE, "/v3/lease/revoke",
	    "ID", lease_id, cb, arg);
}

/* The client */

struct etcd_kv *
etcd_kv_new(struct etcd_http *h, char *const *endpoints, size_t n)
{
	struct etcd_kv *kv = xcalloc(1, sizeof(*kv));

	if (n == 0) {
		log_error("etcd_kv_new: no endpoints");
		abort();
	}
	kv->h = h;
	kv->loop = etcd_http_loop(h);
	kv->ep = xcalloc(n, sizeof(*kv->ep));
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(endpoints[i]);

		while (k > 0 && endpoints[i][k - 1] == '/')
			k--;
		kv->ep[i] = xstrndup(endpoints[i], k);
	}
	kv->n = n;
	kv->timeout_ms = DEFAULT_TIMEOUT_MS;
	kv->next_id = 1;
	return kv;
}

void
etcd_kv_set_timeout(struct etcd_kv *kv, long timeout_ms)
{
	kv->timeout_ms = timeout_ms;
}

const char *
etcd_kv_endpoint(const struct etcd_kv *kv)
{
	return kv->ep[kv->cur];
}

void
etcd_kv_cancel(struct etcd_kv *kv, uint64_t id)
{
	for (struct op *o = kv->ops; o != NULL && id != 0; o = o->next) {
		if (o->id == id) {
			op_kill(o);
			return;
		}
	}
}

void
etcd_kv_free(struct etcd_kv *kv)
{
	if (kv == NULL || kv->doomed)
		return;
	kv->doomed = true;
	while (kv->ops != NULL)
		op_kill(kv->ops);
	if (kv->depth == 0)
		kv_destroy(kv);
}
