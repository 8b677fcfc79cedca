/* etcd/kv.c without a network: base64, and parsing etcd's answers and
 * watch stream lines, as captured from a real etcd and hostile ones. */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/xmalloc.h"
#include "etcd/kv.h"
#include "tests/unit/kv_fix.h"

/* More answers captured from Debian's etcd 3.4.23 on loopback (kv_fix.h
 * has those the fake-server tests send too). */
static const char RANGE_EMPTY[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"3\",\"raft_term\":\"2\"}}";
static const char RANGE_LEASED[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"7\",\"raft_term\":\"2\"},\"kvs\":"
    "[{\"key\":\"bGVhc2Vk\",\"create_revision\":\"7\",\"mod_revision\":\"7\","
    "\"version\":\"1\",\"value\":\"eA==\",\"lease\":\"1353509806776755223\"}]"
    ",\"count\":\"1\"}";
static const char PUT[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"2\",\"raft_term\":\"2\"}}";
static const char DELETED[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"6\",\"raft_term\":\"2\"},"
    "\"deleted\":\"1\"}";
/* txn_create on an existing key: no "succeeded", the else-range. */
static const char TXN_FAILED[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"3\",\"raft_term\":\"2\"},"
    "\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"3\"},"
    "\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":"
    "\"3\",\"version\":\"2\",\"value\":\"/wBiYXI=\"}],\"count\":\"1\"}}]}";
static const char TXN_OK[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"4\",\"raft_term\":\"2\"},"
    "\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":"
    "{\"revision\":\"4\"}}}]}";
static const char TXN_DELETE[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"5\",\"raft_term\":\"2\"},"
    "\"succeeded\":true,\"responses\":[{\"response_delete_range\":{\"header\""
    ":{\"revision\":\"5\"},\"deleted\":\"1\",\"prev_kvs\":[{\"key\":"
    "\"Zm9vMg==\",\"create_revision\":\"4\",\"mod_revision\":\"4\",\"version"
    "\":\"1\",\"value\":\"bmV3\"}]}}]}";
static const char GRANT[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"3\",\"raft_term\":\"2\"},\"ID\":"
    "\"1353509806776755211\",\"TTL\":\"5\"}";
static const char KEEPALIVE[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"6\",\"raft_term\":"
    "\"2\"},\"ID\":\"1353509806776755223\",\"TTL\":\"30\"}}\n";

/* A watch stream line (kv_fix.h has the others). */
static const char W_PROGRESS[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"11\",\"raft_term\":"
    "\"3\"},\"watch_id\":\"-1\"}}";

static char err[512];

/* Parsing */

static int
parse(enum etcd_kv_answer k, const char *body, struct etcd_kv_result *r)
{
	err[0] = '\0';
	return etcd_kv_parse(k, body, strlen(body), r, err, sizeof(err));
}

static void
parse_bad(enum etcd_kv_answer k, const char *body, const char *needle)
{
	struct etcd_kv_result r;

	if (parse(k, body, &r) == 0) {
		etcd_kv_result_free(&r);
		fail_msg("accepted: %s", body);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" (body %s)", err, needle,
		    body);
	assert_null(r.resp);
	assert_int_equal(r.n_resp, 0);
}

static void
test_b64(void **state)
{
	static const struct {
		const char *plain;
		size_t len;
		const char *enc;
	} t[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "\xff\0bar", 5, "/wBiYXI=" },
		{ "\xfb\xff\xbf", 3, "+/+/" },
	};
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm 9",
		"Zh==",		/* non-zero bits under the padding */
		"Zm9=",
		"Zm-v", "Zm_v", "Zg=a", "=Zg=",
	};
	unsigned char all[256];
	size_t n;
	char *s, *d;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = etcd_kv_b64_encode(t[i].plain, t[i].len);
		assert_string_equal(s, t[i].enc);
		d = etcd_kv_b64_decode(s, strlen(s), &n);
		assert_non_null(d);
		assert_int_equal(n, t[i].len);
		assert_memory_equal(d, t[i].plain, n);
		assert_int_equal(d[n], '\0');
		free(d);
		free(s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (etcd_kv_b64_decode(bad[i], strlen(bad[i]), &n) != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* Every byte value survives, whatever UTF-8 thinks of it. */
	for (size_t i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= 256; len += 37) {
		s = etcd_kv_b64_encode(all, len);
		d = etcd_kv_b64_decode(s, strlen(s), &n);
		assert_int_equal(n, len);
		assert_memory_equal(d, all, len);
		free(d);
		free(s);
	}
}

static void
test_parse_range(void **state)
{
	struct etcd_kv_result r;

	(void)state;
	assert_int_equal(parse(ETCD_KV_ANS_RANGE, RANGE, &r), 0);
	assert_null(r.error);
	assert_true(r.revision == 3);
	assert_true(r.member_id == UINT64_C(7383792418829112008));
	assert_int_equal(r.n_resp, 1);
	assert_int_equal(r.resp[0].type, ETCD_KV_RANGE);
	assert_true(r.resp[0].count == 1);
	assert_false(r.resp[0].more);
	assert_int_equal(r.n_kvs, 1);
	assert_ptr_equal(r.kvs, r.resp[0].kvs);
	assert_int_equal(r.kvs[0].key_len, 3);
	assert_string_equal(r.kvs[0].key, "foo");
	assert_int_equal(r.kvs[0].value_len, 5);
	assert_memory_equal(r.kvs[0].value, "\xff\0bar", 6);
	assert_true(r.kvs[0].create_revision == 2);
	assert_true(r.kvs[0].mod_revision == 3);
	assert_true(r.kvs[0].version == 2);
	assert_true(r.kvs[0].lease == 0);
	etcd_kv_result_free(&r);
	assert_null(r.resp);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_RANGE, RANGE_EMPTY, &r), 0);
	assert_int_equal(r.n_kvs, 0);
	assert_null(r.kvs);
	assert_true(r.resp[0].count == 0);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_RANGE, RANGE_LEASED, &r), 0);
	assert_true(r.kvs[0].lease == INT64_C(1353509806776755223));
	assert_string_equal(r.kvs[0].value, "x");
	etcd_kv_result_free(&r);

	/* A limited range: more, and count beyond what came. */
	assert_int_equal(parse(ETCD_KV_ANS_RANGE, "{\"header\":{\"revision\":"
	    "\"9\"},\"kvs\":[{\"key\":\"YQ==\"},{\"key\":\"Yg==\",\"value\":\"\"}"
	    "],\"more\":true,\"count\":\"5\"}", &r), 0);
	assert_true(r.resp[0].more);
	assert_true(r.resp[0].count == 5);
	assert_int_equal(r.n_kvs, 2);
	assert_int_equal(r.kvs[0].value_len, 0);
	assert_string_equal(r.kvs[0].value, "");
	assert_string_equal(r.kvs[1].key, "b");
	etcd_kv_result_free(&r);
}

static void
test_parse_other(void **state)
{
	struct etcd_kv_result r;

	(void)state;
	assert_int_equal(parse(ETCD_KV_ANS_PUT, PUT, &r), 0);
	assert_true(r.revision == 2);
	assert_int_equal(r.n_resp, 1);
	assert_int_equal(r.resp[0].type, ETCD_KV_PUT);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_DELETE, DELETED, &r), 0);
	assert_true(r.resp[0].deleted == 1);
	etcd_kv_result_free(&r);
	/* Nothing deleted: etcd leaves "deleted" out. */
	assert_int_equal(parse(ETCD_KV_ANS_DELETE, RANGE_EMPTY, &r), 0);
	assert_true(r.resp[0].deleted == 0);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_LEASE_GRANT, GRANT, &r), 0);
	assert_true(r.lease_id == INT64_C(1353509806776755211));
	assert_true(r.ttl == 5);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_LEASE_KEEPALIVE, KEEPALIVE, &r), 0);
	assert_true(r.lease_id == INT64_C(1353509806776755223));
	assert_true(r.ttl == 30);
	assert_true(r.revision == 6);
	etcd_kv_result_free(&r);
	assert_int_equal(parse(ETCD_KV_ANS_LEASE_KEEPALIVE, KEEPALIVE_GONE,
	    &r), 0);
	assert_true(r.ttl == 0);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_LEASE_REVOKE, PUT, &r), 0);
	etcd_kv_result_free(&r);
}

