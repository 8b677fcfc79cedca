#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/str.h"
#include "lib/xmalloc.h"
#include "etcd/json.h"
#include "etcd/kv.h"
#include "etcd/kv_int.h"

/* Answers of etcd's v3 JSON gateway, read strictly: they come from the
 * network. Keys and values are base64; 64-bit numbers are strings. */

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

int
etcd_kv_b64_decode_into(const char *s, size_t n, unsigned char *out,
    size_t *outlen)
{
	size_t o = 0;

	if (n % 4 != 0)
		return -1;
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
				return -1;
		}
		x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical: the bits that padding drops must be zero. */
		if ((pad == 1 && (x & 0xff) != 0) ||
		    (pad == 2 && (x & 0xffff) != 0))
			return -1;
		out[o++] = (unsigned char)(x >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(x >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)x;
	}
	*outlen = o;
	return 0;
}

char *
etcd_kv_b64_decode(const char *s, size_t n, size_t *outlen)
{
	char *out = xmalloc(n / 4 * 3 + 1);

	if (etcd_kv_b64_decode_into(s, n, (unsigned char *)out, outlen) < 0) {
		free(out);
		return NULL;
	}
	out[*outlen] = '\0';
	return out;
}

/* Reads obj[key], base64 bytes, into a new NUL-terminated buffer; missing
 * is empty. */
