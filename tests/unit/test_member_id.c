/* etcd/member_id.c: member IDs, cluster IDs and etcd's v3 discovery keys
 * and values, against vectors recorded from real etcd.
 *
 * How the vectors were obtained (2026-12-04, loopback, temporary data
 * dirs): Debian's etcd 3.4.23 and etcd 3.6.16 built from the Go module
 * proxy (/var/cache/zooinit/etcd/3.6.16/etcd), each started as
 *   etcd --name a --initial-cluster-token TOKEN
 *     --initial-cluster a=URL[,a=URL2] --initial-advertise-peer-urls ...
 * and asked with `etcdctl member list -w json` (IDs and cluster_id, shown
 * here in hex); the three-member IDs are etcd 3.4's "added member" log
 * lines of one member started with a three-member --initial-cluster. The
 * discovery vectors: etcd 3.6.16 started with --discovery-token and
 * --discovery-endpoints pointing at an etcd 3.4 holding the size key "1",
 * then `etcdctl get --prefix /_etcd/registry/` on that etcd. The run-time
 * vectors: `etcdctl member add b --peer-urls=...` on the one-member
 * cluster, the Unix second taken around the call. Both releases gave the
 * same IDs for the same input. */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etcd/member_id.h"

static const char *const P380 = "http://127.0.0.1:42380";
static const char *const P381 = "http://127.0.0.1:42381";

static uint64_t
id_of(const char *token, const char *u1, const char *u2)
{
	char *urls[2] = { (char *)u1, (char *)u2 };
	char err[256] = "";
	uint64_t id = 0;

	assert_int_equal(etcd_member_id(urls, u2 != NULL ? 2 : 1, token, &id,
	    err, sizeof(err)), 0);
	assert_string_equal(err, "");
	return id;
}

static void
test_static_vectors(void **state)
{
	uint64_t ids[3];

	(void)state;
	/* 3.4.23 and 3.6.16: token zi-vec-1, one peer URL. */
	ids[0] = id_of("zi-vec-1", P380, NULL);
	assert_true(ids[0] == 0x754cbabebbe955d9ULL);
	assert_true(etcd_member_cluster_id(ids, 1) == 0x298c64b5c057fd51ULL);
	/* 3.4.23 and 3.6.16: token zi-vec-2, two peer URLs given unsorted. */
	ids[0] = id_of("zi-vec-2", P381, P380);
	assert_true(ids[0] == 0x56e282ab1ba7a411ULL);
	assert_true(ids[0] == id_of("zi-vec-2", P380, P381));
	assert_true(etcd_member_cluster_id(ids, 1) == 0x3f622dee76a69ccaULL);
	/* 3.4.23: token zi-vec-3, a=:42380, b=:42390, c=:42400. */
	ids[0] = id_of("zi-vec-3", "http://127.0.0.1:42390", NULL);
	ids[1] = id_of("zi-vec-3", P380, NULL);
	ids[2] = id_of("zi-vec-3", "http://127.0.0.1:42400", NULL);
	assert_true(ids[0] == 0x6087d6120bfaa415ULL);
	assert_true(ids[1] == 0x85bf5bebfcc68f82ULL);
	assert_true(ids[2] == 0x300780aa0231b271ULL);
	assert_true(etcd_member_cluster_id(ids, 3) == 0xdf50e03ee865121aULL);
	/* The IDs were not reordered. */
	assert_true(ids[0] == 0x6087d6120bfaa415ULL);
}

static void
test_added_vectors(void **state)
{
	char *urls[2] = { "http://127.0.0.1:42391", "http://127.0.0.1:42390" };
	char err[256];
	uint64_t id;

	(void)state;
	/* member add on 3.4.23 at Unix second 1796389357 and on 3.6.16 at
	 * 1796389358: no token, the time instead. */
	assert_int_equal(etcd_member_id_added(urls, 2, 1796389357, &id, err,
	    sizeof(err)), 0);
	assert_true(id == 0x393a779ff1cac720ULL);
	assert_int_equal(etcd_member_id_added(urls, 2, 1796389358, &id, err,
	    sizeof(err)), 0);
	assert_true(id == 0xbcb4fb74bd2229c3ULL);
}

