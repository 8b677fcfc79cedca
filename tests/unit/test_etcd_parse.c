/* etcd/api.c: the etcd v3 JSON gateway's answers parsed strictly (member
 * lists, status, health, the member list a peer port serves) and why a
 * request failed, worded; no network. Answers both this file and
 * test_etcd_fake.c use are in etcd_fix.h. */
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
#include "etcd/api.h"
#include "etcd/http.h"
#include "tests/unit/etcd_fix.h"

/* Answers captured from Debian's etcd 3.4.23 on loopback. The member list
 * has t1 (voter, leader), an added but not started voter (no name, no
 * clientURLs), learner t3 and voter t2. */
static const char MEMBERS4[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\",\"raft_term\":\"2\"},\"members\":[{\"ID\":"
    "\"3319814642761637952\",\"name\":\"t1\",\"peerURLs\":[\"http://127.0."
    "0.1:23800\"],\"clientURLs\":[\"http://127.0.0.1:23790\"]},{\"ID\":"
    "\"9331796414767838108\",\"peerURLs\":[\"http://127.0.0.1:23803\"]},"
    "{\"ID\":\"9606456642336373479\",\"name\":\"t3\",\"peerURLs\":[\"http:/"
    "/127.0.0.1:23802\"],\"clientURLs\":[\"http://127.0.0.1:23792\"],"
    "\"isLearner\":true},{\"ID\":\"10050867348020967275\",\"name\":\"t2\","
    "\"peerURLs\":[\"http://127.0.0.1:23801\"],\"clientURLs\":[\"http://12"
    "7.0.0.1:23791\"]}]}";

static char err[256];

static int
members(const char *body, struct etcd_members *m)
{
	memset(m, 0, sizeof(*m));
	err[0] = '\0';
	return etcd_parse_members(body, strlen(body), m, err, sizeof(err));
}

/* Asserts that body is rejected with an error mentioning needle. */
static void
members_bad(const char *body, const char *needle)
{
	struct etcd_members m;

	if (members(body, &m) == 0) {
		etcd_members_free(&m);
		fail_msg("accepted: %s", body);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	assert_int_equal(m.n, 0);
	assert_null(m.v);
}

/* Builds a member list around one member object. */
static char *
one_member(const char *member)
{
	return xasprintf("{\"header\":{\"cluster_id\":\"1\",\"member_id\":"
	    "\"2\"},\"members\":[%s]}", member);
}

static void
one_member_bad(const char *member, const char *needle)
{
	char *body = one_member(member);

	members_bad(body, needle);
	free(body);
}

static void
test_members_real(void **state)
{
	struct etcd_members m;

	(void)state;
	assert_int_equal(members(MEMBERS4, &m), 0);
	assert_true(m.cluster_id == UINT64_C(324952591200643719));
	assert_true(m.member_id == UINT64_C(3319814642761637952));
	assert_int_equal(m.n, 4);
	assert_string_equal(m.v[0].name, "t1");
	assert_true(m.v[3].id == UINT64_C(10050867348020967275));
	assert_string_equal(m.v[3].client_urls[0], "http://127.0.0.1:23791");
	etcd_members_free(&m);
	assert_null(m.v);
	etcd_members_free(&m);	/* zeroed: a second free is harmless */
}

static void
test_members_three(void **state)
{
	struct etcd_members m;

	(void)state;
	assert_int_equal(members(MEMBERS3, &m), 0);
	assert_int_equal(m.n, 3);

	assert_true(m.v[0].id == UINT64_C(3319814642761637952));
	assert_string_equal(m.v[0].name, "t1");
	assert_int_equal(m.v[0].n_peer_urls, 1);
	assert_string_equal(m.v[0].peer_urls[0], "http://127.0.0.1:23800");
	assert_int_equal(m.v[0].n_client_urls, 1);
	assert_string_equal(m.v[0].client_urls[0], "http://127.0.0.1:23790");
	assert_false(m.v[0].learner);

	/* Added, not started: no name, no client URLs. */
	assert_true(m.v[1].id == UINT64_C(9331796414767838108));
	assert_string_equal(m.v[1].name, "");
	assert_int_equal(m.v[1].n_peer_urls, 1);
	assert_int_equal(m.v[1].n_client_urls, 0);
	assert_null(m.v[1].client_urls);
	assert_false(m.v[1].learner);

	assert_string_equal(m.v[2].name, "t3");
	assert_true(m.v[2].learner);
	etcd_members_free(&m);
}

static void
test_members_edges_ok(void **state)
{
	struct etcd_members m;
	char *body;

	(void)state;
	/* Largest uint64, leading zeros, several URLs, explicit false. */
	body = one_member("{\"ID\":\"18446744073709551615\",\"name\":\"a\","
	    "\"peerURLs\":[\"http://a:2380\",\"https://a:2381\"],"
	    "\"clientURLs\":[],\"isLearner\":false,\"unknown\":{\"x\":1}}");
	assert_int_equal(members(body, &m), 0);
	assert_true(m.v[0].id == UINT64_MAX);
	assert_int_equal(m.v[0].n_peer_urls, 2);
	assert_int_equal(m.v[0].n_client_urls, 0);
	etcd_members_free(&m);
	free(body);

	body = one_member("{\"ID\":\"0007\"}");
	assert_int_equal(members(body, &m), 0);
	assert_true(m.v[0].id == 7);
	assert_int_equal(m.v[0].n_peer_urls, 0);
	etcd_members_free(&m);
	free(body);
}

static void
test_members_wrong_types(void **state)
{
	(void)state;
	members_bad("[]", "expected a JSON object, found an array");
	members_bad("null", "found null");
	members_bad("\"x\"", "found a string");
	members_bad("{\"header\":[],\"members\":[]}", "\"header\" should be");
	members_bad("{\"header\":{\"cluster_id\":1,\"member_id\":\"2\"},"
	    "\"members\":[{\"ID\":\"1\"}]}",
	    "\"cluster_id\" should be a string");
	members_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"members\":{}}", "\"members\" should be an array");
	one_member_bad("\"x\"", "member 0 should be an object");
	one_member_bad("[]", "member 0 should be an object");
	one_member_bad("{\"ID\":12}", "\"ID\" should be a string");
	one_member_bad("{\"ID\":\"1\",\"name\":5}", "\"name\" should be");
	one_member_bad("{\"ID\":\"1\",\"name\":null}", "found null");
	one_member_bad("{\"ID\":\"1\",\"peerURLs\":\"http://a:2380\"}",
	    "\"peerURLs\" should be an array");
	one_member_bad("{\"ID\":\"1\",\"peerURLs\":[\"http://a:2380\",7]}",
	    "\"peerURLs\"[1]");
	one_member_bad("{\"ID\":\"1\",\"clientURLs\":[\"\"]}",
	    "\"clientURLs\"[0]");
	one_member_bad("{\"ID\":\"1\",\"isLearner\":\"true\"}",
	    "\"isLearner\" should be true or false");
	one_member_bad("{\"ID\":\"1\",\"name\":\"a\\u0000b\"}", "NUL");
}

static void
test_members_missing(void **state)
{
	(void)state;
	members_bad("{}", "no \"header\"");
	members_bad("{\"header\":{\"member_id\":\"2\"},\"members\":"
	    "[{\"ID\":\"1\"}]}", "missing \"cluster_id\"");
	members_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"}}",
	    "no members");
	members_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"members\":[]}", "no members");
	one_member_bad("{\"name\":\"a\"}", "missing \"ID\"");
	one_member_bad("{\"ID\":\"0\"}", "\"ID\" is 0");
	one_member_bad("{\"ID\":\"5\"},{\"ID\":\"5\"}", "same ID 5");
	/* A gRPC error object is reported as such. */
	members_bad(LEARNER_ERR,
	    "etcd error: etcdserver: rpc not supported for learner "
	    "(gRPC code 14)");
	/* A status answer is not a member list. */
	members_bad(STATUS, "no members");
}

