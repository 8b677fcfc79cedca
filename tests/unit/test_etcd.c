#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"

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

/* The same shapes, three members: voter t1, unstarted voter, learner t3. */
static const char MEMBERS3[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\",\"raft_term\":\"2\"},\"members\":[{\"ID\":"
    "\"3319814642761637952\",\"name\":\"t1\",\"peerURLs\":[\"http://127.0."
    "0.1:23800\"],\"clientURLs\":[\"http://127.0.0.1:23790\"]},{\"ID\":"
    "\"9331796414767838108\",\"peerURLs\":[\"http://127.0.0.1:23803\"]},"
    "{\"ID\":\"9606456642336373479\",\"name\":\"t3\",\"peerURLs\":[\"http:/"
    "/127.0.0.1:23802\"],\"clientURLs\":[\"http://127.0.0.1:23792\"],"
    "\"isLearner\":true}]}";

static const char STATUS[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\",\"revision\":\"1\",\"raft_term\":\"2\"},"
    "\"version\":\"3.4.23\",\"dbSize\":\"20480\",\"leader\":"
    "\"3319814642761637952\",\"raftIndex\":\"5\",\"raftTerm\":\"2\","
    "\"raftAppliedIndex\":\"5\",\"dbSizeInUse\":\"16384\"}";

/* Quorum lost: no "leader" at all, and an "errors" array. */
static const char STATUS_NOLEADER[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\",\"revision\":\"1\",\"raft_term\":\"2\"},"
    "\"version\":\"3.4.23\",\"dbSize\":\"20480\",\"raftIndex\":\"15\","
    "\"raftTerm\":\"2\",\"raftAppliedIndex\":\"15\",\"errors\":"
    "[\"etcdserver: no leader\"],\"dbSizeInUse\":\"16384\"}";

/* Status of an unstarted-voter leader, for the hex-name case. */
static const char STATUS_LEADER_UNNAMED[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\"},\"version\":\"3.4.23\",\"leader\":"
    "\"9331796414767838108\",\"raftTerm\":\"3\"}";

/* What a learner answers to member/list, with HTTP 503. */
static const char LEARNER_ERR[] =
    "{\"error\":\"etcdserver: rpc not supported for learner\",\"message\":"
    "\"etcdserver: rpc not supported for learner\",\"code\":14}";

#define LEN(s) (sizeof(s) - 1)

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

/* A small HTTP/1.1 server on loopback, driven by the same loop, so that the
 * asynchronous half runs without an etcd: one answer per connection, then
 * close. */

struct route {
	const char *path;
	long status;
	const char *body;
	size_t len;
	bool hang;		/* never answer */
	bool no_length;		/* body ends at close, no Content-Length */
};

struct conn {
	struct fake *f;
	int fd;
	char in[8192];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	struct conn *next;
};

struct fake {
	struct loop *l;
	int lfd;
	int port;
	const struct route *routes;
	size_t nroutes;
	struct conn *conns;
	char last_req[8192];	/* the last complete request */
	int nreq;
};

static void
conn_close(struct conn *c)
{
	struct conn **pp = &c->f->conns;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	loop_unwatch(c->f->l, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
}

static void
conn_write(struct loop *l, int fd, int events, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)l;
	(void)fd;
	(void)events;
	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff == c->outlen)
		conn_close(c);
}

static void
conn_answer(struct conn *c)
{
	struct fake *f = c->f;
	char path[256] = "";
	const struct route *r = NULL;
	char head[512];
	int hl;

	snprintf(f->last_req, sizeof(f->last_req), "%.*s",
	    (int)c->inlen, c->in);
	f->nreq++;
	sscanf(c->in, "%*s %255s", path);
	for (size_t i = 0; i < f->nroutes; i++) {
		if (strcmp(f->routes[i].path, path) == 0)
			r = &f->routes[i];
	}
	if (r != NULL && r->hang) {
		loop_unwatch(f->l, c->fd);
		return;
	}
	if (r == NULL) {
		static const struct route nf = { "", 404,
		    "404 page not found\n", 19, false, false };
		r = &nf;
	}
	if (r->no_length)
		hl = snprintf(head, sizeof(head), "HTTP/1.1 %ld X\r\n"
		    "Connection: close\r\n\r\n", r->status);
	else
		hl = snprintf(head, sizeof(head), "HTTP/1.1 %ld X\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n", r->status, r->len);
	c->outlen = (size_t)hl + r->len;
	c->out = xmalloc(c->outlen);
	memcpy(c->out, head, (size_t)hl);
	memcpy(c->out + hl, r->body, r->len);
	loop_watch(f->l, c->fd, LOOP_WRITE, conn_write, c);
}

static void
conn_read(struct loop *l, int fd, int events, void *arg)
{
	struct conn *c = arg;
	ssize_t n;
	char *end;
	const char *cl;
	size_t want = 0;

	(void)l;
	(void)fd;
	(void)events;
	if (c->inlen == sizeof(c->in) - 1) {
		conn_close(c);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
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
	if (c->inlen < (size_t)(end + 4 - c->in) + want)
		return;
	conn_answer(c);
}

static void
fake_accept(struct loop *l, int fd, int events, void *arg)
{
	struct fake *f = arg;
	struct conn *c;
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
	loop_watch(l, s, LOOP_READ, conn_read, c);
}

/* Returns a port on loopback where nothing listens (barring a race with
 * another process, which loopback tests accept). */
static int
free_port(int *keep_fd)
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
fake_start(struct fake *f, struct loop *l, const struct route *routes,
    size_t nroutes)
{
	memset(f, 0, sizeof(*f));
	f->l = l;
	f->routes = routes;
	f->nroutes = nroutes;
	f->port = free_port(&f->lfd);
	assert_int_equal(listen(f->lfd, 16), 0);
	fcntl(f->lfd, F_SETFL, O_NONBLOCK);
	loop_watch(l, f->lfd, LOOP_READ, fake_accept, f);
}

static void
fake_stop(struct fake *f)
{
	while (f->conns != NULL)
		conn_close(f->conns);
	loop_unwatch(f->l, f->lfd);
	close(f->lfd);
}

/* One asynchronous test case: a loop, a client, a fake server, and a
 * watchdog so that a lost callback fails instead of hanging. The loop is
 * run once: loop_stop() is final. */
struct env {
	struct loop *l;
	struct etcd_http *h;
	struct fake f;
	char url[64];
	int pending;		/* callbacks still expected */
	int calls;
	struct etcd_check_result res;
	uint64_t victim;
	bool timed_out;
};

static void
watchdog(struct loop *l, void *arg)
{
	struct env *e = arg;

	e->timed_out = true;
	loop_stop(l, -1);
}

static void
env_start(struct env *e, const struct route *routes, size_t nroutes)
{
	memset(e, 0, sizeof(*e));
	e->l = loop_new();
	e->h = etcd_http_new(e->l);
	fake_start(&e->f, e->l, routes, nroutes);
	snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%d", e->f.port);
}

static void
env_run(struct env *e)
{
	uint64_t t = loop_timer(e->l, 5000, watchdog, e);

	if (e->pending > 0)
		assert_int_equal(loop_run(e->l), 0);
	loop_cancel(e->l, t);
	assert_false(e->timed_out);
}

static void
env_end(struct env *e)
{
	etcd_http_free(e->h);
	fake_stop(&e->f);
	loop_free(e->l);
}

static void
one_done(struct env *e)
{
	if (--e->pending == 0)
		loop_stop(e->l, 0);
}

static void
on_check(void *arg, const struct etcd_check_result *r)
{
	struct env *e = arg;

	e->calls++;
	e->res = *r;
	one_done(e);
}

/* Where one request's result lands. */
struct slot {
	struct env *e;
	int calls;
	long status;
	size_t len;
	char body[64];
	char error[256];
	bool has_error;
};

static void
on_http(void *arg, const struct etcd_http_result *r)
{
	struct slot *sl = arg;

	sl->calls++;
	assert_non_null(r->body);
	assert_int_equal(r->body[r->len], '\0');
	sl->status = r->status;
	sl->len = r->len;
	snprintf(sl->body, sizeof(sl->body), "%.*s", (int)(r->len < 63 ?
	    r->len : 63), r->body);
	sl->has_error = r->error != NULL;
	snprintf(sl->error, sizeof(sl->error), "%s", r->error ? r->error : "");
	one_done(sl->e);
}

static void
on_never(void *arg, const struct etcd_check_result *r)
{
	(void)arg;
	(void)r;
	fail_msg("a cancelled check called back");
}

static const struct route CLUSTER[] = {
	{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
	{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3), false,
	    false },
	{ "/v3/maintenance/status", 200, STATUS, LEN(STATUS), false, false },
};

/* One check of the fake member serving routes; it has called back once. */
static void
run_check(struct env *e, const struct route *routes, size_t n,
    long timeout_ms, bool lazy)
{
	env_start(e, routes, n);
	etcd_check(e->h, e->url, timeout_ms, lazy, on_check, e);
	e->pending = 1;
	env_run(e);
	assert_int_equal(e->calls, 1);
}

static void
test_check_healthy(void **state)
{
	struct env e;
	char url[80];

	(void)state;
	env_start(&e, CLUSTER, 3);
	/* A trailing slash on the client URL is tolerated. */
	snprintf(url, sizeof(url), "%s/", e.url);
	assert_true(etcd_check(e.h, url, 3000, false, on_check, &e) > 0);
	e.pending = 1;
	assert_int_equal(e.calls, 0);	/* never from inside etcd_check() */
	env_run(&e);
	assert_int_equal(e.calls, 1);
	assert_true(e.res.healthy);
	assert_string_equal(e.res.error, "");
	assert_int_equal(e.res.members, 3);
	assert_int_equal(e.res.voters, 2);
	assert_int_equal(e.res.learners, 1);
	assert_string_equal(e.res.leader_name, "t1");
	assert_true(e.res.leader_id == UINT64_C(3319814642761637952));
	assert_true(e.res.cluster_id == UINT64_C(324952591200643719));
	assert_true(e.res.member_id == UINT64_C(3319814642761637952));
	/* The last request was the member list's or the status's (asked
	 * together), a POST with a JSON body. */
	assert_int_equal(e.f.nreq, 3);
	assert_true(strncmp(e.f.last_req, "POST /v3/maintenance/status "
	    "HTTP/1.1\r\n", 38) == 0 || strncmp(e.f.last_req,
	    "POST /v3/cluster/member/list HTTP/1.1\r\n", 39) == 0);
	assert_non_null(strcasestr(e.f.last_req,
	    "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(e.f.last_req, "\r\n\r\n{}"));
	env_end(&e);

	/* A lazy check finds the same. */
	run_check(&e, CLUSTER, 3, 3000, true);
	assert_true(e.res.healthy);
	assert_int_equal(e.res.members, 3);
	assert_string_equal(e.res.leader_name, "t1");
	assert_int_equal(e.f.nreq, 3);
	env_end(&e);
}

/* Once /health says healthy, the member list and the status are asked
 * together: the status request goes out while the member list hangs, and
 * the check reports the member list, the first part that failed. */
static void
test_check_together(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, "", 0, true, false },
		{ "/v3/maintenance/status", 200, STATUS, LEN(STATUS), false,
		    false },
	};
	struct env e;

	(void)state;
	run_check(&e, routes, 3, 400, false);
	assert_false(e.res.healthy);
	assert_int_equal(e.f.nreq, 3);
	if (strstr(e.res.error, "/v3/cluster/member/list: ") == NULL ||
	    strstr(e.res.error, "timed out") == NULL)
		fail_msg("unexpected error: %s", e.res.error);
	env_end(&e);
}

static void
test_check_leader_unnamed(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "{\"health\":true}", 15, false, false },
		{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3),
		    false, false },
		{ "/v3/maintenance/status", 200, STATUS_LEADER_UNNAMED,
		    LEN(STATUS_LEADER_UNNAMED), false, false },
	};
	struct env e;

	(void)state;
	run_check(&e, routes, 3, 3000, false);
	assert_true(e.res.healthy);
	assert_string_equal(e.res.leader_name, "81813365b280339c");
	env_end(&e);
}

static void
check_fails(const struct route *routes, size_t n, const char *needle,
    size_t members)
{
	struct env e;

	run_check(&e, routes, n, 3000, false);
	assert_false(e.res.healthy);
	if (strstr(e.res.error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", e.res.error, needle);
	assert_true(strncmp(e.res.error, "GET http://127.0.0.1:", 21) == 0 ||
	    strncmp(e.res.error, "POST http://127.0.0.1:", 22) == 0);
	assert_int_equal(e.res.members, members);
	env_end(&e);
}

static void
test_check_unhealthy(void **state)
{
	static const struct route unhealthy[] = {
		{ "/health", 503, "{\"health\":\"false\"}", 18, false, false },
	};
	static const struct route garbage[] = {
		{ "/health", 200, "ok", 2, false, false },
	};
	static const struct route learner[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 503, LEARNER_ERR,
		    LEN(LEARNER_ERR), false, false },
	};
	static const struct route noleader[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3),
		    false, false },
		{ "/v3/maintenance/status", 200, STATUS_NOLEADER,
		    LEN(STATUS_NOLEADER), false, false },
	};
	static const struct route badlist[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, "{\"header\":{}}", 13,
		    false, false },
	};

	(void)state;
	check_fails(unhealthy, 1, "/health: etcd reports unhealthy "
	    "(HTTP 503)", 0);
	check_fails(garbage, 1, "/health: health: invalid JSON", 0);
	check_fails(CLUSTER, 0, "/health: HTTP 404: 404 page not found", 0);
	check_fails(learner, 2, "/v3/cluster/member/list: etcd error: "
	    "etcdserver: rpc not supported for learner (gRPC code 14, "
	    "HTTP 503)", 0);
	check_fails(noleader, 3, "/v3/maintenance/status: member "
	    "2e1259d415f2a040 knows no leader", 3);
	check_fails(badlist, 2, "member list: missing \"cluster_id\"", 0);
}