static int
get_bytes(const char *what, json_t *obj, const char *key, size_t max,
    char **out, size_t *len, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	char q[EJ_QUOTE_MAX];

	if (v == NULL) {
		*out = xstrdup("");
		*len = 0;
		return 0;
	}
	if (!json_is_string(v)) {
		str_seterr(err, errlen, "%s: \"%s\" should be a base64 string, "
		    "found %s", what, key, ej_type_name(v));
		return -1;
	}
	*out = etcd_kv_b64_decode(json_string_value(v), json_string_length(v),
	    len);
	if (*out == NULL) {
		str_seterr(err, errlen, "%s: \"%s\" is not valid base64: \"%s\"",
		    what, key, str_quote_n(json_string_value(v),
		    json_string_length(v), q, sizeof(q)));
		return -1;
	}
	if (*len > max) {
		str_seterr(err, errlen, "%s: \"%s\" is %zu bytes, more than the "
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
		str_seterr(err, errlen, "%s should be an object, found %s", what,
		    ej_type_name(o));
		return -1;
	}
	if (get_bytes(what, o, "key", ETCD_KV_MAX_KEY, &p->key, &p->key_len,
	    err, errlen) < 0)
		return -1;
	if (p->key_len == 0) {
		str_seterr(err, errlen, "%s: no \"key\"", what);
		return -1;
	}
	if (get_bytes(what, o, "value", SIZE_MAX, &p->value, &p->value_len,
	    err, errlen) < 0 ||
	    ej_get_i64(what, o, "create_revision", 0, &p->create_revision, err,
	    errlen) < 0 ||
	    ej_get_i64(what, o, "mod_revision", 0, &p->mod_revision, err,
	    errlen) < 0 ||
	    ej_get_i64(what, o, "version", 0, &p->version, err, errlen) < 0 ||
	    ej_get_i64(what, o, "lease", 0, &p->lease, err, errlen) < 0)
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
		str_seterr(err, errlen, "%s: \"%s\" should be an array, found %s",
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
		str_seterr(err, errlen, "%s should be an object, found %s", what,
		    ej_type_name(o));
		return -1;
	}
	switch (type) {
	case ETCD_KV_RANGE:
		if (parse_pairs(what, o, "kvs", &r->kvs, &r->n_kvs, err,
		    errlen) < 0 ||
		    ej_get_bool(what, o, "more", &r->more, err, errlen) < 0 ||
		    ej_get_i64(what, o, "count", 0, &r->count, err, errlen) < 0)
			return -1;
		if ((uint64_t)r->count < r->n_kvs) {
			str_seterr(err, errlen, "%s: \"count\" is %" PRId64 " but "
			    "%zu pairs came", what, r->count, r->n_kvs);
			return -1;
		}
		return 0;
	case ETCD_KV_PUT:
		return 0;
	case ETCD_KV_DELETE:
		return ej_get_i64(what, o, "deleted", 0, &r->deleted, err,
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
		str_seterr(err, errlen, "%s: \"responses\" should be an array, "
		    "found %s", what, ej_type_name(a));
		return -1;
	}
	size = json_array_size(a);
	if (size > EKV_MAX_TXN_OPS) {
		str_seterr(err, errlen, "%s: %zu responses, more than the %d ops "
		    "a transaction may have", what, size, EKV_MAX_TXN_OPS);
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
			str_seterr(err, errlen, "%s should be an object, found %s",
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
			str_seterr(err, errlen, "%s should hold exactly one of "
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
		int c = ej_etcd_error(what, root, err, errlen);

		if (c < 0)
			str_seterr(err, errlen, "%s: no \"header\" object in the "
			    "answer", what);
		else
			*grpc_code = c;
		return -1;
	}
	if (!json_is_object(hdr)) {
		str_seterr(err, errlen, "%s: \"header\" should be an object, "
		    "found %s", what, ej_type_name(hdr));
		return -1;
	}
	if (ej_get_i64(what, hdr, "revision", 0, revision, err, errlen) < 0)
		return -1;
	return ej_get_u64(what, hdr, "member_id", false, UINT64_MAX, member_id,
	    err, errlen);
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

const char *
ekv_answer_name(enum etcd_kv_answer kind)
{
	return answer_name[kind];
}

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
			int c = ej_etcd_error(what, e, err, errlen);

			if (c < 0)
				str_seterr(err, errlen, "%s: an \"error\" without "
				    "a message", what);
			out->grpc_code = c < 0 ? 0 : c;
			goto fail;
		}
		if (obj == NULL)
			obj = root;	/* may be the gateway's error form */
		else if (!json_is_object(obj)) {
			str_seterr(err, errlen, "%s: \"result\" should be an "
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
			char q[EJ_QUOTE_MAX];

			str_seterr(err, errlen, "%s: etcd error: %s", what,
			    str_quote_n(json_string_value(e), json_string_length(e),
			    q, sizeof(q)));
			goto fail;
		}
		/* fall through */
	case ETCD_KV_ANS_LEASE_KEEPALIVE:
		if (ej_get_i64(what, obj, "ID", 0, &r.lease_id, err, errlen) < 0 ||
		    ej_get_i64(what, obj, "TTL", 0, &r.ttl, err, errlen) < 0)
			goto fail;
		if (r.lease_id == 0) {
			str_seterr(err, errlen, "%s: no lease \"ID\"", what);
			goto fail;
		}
		if (kind == ETCD_KV_ANS_LEASE_GRANT && r.ttl == 0) {
			str_seterr(err, errlen, "%s: no \"TTL\"", what);
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
		str_seterr(err, errlen, "%s should be an object, found %s", what,
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
		char q[EJ_QUOTE_MAX];

		str_seterr(err, errlen, "%s: \"type\" should be \"PUT\" or "
		    "\"DELETE\", found %s%s%s", what, json_is_string(t) ?
		    "\"" : "", json_is_string(t) ? str_quote_n(json_string_value(t),
		    json_string_length(t), q, sizeof(q)) : ej_type_name(t),
		    json_is_string(t) ? "\"" : "");
		return -1;
	}
	kv = json_object_get(o, "kv");
	if (kv == NULL) {
		str_seterr(err, errlen, "%s: no \"kv\"", what);
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
		int c = ej_etcd_error(what, json_is_object(e) ? e : root, err,
		    errlen);

		if (c < 0)
			str_seterr(err, errlen, "%s: neither \"result\" nor an "
			    "etcd error", what);
		out->grpc_code = c < 0 ? 0 : c;
		goto fail;
	}
	if (!json_is_object(res)) {
		str_seterr(err, errlen, "%s: \"result\" should be an object, "
		    "found %s", what, ej_type_name(res));
		goto fail;
	}
	if (parse_header(what, res, &m.revision, &member, &out->grpc_code,
	    err, errlen) < 0 ||
	    ej_get_i64(what, res, "watch_id", -1, &m.watch_id, err, errlen) < 0 ||
	    ej_get_bool(what, res, "created", &m.created, err, errlen) < 0 ||
	    ej_get_bool(what, res, "canceled", &m.canceled, err, errlen) < 0 ||
	    ej_get_i64(what, res, "compact_revision", 0, &m.compact_revision,
	    err, errlen) < 0)
		goto fail;
	e = json_object_get(res, "cancel_reason");
	if (e != NULL && !json_is_string(e)) {
		str_seterr(err, errlen, "%s: \"cancel_reason\" should be a string, "
		    "found %s", what, ej_type_name(e));
		goto fail;
	}
	m.cancel_reason = e != NULL ? xstrndup(json_string_value(e),
	    json_string_length(e)) : xstrdup("");
	a = json_object_get(res, "events");
	if (a != NULL && !json_is_array(a)) {
		str_seterr(err, errlen, "%s: \"events\" should be an array, found "
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
			str_seterr(err, errlen, "%s: events out of revision order "
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