static void
test_members_bad_ids(void **state)
{
	(void)state;
	one_member_bad("{\"ID\":\"12ab\"}", "decimal digits, found \"12ab\"");
	one_member_bad("{\"ID\":\"0x10\"}", "decimal digits");
	one_member_bad("{\"ID\":\"-1\"}", "decimal digits");
	one_member_bad("{\"ID\":\"+1\"}", "decimal digits");
	one_member_bad("{\"ID\":\" 1\"}", "decimal digits");
	one_member_bad("{\"ID\":\"1 \"}", "decimal digits");
	one_member_bad("{\"ID\":\"1e3\"}", "decimal digits");
	one_member_bad("{\"ID\":\"\"}", "empty string");
	one_member_bad("{\"ID\":\"18446744073709551616\"}", "out of range");
	one_member_bad("{\"ID\":\"99999999999999999999999999\"}",
	    "out of range");
	one_member_bad("{\"ID\":1.5}", "should be a string");
	one_member_bad("{\"ID\":\"\\u0661\"}", "decimal digits"); /* Arabic 1 */
}

static void
test_members_caps(void **state)
{
	size_t n = 100000, o = 0, cap = n * 12 + 128;
	char *body = xmalloc(cap);
	char *urls;

	(void)state;
	o += (size_t)snprintf(body, cap, "{\"header\":{\"cluster_id\":\"1\","
	    "\"member_id\":\"1\"},\"members\":[");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(body + o, cap - o, "%s{\"ID\":\"1\"}",
		    i ? "," : "");
	snprintf(body + o, cap - o, "]}");
	members_bad(body, "100000 members, more than the 1024 supported");
	free(body);

	/* 17 URLs is one too many; 16 is fine. */
	urls = xstrdup("\"http://a:1\"");
	for (int i = 1; i < 17; i++) {
		char *next = xasprintf("%s,\"http://a:%d\"", urls, i + 1);

		if (i == 16) {
			struct etcd_members m;
			char *mb = xasprintf("{\"ID\":\"1\",\"peerURLs\":[%s]}",
			    urls);
			char *b = one_member(mb);

			assert_int_equal(members(b, &m), 0);
			assert_int_equal(m.v[0].n_peer_urls, 16);
			etcd_members_free(&m);
			free(b);
			free(mb);
		}
		free(urls);
		urls = next;
	}
	body = xasprintf("{\"ID\":\"1\",\"clientURLs\":[%s]}", urls);
	one_member_bad(body, "lists 17 URLs, more than the 16 supported");
	free(body);
	free(urls);
}