/* Parses what etcd 3.6.16 wrote and checks the key and value we build. */
static void
check_discovery(const char *token, const char *name, const char *u1,
    const char *u2, const char *key, const char *value, uint64_t want,
    uint64_t want_cluster)
{
	char *urls[2] = { (char *)u1, (char *)u2 };
	size_t n = u2 != NULL ? 2 : 1;
	struct etcd_member_entry e;
	char err[256] = "";
	char *s;

	assert_true(id_of(token, u1, u2) == want);
	assert_true(etcd_member_cluster_id(&want, 1) == want_cluster);
	s = etcd_member_key(token, want);
	assert_string_equal(s, key);
	free(s);
	s = etcd_member_value(name, urls, n, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(s, value);
	free(s);
	assert_int_equal(etcd_member_entry_parse(token, key, strlen(key),
	    value, strlen(value), &e, err, sizeof(err)), 0);
	assert_true(e.id == want);
	assert_string_equal(e.name, name);
	assert_int_equal(e.n_peer_urls, n);
	assert_string_equal(e.peer_urls[0], P380);
	assert_null(e.peer_urls[n]);
	etcd_member_entry_free(&e);
	assert_null(e.name);
}

static void
test_discovery_vectors(void **state)
{
	char *s;

	(void)state;
	/* --initial-cluster-token ignored-token was given too: in v3
	 * discovery the discovery token takes its place in the ID. */
	check_discovery("zi-disc", "node-1.example", P381, P380,
	    "/_etcd/registry/zi-disc/members/a7a5e243abc02859",
	    "node-1.example=http://127.0.0.1:42380,"
	    "node-1.example=http://127.0.0.1:42381",
	    0xa7a5e243abc02859ULL, 0xc6e2cb0b2813a4afULL);
	/* An ID with a leading zero nibble: etcd writes 15 digits. */
	check_discovery("zi-disc2", "m0", P380, NULL,
	    "/_etcd/registry/zi-disc2/members/b60b1159714064a",
	    "m0=http://127.0.0.1:42380",
	    0x0b60b1159714064aULL, 0xae82deafab9711a1ULL);
	s = etcd_member_size_key("zi-disc");
	assert_string_equal(s, "/_etcd/registry/zi-disc/_config/size");
	free(s);
	s = etcd_member_prefix("zi-disc");
	assert_string_equal(s, "/_etcd/registry/zi-disc/members");
	free(s);
}

static void
test_id_text(void **state)
{
	char buf[ETCD_MEMBER_ID_LEN];
	uint64_t id;

	(void)state;
	assert_string_equal(etcd_member_id_str(0x0b60b1159714064aULL, buf),
	    "b60b1159714064a");
	assert_string_equal(etcd_member_id_str(UINT64_MAX, buf),
	    "ffffffffffffffff");
	assert_int_equal(etcd_member_id_parse("b60b1159714064a", 15, &id), 0);
	assert_true(id == 0x0b60b1159714064aULL);
	assert_int_equal(etcd_member_id_parse("ffffffffffffffff", 16, &id), 0);
	assert_true(id == UINT64_MAX);
	assert_int_equal(etcd_member_id_parse("0b60b1159714064a", 16, &id),
	    -1);
	assert_int_equal(etcd_member_id_parse("A7A5E243ABC02859", 16, &id),
	    -1);
	assert_int_equal(etcd_member_id_parse("1ffffffffffffffff", 17, &id),
	    -1);
	assert_int_equal(etcd_member_id_parse("0", 1, &id), -1);
	assert_int_equal(etcd_member_id_parse("", 0, &id), -1);
	assert_int_equal(etcd_member_id_parse("12g", 3, &id), -1);
	assert_int_equal(etcd_member_id_parse("12\0", 3, &id), -1);
}

static void
test_peer_urls(void **state)
{
	static const char *const good[] = {
		"http://127.0.0.1:2380", "https://h1.zl.test:2380",
		"http://[::1]:2380", "http://[::ffff:10.0.0.1]:1",
		"http://H1:65535",
	};
	static const char *const bad[] = {
		"HTTP://h:2380", "http://h:2380/", "http://h", "http://h:",
		"http://h:0", "http://h:65536", "http://h:02380",
		"http://u@h:1", "http://h:1?x", "http://h:1#f", "ftp://h:1",
		"http://[fe80::1%25eth0]:1", "http://:1", "http://[::1]",
		"http://h_1:1", " http://h:1", "http://h:1\n", "unix://x:1",
		"http://[]:1", "http://h:1:2",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(etcd_member_peer_url_valid(good[i], err,
		    sizeof(err)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_false(etcd_member_peer_url_valid(bad[i], err,
		    sizeof(err)));
		assert_non_null(strstr(err, "peer URL"));
	}
	/* Control bytes are quoted, not copied into the message. */
	assert_false(etcd_member_peer_url_valid("http://h:1\n", err,
	    sizeof(err)));
	assert_null(strchr(err, '\n'));
}

static void
test_id_refuses(void **state)
{
	char *dup[2] = { "http://127.0.0.1:1", "http://127.0.0.1:1" };
	char *bad[1] = { "http://127.0.0.1:1/x" };
	char err[256];
	uint64_t id = 7;

	(void)state;
	assert_int_equal(etcd_member_id(dup, 0, "t", &id, err, sizeof(err)),
	    -1);
	assert_int_equal(etcd_member_id(dup, 2, "t", &id, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(etcd_member_id(bad, 1, "t", &id, err, sizeof(err)),
	    -1);
	assert_true(id == 7);
	assert_null(etcd_member_value("a_b", dup, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "member name"));
	assert_null(etcd_member_value("a", bad, 1, err, sizeof(err)));
}

static void
test_tokens_and_size(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "a b",
		"t\x7f", "caf\xc3\xa9" };
	char err[256], long_token[130];
	unsigned size = 0;

	(void)state;
	assert_true(etcd_member_token_valid("zi-disc", err, sizeof(err)));
	assert_true(etcd_member_token_valid("a..b", err, sizeof(err)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(etcd_member_token_valid(bad[i], err,
		    sizeof(err)));
	memset(long_token, 'x', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	assert_false(etcd_member_token_valid(long_token, err, sizeof(err)));

	assert_int_equal(etcd_member_size_parse("3", 1, &size, err,
	    sizeof(err)), 0);
	assert_int_equal(size, 3);
	assert_int_equal(etcd_member_size_parse("255", 3, &size, err,
	    sizeof(err)), 0);
	assert_int_equal(size, 255);
	assert_int_equal(etcd_member_size_parse("0", 1, &size, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "from 1 to 255"));
	assert_int_equal(etcd_member_size_parse("256", 3, &size, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_member_size_parse("+3", 2, &size, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_member_size_parse("3\n", 2, &size, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_member_size_parse("", 0, &size, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_member_size_parse("3\0", 2, &size, err,
	    sizeof(err)), -1);
	assert_int_equal(size, 255);
}

/* One hostile entry under token zi-disc: refused, e left zeroed, and the
 * message holds what. */
static void
refuse(const char *key, const char *value, size_t vlen, const char *what)
{
	struct etcd_member_entry e;
	char err[512] = "";

	assert_int_equal(etcd_member_entry_parse("zi-disc", key, strlen(key),
	    value, vlen, &e, err, sizeof(err)), -1);
	assert_null(e.name);
	assert_null(e.peer_urls);
	if (strstr(err, what) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, what);
}

static void
test_entries_refused(void **state)
{
	static const char key[] =
	    "/_etcd/registry/zi-disc/members/a7a5e243abc02859";
	static const char good[] = "node-1.example=http://127.0.0.1:42380,"
	    "node-1.example=http://127.0.0.1:42381";
	struct etcd_member_entry e;
	char err[512];

	(void)state;
	/* etcd trims white space around the value; so does the parser. */
	assert_int_equal(etcd_member_entry_parse("zi-disc", key, strlen(key),
	    " node-1.example=http://127.0.0.1:42381,node-1.example=http://"
	    "127.0.0.1:42380\n", 77, &e, err, sizeof(err)), 0);
	assert_string_equal(e.peer_urls[1], P381);
	etcd_member_entry_free(&e);

	/* Entries etcd counts as members, valid or not. */
	assert_true(etcd_member_counted(good, strlen(good)));
	assert_true(etcd_member_counted("x\0=", 3));
	assert_false(etcd_member_counted("node-1", 6));
	assert_false(etcd_member_counted("", 0));

	refuse("/_etcd/registry/zi-disc/members/node-1", good, strlen(good),
	    "older zooinit");
	refuse("/_etcd/registry/other/members/a7a5e243abc02859", good,
	    strlen(good), "is not");
	refuse("/_etcd/registry/zi-disc/members/A7A5E243ABC02859", good,
	    strlen(good), "lower-case hex");
	refuse("/_etcd/registry/zi-disc/members/", good, strlen(good),
	    "is not");
	refuse("/_etcd/registry/zi-disc/membersa7a5e243abc02859", good,
	    strlen(good), "is not");
	refuse(key, "", 0, "empty");
	refuse(key, "node-1.example", 14, "without \"=\"");
	refuse(key, "a=http://127.0.0.1:42380,b=http://127.0.0.1:42381",
	    49, "more than one member");
	refuse(key, "a_b=http://127.0.0.1:42380", 26, "member name");
	refuse(key, "=http://127.0.0.1:42380", 23, "member name");
	refuse(key, "n=http://127.0.0.1:42380/x", 26, "peer URL");
	refuse(key, "n=http://127.0.0.1:42380,n=http://127.0.0.1:42380",
	    49, "twice");
	refuse(key, "n=http://127.0.0.1:42380,", 25, "without");
	refuse(key, "n=http://127.0.0.1:42380\0x", 26, "NUL");
	refuse(key, "n=\x1b[31m", 7, "\\x1b");
	/* A valid value whose URLs do not give the key's ID. */
	refuse(key, "node-1.example=http://127.0.0.1:42380", 37,
	    "but etcd derives");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_vectors),
		cmocka_unit_test(test_added_vectors),
		cmocka_unit_test(test_discovery_vectors),
		cmocka_unit_test(test_id_text),
		cmocka_unit_test(test_peer_urls),
		cmocka_unit_test(test_id_refuses),
		cmocka_unit_test(test_tokens_and_size),
		cmocka_unit_test(test_entries_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
