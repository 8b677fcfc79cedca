#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/http.h"
#include "etcd/kv.h"

extern char **environ;

#define LEN(s) (sizeof(s) - 1)
#ifndef ETCD_BIN
#define ETCD_BIN "/usr/bin/etcd"
#endif

/* Answers captured from Debian's etcd 3.4.23 on loopback. The value of
 * "foo" is the bytes ff 00 'b' 'a' 'r': not UTF-8, with a NUL. */
static const char RANGE[] =
    "{\"header\":{\"cluster_id\":\"15875391935852295136\",\"member_id\":"
    "\"7383792418829112008\",\"revision\":\"3\",\"raft_term\":\"2\"},"
    "\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":"
    "\"3\",\"version\":\"2\",\"value\":\"/wBiYXI=\"}],\"count\":\"1\"}";
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
/* A keepalive of a revoked lease: 200, and no TTL. */
static const char KEEPALIVE_GONE[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"8\",\"raft_term\":"
    "\"2\"},\"ID\":\"1353509806776755223\"}}\n";
static const char LEASE_NOT_FOUND[] =
    "{\"error\":\"etcdserver: requested lease not found\",\"message\":"
    "\"etcdserver: requested lease not found\",\"code\":5}";
static const char LEARNER_ERR[] =
    "{\"error\":\"etcdserver: rpc not supported for learner\",\"message\":"
    "\"etcdserver: rpc not supported for learner\",\"code\":14}";

/* Watch stream lines. */
static const char W_CREATED[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"8\",\"raft_term\":"
    "\"2\"},\"created\":true}}";
static const char W_PUT[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"9\",\"raft_term\":"
    "\"2\"},\"events\":[{\"kv\":{\"key\":\"dy9h\",\"create_revision\":\"9\","
    "\"mod_revision\":\"9\",\"version\":\"1\",\"value\":\"MQ==\"}}]}}";
static const char W_PUT_PREV[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"10\",\"raft_term\":"
    "\"2\"},\"events\":[{\"kv\":{\"key\":\"dy9h\",\"create_revision\":\"9\","
    "\"mod_revision\":\"10\",\"version\":\"2\",\"value\":\"Mg==\"},\"prev_kv\":"
    "{\"key\":\"dy9h\",\"create_revision\":\"9\",\"mod_revision\":\"9\","
    "\"version\":\"1\",\"value\":\"MQ==\"}}]}}";
static const char W_DELETE[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"11\",\"raft_term\":"
    "\"2\"},\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"dy9h\","
    "\"mod_revision\":\"11\"},\"prev_kv\":{\"key\":\"dy9h\",\"create_revision"
    "\":\"9\",\"mod_revision\":\"10\",\"version\":\"2\",\"value\":\"Mg==\"}}]}}";
/* Watching from a compacted revision: created, then this. */
static const char W_COMPACTED[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"raft_term\":\"2\"},\"canceled\""
    ":true,\"compact_revision\":\"10\"}}";
/* key > range_end. */
static const char W_REFUSED[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15875391935852295136\","
    "\"member_id\":\"7383792418829112008\",\"revision\":\"11\",\"raft_term\":"
    "\"3\"},\"watch_id\":\"-1\",\"created\":true,\"canceled\":true,"
    "\"cancel_reason\":\"mvcc: watcher range is empty\"}}";
/* What the stream carries when etcd shuts down, and (with the hasleader
 * header) when the member loses its leader; no '\n' follows. */
static const char W_CLOSING[] =
    "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"transport "
    "is closing\",\"http_status\":\"Service Unavailable\"}}";
static const char W_NOLEADER[] =
    "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver:"
    " no leader\",\"http_status\":\"Service Unavailable\"}}";
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
	struct etcd_kv_result r;
	char *body, *key;
	size_t o, cap;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parse_bad(t[i].k, t[i].body, t[i].needle);

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

/* A small HTTP server on loopback, driven by the same loop: it answers
 * each path with a scripted response whose bytes it sends in pieces of
 * 1, 2, ... piece bytes, one piece per gap_ms, so that lines and chunk
 * frames are cut at arbitrary places. With hold it keeps the connection
 * open afterwards, as etcd keeps a watch open. */

struct script {
	const char *path;
	const char *status;	/* "200 OK" */
	const char *body;
	size_t len;
	bool chunked;
	size_t piece;		/* 0: all at once */
	int gap_ms;
	bool hold;
};

struct fconn {
	struct fake *f;
	int fd;
	char in[8192];
	size_t inlen;
	char *out;
	size_t outlen, outoff, limit, pieces;
	const struct script *s;
	uint64_t timer;
	bool holding;
	struct fconn *next;
};

struct fake {
	struct loop *l;
	int lfd;
	int port;
	const struct script *s;
	size_t ns;
	struct fconn *conns;
	int nreq;
	int peer_closed;	/* connections the client closed on us */
	char last_body[4096];
	char url[64];
};

static void fconn_write(struct loop *l, int fd, int events, void *arg);

static void
fconn_close(struct fconn *c)
{
	struct fconn **pp = &c->f->conns;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	loop_cancel(c->f->l, c->timer);
	loop_unwatch(c->f->l, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Reads what the client sends once the answer is out: EOF means it
 * closed the stream. */
static void
fconn_drain(struct loop *l, int fd, int events, void *arg)
{
	struct fconn *c = arg;
	char b[512];
	ssize_t n;

	(void)l;
	(void)fd;
	(void)events;
	n = recv(c->fd, b, sizeof(b), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->f->peer_closed++;
		fconn_close(c);
	}
}

static void
fconn_more(struct loop *l, void *arg)
{
	struct fconn *c = arg;

	c->timer = 0;
	c->pieces++;
	c->limit += (c->pieces - 1) % c->s->piece + 1;
	if (c->limit > c->outlen)
		c->limit = c->outlen;
	loop_watch(l, c->fd, LOOP_WRITE, fconn_write, c);
}

static void
fconn_write(struct loop *l, int fd, int events, void *arg)
{
	struct fconn *c = arg;
	ssize_t n;

	(void)fd;
	(void)events;
	if (c->outoff < c->limit) {
		n = send(c->fd, c->out + c->outoff, c->limit - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			c->f->peer_closed++;
			fconn_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff < c->limit)
		return;
	if (c->outoff < c->outlen) {
		/* Wait for the next piece, but notice a client that goes. */
		loop_watch(l, c->fd, LOOP_READ, fconn_drain, c);
		c->timer = loop_timer(l, c->s->gap_ms, fconn_more, c);
		return;
	}
	if (c->s->hold) {
		c->holding = true;
		loop_watch(l, c->fd, LOOP_READ, fconn_drain, c);
		return;
	}
	fconn_close(c);
}

static void
fconn_answer(struct fconn *c, const char *body, size_t blen)
{
	struct fake *f = c->f;
	char path[256] = "";
	const struct script *s = NULL;
	static const struct script nf = { "", "404 Not Found",
	    "404 page not found\n", 19, false, 0, 0, false };
	size_t cap, o;

	f->nreq++;
	snprintf(f->last_body, sizeof(f->last_body), "%.*s", (int)blen, body);
	sscanf(c->in, "%*s %255s", path);
	for (size_t i = 0; i < f->ns; i++) {
		if (strcmp(f->s[i].path, path) == 0)
			s = &f->s[i];
	}
	if (s == NULL)
		s = &nf;
	c->s = s;
	cap = 256 + s->len * 2 + 64;
	c->out = xmalloc(cap);
	o = (size_t)snprintf(c->out, cap, "HTTP/1.1 %s\r\nContent-Type: "
	    "application/json\r\n%s\r\n", s->status, s->chunked ?
	    "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n");
	if (s->chunked) {
		/* Chunks of 7 bytes, so that frames cut lines too. */
		for (size_t i = 0; i < s->len; i += 7) {
			size_t k = s->len - i < 7 ? s->len - i : 7;

			o += (size_t)snprintf(c->out + o, cap - o, "%zx\r\n",
			    k);
			memcpy(c->out + o, s->body + i, k);
			o += k;
			memcpy(c->out + o, "\r\n", 2);
			o += 2;
		}
		if (!s->hold)
			o += (size_t)snprintf(c->out + o, cap - o, "0\r\n\r\n");
	} else {
		memcpy(c->out + o, s->body, s->len);
		o += s->len;
	}
	c->outlen = o;
	c->limit = s->piece == 0 ? o : 0;
	loop_watch(f->l, c->fd, LOOP_WRITE, fconn_write, c);
}

static void
fconn_read(struct loop *l, int fd, int events, void *arg)
{
	struct fconn *c = arg;
	ssize_t n;
	char *end;
	const char *cl;
	size_t want = 0, hl;

	(void)l;
	(void)fd;
	(void)events;
	if (c->inlen == sizeof(c->in) - 1) {
		fconn_close(c);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fconn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	end = strstr(c->in, "\r\n\r\n");
	if (end == NULL)
		return;
	cl = strcasestr(c->in, "\r\nContent-Length:");
	if (cl != NULL && cl < end)
		want = strtoul(cl + 17, NULL, 10);
	hl = (size_t)(end + 4 - c->in);
	if (c->inlen < hl + want)
		return;
	fconn_answer(c, c->in + hl, want);
}

static void
fake_accept(struct loop *l, int fd, int events, void *arg)
{
	struct fake *f = arg;
	struct fconn *c;
	int s;

	(void)events;
	s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->f = f;
	c->fd = s;
	c->next = f->conns;
	f->conns = c;
	loop_watch(l, s, LOOP_READ, fconn_read, c);
}

/* Binds a socket to a free loopback port and returns the port. Kept bound
 * without listening, it is a port where connecting is refused. */
static int
bound_port(int *keep_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*keep_fd = fd;
	return ntohs(sa.sin_port);
}

static void
fake_start(struct fake *f, struct loop *l, const struct script *s,
    size_t ns)
{
	memset(f, 0, sizeof(*f));
	f->l = l;
	f->s = s;
	f->ns = ns;
	f->port = bound_port(&f->lfd);
	assert_int_equal(listen(f->lfd, 16), 0);
	fcntl(f->lfd, F_SETFL, O_NONBLOCK);
	loop_watch(l, f->lfd, LOOP_READ, fake_accept, f);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
}

static void
fake_stop(struct fake *f)
{
	while (f->conns != NULL)
		fconn_close(f->conns);
	loop_unwatch(f->l, f->lfd);
	close(f->lfd);
}

/* One asynchronous case: a loop, a client and a watchdog. The loop runs
 * once (loop_stop() is final), so a case is one chain of callbacks. */
struct env {
	struct loop *l;
	struct etcd_http *h;
	struct etcd_kv *kv;
	struct fake f, g;
	bool timed_out;
	/* streams */
	char **lines;
	size_t nlines;
	int done_calls, drops;
	long status;
	char body[256];
	char error[512];
	uint64_t id;
	size_t stop_after;	/* cancel/free after this many lines */
	int action;		/* 1 cancel, 2 free h */
	uint64_t sum;		/* of all line bytes */
};

static void
watchdog(struct loop *l, void *arg)
{
	struct env *e = arg;

	e->timed_out = true;
	loop_stop(l, -1);
}

static void
env_start(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->l = loop_new();
	e->h = etcd_http_new(e->l);
}

static void
env_run(struct env *e, int64_t limit_ms)
{
	uint64_t t = loop_timer(e->l, limit_ms, watchdog, e);

	assert_int_equal(loop_run(e->l), 0);
	loop_cancel(e->l, t);
	assert_false(e->timed_out);
}

static void
env_end(struct env *e)
{
	etcd_kv_free(e->kv);
	etcd_http_free(e->h);
	if (e->f.l != NULL)
		fake_stop(&e->f);
	if (e->g.l != NULL)
		fake_stop(&e->g);
	for (size_t i = 0; i < e->nlines; i++)
		free(e->lines[i]);
	free(e->lines);
	loop_free(e->l);
}

static void
on_line(void *arg, const char *line, size_t len)
{
	struct env *e = arg;

	assert_int_equal(line[len], '\0');
	assert_true(len > 0);
	e->lines = xreallocarray(e->lines, e->nlines + 1, sizeof(*e->lines));
	e->lines[e->nlines++] = xstrndup(line, len);
	for (size_t i = 0; i < len; i++)
		e->sum += (unsigned char)line[i];
	if (e->stop_after > 0 && e->nlines == e->stop_after) {
		if (e->action == 1) {
			etcd_http_cancel(e->h, e->id);
			etcd_http_cancel(e->h, e->id);
		} else if (e->action == 2) {
			etcd_http_free(e->h);
			e->h = NULL;
			loop_stop(e->l, 0);
		}
	}
}

static void
on_done(void *arg, const struct etcd_http_result *r)
{
	struct env *e = arg;

	e->done_calls++;
	e->status = r->status;
	snprintf(e->body, sizeof(e->body), "%s", r->body);
	snprintf(e->error, sizeof(e->error), "%s", r->error ? r->error : "");
	loop_stop(e->l, 0);
}

static void
on_sdrop(void *arg)
{
	struct env *e = arg;

	e->drops++;
}

static void
stop_when_closed(struct loop *l, void *arg)
{
	struct env *e = arg;

	if (e->f.peer_closed > 0)
		loop_stop(l, 0);
	else
		loop_timer(l, 10, stop_when_closed, e);
}

static void
test_stream_lines(void **state)
{
	static const char body[] =
	    "{\"a\":1}\n\n{\"b\":\"two\"}\r\n   \n{\"c\":[1,2,3]}\n"
	    "{\"d\":\"the last one has no newline\"}";
	struct script s[] = {
		{ "/v3/watch", "200 OK", body, LEN(body), true, 5, 1, false },
		{ "/plain", "200 OK", body, LEN(body), false, 3, 1, false },
	};
	struct env e;
	char url[96];

	(void)state;
	for (int i = 0; i < 2; i++) {
		env_start(&e);
		fake_start(&e.f, e.l, s, 2);
		snprintf(url, sizeof(url), "%s%s", e.f.url, s[i].path);
		e.id = etcd_http_stream(e.h, url, "{\"create_request\":{}}",
		    64, on_line, on_done, on_sdrop, &e);
		assert_true(e.id > 0);
		env_run(&e, 5000);
		assert_int_equal(e.done_calls, 1);
		assert_string_equal(e.error, "");
		assert_int_equal(e.status, 200);
		assert_string_equal(e.body, "");
		assert_int_equal(e.nlines, 4);
		assert_string_equal(e.lines[0], "{\"a\":1}");
		assert_string_equal(e.lines[1], "{\"b\":\"two\"}");
		assert_string_equal(e.lines[2], "{\"c\":[1,2,3]}");
		assert_string_equal(e.lines[3],
		    "{\"d\":\"the last one has no newline\"}");
		assert_int_equal(e.drops, 0);
		/* The POST went out with the etcd leader requirement. */
		assert_string_equal(e.f.last_body, "{\"create_request\":{}}");
		env_end(&e);
	}
}

static void
test_stream_caps(void **state)
{
	char longline[200];
	char *body;
	struct script s[2];
	struct env e;
	char url[96];

	(void)state;
	memset(longline, 'x', sizeof(longline));
	longline[sizeof(longline) - 1] = '\0';
	/* Exactly 64 bytes is fine, 65 is not; lines before it arrive. */
	body = xasprintf("%.64s\n%.65s\n{\"never\":1}\n", longline, longline);
	memset(s, 0, sizeof(s));
	s[0] = (struct script){ "/v3/watch", "200 OK", body, strlen(body),
	    true, 9, 1, true };
	s[1] = (struct script){ "/err", "500 Internal Server Error",
	    LEARNER_ERR, LEN(LEARNER_ERR), false, 0, 0, false };
	env_start(&e);
	fake_start(&e.f, e.l, s, 2);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	etcd_http_stream(e.h, url, NULL, 64, on_line, on_done, on_sdrop, &e);
	env_run(&e, 5000);
	assert_int_equal(e.nlines, 1);
	assert_int_equal(strlen(e.lines[0]), 64);
	assert_string_equal(e.error, "stream line longer than 64 bytes");
	assert_int_equal(e.status, 0);
	env_end(&e);

	/* An error answer is kept whole (up to the cap) for done. */
	env_start(&e);
	fake_start(&e.f, e.l, s, 2);
	snprintf(url, sizeof(url), "%s/err", e.f.url);
	etcd_http_stream(e.h, url, NULL, 4096, on_line, on_done, on_sdrop,
	    &e);
	env_run(&e, 5000);
	assert_int_equal(e.nlines, 0);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.body, LEARNER_ERR);
	assert_string_equal(e.error, "");
	env_end(&e);

	env_start(&e);
	fake_start(&e.f, e.l, s, 2);
	snprintf(url, sizeof(url), "%s/err", e.f.url);
	etcd_http_stream(e.h, url, NULL, 16, on_line, on_done, on_sdrop, &e);
	env_run(&e, 5000);
	assert_string_equal(e.error, "response larger than 16 bytes");
	env_end(&e);
	free(body);
}

/* Many lines at once, far more than a line cap: curl is paused while
 * they wait, and none is lost or reordered. */
static void
test_stream_backpressure(void **state)
{
	size_t n = 30000, cap = n * 40, o = 0;
	char *body = xmalloc(cap);
	struct script s[1];
	struct env e;
	uint64_t sum = 0;
	char url[96];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(body + o, cap - o, "{\"n\":%zu,\"pad\":\"%.*s\"}"
		    "\n", i, (int)(i % 13), "abcdefghijklm");

		for (int j = 0; j < k - 1; j++)
			sum += (unsigned char)body[o + (size_t)j];
		o += (size_t)k;
	}
	s[0] = (struct script){ "/v3/watch", "200 OK", body, o, true, 0, 0,
	    false };
	env_start(&e);
	fake_start(&e.f, e.l, s, 1);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	etcd_http_stream(e.h, url, NULL, 64, on_line, on_done, on_sdrop, &e);
	/* A bound against hangs only: 30,000 lines, one loop turn each, take
	 * over 20 s under ASan on a loaded two-core machine. */
	env_run(&e, 90000);
	assert_string_equal(e.error, "");
	assert_int_equal(e.nlines, n);
	assert_true(e.sum == sum);
	for (size_t i = 0; i < n; i += 997) {
		char want[64];

		snprintf(want, sizeof(want), "{\"n\":%zu,", i);
		assert_true(strncmp(e.lines[i], want, strlen(want)) == 0);
	}
	env_end(&e);
	free(body);
}

/* Cancelling from inside the line callback: nothing more arrives, the
 * drop callback runs once, and the server sees the connection close. */
static void
test_stream_cancel(void **state)
{
	static const char body[] = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n";
	struct script s[] = {
		{ "/v3/watch", "200 OK", body, LEN(body), true, 0, 0, true },
	};
	struct env e;
	char url[96];

	(void)state;
	env_start(&e);
	fake_start(&e.f, e.l, s, 1);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	e.stop_after = 2;
	e.action = 1;
	e.id = etcd_http_stream(e.h, url, NULL, 0, on_line, on_done, on_sdrop,
	    &e);
	loop_timer(e.l, 10, stop_when_closed, &e);
	env_run(&e, 5000);
	assert_int_equal(e.nlines, 2);
	assert_int_equal(e.done_calls, 0);
	assert_int_equal(e.drops, 1);
	assert_int_equal(e.f.peer_closed, 1);
	env_end(&e);

	/* Freeing the client from the line callback drops the rest. */
	env_start(&e);
	fake_start(&e.f, e.l, s, 1);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	e.stop_after = 1;
	e.action = 2;
	etcd_http_stream(e.h, url, NULL, 0, on_line, on_done, on_sdrop, &e);
	etcd_http_stream(e.h, url, NULL, 0, NULL, on_done, on_sdrop, &e);
	env_run(&e, 5000);
	assert_int_equal(e.done_calls, 0);
	assert_int_equal(e.drops, 2);
	env_end(&e);
}

/* What a kv callback saw, copied out of the borrowed result. */
struct kres {
	int calls;
	char error[600];
	bool has_error;
	int grpc_code;
	long http_status;
	bool succeeded;
	int64_t revision, lease_id, ttl, deleted, count;
	size_t n_kvs;
	struct etcd_kv_pair kvs[8];	/* deep copies */
};

static void
kres_clear(struct kres *k)
{
	for (size_t i = 0; i < k->n_kvs && i < 8; i++) {
		free(k->kvs[i].key);
		free(k->kvs[i].value);
	}
	memset(k, 0, sizeof(*k));
}

static void
kres_set(struct kres *k, const struct etcd_kv_result *r)
{
	int calls = k->calls;

	kres_clear(k);
	k->calls = calls + 1;
	k->has_error = r->error != NULL;
	snprintf(k->error, sizeof(k->error), "%s", r->error ? r->error : "");
	k->grpc_code = r->grpc_code;
	k->http_status = r->http_status;
	k->succeeded = r->succeeded;
	k->revision = r->revision;
	k->lease_id = r->lease_id;
	k->ttl = r->ttl;
	if (r->n_resp > 0) {
		k->deleted = r->resp[0].deleted;
		k->count = r->resp[0].count;
	}
	k->n_kvs = r->n_kvs;
	for (size_t i = 0; i < r->n_kvs && i < 8; i++) {
		k->kvs[i] = r->kvs[i];
		k->kvs[i].key = xmalloc(r->kvs[i].key_len + 1);
		memcpy(k->kvs[i].key, r->kvs[i].key, r->kvs[i].key_len + 1);
		k->kvs[i].value = xmalloc(r->kvs[i].value_len + 1);
		memcpy(k->kvs[i].value, r->kvs[i].value,
		    r->kvs[i].value_len + 1);
	}
}

/* A watch's story as text: "CREATED 8", "PUT w/a=1 @9", "DELETE w/a @11",
 * "END ...". */
struct wlog {
	char *line[64];
	size_t n;
	int created, ends;
	char error[600];
	int64_t compact, next;
};

static void
wlog_add(struct wlog *w, char *s)
{
	if (w->n < 64)
		w->line[w->n++] = s;
	else
		free(s);
}

static void
wlog_record(struct wlog *w, const struct etcd_kv_watch_update *u)
{
	switch (u->kind) {
	case ETCD_KV_WATCH_CREATED:
		w->created++;
		wlog_add(w, xasprintf("CREATED"));
		break;
	case ETCD_KV_WATCH_EVENTS:
		assert_true(u->n_events > 0);
		for (size_t i = 0; i < u->n_events; i++) {
			const struct etcd_kv_event *ev = &u->events[i];

			if (ev->type == ETCD_KV_EVENT_PUT)
				wlog_add(w, xasprintf("PUT %s=%s", ev->kv.key,
				    ev->kv.value));
			else
				wlog_add(w, xasprintf("DELETE %s", ev->kv.key));
		}
		break;
	case ETCD_KV_WATCH_END:
		w->ends++;
		assert_non_null(u->error);
		snprintf(w->error, sizeof(w->error), "%s", u->error);
		w->compact = u->compact_revision;
		wlog_add(w, xasprintf("END"));
		break;
	}
	w->next = u->next_revision;
}

static void
wlog_clear(struct wlog *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->line[i]);
	memset(w, 0, sizeof(*w));
}

/* Asserts the story, given as "a|b|c". */
static void
wlog_expect(const struct wlog *w, const char *want)
{
	char got[2048] = "";
	size_t o = 0;

	for (size_t i = 0; i < w->n; i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
		    i ? "|" : "", w->line[i]);
	if (strcmp(got, want) != 0)
		fail_msg("watch saw \"%s\", expected \"%s\" (error: %s)", got,
		    want, w->error);
}

struct kenv {
	struct env e;
	struct kres res[4];
	struct wlog w;
	int pending;
	bool free_kv_in_cb;
	uint64_t victim;
};

static void
kenv_done(struct kenv *k)
{
	if (--k->pending == 0)
		loop_stop(k->e.l, 0);
}

static void
on_res0(void *arg, const struct etcd_kv_result *r)
{
	struct kenv *k = arg;

	kres_set(&k->res[0], r);
	if (k->free_kv_in_cb) {
		etcd_kv_free(k->e.kv);
		k->e.kv = NULL;
		loop_stop(k->e.l, 0);
		return;
	}
	etcd_kv_cancel(k->e.kv, k->victim);
	kenv_done(k);
}

static void
on_res1(void *arg, const struct etcd_kv_result *r)
{
	struct kenv *k = arg;

	kres_set(&k->res[1], r);
	kenv_done(k);
}

static void
on_never(void *arg, const struct etcd_kv_result *r)
{
	(void)arg;
	fail_msg("a cancelled operation called back: %s",
	    r->error ? r->error : "ok");
}

static void
on_watch(void *arg, const struct etcd_kv_watch_update *u)
{
	struct kenv *k = arg;

	wlog_record(&k->w, u);
	if (u->kind == ETCD_KV_WATCH_END)
		kenv_done(k);
}

/* Counts as one pending callback once the fake saw the client close. */
static void
closed_done(struct loop *l, void *arg)
{
	struct kenv *k = arg;

	if (k->e.f.peer_closed > 0)
		kenv_done(k);
	else
		loop_timer(l, 10, closed_done, k);
}

static void
kenv_end(struct kenv *k)
{
	for (int i = 0; i < 4; i++)
		kres_clear(&k->res[i]);
	wlog_clear(&k->w);
	env_end(&k->e);
}

static void
test_kv_failover(void **state)
{
	struct script s[] = {
		{ "/v3/kv/range", "200 OK", RANGE, LEN(RANGE), false, 0, 0,
		    false },
	};
	struct script learner[] = {
		{ "/v3/kv/range", "503 Service Unavailable", LEARNER_ERR,
		    LEN(LEARNER_ERR), true, 0, 0, false },
	};
	struct kenv k;
	char dead[64], dead2[64];
	char *eps[3];
	int fd, fd2;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	fake_start(&k.e.g, k.e.l, learner, 1);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d/", bound_port(&fd));
	snprintf(dead2, sizeof(dead2), "http://127.0.0.1:%d",
	    bound_port(&fd2));
	/* Refused, then a learner (503), then the good one. */
	eps[0] = dead;
	eps[1] = k.e.g.url;
	eps[2] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 3);
	dead[strlen(dead) - 1] = '\0';	/* the slash goes */
	assert_string_equal(etcd_kv_endpoint(k.e.kv), dead);
	assert_true(etcd_kv_get(k.e.kv, "foo", 3, false, 0, on_res0, &k) > 0);
	k.pending = 1;
	assert_int_equal(k.res[0].calls, 0);	/* never from inside */
	env_run(&k.e, 5000);
	assert_false(k.res[0].has_error);
	assert_int_equal(k.res[0].n_kvs, 1);
	assert_memory_equal(k.res[0].kvs[0].value, "\xff\0bar", 5);
	assert_string_equal(etcd_kv_endpoint(k.e.kv), k.e.f.url);
	assert_int_equal(k.e.g.nreq, 1);
	assert_int_equal(k.e.f.nreq, 1);
	assert_string_equal(k.e.f.last_body, "{\"key\":\"Zm9v\"}");
	kenv_end(&k);

	/* Nothing answers: one sentence naming the last URL. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	eps[0] = dead;
	eps[1] = dead2;
	k.e.kv = etcd_kv_new(k.e.h, eps, 2);
	etcd_kv_put(k.e.kv, "a", 1, "b", 1, 0, on_res0, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	assert_true(k.res[0].has_error);
	if (strncmp(k.res[0].error, "POST ", 5) != 0 ||
	    strstr(k.res[0].error, dead2) == NULL ||
	    strstr(k.res[0].error, "/v3/kv/put: ") == NULL ||
	    strstr(k.res[0].error, "Connection refused") == NULL ||
	    strstr(k.res[0].error, "(all 2 endpoints failed)") == NULL)
		fail_msg("unexpected error: %s", k.res[0].error);
	assert_int_equal(k.res[0].http_status, 0);
	kenv_end(&k);
	close(fd);
	close(fd2);
}

static void
test_kv_errors(void **state)
{
	struct script s[] = {
		{ "/v3/lease/revoke", "404 Not Found", LEASE_NOT_FOUND,
		    LEN(LEASE_NOT_FOUND), true, 0, 0, false },
		{ "/v3/lease/keepalive", "200 OK", KEEPALIVE_GONE,
		    LEN(KEEPALIVE_GONE), true, 0, 0, false },
		{ "/v3/kv/txn", "200 OK", "<html>oops</html>", 17, false, 0, 0,
		    false },
		{ "/v3/kv/put", "502 Bad Gateway", "<html>\x01</html>", 14,
		    false, 0, 0, false },
	};
	struct kenv k;
	char *eps[1];

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);

	etcd_kv_lease_revoke(k.e.kv, 42, on_res0, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	assert_string_equal(strstr(k.res[0].error, "/v3/lease/revoke: "),
	    "/v3/lease/revoke: etcd error: etcdserver: requested lease not "
	    "found (gRPC code 5, HTTP 404)");
	assert_int_equal(k.res[0].grpc_code, 5);
	assert_int_equal(k.res[0].http_status, 404);
	assert_string_equal(k.e.f.last_body, "{\"ID\":\"42\"}");
	kenv_end(&k);

	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_lease_keepalive(k.e.kv, 1353509806776755223, on_res0, &k);
	etcd_kv_txn_create(k.e.kv, "k", 1, "v", 1, 0, on_res1, &k);
	k.pending = 2;
	env_run(&k.e, 5000);
	assert_non_null(strstr(k.res[0].error, "/v3/lease/keepalive: lease "
	    "1353509806776755223 not found (expired or revoked)"));
	assert_int_equal(k.res[0].grpc_code, 5);
	assert_true(k.res[0].ttl == 0);
	assert_non_null(strstr(k.res[1].error, "/v3/kv/txn: txn answer: "
	    "invalid JSON"));
	kenv_end(&k);

	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_put(k.e.kv, "k", 1, "v", 1, 0, on_res0, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	assert_non_null(strstr(k.res[0].error, "/v3/kv/put: HTTP 502: "
	    "<html>\\x01</html>"));
	kenv_end(&k);
}

/* Bad arguments fail from the loop, and can be cancelled like the rest;
 * a callback may cancel another operation or free the client. */
static void
test_kv_reject_cancel(void **state)
{
	struct script s[] = {
		{ "/v3/kv/range", "200 OK", RANGE, LEN(RANGE), false, 1, 200,
		    false },
	};
	struct etcd_kv_op bad_op = { .type = ETCD_KV_PUT, .key = "k",
	    .key_len = 1, .lease = -1 };
	struct etcd_kv_cmp bad_cmp = { .target = ETCD_KV_CMP_VALUE,
	    .key_len = 0 };
	struct kenv k;
	char *eps[1];
	uint64_t id;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	/* Cancelled at once, rejected or not. */
	id = etcd_kv_get(k.e.kv, "", 0, false, 0, on_never, &k);
	etcd_kv_cancel(k.e.kv, id);
	etcd_kv_cancel(k.e.kv, id);
	etcd_kv_cancel(k.e.kv, 0);
	id = etcd_kv_watch(k.e.kv, "w/", 2, true, 0, NULL, &k);
	etcd_kv_cancel(k.e.kv, id);
	/* Cancelled by the first callback: a slow get. */
	k.victim = etcd_kv_get(k.e.kv, "foo", 3, false, 0, on_never, &k);
	etcd_kv_get(k.e.kv, "", 0, false, 0, on_res0, &k);
	etcd_kv_txn(k.e.kv, NULL, 0, &bad_op, 1, NULL, 0, on_res1, &k);
	k.pending = 2;
	assert_int_equal(k.res[0].calls + k.res[1].calls, 0);
	env_run(&k.e, 5000);
	assert_string_equal(k.res[0].error, "get: empty key (etcd has none; "
	    "use prefix for all keys)");
	assert_string_equal(k.res[1].error, "txn: then op 0: negative limit "
	    "or lease");
	kenv_end(&k);

	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	eps[0] = "http://127.0.0.1:1";
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_txn(k.e.kv, &bad_cmp, 1, NULL, 0, NULL, 0, on_res1, &k);
	etcd_kv_lease_grant(k.e.kv, 0, on_res1, &k);
	k.pending = 2;
	env_run(&k.e, 5000);
	assert_string_equal(k.res[1].error, "lease grant answer: TTL 0 should "
	    "be > 0");
	kenv_end(&k);

	/* Freeing kv from a callback: the others never call back. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	k.free_kv_in_cb = true;
	etcd_kv_get(k.e.kv, "foo", 3, false, 0, on_never, &k);
	etcd_kv_watch(k.e.kv, "w/", 2, true, 0, NULL, &k);
	etcd_kv_lease_keep(k.e.kv, 5, 30, NULL, &k);
	etcd_kv_get(k.e.kv, "", 0, true, 0, on_never, &k);
	etcd_kv_delete(k.e.kv, "", 0, false, on_res0, &k);
	env_run(&k.e, 5000);
	assert_int_equal(k.res[0].calls, 1);
	kenv_end(&k);
}

static void
test_kv_watch_stream(void **state)
{
	char *story = xasprintf("%s\n%s\n%s\n%s\n%s", W_CREATED, W_PUT,
	    W_PUT_PREV, W_DELETE, W_CLOSING);
	char *noleader = xasprintf("%s", W_NOLEADER);
	char *hostile = xasprintf("%s\n%s\n{\"result\":}\n", W_CREATED, W_PUT);
	char *compacted = xasprintf("%s\n%s\n", W_CREATED, W_COMPACTED);
	char *refused = xasprintf("%s\n", W_REFUSED);
	char *replay = xasprintf("%s\n%s\n%s\n", W_CREATED, W_PUT_PREV, W_PUT);
	struct script a[] = {
		{ "/v3/watch", "200 OK", story, strlen(story), true, 11, 1,
		    false },
	};
	struct script b[] = {
		{ "/v3/watch", "200 OK", noleader, strlen(noleader), true, 0,
		    0, false },
	};
	struct script c[] = {
		{ "/v3/watch", "200 OK", hostile, strlen(hostile), true, 0, 0,
		    true },
		{ "/x/v3/watch", "200 OK", compacted, strlen(compacted), true,
		    0, 0, true },
		{ "/y/v3/watch", "200 OK", refused, strlen(refused), true, 0,
		    0, true },
		{ "/z/v3/watch", "200 OK", replay, strlen(replay), true, 0, 0,
		    true },
	};
	struct kenv k;
	char *eps[2];
	char url[96];

	(void)state;
	/* The first member has no leader: the second one serves. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, a, 1);
	fake_start(&k.e.g, k.e.l, b, 1);
	eps[0] = k.e.g.url;
	eps[1] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 2);
	etcd_kv_watch(k.e.kv, "w/", 2, true, 0, on_watch, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	wlog_expect(&k.w, "CREATED|PUT w/a=1|PUT w/a=2|DELETE w/a|END");
	assert_non_null(strstr(k.w.error, "/v3/watch: watch of prefix "
	    "\"w/\": watch message: etcd error: transport is closing (gRPC "
	    "code 14)"));
	assert_true(k.w.next == 12);
	assert_string_equal(k.e.f.last_body, "{\"create_request\":{\"key\":"
	    "\"dy8=\",\"range_end\":\"dzA=\"}}");
	assert_int_equal(k.e.g.nreq, 1);
	kenv_end(&k);

	/* A broken message ends the watch and closes the stream. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, c, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_watch(k.e.kv, "w/a", 3, false, 5, on_watch, &k);
	k.pending = 2;
	loop_timer(k.e.l, 10, closed_done, &k);
	env_run(&k.e, 5000);
	wlog_expect(&k.w, "CREATED|PUT w/a=1|END");
	assert_non_null(strstr(k.w.error, "watch of key \"w/a\": watch "
	    "message: invalid JSON"));
	assert_true(k.w.next == 10);
	assert_string_equal(k.e.f.last_body, "{\"create_request\":{\"key\":"
	    "\"dy9h\",\"start_revision\":\"5\"}}");
	kenv_end(&k);

	/* Compacted, refused, and events going backwards. */
	for (int i = 0; i < 3; i++) {
		static const char *const want[] = {
			"CREATED|END", "END", "CREATED|PUT w/a=2|END",
		};
		static const char *const needle[] = {
			"from revision 3: history before revision 10 was "
			    "compacted away; get the keys again",
			"etcd cancelled the watch of key \"w/a\": mvcc: watcher "
			    "range is empty",
			"events of revision 9 came after revision 11 was "
			    "expected",
		};

		memset(&k, 0, sizeof(k));
		env_start(&k.e);
		fake_start(&k.e.f, k.e.l, c, 4);
		snprintf(url, sizeof(url), "%s/%c", k.e.f.url, "xyz"[i]);
		eps[0] = url;
		k.e.kv = etcd_kv_new(k.e.h, eps, 1);
		etcd_kv_watch(k.e.kv, "w/a", 3, false, i == 0 ? 3 : 0,
		    on_watch, &k);
		k.pending = 2;
		loop_timer(k.e.l, 10, closed_done, &k);
		env_run(&k.e, 5000);
		wlog_expect(&k.w, want[i]);
		if (strstr(k.w.error, needle[i]) == NULL)
			fail_msg("%s lacks %s", k.w.error, needle[i]);
		assert_true(k.w.compact == (i == 0 ? 10 : 0));
		assert_int_equal(k.e.f.peer_closed, 1);
		kenv_end(&k);
	}
	free(story);
	free(noleader);
	free(hostile);
	free(compacted);
	free(refused);
	free(replay);
}

/* A keeper whose endpoint is dead reports the lease lost when its TTL
 * is about to run out without a successful keepalive. */
static void
on_lost(void *arg, int64_t lease, const char *reason)
{
	struct kenv *k = arg;

	k->res[0].calls++;
	k->res[0].lease_id = lease;
	snprintf(k->res[0].error, sizeof(k->res[0].error), "%s", reason);
	kenv_done(k);
}

static void
test_kv_keeper_dead(void **state)
{
	struct kenv k;
	char dead[64];
	char *eps[1];
	int fd;
	int64_t t0;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", bound_port(&fd));
	eps[0] = dead;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	t0 = loop_now_ms();
	etcd_kv_lease_keep(k.e.kv, 77, 1, on_lost, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	/* Lost a little before the TTL ends, never after. */
	assert_true(loop_now_ms() - t0 >= 700);
	assert_true(loop_now_ms() - t0 < 1500);
	assert_int_equal(k.res[0].calls, 1);
	assert_true(k.res[0].lease_id == 77);
	if (strstr(k.res[0].error, " ms of its 1 s TTL, so it is taken as "
	    "expired; the last attempt: POST http://127.0.0.1:") == NULL ||
	    strncmp(k.res[0].error, "lease 77: no keepalive got through for ",
	    39) != 0 ||
	    strstr(k.res[0].error, "Connection refused") == NULL)
		fail_msg("unexpected reason: %s", k.res[0].error);
	kenv_end(&k);
	close(fd);
}

/* Keepers due together renew in one request, a round: lease 6 is gone
 * (a line without TTL), lease 5 renewed, and lease 7 gets no line at all,
 * so it tries again alone until its TTL is nearly over. */
static const char ROUND_ANSWER[] =
    "{\"result\":{\"header\":{\"revision\":\"6\"},\"ID\":\"5\","
    "\"TTL\":\"30\"}}\n"
    "{\"result\":{\"header\":{\"revision\":\"6\"},\"ID\":\"6\"}}\n";

static char round_body[4096];	/* the fake's last body at a loss */

static void
on_lost_n(void *arg, int64_t lease, const char *reason)
{
	struct kenv *k = arg;
	struct kres *r = &k->res[lease - 5];

	assert_true(lease >= 5 && lease <= 7);
	r->calls++;
	r->lease_id = lease;
	r->ttl = loop_now_ms();	/* when */
	r->count = k->e.f.nreq;	/* requests until then */
	snprintf(r->error, sizeof(r->error), "%s", reason);
	if (lease == 6)
		snprintf(round_body, sizeof(round_body), "%s",
		    k->e.f.last_body);
	kenv_done(k);
}

static void
test_kv_keeper_round(void **state)
{
	struct script s[] = {
		{ "/v3/lease/keepalive", "200 OK", ROUND_ANSWER,
		    LEN(ROUND_ANSWER), true, 0, 0, false },
	};
	struct kenv k;
	char *eps[1], want[256];
	int64_t t0;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	t0 = loop_now_ms();
	for (int64_t lease = 5; lease <= 7; lease++)
		etcd_kv_lease_keep(k.e.kv, lease, 3, on_lost_n, &k);
	k.pending = 2;
	env_run(&k.e, 5000);
	/* One request for all three, a TTL/3 after the start. */
	assert_int_equal(k.res[1].count, 1);
	assert_string_equal(round_body, "{\"ID\":\"7\"}\n{\"ID\":\"6\"}\n"
	    "{\"ID\":\"5\"}\n");
	assert_int_equal(k.res[1].calls, 1);
	snprintf(want, sizeof(want), "POST %s/v3/lease/keepalive: lease 6 "
	    "not found (expired or revoked)", k.e.f.url);
	assert_string_equal(k.res[1].error, want);
	assert_true(k.res[1].ttl - t0 >= 900 && k.res[1].ttl - t0 < 1500);
	/* Lease 7 alone: again at 2 s and 2.8 s, then lost before its 3 s. */
	assert_int_equal(k.res[2].calls, 1);
	assert_int_equal(k.e.f.nreq, 3);
	assert_string_equal(k.e.f.last_body, "{\"ID\":\"7\"}\n");
	assert_true(k.res[2].ttl - t0 >= 2600 && k.res[2].ttl - t0 < 3000);
	snprintf(want, sizeof(want), "the last attempt: POST "
	    "%s/v3/lease/keepalive: no answer for lease 7", k.e.f.url);
	if (strncmp(k.res[2].error, "lease 7: no keepalive got through "
	    "for ", 38) != 0 || strstr(k.res[2].error, want) == NULL)
		fail_msg("unexpected reason: %s", k.res[2].error);
	/* Lease 5 was renewed for 30 s and is kept still. */
	assert_int_equal(k.res[0].calls, 0);
	kenv_end(&k);
}

/* End to end, against Debian's etcd on loopback. The group setup starts
 * one member in a fresh directory and the group teardown stops it and
 * removes the directory, whatever the tests did. */

static struct {
	bool available;
	pid_t pid;
	char dir[64];
	char url[64];
	char log[96];
} etcd;

static int
pick_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
etcd_stop(void)
{
	if (etcd.pid > 0) {
		int status;

		kill(etcd.pid, SIGTERM);
		for (int i = 0; i < 250; i++) {
			if (waitpid(etcd.pid, &status, WNOHANG) != 0)
				break;
			msleep(20);
			if (i == 249) {
				kill(etcd.pid, SIGKILL);
				waitpid(etcd.pid, &status, 0);
			}
		}
		etcd.pid = 0;
	}
	if (etcd.dir[0] != '\0') {
		nftw(etcd.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		etcd.dir[0] = '\0';
	}
}

static void
etcd_log_tail(void)
{
	char buf[2048];
	FILE *f = fopen(etcd.log, "r");
	size_t n;

	if (f == NULL)
		return;
	fseek(f, -(long)sizeof(buf) + 1, SEEK_END);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "--- end of %s ---\n%s\n---\n", etcd.log, buf);
}

struct health {
	struct loop *l;
	struct etcd_http *h;
	bool healthy, exited;
	int64_t deadline;
};

static void health_poll(struct loop *l, void *arg);

static void
on_health(void *arg, const struct etcd_http_result *r)
{
	struct health *hw = arg;

	if (r->status == 200 && strstr(r->body, "\"true\"") != NULL) {
		hw->healthy = true;
		loop_stop(hw->l, 0);
		return;
	}
	loop_timer(hw->l, 100, health_poll, hw);
}

static void
health_poll(struct loop *l, void *arg)
{
	struct health *hw = arg;
	char url[96];
	int status;

	if (waitpid(etcd.pid, &status, WNOHANG) == etcd.pid) {
		etcd.pid = 0;
		hw->exited = true;
		loop_stop(l, 0);
		return;
	}
	if (loop_now_ms() > hw->deadline) {
		loop_stop(l, 0);
		return;
	}
	snprintf(url, sizeof(url), "%s/health", etcd.url);
	etcd_http_get(hw->h, url, 1000, on_health, hw);
}

static int
e2e_group_setup(void **state)
{
	char curl[64], purl[64], ic[80];
	posix_spawn_file_actions_t fa;
	struct health hw;
	int cport = pick_port(), pport = pick_port();
	int rc;

	(void)state;
	if (access(ETCD_BIN, X_OK) != 0) {
		fprintf(stderr, "test_kv: %s not found; skipping the "
		    "end-to-end tests (apt-get install etcd-server)\n",
		    ETCD_BIN);
		return 0;
	}
	snprintf(etcd.dir, sizeof(etcd.dir), "/tmp/zooinit-kv-XXXXXX");
	if (mkdtemp(etcd.dir) == NULL || cport < 0 || pport < 0 ||
	    cport == pport) {
		fprintf(stderr, "test_kv: no temporary directory or ports\n");
		etcd.dir[0] = '\0';
		return -1;
	}
	snprintf(etcd.log, sizeof(etcd.log), "%s/etcd.log", etcd.dir);
	snprintf(curl, sizeof(curl), "http://127.0.0.1:%d", cport);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", pport);
	snprintf(ic, sizeof(ic), "t=%s", purl);
	snprintf(etcd.url, sizeof(etcd.url), "%s", curl);
	{
		char data[96];
		char *argv[] = {
			ETCD_BIN, "--name", "t", "--data-dir", data,
			"--listen-client-urls", curl,
			"--advertise-client-urls", curl,
			"--listen-peer-urls", purl,
			"--initial-advertise-peer-urls", purl,
			"--initial-cluster", ic,
			"--initial-cluster-token", "zooinit-test-kv",
			"--heartbeat-interval", "50",
			"--election-timeout", "500",
			NULL,
		};

		snprintf(data, sizeof(data), "%s/data", etcd.dir);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
		    0);
		posix_spawn_file_actions_addopen(&fa, 1, etcd.log,
		    O_WRONLY | O_CREAT | O_TRUNC, 0600);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
		rc = posix_spawn(&etcd.pid, ETCD_BIN, &fa, NULL, argv,
		    environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	if (rc != 0) {
		fprintf(stderr, "test_kv: cannot start %s: %s\n", ETCD_BIN,
		    strerror(rc));
		etcd.pid = 0;
		etcd_stop();
		return -1;
	}
	/* Bounded wait for /health, through the loop. */
	memset(&hw, 0, sizeof(hw));
	hw.l = loop_new();
	hw.h = etcd_http_new(hw.l);
	hw.deadline = loop_now_ms() + 20000;
	loop_timer(hw.l, 50, health_poll, &hw);
	loop_run(hw.l);
	etcd_http_free(hw.h);
	loop_free(hw.l);
	if (!hw.healthy) {
		fprintf(stderr, "test_kv: etcd at %s %s\n", etcd.url,
		    hw.exited ? "exited" : "not healthy within 20 s");
		etcd_log_tail();
		etcd_stop();
		return -1;
	}
	etcd.available = true;
	return 0;
}

static int
e2e_group_teardown(void **state)
{
	(void)state;
	etcd_stop();
	return 0;
}

/* One test: a chain of steps, each started from the loop when the one
 * before it finished. */
struct tenv;
typedef void (*step_fn)(struct tenv *t);

struct tenv {
	struct env e;
	struct kres res;
	struct wlog w;
	const step_fn *steps;
	size_t nsteps, at;
	bool finished;
	size_t want_lines;	/* step on when the watch story has these */
	uint64_t wid;
	int64_t lease, rev, rev1;
	int polls;
	long watchers;		/* from /metrics */
	long want_watchers;
	int lost;
	char lost_reason[600];
	char *big;		/* 1 MiB of bytes */
	int64_t leases[3];	/* test_e2e_keeper_round */
	long streams;		/* etcd's LeaseKeepAlive streams so far */
};

static int
e2e_setup(void **state)
{
	struct tenv *t;
	char *eps[1];

	if (!etcd.available) {
		*state = NULL;
		return 0;
	}
	t = xcalloc(1, sizeof(*t));
	env_start(&t->e);
	eps[0] = etcd.url;
	t->e.kv = etcd_kv_new(t->e.h, eps, 1);
	*state = t;
	return 0;
}

static int
e2e_teardown(void **state)
{
	struct tenv *t = *state;

	if (t == NULL)
		return 0;
	kres_clear(&t->res);
	wlog_clear(&t->w);
	env_end(&t->e);
	free(t->big);
	free(t);
	return 0;
}

static struct tenv *
e2e_begin(void **state)
{
	if (*state == NULL)
		skip();
	return *state;
}

static void
on_step(struct loop *l, void *arg)
{
	struct tenv *t = arg;

	if (t->at == t->nsteps) {
		t->finished = true;
		loop_stop(l, 0);
		return;
	}
	t->steps[t->at++](t);
}

static void
step_after(struct tenv *t, int64_t ms)
{
	loop_timer(t->e.l, ms, on_step, t);
}

static void
step_next(struct tenv *t)
{
	step_after(t, 0);
}

static void
run_steps(struct tenv *t, const step_fn *steps, size_t n, int64_t limit)
{
	t->steps = steps;
	t->nsteps = n;
	step_next(t);
	env_run(&t->e, limit);
	if (!t->finished)
		fail_msg("stopped before step %zu of %zu", t->at, n);
}

#define RUN(t, steps, ms) run_steps((t), (steps), \
	sizeof(steps) / sizeof((steps)[0]), (ms))

static void
on_kv_step(void *arg, const struct etcd_kv_result *r)
{
	struct tenv *t = arg;

	kres_set(&t->res, r);
	step_next(t);
}

/* The previous step's operation succeeded. */
static void
ok(struct tenv *t)
{
	if (t->res.has_error)
		fail_msg("step %zu: %s", t->at - 1, t->res.error);
	assert_int_equal(t->res.calls, 1);
	t->res.calls = 0;
}

static void
on_watch_step(void *arg, const struct etcd_kv_watch_update *u)
{
	struct tenv *t = arg;

	wlog_record(&t->w, u);
	if (u->kind == ETCD_KV_WATCH_CREATED ||
	    (t->want_lines > 0 && t->w.n >= t->want_lines) ||
	    u->kind == ETCD_KV_WATCH_END) {
		t->want_lines = 0;
		step_next(t);
	}
}

/* Binary keys and values, a 1 MiB value, limits and prefix deletes. */

static const char BKEY[] = "b/\xff\x00\x01\xc0";

static void
b_put(struct tenv *t)
{
	unsigned char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	etcd_kv_put(t->e.kv, BKEY, LEN(BKEY), all, sizeof(all), 0,
	    on_kv_step, t);
}

static void
b_get(struct tenv *t)
{
	ok(t);
	t->rev = t->res.revision;
	etcd_kv_get(t->e.kv, BKEY, LEN(BKEY), false, 0, on_kv_step, t);
}

static void
b_put_big(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 1);
	assert_int_equal(t->res.kvs[0].key_len, LEN(BKEY));
	assert_memory_equal(t->res.kvs[0].key, BKEY, LEN(BKEY));
	assert_int_equal(t->res.kvs[0].value_len, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal((unsigned char)t->res.kvs[0].value[i], i);
	assert_true(t->res.kvs[0].mod_revision == t->rev);
	assert_true(t->res.kvs[0].version == 1);
	t->big = xmalloc(1024 * 1024);
	for (size_t i = 0; i < 1024 * 1024; i++)
		t->big[i] = (char)((i * 2654435761u) >> 13);
	etcd_kv_put(t->e.kv, "b/big", 5, t->big, 1024 * 1024, 0, on_kv_step,
	    t);
}

static void
b_get_big(struct tenv *t)
{
	ok(t);
	etcd_kv_get(t->e.kv, "b/big", 5, false, 0, on_kv_step, t);
}

static void
b_limit(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 1);
	assert_int_equal(t->res.kvs[0].value_len, 1024 * 1024);
	assert_memory_equal(t->res.kvs[0].value, t->big, 1024 * 1024);
	etcd_kv_get(t->e.kv, "b/", 2, true, 1, on_kv_step, t);
}

static void
b_delete(struct tenv *t)
{
	ok(t);
	/* Sorted by key: "b/big" < "b/\xff...". */
	assert_int_equal(t->res.n_kvs, 1);
	assert_string_equal(t->res.kvs[0].key, "b/big");
	assert_true(t->res.count == 2);
	etcd_kv_delete(t->e.kv, "b/", 2, true, on_kv_step, t);
}

static void
b_check(struct tenv *t)
{
	ok(t);
	assert_true(t->res.deleted == 2);
	etcd_kv_get(t->e.kv, "b/", 2, true, 0, on_kv_step, t);
}

static void
b_end(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 0);
	step_next(t);
}

static void
test_e2e_binary(void **state)
{
	static const step_fn steps[] = {
		b_put, b_get, b_put_big, b_get_big, b_limit, b_delete, b_check,
		b_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Create-if-absent, twice, and a generic transaction. */

static void
x_create1(struct tenv *t)
{
	etcd_kv_txn_create(t->e.kv, "t/leader", 8, "first", 5, 0, on_kv_step,
	    t);
}

static void
x_create2(struct tenv *t)
{
	ok(t);
	assert_true(t->res.succeeded);
	t->rev1 = t->res.revision;
	etcd_kv_txn_create(t->e.kv, "t/leader", 8, "second", 6, 0,
	    on_kv_step, t);
}

static void
x_generic(struct tenv *t)
{
	struct etcd_kv_cmp cmp[] = {
		{ .target = ETCD_KV_CMP_VALUE, .result = ETCD_KV_EQUAL,
		    .key = "t/leader", .key_len = 8, .value = "first",
		    .value_len = 5 },
		{ .target = ETCD_KV_CMP_MOD, .result = ETCD_KV_EQUAL,
		    .key = "t/leader", .key_len = 8, .number = t->rev1 },
		{ .target = ETCD_KV_CMP_VERSION, .result = ETCD_KV_LESS,
		    .key = "t/leader", .key_len = 8, .number = 2 },
	};
	struct etcd_kv_op then[] = {
		{ .type = ETCD_KV_RANGE, .key = "t/", .key_len = 2,
		    .prefix = true },
		{ .type = ETCD_KV_PUT, .key = "t/leader", .key_len = 8,
		    .value = "third", .value_len = 5 },
	};

	ok(t);
	/* Lost: the first value is there, with its revision. */
	assert_false(t->res.succeeded);
	assert_int_equal(t->res.n_kvs, 1);
	assert_string_equal(t->res.kvs[0].value, "first");
	assert_true(t->res.kvs[0].create_revision == t->rev1);
	etcd_kv_txn(t->e.kv, cmp, 3, then, 2, NULL, 0, on_kv_step, t);
}

static void
x_failing(struct tenv *t)
{
	struct etcd_kv_cmp cmp = { .target = ETCD_KV_CMP_CREATE,
	    .result = ETCD_KV_EQUAL, .key = "t/leader", .key_len = 8 };
	struct etcd_kv_op other = { .type = ETCD_KV_DELETE, .key = "t/",
	    .key_len = 2, .range_end = "t0", .range_end_len = 2 };

	ok(t);
	assert_true(t->res.succeeded);
	/* The range, which came before the put. */
	assert_int_equal(t->res.n_kvs, 1);
	assert_string_equal(t->res.kvs[0].value, "first");
	etcd_kv_txn(t->e.kv, &cmp, 1, NULL, 0, &other, 1, on_kv_step, t);
}

static void
x_end(struct tenv *t)
{
	ok(t);
	assert_false(t->res.succeeded);
	assert_true(t->res.deleted == 1);
	step_next(t);
}

static void
test_e2e_txn(void **state)
{
	static const step_fn steps[] = {
		x_create1, x_create2, x_generic, x_failing, x_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Leases: a key attached to one goes with it. */

static void
l_grant(struct tenv *t)
{
	etcd_kv_lease_grant(t->e.kv, 5, on_kv_step, t);
}

static void
l_put(struct tenv *t)
{
	ok(t);
	assert_true(t->res.lease_id > 0);
	assert_true(t->res.ttl >= 5);
	t->lease = t->res.lease_id;
	etcd_kv_put(t->e.kv, "l/svc", 5, "up", 2, t->lease, on_kv_step, t);
}

static void
l_keepalive(struct tenv *t)
{
	ok(t);
	etcd_kv_lease_keepalive(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_get(struct tenv *t)
{
	ok(t);
	assert_true(t->res.lease_id == t->lease);
	assert_true(t->res.ttl > 0 && t->res.ttl <= 5);
	etcd_kv_get(t->e.kv, "l/svc", 5, false, 0, on_kv_step, t);
}

static void
l_revoke(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 1);
	assert_true(t->res.kvs[0].lease == t->lease);
	etcd_kv_lease_revoke(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_get_gone(struct tenv *t)
{
	ok(t);
	etcd_kv_get(t->e.kv, "l/svc", 5, false, 0, on_kv_step, t);
}

static void
l_keepalive_gone(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 0);
	etcd_kv_lease_keepalive(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_revoke_gone(struct tenv *t)
{
	assert_true(t->res.has_error);
	assert_int_equal(t->res.grpc_code, 5);
	assert_true(t->res.ttl == 0);
	assert_non_null(strstr(t->res.error, "not found (expired or "
	    "revoked)"));
	t->res.calls = 0;
	etcd_kv_lease_revoke(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_end(struct tenv *t)
{
	assert_true(t->res.has_error);
	assert_int_equal(t->res.grpc_code, 5);
	assert_int_equal(t->res.http_status, 404);
	assert_non_null(strstr(t->res.error, "/v3/lease/revoke: etcd error: "
	    "etcdserver: requested lease not found (gRPC code 5, HTTP 404)"));
	step_next(t);
}

static void
test_e2e_lease(void **state)
{
	static const step_fn steps[] = {
		l_grant, l_put, l_keepalive, l_get, l_revoke, l_get_gone,
		l_keepalive_gone, l_revoke_gone, l_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* A keeper holds a 2 s lease for twice that long, then reports the loss
 * once the lease is revoked behind its back. */

static void
k_lost(void *arg, int64_t lease, const char *reason)
{
	struct tenv *t = arg;

	assert_true(lease == t->lease);
	t->lost++;
	snprintf(t->lost_reason, sizeof(t->lost_reason), "%s", reason);
	step_next(t);
}

static void
k_grant(struct tenv *t)
{
	etcd_kv_lease_grant(t->e.kv, 2, on_kv_step, t);
}

static void
k_put(struct tenv *t)
{
	ok(t);
	t->lease = t->res.lease_id;
	etcd_kv_put(t->e.kv, "k/svc", 5, "up", 2, t->lease, on_kv_step, t);
}

static void
k_keep(struct tenv *t)
{
	ok(t);
	etcd_kv_lease_keep(t->e.kv, t->lease, 2, k_lost, t);
	step_after(t, 4500);
}

static void
k_get(struct tenv *t)
{
	etcd_kv_get(t->e.kv, "k/svc", 5, false, 0, on_kv_step, t);
}

static void
k_revoke(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->res.n_kvs, 1);	/* alive after 2 TTLs */
	etcd_kv_lease_revoke(t->e.kv, t->lease, on_kv_step, t);
}

static void
k_wait(struct tenv *t)
{
	ok(t);
	/* k_lost steps on. */
}

static void
k_end(struct tenv *t)
{
	assert_int_equal(t->lost, 1);
	if (strstr(t->lost_reason, "not found (expired or revoked)") == NULL)
		fail_msg("unexpected reason: %s", t->lost_reason);
	step_next(t);
}

static void
test_e2e_keeper(void **state)
{
	static const step_fn steps[] = {
		k_grant, k_put, k_keep, k_get, k_revoke, k_wait, k_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Three keepers of one client, two of them started 0.3 s after the
 * first: they fall into step and renew in one request per period, so
 * etcd counts a third of the keepalive streams one each would open, and
 * every lease lives on. */

static void
on_streams(void *arg, const struct etcd_http_result *r)
{
	static const char name[] = "\ngrpc_server_started_total{grpc_method="
	    "\"LeaseKeepAlive\"";
	struct tenv *t = arg;
	const char *p = r->body != NULL ? strstr(r->body, name) : NULL;
	long before = t->streams;

	p = p != NULL ? strstr(p, "} ") : NULL;
	t->streams = p != NULL ? strtol(p + 2, NULL, 10) : -1;
	if (before > 0)
		t->streams -= before;
	step_next(t);
}

static void
kr_streams(struct tenv *t)
{
	char url[96];

	if (t->res.calls > 0)
		ok(t);	/* the last put */
	snprintf(url, sizeof(url), "%s/metrics", etcd.url);
	etcd_http_get(t->e.h, url, 2000, on_streams, t);
}

static void
kr_grant(struct tenv *t)
{
	if (t->res.calls > 0)
		ok(t);	/* the last put */
	etcd_kv_lease_grant(t->e.kv, 2, on_kv_step, t);
}

static void
kr_put(struct tenv *t)
{
	char key[8];

	ok(t);
	for (int i = 0; i < 3; i++)
		if (t->leases[i] == 0) {
			t->leases[i] = t->res.lease_id;
			snprintf(key, sizeof(key), "r/%d", i);
			etcd_kv_put(t->e.kv, key, 3, "up", 2, t->leases[i],
			    on_kv_step, t);
			return;
		}
	fail_msg("more than three leases");
}

static void
kr_first(struct tenv *t)
{
	assert_true(t->streams >= 0);
	t->streams = t->streams > 0 ? t->streams : 1;
	etcd_kv_lease_keep(t->e.kv, t->leases[0], 2, k_lost, t);
	step_after(t, 300);
}

static void
kr_others(struct tenv *t)
{
	etcd_kv_lease_keep(t->e.kv, t->leases[1], 2, k_lost, t);
	etcd_kv_lease_keep(t->e.kv, t->leases[2], 2, k_lost, t);
	step_after(t, 4000);
}

static void
kr_get(struct tenv *t)
{
	/* Keepers one each: 6 + 2 x 5 streams in these 4.3 s. */
	if (t->streams < 4 || t->streams > 9)
		fail_msg("%ld keepalive streams in 4.3 s", t->streams);
	etcd_kv_get(t->e.kv, "r/", 2, true, 0, on_kv_step, t);
}

static void
kr_end(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->res.n_kvs, 3);	/* alive after 2 TTLs */
	step_next(t);
}

static void
test_e2e_keeper_round(void **state)
{
	static const step_fn steps[] = {
		kr_grant, kr_put, kr_grant, kr_put, kr_grant, kr_put,
		kr_streams, kr_first, kr_others, kr_streams, kr_get, kr_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* A watch on a prefix sees PUT and DELETE events in order; cancelling it
 * closes the stream (etcd's own watcher gauge drops to 0). */

static void metrics_poll(struct loop *l, void *arg);

static void
on_metrics(void *arg, const struct etcd_http_result *r)
{
	struct tenv *t = arg;
	const char *p = strstr(r->body, "\netcd_debugging_mvcc_watcher_total ");

	t->watchers = p != NULL ? strtol(p + 35, NULL, 10) : -1;
	if (t->watchers == t->want_watchers || ++t->polls >= 100)
		step_next(t);
	else
		loop_timer(t->e.l, 50, metrics_poll, t);
}

static void
metrics_poll(struct loop *l, void *arg)
{
	struct tenv *t = arg;
	char url[96];

	(void)l;
	snprintf(url, sizeof(url), "%s/metrics", etcd.url);
	etcd_http_get(t->e.h, url, 2000, on_metrics, t);
}

/* Steps on once etcd counts want watchers (or after 5 s). */
static void
wait_watchers(struct tenv *t, long want)
{
	t->want_watchers = want;
	t->polls = 0;
	metrics_poll(t->e.l, t);
}

static void
w_start(struct tenv *t)
{
	t->wid = etcd_kv_watch(t->e.kv, "w/", 2, true, 0, on_watch_step, t);
	/* on_watch_step steps on at CREATED. */
}

static void
w_put_a(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED");
	etcd_kv_put(t->e.kv, "w/a", 3, "1", 1, 0, on_kv_step, t);
}

static void
w_put_b(struct tenv *t)
{
	ok(t);
	t->rev1 = t->res.revision;
	etcd_kv_put(t->e.kv, "w/b", 3, "2", 1, 0, on_kv_step, t);
}

static void
w_put_other(struct tenv *t)
{
	ok(t);
	etcd_kv_put(t->e.kv, "x/c", 3, "3", 1, 0, on_kv_step, t);
}

static void
w_del_a(struct tenv *t)
{
	ok(t);
	etcd_kv_delete(t->e.kv, "w/a", 3, false, on_kv_step, t);
}

static void
w_del_all(struct tenv *t)
{
	ok(t);
	etcd_kv_delete(t->e.kv, "w/", 2, true, on_kv_step, t);
}

static void
w_wait_events(struct tenv *t)
{
	ok(t);
	t->rev = t->res.revision;
	if (t->w.n >= 5)
		step_next(t);
	else
		t->want_lines = 5;
}

static void
w_count1(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|PUT w/a=1|PUT w/b=2|DELETE w/a|"
	    "DELETE w/b");
	/* The last event was the last delete. */
	assert_true(t->w.next == t->rev + 1);
	wait_watchers(t, 1);
}

static void
w_cancel(struct tenv *t)
{
	assert_int_equal(t->watchers, 1);
	etcd_kv_cancel(t->e.kv, t->wid);
	wait_watchers(t, 0);
}

static void
w_end(struct tenv *t)
{
	assert_int_equal(t->watchers, 0);
	assert_int_equal(t->w.ends, 0);
	step_next(t);
}

static void
test_e2e_watch(void **state)
{
	static const step_fn steps[] = {
		w_start, w_put_a, w_put_b, w_put_other, w_del_a, w_del_all,
		w_wait_events, w_count1, w_cancel, w_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Watching from a compacted revision ends with compact_revision; a get
 * and a watch from its revision + 1 go on from there. */

static void
c_put1(struct tenv *t)
{
	etcd_kv_put(t->e.kv, "c/k", 3, "1", 1, 0, on_kv_step, t);
}

static void
c_put2(struct tenv *t)
{
	ok(t);
	t->rev1 = t->res.revision;
	etcd_kv_put(t->e.kv, "c/k", 3, "2", 1, 0, on_kv_step, t);
}

static void
on_compacted(void *arg, const struct etcd_http_result *r)
{
	struct tenv *t = arg;

	if (r->status != 200)
		fail_msg("compaction: %ld %s %s", r->status, r->body,
		    r->error ? r->error : "");
	step_next(t);
}

static void
c_compact(struct tenv *t)
{
	char url[96], body[64];

	ok(t);
	t->rev = t->res.revision;
	snprintf(url, sizeof(url), "%s/v3/kv/compaction", etcd.url);
	snprintf(body, sizeof(body), "{\"revision\":\"%" PRId64 "\"}",
	    t->rev);
	etcd_http_post_json(t->e.h, url, body, 5000, on_compacted, t);
}

static void
c_watch_old(struct tenv *t)
{
	etcd_kv_watch(t->e.kv, "c/k", 3, false, t->rev1, on_watch_step, t);
	t->want_lines = 2;	/* CREATED, then END */
}

static void
c_skip_created(struct tenv *t)
{
	/* on_watch_step stepped at CREATED; END steps again. */
	(void)t;
}

static void
c_get(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|END");
	assert_true(t->w.compact == t->rev);
	assert_true(t->w.next == t->rev1);
	if (strstr(t->w.error, "was compacted away") == NULL)
		fail_msg("unexpected error: %s", t->w.error);
	wlog_clear(&t->w);
	etcd_kv_get(t->e.kv, "c/k", 3, false, 0, on_kv_step, t);
}

static void
c_watch_new(struct tenv *t)
{
	ok(t);
	assert_string_equal(t->res.kvs[0].value, "2");
	t->wid = etcd_kv_watch(t->e.kv, "c/k", 3, false, t->res.revision + 1,
	    on_watch_step, t);
}

static void
c_put3(struct tenv *t)
{
	etcd_kv_put(t->e.kv, "c/k", 3, "3", 1, 0, on_kv_step, t);
}

static void
c_wait(struct tenv *t)
{
	ok(t);
	if (t->w.n >= 2)
		step_next(t);
	else
		t->want_lines = 2;
}

static void
c_end(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|PUT c/k=3");
	etcd_kv_cancel(t->e.kv, t->wid);
	step_next(t);
}

static void
test_e2e_compacted(void **state)
{
	static const step_fn steps[] = {
		c_put1, c_put2, c_compact, c_watch_old, c_skip_created, c_get,
		c_watch_new, c_put3, c_wait, c_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* The first endpoint is dead: calls and watches go to the second, and
 * later calls go there directly. */

static int dead_fd = -1;

static void
f_setup(struct tenv *t)
{
	char dead[64];
	char *eps[2];

	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d",
	    bound_port(&dead_fd));
	eps[0] = dead;
	eps[1] = etcd.url;
	etcd_kv_free(t->e.kv);
	t->e.kv = etcd_kv_new(t->e.h, eps, 2);
	t->wid = etcd_kv_watch(t->e.kv, "f/", 2, true, 0, on_watch_step, t);
}

static void
f_put(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED");
	assert_string_equal(etcd_kv_endpoint(t->e.kv), etcd.url);
	etcd_kv_put(t->e.kv, "f/k", 3, "v", 1, 0, on_kv_step, t);
}

static void
f_get(struct tenv *t)
{
	ok(t);
	etcd_kv_get(t->e.kv, "f/k", 3, false, 0, on_kv_step, t);
}

static void
f_wait(struct tenv *t)
{
	ok(t);
	assert_string_equal(t->res.kvs[0].value, "v");
	if (t->w.n >= 2)
		step_next(t);
	else
		t->want_lines = 2;
}

static void
f_end(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|PUT f/k=v");
	etcd_kv_cancel(t->e.kv, t->wid);
	step_next(t);
}

static void
test_e2e_failover(void **state)
{
	static const step_fn steps[] = {
		f_setup, f_put, f_get, f_wait, f_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
	close(dead_fd);
	dead_fd = -1;
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_parse_other),
		cmocka_unit_test(test_parse_txn),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_watch),
		cmocka_unit_test(test_stream_lines),
		cmocka_unit_test(test_stream_caps),
		cmocka_unit_test(test_stream_backpressure),
		cmocka_unit_test(test_stream_cancel),
		cmocka_unit_test(test_kv_failover),
		cmocka_unit_test(test_kv_errors),
		cmocka_unit_test(test_kv_reject_cancel),
		cmocka_unit_test(test_kv_watch_stream),
		cmocka_unit_test(test_kv_keeper_dead),
		cmocka_unit_test(test_kv_keeper_round),
	};
	const struct CMUnitTest e2e[] = {
		cmocka_unit_test_setup_teardown(test_e2e_binary, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_txn, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_lease, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_keeper, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_keeper_round,
		    e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_watch, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_compacted, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_failover, e2e_setup,
		    e2e_teardown),
	};
	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests_name("kv", pure, NULL, NULL);
	rc |= cmocka_run_group_tests_name("kv-etcd", e2e, e2e_group_setup,
	    e2e_group_teardown);
	curl_global_cleanup();
	return rc;
}