static void
test_members_broken_json(void **state)
{
	struct etcd_members m;
	char buf[sizeof(MEMBERS3)];

	(void)state;
	/* Every proper prefix of a real answer is rejected cleanly. */
	for (size_t len = 0; len < LEN(MEMBERS3); len++) {
		memcpy(buf, MEMBERS3, len);
		memset(&m, 0, sizeof(m));
		err[0] = '\0';
		assert_int_equal(etcd_parse_members(buf, len, &m, err,
		    sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_null(m.v);
	}
	members_bad("", "empty answer");
	assert_int_equal(etcd_parse_members(NULL, 0, &m, err, sizeof(err)),
	    -1);
	members_bad("{\"header\":{\"cluster_id\":\"1\",\"cluster_id\":\"1\","
	    "\"member_id\":\"2\"},\"members\":[{\"ID\":\"1\"}]}",
	    "duplicate");
	members_bad("{} {}", "invalid JSON");
	/* Invalid UTF-8 (a lone continuation byte, an overlong slash). */
	one_member_bad("{\"ID\":\"1\",\"name\":\"\x80\"}", "invalid JSON");
	one_member_bad("{\"ID\":\"1\",\"name\":\"\xc0\xaf\"}",
	    "invalid JSON");
	/* A NUL byte inside the body itself. */
	assert_int_equal(etcd_parse_members("{\"a\":\0}", 7, &m, err,
	    sizeof(err)), -1);
	/* A tiny error buffer is still terminated and not overrun. */
	{
		char small[8];

		memset(small, 'x', sizeof(small));
		assert_int_equal(etcd_parse_members("[", 1, &m, small,
		    sizeof(small) - 2), -1);
		assert_int_equal(small[5], '\0');
		assert_int_equal(small[6], 'x');
	}
}

static void
test_status(void **state)
{
	struct etcd_status st;

	(void)state;
	assert_int_equal(etcd_parse_status(STATUS, LEN(STATUS), &st, err,
	    sizeof(err)), 0);
	assert_true(st.cluster_id == UINT64_C(324952591200643719));
	assert_true(st.member_id == UINT64_C(3319814642761637952));
	assert_true(st.leader == UINT64_C(3319814642761637952));
	assert_true(st.raft_term == 2);
	assert_string_equal(st.version, "3.4.23");
	assert_true(st.db_size == 20480);
	assert_true(st.raft_index == 5);
	assert_false(st.learner);
	assert_int_equal(st.errors, 0);

	assert_int_equal(etcd_parse_status(STATUS_NOLEADER,
	    LEN(STATUS_NOLEADER), &st, err, sizeof(err)), 0);
	assert_true(st.leader == 0);
	assert_true(st.raft_term == 2);
	assert_int_equal(st.errors, 1);

	/* etcd 3.4.23 with a NOSPACE alarm raised: the status lists it. */
	static const char alarmed[] = "{\"header\":{\"cluster_id\":"
	    "\"324952591200643719\",\"member_id\":\"3319814642761637952\","
	    "\"revision\":\"1\",\"raft_term\":\"2\"},\"version\":"
	    "\"3.4.23\",\"dbSize\":\"20480\",\"leader\":"
	    "\"3319814642761637952\",\"raftIndex\":\"5\",\"raftTerm\":\"2\","
	    "\"raftAppliedIndex\":\"5\",\"errors\":[\"memberID:"
	    "3319814642761637952 alarm:NOSPACE \"],\"dbSizeInUse\":\"16384\"}";
	assert_int_equal(etcd_parse_status(alarmed, strlen(alarmed), &st, err,
	    sizeof(err)), 0);
	assert_int_equal(st.errors, 1);

	/* A learner (etcd 3.6.16), with 3.6's extra fields. */
	static const char learner[] = "{\"header\":{\"cluster_id\":"
	    "\"15720457055163114908\", \"member_id\":\"15946436635456102587\","
	    " \"revision\":\"2\", \"raft_term\":\"2\"}, \"version\":"
	    "\"3.6.16\", \"dbSize\":\"20480\", \"leader\":"
	    "\"829831840369890727\", \"raftIndex\":\"12\", \"raftTerm\":"
	    "\"2\", \"raftAppliedIndex\":\"12\", \"dbSizeInUse\":\"16384\","
	    " \"isLearner\":true, \"storageVersion\":\"3.5.0\", "
	    "\"dbSizeQuota\":\"2147483648\", \"downgradeInfo\":{}}";
	assert_int_equal(etcd_parse_status(learner, strlen(learner), &st, err,
	    sizeof(err)), 0);
	assert_true(st.learner);
	assert_true(st.raft_index == 12);
	assert_string_equal(st.version, "3.6.16");
}

static void
status_bad(const char *body, const char *needle)
{
	struct etcd_status st;

	err[0] = '\0';
	assert_int_equal(etcd_parse_status(body, strlen(body), &st, err,
	    sizeof(err)), -1);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void
test_status_bad(void **state)
{
	char buf[sizeof(STATUS)];
	struct etcd_status st;

	(void)state;
	status_bad("", "empty answer");
	status_bad("[1]", "expected a JSON object");
	status_bad(MEMBERS3, "missing \"version\"");
	status_bad(LEARNER_ERR, "etcd error");
	status_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"version\":\"3.4.23\",\"dbSize\":\"9223372036854775808\"}",
	    "\"dbSize\" is out of range");
	status_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"version\":\"3.4.23\",\"leader\":\"abc\"}", "\"leader\"");
	status_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"version\":3.4}", "\"version\" should be a string");
	status_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"version\":\"\"}", "\"version\" should be 1 to 31 bytes");
	status_bad("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"version\":\"0123456789012345678901234567890123456789\"}",
	    "\"version\" should be 1 to 31 bytes");
	status_bad("{\"header\":{\"member_id\":\"2\"},\"version\":\"3\"}",
	    "missing \"cluster_id\"");
	for (size_t len = 0; len < LEN(STATUS); len++) {
		memcpy(buf, STATUS, len);
		assert_int_equal(etcd_parse_status(buf, len, &st, err,
		    sizeof(err)), -1);
	}
}

