#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/xmalloc.h"
#include "etcd/json.h"
#include "etcd/kv.h"
#include "etcd/kv_int.h"

/* Request bodies for the gateway, and the one-shot calls that send them. */

static json_t *
jbytes(const void *p, size_t n)
{
	char *s = etcd_kv_b64_encode(p, n);
	json_t *j = json_string(s);

	free(s);
	return j;
}

json_t *
ekv_int(int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_string(b);
}

/* Sets "key" and, for a prefix or range, "range_end" of o. etcd wants a
 * non-empty key; "all keys" is ["\0", "\0"). */
void
ekv_keys(json_t *o, const void *key, size_t key_len, bool prefix,
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
			ej_set(o, "key", key_len > 0 ? jbytes(key, key_len) :
			    jbytes(zero, 1));
			ej_set(o, "range_end", jbytes(zero, 1));
			return;
		}
		e = xmalloc(n);
		memcpy(e, k, n);
		e[n - 1]++;
		ej_set(o, "key", jbytes(key, key_len));
		ej_set(o, "range_end", jbytes(e, n));
		free(e);
		return;
	}
	ej_set(o, "key", jbytes(key, key_len));
	if (end != NULL)
		ej_set(o, "range_end", jbytes(end, end_len));
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
	json_t *o = ej_obj();
	bool ranged = op->type != ETCD_KV_PUT;

	ekv_keys(o, op->key, op->key_len, ranged && op->prefix,
	    ranged && !op->prefix ? op->range_end : NULL, op->range_end_len);
	if (op->type == ETCD_KV_RANGE && op->limit > 0)
		ej_set(o, "limit", ekv_int(op->limit));
	if (op->type == ETCD_KV_PUT) {
		ej_set(o, "value", jbytes(op->value, op->value_len));
		if (op->lease != 0)
			ej_set(o, "lease", ekv_int(op->lease));
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
	json_t *o = ej_obj();

	ej_set(o, "target", json_string(target[c->target]));
	ej_set(o, "result", json_string(result[c->result]));
	ej_set(o, "key", jbytes(c->key, c->key_len));
	if (c->target == ETCD_KV_CMP_VALUE)
		ej_set(o, field[c->target], jbytes(c->value, c->value_len));
	else
		ej_set(o, field[c->target], ekv_int(c->number));
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
	json_t *a = ej_arr();

	for (size_t i = 0; i < n; i++) {
		json_t *o = ej_obj();

		ej_set(o, name[ops[i].type], op_json(&ops[i]));
		ej_append(a, o);
	}
	return a;
}

/* One-shot calls */

/* Starts a call of one op to path, or rejects a bad op. */
static uint64_t
one_op(struct etcd_kv *kv, const struct etcd_kv_op *op,
    enum etcd_kv_answer ans, const char *path, etcd_kv_cb cb, void *arg)
{
	static const char *const name[] = {
		[ETCD_KV_RANGE] = "get", [ETCD_KV_PUT] = "put",
		[ETCD_KV_DELETE] = "delete",
	};
	const char *bad = op_invalid(op);

	if (bad != NULL)
		return ekv_call_reject(kv, cb, arg, name[op->type], bad);
	return ekv_call_start(kv, ans, path, ej_dump(op_json(op)), cb, arg);
}

uint64_t
etcd_kv_get(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, int64_t limit, etcd_kv_cb cb, void *arg)
{
	struct etcd_kv_op op = {
		.type = ETCD_KV_RANGE, .key = key, .key_len = key_len,
		.prefix = prefix, .limit = limit,
	};

	return one_op(kv, &op, ETCD_KV_ANS_RANGE, "/v3/kv/range", cb, arg);
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

	return one_op(kv, &op, ETCD_KV_ANS_PUT, "/v3/kv/put", cb, arg);
}

uint64_t
etcd_kv_delete(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, etcd_kv_cb cb, void *arg)
{
	struct etcd_kv_op op = {
		.type = ETCD_KV_DELETE, .key = key, .key_len = key_len,
		.prefix = prefix,
	};

	return one_op(kv, &op, ETCD_KV_ANS_DELETE, "/v3/kv/deleterange", cb,
	    arg);
}

uint64_t
etcd_kv_txn(struct etcd_kv *kv, const struct etcd_kv_cmp *cmp,
    size_t n_cmp, const struct etcd_kv_op *then, size_t n_then,
    const struct etcd_kv_op *otherwise, size_t n_otherwise, etcd_kv_cb cb,
    void *arg)
{
	json_t *root, *a;
	char why[96];

	if (n_cmp > EKV_MAX_TXN_OPS || n_then > EKV_MAX_TXN_OPS ||
	    n_otherwise > EKV_MAX_TXN_OPS)
		return ekv_call_reject(kv, cb, arg, "txn", "more than 128 "
		    "compares or ops in a branch");
	for (size_t i = 0; i < n_cmp; i++) {
		const char *bad = cmp_invalid(&cmp[i]);

		if (bad != NULL) {
			snprintf(why, sizeof(why), "compare %zu: %s", i, bad);
			return ekv_call_reject(kv, cb, arg, "txn", why);
		}
	}
	for (size_t i = 0; i < n_then + n_otherwise; i++) {
		const struct etcd_kv_op *op = i < n_then ? &then[i] :
		    &otherwise[i - n_then];
		const char *bad = op_invalid(op);

		if (bad != NULL) {
			snprintf(why, sizeof(why), "%s op %zu: %s", i < n_then ?
			    "then" : "else", i < n_then ? i : i - n_then, bad);
			return ekv_call_reject(kv, cb, arg, "txn", why);
		}
	}
	root = ej_obj();
	a = ej_arr();
	for (size_t i = 0; i < n_cmp; i++)
		ej_append(a, cmp_json(&cmp[i]));
	ej_set(root, "compare", a);
	ej_set(root, "success", ops_json(then, n_then));
	ej_set(root, "failure", ops_json(otherwise, n_otherwise));
	return ekv_call_start(kv, ETCD_KV_ANS_TXN, "/v3/kv/txn", ej_dump(root),
	    cb, arg);
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
		return ekv_call_reject(kv, cb, arg, ekv_answer_name(ans), why);
	}
	root = ej_obj();
	ej_set(root, field, ekv_int(v));
	return ekv_call_start(kv, ans, path, ej_dump(root), cb, arg);
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