static void
test_check_refused(void **state)
{
	struct env e;
	char url[64];
	int fd;

	(void)state;
	env_start(&e, CLUSTER, 3);
	/* Bound but not listening: connecting is refused. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port(&fd));
	etcd_check(e.h, url, 3000, false, on_check, &e);
	e.pending = 1;
	env_run(&e);
	close(fd);
	assert_false(e.res.healthy);
	if (strstr(e.res.error, "Connection refused") == NULL ||
	    strncmp(e.res.error, "GET http://127.0.0.1:", 21) != 0)
		fail_msg("unexpected error: %s", e.res.error);
	env_end(&e);
}

static void
test_check_timeout(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "", 0, true, false },
	};
	struct env e;
	int64_t t0;

	(void)state;
	env_start(&e, routes, 1);
	t0 = loop_now_ms();
	etcd_check(e.h, e.url, 200, false, on_check, &e);
	e.pending = 1;
	env_run(&e);
	assert_true(loop_now_ms() - t0 < 2000);
	assert_false(e.res.healthy);
	if (strstr(e.res.error, "timed out") == NULL)
		fail_msg("unexpected error: %s", e.res.error);
	env_end(&e);
}

static void
cancel_victim(void *arg, const struct etcd_check_result *r)
{
	struct env *e = arg;

	etcd_check_cancel(e->h, e->victim);
	on_check(arg, r);
}

static void
test_check_cancel(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3),
		    false, false },
		{ "/v3/maintenance/status", 200, STATUS, LEN(STATUS), false,
		    false },
		{ "/slow/health", 200, "", 0, true, false },
	};
	struct env e;
	char slow[96];
	uint64_t id;

	(void)state;
	env_start(&e, routes, 4);
	/* Cancelled at once. */
	id = etcd_check(e.h, e.url, 3000, false, on_never, &e);
	etcd_check_cancel(e.h, id);
	etcd_check_cancel(e.h, id);	/* dead ids are ignored */
	etcd_check_cancel(e.h, 0);
	/* Cancelled, mid-request, by another check's callback. */
	snprintf(slow, sizeof(slow), "%s/slow", e.url);
	e.victim = etcd_check(e.h, slow, 3000, false, on_never, &e);
	etcd_check(e.h, e.url, 3000, false, cancel_victim, &e);
	e.pending = 1;
	env_run(&e);
	assert_int_equal(e.calls, 1);
	assert_true(e.res.healthy);
	/* Left pending when the client goes away: no callback, no leak. */
	etcd_check(e.h, slow, 3000, false, on_never, &e);
	env_end(&e);
}