static void
test_health(void **state)
{
	static const struct {
		const char *body;
		int rc;
		bool healthy;
	} t[] = {
		{ "{\"health\":\"true\"}", 0, true },	/* what 3.4 sends */
		{ "{\"health\":\"false\"}", 0, false },
		{ "{\"health\":true}", 0, true },
		{ "{\"health\":false}", 0, false },
		{ "{\"health\":\"false\",\"reason\":\"NOSPACE\"}", 0, false },
		{ "{\"health\":\"TRUE\"}", -1, false },
		{ "{\"health\":\"yes\"}", -1, false },
		{ "{\"health\":1}", -1, false },
		{ "{\"health\":null}", -1, false },
		{ "{}", -1, false },
		{ "true", -1, false },
		{ "null", -1, false },
		{ "{\"health\":\"true\"", -1, false },
		{ "", -1, false },
		{ "Method Not Allowed\n", -1, false },
		{ "<html>502 Bad Gateway</html>", -1, false },
		{ "{\"health\":\"tr\xffue\"}", -1, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool h = !t[i].healthy;
		int rc;

		err[0] = '\0';
		rc = etcd_parse_health(t[i].body, strlen(t[i].body), &h, err,
		    sizeof(err));
		if (rc != t[i].rc)
			fail_msg("%s: rc %d", t[i].body, rc);
		if (rc == 0)
			assert_int_equal(h, t[i].healthy);
		else
			assert_true(strncmp(err, "health: ", 8) == 0);
	}
}

/* Why a request failed, as the agent's log lines say it: the transport
 * error, etcd's own message, or the status and the body. */
static void
test_http_why(void **state)
{
	static const char gw[] = "{\"error\":\"etcdserver: unhealthy "
	    "cluster\",\"message\":\"etcdserver: unhealthy cluster\","
	    "\"code\":14}";
	struct etcd_http_result down = { .body = "",
	    .error = "Connection refused", .fail = ETCD_HTTP_FAIL_CONNECT };
	struct etcd_http_result none = { .body = "" };
	struct etcd_http_result busy = { .status = 503, .body = gw,
	    .len = sizeof(gw) - 1 };
	struct etcd_http_result page = { .status = 404,
	    .body = "no such page", .len = 12 };
	char out[256];

	(void)state;
	assert_string_equal(etcd_http_why(&down, out, sizeof(out)),
	    "Connection refused");
	assert_string_equal(etcd_http_why(&none, out, sizeof(out)),
	    "no answer");
	assert_string_equal(etcd_http_why(&busy, out, sizeof(out)),
	    "etcd error: etcdserver: unhealthy cluster (gRPC code 14, "
	    "HTTP 503)");
	assert_string_equal(etcd_http_why(&page, out, sizeof(out)),
	    "HTTP 404: no such page");
}

/* GET /members on a peer port: a cluster still forming lists no client
 * URLs; anything but a list of members is not an answer. */
static void
test_peer_members(void **state)
{
	/* As etcd 3.4 answers on its peer port: IDs are JSON numbers, and
	 * half of them are above 2^63. */
	const char *forming = "[{\"id\":16360351936234479404,\"name\":\"h1\","
	    "\"peerURLs\":[\"http://10.0.0.1:2380\"]},{\"id\":2,\"name\":"
	    "\"h2\",\"peerURLs\":[\"http://10.0.0.2:2380\"],\"clientURLs\":[]}]\n";
	const char *started = "[{\"id\":1,\"peerURLs\":[\"http://10.0.0.1:2380\"]},"
	    "{\"id\":2,\"name\":\"h2\",\"peerURLs\":[\"http://10.0.0.2:2380\"],"
	    "\"clientURLs\":[\"http://10.0.0.2:2379\"]}]";

	(void)state;
	assert_int_equal(etcd_parse_peer_members(forming, strlen(forming)),
	    0);
	assert_int_equal(etcd_parse_peer_members(started, strlen(started)),
	    1);
	assert_int_equal(etcd_parse_peer_members("[]", 2), -1);
	assert_int_equal(etcd_parse_peer_members("404 page not found", 18),
	    -1);
	assert_int_equal(etcd_parse_peer_members("[1]", 3), -1);
	assert_int_equal(etcd_parse_peer_members("[{}]", 4), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_members),
		cmocka_unit_test(test_members_real),
		cmocka_unit_test(test_members_three),
		cmocka_unit_test(test_members_edges_ok),
		cmocka_unit_test(test_members_wrong_types),
		cmocka_unit_test(test_members_missing),
		cmocka_unit_test(test_members_bad_ids),
		cmocka_unit_test(test_members_caps),
		cmocka_unit_test(test_members_broken_json),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_bad),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_http_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