static void
test_parse_txn(void **state)
{
	struct etcd_kv_result r;

	(void)state;
	assert_int_equal(parse(ETCD_KV_ANS_TXN, TXN_FAILED, &r), 0);
	assert_false(r.succeeded);
	assert_int_equal(r.n_resp, 1);
	assert_int_equal(r.resp[0].type, ETCD_KV_RANGE);
	assert_int_equal(r.n_kvs, 1);
	assert_memory_equal(r.kvs[0].value, "\xff\0bar", 5);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_TXN, TXN_OK, &r), 0);
	assert_true(r.succeeded);
	assert_true(r.revision == 4);
	assert_int_equal(r.n_resp, 1);
	assert_int_equal(r.resp[0].type, ETCD_KV_PUT);
	assert_int_equal(r.n_kvs, 0);
	etcd_kv_result_free(&r);

	assert_int_equal(parse(ETCD_KV_ANS_TXN, TXN_DELETE, &r), 0);
	assert_int_equal(r.resp[0].type, ETCD_KV_DELETE);
	assert_true(r.resp[0].deleted == 1);
	etcd_kv_result_free(&r);

	/* An empty transaction. */
	assert_int_equal(parse(ETCD_KV_ANS_TXN, "{\"header\":{\"revision\":"
	    "\"5\"},\"succeeded\":true}", &r), 0);
	assert_true(r.succeeded);
	assert_int_equal(r.n_resp, 0);
	etcd_kv_result_free(&r);
}