static void
test_http_cap(void **state)
{
	size_t big = ETCD_HTTP_MAX_BODY + 1;
	char *body = xmalloc(big);
	struct route routes[] = {
		{ "/big", 200, body, big, false, false },
		{ "/bigstream", 200, body, big, false, true },
		{ "/exact", 200, body, big - 1, false, true },
	};
	struct slot sl[3];
	struct env e;
	char url[96];

	(void)state;
	memset(body, 'x', big);
	env_start(&e, routes, 3);
	for (size_t i = 0; i < 3; i++) {
		memset(&sl[i], 0, sizeof(sl[i]));
		sl[i].e = &e;
		snprintf(url, sizeof(url), "%s%s", e.url, routes[i].path);
		etcd_http_get(e.h, url, 5000, on_http, &sl[i]);
	}
	e.pending = 3;
	env_run(&e);
	/* Announced length over the cap, and a body without one. */
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(sl[i].calls, 1);
		assert_int_equal(sl[i].status, 0);
		assert_int_equal(sl[i].len, 0);
		assert_string_equal(sl[i].error, "response larger than 4 MiB");
	}
	/* Exactly 4 MiB is allowed. */
	assert_int_equal(sl[2].status, 200);
	assert_int_equal(sl[2].len, ETCD_HTTP_MAX_BODY);
	assert_false(sl[2].has_error);
	env_end(&e);
	free(body);
}

static void
test_http_errors(void **state)
{
	struct slot sl[3];
	struct env e;
	char url[96];

	(void)state;
	env_start(&e, CLUSTER, 3);
	memset(sl, 0, sizeof(sl));
	for (size_t i = 0; i < 3; i++)
		sl[i].e = &e;
	/* Malformed URLs and other protocols fail from the loop, too. */
	etcd_http_get(e.h, "http://[bogus/health", 1000, on_http, &sl[0]);
	etcd_http_post_json(e.h, "file:///etc/passwd", "{}", 1000, on_http,
	    &sl[1]);
	snprintf(url, sizeof(url), "%s/health", e.url);
	etcd_http_request(e.h, url, NULL, 1000, on_http, &sl[2]);
	e.pending = 3;
	assert_int_equal(sl[0].calls + sl[1].calls, 0);
	env_run(&e);
	assert_int_equal(sl[0].status, 0);
	assert_string_equal(sl[0].body, "");
	assert_true(sl[0].has_error);
	assert_int_equal(sl[1].status, 0);
	assert_non_null(strstr(sl[1].error, "file"));
	assert_int_equal(sl[2].status, 200);
	assert_string_equal(sl[2].body, "{\"health\":\"true\"}");
	assert_int_equal(sl[2].len, 17);
	assert_false(sl[2].has_error);
	/* The GET carried no JSON content type. */
	assert_null(strcasestr(e.f.last_req, "Content-Type"));
	env_end(&e);
}