static void
test_parse_errors(void **state)
{
	struct etcd_kv_result r;

	(void)state;
	/* etcd's error objects are reported as such, with their code. */
	assert_int_equal(parse(ETCD_KV_ANS_LEASE_REVOKE, LEASE_NOT_FOUND, &r),
	    -1);
	assert_string_equal(err, "lease revoke answer: etcd error: "
	    "etcdserver: requested lease not found (gRPC code 5)");
	assert_int_equal(r.grpc_code, 5);
	assert_int_equal(parse(ETCD_KV_ANS_RANGE, LEARNER_ERR, &r), -1);
	assert_int_equal(r.grpc_code, 14);
	assert_non_null(strstr(err, "rpc not supported for learner"));
	/* The keepalive stream's own error form. */
	assert_int_equal(parse(ETCD_KV_ANS_LEASE_KEEPALIVE, W_CLOSING, &r),
	    -1);
	assert_string_equal(err, "lease keepalive answer: etcd error: "
	    "transport is closing (gRPC code 14)");
	assert_int_equal(r.grpc_code, 14);
	/* A failed grant says so in "error". */
	parse_bad(ETCD_KV_ANS_LEASE_GRANT, "{\"header\":{},\"ID\":\"1\","
	    "\"TTL\":\"5\",\"error\":\"lease already exists\"}",
	    "etcd error: lease already exists");
}