struct canceller {
	struct env *e;
	uint64_t other;
	int calls;
	int drops;
};

static void
cancel_other(void *arg, const struct etcd_http_result *r)
{
	struct canceller *c = arg;

	(void)r;
	c->calls++;
	etcd_http_cancel(c->e->h, c->other);
	etcd_http_cancel(c->e->h, c->other);
	loop_stop(c->e->l, 0);
}

static void
count_drop(void *arg)
{
	struct canceller *c = arg;

	c->drops++;
}

static void
test_http_cancel_finished(void **state)
{
	struct env e;
	struct canceller c = { 0 };
	size_t n = 9 * 1000 * 1000;
	char *url = xmalloc(n);
	uint64_t a;

	(void)state;
	env_start(&e, CLUSTER, 3);
	c.e = &e;
	/* curl refuses URLs over 8 MB already in curl_easy_setopt(), so
	 * both requests are finished, in this order, before the loop runs:
	 * the second is cancelled after it finished but before it was
	 * delivered. */
	memset(url, 'a', n - 1);
	url[n - 1] = '\0';
	memcpy(url, "http://", 7);
	a = etcd_http_request_ex(e.h, url, NULL, 1000, cancel_other,
	    count_drop, &c);
	c.other = etcd_http_request_ex(e.h, url, NULL, 1000, cancel_other,
	    count_drop, &c);
	free(url);
	assert_true(a > 0 && c.other > a);
	e.pending = 1;
	env_run(&e);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.drops, 1);
	env_end(&e);
}

struct freer {
	struct env *e;
	int calls;
	int drops;
};

/* Whichever request finishes first frees the client; the rest must be
 * dropped, never called back. */
static void
free_from_cb(void *arg, const struct etcd_http_result *r)
{
	struct freer *fr = arg;

	(void)r;
	fr->calls++;
	assert_int_equal(fr->calls, 1);
	etcd_http_free(fr->e->h);
	fr->e->h = NULL;
	loop_stop(fr->e->l, 0);
}

static void
drop_count(void *arg)
{
	struct freer *fr = arg;

	fr->drops++;
}

static void
test_http_free_in_callback(void **state)
{
	struct env e;
	struct freer fr = { 0 };
	char url[96];

	(void)state;
	env_start(&e, CLUSTER, 3);
	fr.e = &e;
	snprintf(url, sizeof(url), "%s/health", e.url);
	for (int i = 0; i < 4; i++)
		etcd_http_request_ex(e.h, url, NULL, 3000, free_from_cb,
		    drop_count, &fr);
	etcd_check(e.h, e.url, 3000, false, on_never, &e);
	e.pending = 1;
	env_run(&e);
	assert_int_equal(fr.calls, 1);
	assert_int_equal(fr.drops, 3);
	env_end(&e);		/* e.h is NULL: etcd_http_free(NULL) */
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
		cmocka_unit_test(test_check_healthy),
		cmocka_unit_test(test_check_together),
		cmocka_unit_test(test_check_leader_unnamed),
		cmocka_unit_test(test_check_unhealthy),
		cmocka_unit_test(test_check_refused),
		cmocka_unit_test(test_check_timeout),
		cmocka_unit_test(test_check_cancel),
		cmocka_unit_test(test_http_cap),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_http_cancel_finished),
		cmocka_unit_test(test_http_free_in_callback),
		cmocka_unit_test(test_http_why),
	};
	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