static void
test_parse_hostile(void **state)
{
	static const struct {
		enum etcd_kv_answer k;
		const char *body;
		const char *needle;
	} t[] = {
		{ ETCD_KV_ANS_RANGE, "", "empty answer" },
		{ ETCD_KV_ANS_RANGE, "[]", "expected a JSON object, found an "
		    "array" },
		{ ETCD_KV_ANS_RANGE, "null", "found null" },
		{ ETCD_KV_ANS_RANGE, "{}", "no \"header\"" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":[]}", "\"header\" should be "
		    "an object" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{\"revision\":3}}",
		    "\"revision\" should be a string" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{\"revision\":\"-3\"}}",
		    "\"revision\" should be at least 0" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{\"revision\":"
		    "\"9223372036854775808\"}}", "out of range" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{\"revision\":\"1e3\"}}",
		    "decimal digits" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{\"revision\":\"\"}}",
		    "decimal digits" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{\"revision\":\"-\"}}",
		    "decimal digits" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{\"member_id\":"
		    "\"18446744073709551616\"}}", "out of range" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":{}}",
		    "\"kvs\" should be an array" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[7]}",
		    "kvs[0] should be an object" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[{}]}",
		    "kvs[0]: no \"key\"" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"\"}]}",
		    "kvs[0]: no \"key\"" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\","
		    "\"value\":\"not base64!\"}]}", "\"value\" is not valid "
		    "base64: \"not base64!\"" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\","
		    "\"value\":5}]}", "\"value\" should be a base64 string" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\","
		    "\"lease\":\"-1\"}]}", "\"lease\" should be at least 0" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\"}"
		    ",{\"key\":\"Zm9v\",\"version\":\"x\"}],\"count\":\"2\"}",
		    "kvs[1]: \"version\" should be decimal digits" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\"}"
		    "],\"count\":\"0\"}", "\"count\" is 0 but 1 pairs came" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"more\":\"yes\"}",
		    "\"more\" should be true or false" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"header\":{}}",
		    "duplicate" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{}} {}", "invalid JSON" },
		/* Raw invalid UTF-8 inside the JSON text. */
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"x\":\"\xff\"}",
		    "invalid JSON" },
		{ ETCD_KV_ANS_RANGE, "{\"header\":{},\"x\":\"\xc0\xaf\"}",
		    "invalid JSON" },
		{ ETCD_KV_ANS_RANGE, "{\"message\":7}", "no \"header\"" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"succeeded\":1}",
		    "\"succeeded\" should be true or false" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"responses\":{}}",
		    "\"responses\" should be an array" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"responses\":[[]]}",
		    "responses[0] should be an object" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"responses\":[{}]}",
		    "exactly one of" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"responses\":[{"
		    "\"response_put\":{},\"response_range\":{}}]}",
		    "exactly one of" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"responses\":[{"
		    "\"response_txn\":{}}]}", "exactly one of" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"responses\":[{"
		    "\"response_range\":[]}]}", "should be an object" },
		{ ETCD_KV_ANS_TXN, "{\"header\":{},\"responses\":[{"
		    "\"response_put\":{}},{\"response_range\":{\"kvs\":[{"
		    "\"key\":\"@@@@\"}]}}]}", "responses[1]: kvs[0]: \"key\" is "
		    "not valid base64" },
		{ ETCD_KV_ANS_LEASE_GRANT, "{\"header\":{},\"TTL\":\"5\"}",
		    "no lease \"ID\"" },
		{ ETCD_KV_ANS_LEASE_GRANT, "{\"header\":{},\"ID\":\"5\"}",
		    "no \"TTL\"" },
		{ ETCD_KV_ANS_LEASE_GRANT, "{\"header\":{},\"ID\":5,\"TTL\":"
		    "\"5\"}", "\"ID\" should be a string" },
		{ ETCD_KV_ANS_LEASE_KEEPALIVE, "{\"result\":[]}",
		    "\"result\" should be an object" },
		{ ETCD_KV_ANS_LEASE_KEEPALIVE, "{\"error\":{\"x\":1}}",
		    "an \"error\" without a message" },
		{ ETCD_KV_ANS_LEASE_KEEPALIVE, "{\"result\":{\"header\":{}}}"
		    "\n{\"result\":{\"header\":{}}}", "invalid JSON" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parse_bad(t[i].k, t[i].body, t[i].needle);
}

/* Cut answers, a NUL, no error buffer, too many responses, a long key. */
static void
test_parse_cut_and_big(void **state)
{
	struct etcd_kv_result r;
	char *body, *key;
	size_t o, cap;

	(void)state;
	/* Every proper prefix of real answers is rejected cleanly. */
	for (size_t len = 0; len < LEN(TXN_FAILED); len++) {
		assert_int_equal(etcd_kv_parse(ETCD_KV_ANS_TXN, TXN_FAILED,
		    len, &r, err, sizeof(err)), -1);
		assert_null(r.resp);
	}
	for (size_t len = 0; len < LEN(RANGE); len++)
		assert_int_equal(etcd_kv_parse(ETCD_KV_ANS_RANGE, RANGE, len,
		    &r, err, sizeof(err)), -1);
	/* A NUL inside the body. */
	assert_int_equal(etcd_kv_parse(ETCD_KV_ANS_PUT, "{\"header\":{}\0}", 14,
	    &r, err, sizeof(err)), -1);
	/* No error buffer at all is fine. */
	assert_int_equal(etcd_kv_parse(ETCD_KV_ANS_PUT, "[", 1, &r, NULL, 0),
	    -1);

	/* 129 responses: more than any transaction of ours has ops. */
	cap = 129 * 20 + 64;
	body = xmalloc(cap);
	o = (size_t)snprintf(body, cap, "{\"header\":{},\"responses\":[");
	for (int i = 0; i < 129; i++)
		o += (size_t)snprintf(body + o, cap - o,
		    "%s{\"response_put\":{}}", i ? "," : "");
	snprintf(body + o, cap - o, "]}");
	parse_bad(ETCD_KV_ANS_TXN, body, "129 responses, more than the 128");
	free(body);

	/* A key over 64 KiB. */
	key = xmalloc(ETCD_KV_MAX_KEY + 1);
	memset(key, 'k', ETCD_KV_MAX_KEY + 1);
	{
		char *b64 = etcd_kv_b64_encode(key, ETCD_KV_MAX_KEY + 1);

		body = xasprintf("{\"header\":{},\"kvs\":[{\"key\":\"%s\"}],"
		    "\"count\":\"1\"}", b64);
		parse_bad(ETCD_KV_ANS_RANGE, body, "\"key\" is 65537 bytes, "
		    "more than the 65536 allowed");
		free(body);
		free(b64);
	}
	free(key);
}

static int
wparse(const char *line, struct etcd_kv_watch_msg *m)
{
	err[0] = '\0';
	return etcd_kv_parse_watch(line, strlen(line), m, err, sizeof(err));
}

static void
wparse_bad(const char *line, const char *needle)
{
	struct etcd_kv_watch_msg m;

	if (wparse(line, &m) == 0) {
		etcd_kv_watch_msg_free(&m);
		fail_msg("accepted: %s", line);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	assert_null(m.events);
	assert_null(m.cancel_reason);
}

static void
test_parse_watch(void **state)
{
	struct etcd_kv_watch_msg m;
	char *line;

	(void)state;
	assert_int_equal(wparse(W_CREATED, &m), 0);
	assert_true(m.created);
	assert_false(m.canceled);
	assert_true(m.revision == 8);
	assert_true(m.watch_id == 0);
	assert_int_equal(m.n_events, 0);
	assert_string_equal(m.cancel_reason, "");
	etcd_kv_watch_msg_free(&m);

	assert_int_equal(wparse(W_PUT, &m), 0);
	assert_int_equal(m.n_events, 1);
	assert_int_equal(m.events[0].type, ETCD_KV_EVENT_PUT);
	assert_string_equal(m.events[0].kv.key, "w/a");
	assert_string_equal(m.events[0].kv.value, "1");
	assert_true(m.events[0].kv.mod_revision == 9);
	assert_true(m.events[0].kv.version == 1);
	etcd_kv_watch_msg_free(&m);

	assert_int_equal(wparse(W_PUT_PREV, &m), 0);
	assert_string_equal(m.events[0].kv.value, "2");
	assert_true(m.events[0].kv.create_revision == 9);
	etcd_kv_watch_msg_free(&m);

	assert_int_equal(wparse(W_DELETE, &m), 0);
	assert_int_equal(m.events[0].type, ETCD_KV_EVENT_DELETE);
	assert_string_equal(m.events[0].kv.key, "w/a");
	assert_int_equal(m.events[0].kv.value_len, 0);
	assert_true(m.events[0].kv.mod_revision == 11);
	assert_true(m.events[0].kv.create_revision == 0);
	etcd_kv_watch_msg_free(&m);

	assert_int_equal(wparse(W_COMPACTED, &m), 0);
	assert_true(m.canceled);
	assert_true(m.compact_revision == 10);
	assert_true(m.revision == 0);
	etcd_kv_watch_msg_free(&m);

	assert_int_equal(wparse(W_REFUSED, &m), 0);
	assert_true(m.created && m.canceled);
	assert_true(m.watch_id == -1);
	assert_string_equal(m.cancel_reason, "mvcc: watcher range is empty");
	etcd_kv_watch_msg_free(&m);

	assert_int_equal(wparse(W_PROGRESS, &m), 0);
	assert_false(m.created || m.canceled);
	assert_int_equal(m.n_events, 0);
	etcd_kv_watch_msg_free(&m);

	/* Errors inside the stream, and before it. */
	assert_int_equal(wparse(W_CLOSING, &m), -1);
	assert_string_equal(err, "watch message: etcd error: transport is "
	    "closing (gRPC code 14)");
	assert_int_equal(m.grpc_code, 14);
	assert_int_equal(wparse(W_NOLEADER, &m), -1);
	assert_non_null(strstr(err, "etcdserver: no leader"));
	assert_int_equal(wparse("{\"error\":\"invalid character 'g' looking "
	    "for beginning of value\",\"message\":\"invalid character 'g' "
	    "looking for beginning of value\",\"code\":2}", &m), -1);
	assert_int_equal(m.grpc_code, 2);

	/* A value that is not UTF-8 arrives intact. */
	assert_int_equal(wparse("{\"result\":{\"header\":{},\"events\":[{\"kv\":"
	    "{\"key\":\"/w==\",\"value\":\"wK/+AA==\",\"mod_revision\":\"4\"}}"
	    "]}}", &m), 0);
	assert_int_equal(m.events[0].kv.key_len, 1);
	assert_int_equal((unsigned char)m.events[0].kv.key[0], 0xff);
	assert_int_equal(m.events[0].kv.value_len, 4);
	assert_memory_equal(m.events[0].kv.value, "\xc0\xaf\xfe\0", 5);
	etcd_kv_watch_msg_free(&m);

	wparse_bad("", "empty answer");
	wparse_bad("{}", "neither \"result\" nor an etcd error");
	wparse_bad("{\"result\":7}", "\"result\" should be an object");
	wparse_bad("{\"result\":{}}", "no \"header\"");
	wparse_bad("{\"result\":{\"header\":{},\"created\":\"true\"}}",
	    "\"created\" should be true or false");
	wparse_bad("{\"result\":{\"header\":{},\"watch_id\":\"-2\"}}",
	    "\"watch_id\" should be at least -1");
	wparse_bad("{\"result\":{\"header\":{},\"compact_revision\":-1}}",
	    "\"compact_revision\" should be a string");
	wparse_bad("{\"result\":{\"header\":{},\"cancel_reason\":[]}}",
	    "\"cancel_reason\" should be a string");
	wparse_bad("{\"result\":{\"header\":{},\"events\":{}}}",
	    "\"events\" should be an array");
	wparse_bad("{\"result\":{\"header\":{},\"events\":[{\"type\":\"PATCH\","
	    "\"kv\":{\"key\":\"YQ==\"}}]}}", "events[0]: \"type\" should be "
	    "\"PUT\" or \"DELETE\", found \"PATCH\"");
	wparse_bad("{\"result\":{\"header\":{},\"events\":[{\"type\":1,"
	    "\"kv\":{\"key\":\"YQ==\"}}]}}", "found a number");
	wparse_bad("{\"result\":{\"header\":{},\"events\":[{}]}}",
	    "events[0]: no \"kv\"");
	wparse_bad("{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":"
	    "\"YQ==\",\"value\":\"YQ\"}}]}}", "\"value\" is not valid base64");
	wparse_bad("{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":"
	    "\"YQ==\",\"mod_revision\":\"5\"}},{\"kv\":{\"key\":\"YQ==\","
	    "\"mod_revision\":\"4\"}}]}}", "out of revision order (4 after 5)");
	wparse_bad("{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":"
	    "\"YQ==\"}},7]}}", "events[1] should be an object");
	wparse_bad("{\"result\":{\"header\":{}}}\n{}", "invalid JSON");
	for (size_t len = 0; len < LEN(W_DELETE); len++) {
		struct etcd_kv_watch_msg mm;

		assert_int_equal(etcd_kv_parse_watch(W_DELETE, len, &mm, err,
		    sizeof(err)), -1);
	}
	/* jansson refuses \u0000 inside strings. */
	line = xasprintf("{\"result\":{\"header\":{},\"canceled\":true,"
	    "\"cancel_reason\":\"%s\"}}", "a\\u0000b");
	wparse_bad(line, "invalid JSON");
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_parse_other),
		cmocka_unit_test(test_parse_txn),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_cut_and_big),
		cmocka_unit_test(test_parse_watch),
	};

	return cmocka_run_group_tests_name("kv-parse", tests, NULL, NULL);
}
