/* agent/plan.c: plan_from_dns(), the plan a zone's SRV records give. The
 * members and this host among them, the two plain spellings, the scheme,
 * what one record set may not hold, a client of the members (role auto
 * and client), and waiting for records that are missing or do not resolve
 * yet. The fixture is in plan_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/plan.h"
#include "lib/xmalloc.h"
#include "resolver/dns.h"
#include "plan_fix.h"

/* The underscore spelling; SSL and PLAIN are in plan_fix.h. */
#define UNDER DNS_SRV_UNDERSCORE

/* ---- the happy path ------------------------------------------------- */

static void
test_happy_path(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	expect_ok(f);
	assert_string_equal(f->msg, "3 members from _etcd-server._tcp.zl.test");
	assert_int_equal(f->p.n, 3);
	assert_member(&f->p.m[0], "h1", "h1.zl.test", "10.0.0.1",
	    "http://10.0.0.1:2380", "http://10.0.0.1:2379", false);
	assert_member(&f->p.m[1], "h2", "h2.zl.test", "10.0.0.2",
	    "http://10.0.0.2:2380", "http://10.0.0.2:2379", true);
	assert_member(&f->p.m[2], "h3", "h3.zl.test", "10.0.0.3",
	    "http://10.0.0.3:2380", "http://10.0.0.3:2379", false);
	assert_int_equal(f->p.self, 1);
	assert_string_equal(f->p.initial_cluster, IC3);
	assert_string_equal(f->p.token, "http://127.0.0.1:2378/zooinit-etcd-zl.test");
	assert_string_equal(f->p.state, "new");
	assert_non_null(f->p.state_reason);
	assert_string_equal(f->p.scheme, "http");
	assert_string_equal(f->p.source, "dns");
	assert_string_equal(f->p.source_detail, "_etcd-server._tcp.zl.test");
	assert_string_equal(f->p.data_dir, "/var/lib/zooinit/etcd");
	assert_string_equal(f->p.etcd, "/usr/bin/etcd");
	assert_null(f->p.argv);
	assert_int_equal(f->p.argc, 0);
}

static void
test_self_first_and_last(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	set_ip(f, "10.0.0.1");
	expect_ok(f);
	assert_int_equal(f->p.self, 0);
	assert_true(f->p.m[0].self && !f->p.m[1].self && !f->p.m[2].self);
	set_ip(f, "10.0.0.3");
	expect_ok(f);
	assert_int_equal(f->p.self, 2);
	assert_true(!f->p.m[0].self && !f->p.m[1].self && f->p.m[2].self);
}

static void
test_token_and_client_port(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->c.token = "prod-etcd-7";
	f->c.client_port = 4001;
	expect_ok(f);
	assert_string_equal(f->p.token, "http://127.0.0.1:2378/prod-etcd-7");
	assert_string_equal(f->p.m[0].client_url, "http://10.0.0.1:4001");
	assert_string_equal(f->p.m[1].client_url, "http://10.0.0.2:4001");
	assert_string_equal(f->p.m[2].client_url, "http://10.0.0.3:4001");
	/* The client port never leaks into the initial cluster. */
	assert_string_equal(f->p.initial_cluster, IC3);
}

/* Each host sees the records in its own answer order and is a different
 * member, yet all must write the same initial cluster. */
static void
test_same_initial_cluster_everywhere(void **state)
{
	static const char *const tg[3] = { "h1.zl.test", "h2.zl.test",
	    "h3.zl.test" };
	static const char *const ad[3] = { "10.0.0.1", "10.0.0.2",
	    "10.0.0.3" };
	struct fx *f = *state;
	char *first = NULL;

	for (int host = 0; host < 3; host++) {
		reset_result(f);
		for (int k = 0; k < 3; k++) {
			int i = (host + 2 * k) % 3;	/* a different rotation */

			add(f, PLAIN, tg[i], 2380, ad[i], NULL);
		}
		set_ip(f, ad[host]);
		expect_ok(f);
		assert_int_equal(f->p.self, host);
		assert_string_equal(f->p.m[host].addr, ad[host]);
		if (first == NULL)
			first = xstrdup(f->p.initial_cluster);
		else if (strcmp(first, f->p.initial_cluster) != 0) {
			char tmp[512];

			snprintf(tmp, sizeof(tmp), "%s", first);
			free(first);
			fail_msg("host %d: \"%s\" != \"%s\"", host,
			    f->p.initial_cluster, tmp);
		}
	}
	assert_string_equal(first, IC3);
	free(first);
}

static void
test_member_names_fqdn(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->c.member_names = CFG_NAMES_FQDN;
	expect_ok(f);
	assert_string_equal(f->p.m[0].name, "h1.zl.test");
	assert_string_equal(f->p.m[1].name, "h2.zl.test");
	assert_string_equal(f->p.m[2].name, "h3.zl.test");
	assert_int_equal(f->p.self, 1);
	assert_string_equal(f->p.initial_cluster,
	    "h1.zl.test=http://10.0.0.1:2380,h2.zl.test=http://10.0.0.2:2380,"
	    "h3.zl.test=http://10.0.0.3:2380");
}

static void
test_ipv6_only(void **state)
{
	struct fx *f = *state;

	add(f, PLAIN, "h2.zl.test", 2380, "fd00::2", NULL);
	add(f, PLAIN, "h1.zl.test", 2380, "fd00::1", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "fd00::3", NULL);
	set_ip(f, "fd00::1");
	expect_ok(f);
	assert_int_equal(f->p.self, 0);
	assert_string_equal(f->p.m[0].addr, "fd00::1");
	assert_string_equal(f->p.m[0].peer_url, "http://[fd00::1]:2380");
	assert_string_equal(f->p.m[0].client_url, "http://[fd00::1]:2379");
	assert_string_equal(f->p.initial_cluster,
	    "h1=http://[fd00::1]:2380,h2=http://[fd00::2]:2380,"
	    "h3=http://[fd00::3]:2380");
}

static void
test_dual_stack_uses_ipv4(void **state)
{
	struct fx *f = *state;

	/* AAAA answered before A: the IPv4 address still comes first. */
	add(f, PLAIN, "h1.zl.test", 2380, "fd00::1", "10.0.0.1", NULL);
	add(f, PLAIN, "h2.zl.test", 2380, "fd00::2", "10.0.0.2", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	set_self(f, "local interface addresses", "fd00::2", "10.0.0.2", NULL);
	expect_ok(f);
	assert_string_equal(f->p.m[0].addr, "10.0.0.1");
	assert_string_equal(f->p.m[1].peer_url, "http://10.0.0.2:2380");
	assert_string_equal(f->p.initial_cluster, IC3);
	assert_int_equal(f->p.self, 1);
}

/* Known only by its IPv6 address, but the others will call the IPv4 one. */
static void
test_self_by_second_address_fails(void **state)
{
	struct fx *f = *state;

	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, PLAIN, "h2.zl.test", 2380, "fd00::2", "10.0.0.2", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	set_ip(f, "fd00::2");
	expect_fail(f, "h2.zl.test resolves to 10.0.0.2 first",
	    "not this host's address", "one address per member");
}

/* ---- the two plain spellings ---------------------------------------- */

static void
test_plain_and_underscore_merged(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	add(f, UNDER, "h2.zl.test", 2380, "10.0.0.2", NULL);
	add(f, UNDER, "H1.ZL.TEST", 2380, "10.0.0.1", NULL);
	expect_ok(f);
	assert_int_equal(f->p.n, 3);
	assert_string_equal(f->p.initial_cluster, IC3);
	assert_int_equal(f->p.self, 1);

	/* A member only under the underscore spelling counts too. */
	reset_result(f);
	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, UNDER, "h2.zl.test", 2380, "10.0.0.2", NULL);
	add(f, UNDER, "h3.zl.test", 2380, "10.0.0.3", NULL);
	add(f, UNDER, "h1.zl.test", 2380, "10.0.0.1", NULL);
	expect_ok(f);
	assert_int_equal(f->p.n, 3);
	assert_string_equal(f->p.initial_cluster, IC3);
}

static void
test_plain_and_underscore_ports_differ(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	add(f, UNDER, "h3.zl.test", 2381, "10.0.0.3", NULL);
	expect_fail(f, "h3.zl.test", "2380", "2381",
	    "_etcd-server._tcp.zl.test", "_etcd_server._tcp.zl.test",
	    "agree");
}

/* ---- scheme --------------------------------------------------------- */

static void
test_scheme_mismatch_between_sets(void **state)
{
	struct fx *f = *state;

	add(f, SSL, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, PLAIN, "h2.zl.test", 2380, "10.0.0.2", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	expect_fail(f, "scheme mismatch", "_etcd-server-ssl._tcp.zl.test",
	    "_etcd-server._tcp.zl.test", "h1.zl.test",
	    "h2.zl.test, h3.zl.test", "one scheme");
}

static void
test_scheme_mismatch_same_target(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	add(f, SSL, "h2.zl.test", 2380, "10.0.0.2", NULL);
	expect_fail(f, "scheme mismatch", "h2.zl.test",
	    "_etcd-server-ssl._tcp.zl.test", "_etcd-server._tcp.zl.test");
}

static void
test_configured_https_zone_http(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->c.scheme = CFG_SCHEME_HTTPS;
	expect_fail(f, "scheme mismatch", "scheme is set to https",
	    "_etcd-server._tcp.zl.test (http)",
	    "publish _etcd-server-ssl._tcp.zl.test", "scheme = \"http\"");

	/* The matching setting is fine. */
	f->c.scheme = CFG_SCHEME_HTTP;
	expect_ok(f);
}

/* An https zone needs certificates for etcd; the TLS tests at the end
 * cover the zone with them. */
static void
test_https_zone_without_certs(void **state)
{
	struct fx *f = *state;

	add_three(f, SSL);
	expect_fail(f, "_etcd-server-ssl._tcp.zl.test asks for https peers; "
	    "set cert_file and key_file (and trusted_ca_file) to give etcd "
	    "its certificates");
	f->c.scheme = CFG_SCHEME_HTTPS;
	expect_fail(f, "set cert_file and key_file");
	f->c.scheme = CFG_SCHEME_HTTP;
	expect_fail(f, "scheme mismatch", "scheme is set to http");
}

/* ---- one record set ------------------------------------------------- */

static void
test_duplicate_target(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	add(f, PLAIN, "h2.zl.test", 2381, "10.0.0.2", NULL);
	expect_fail(f, "_etcd-server._tcp.zl.test", "h2.zl.test", "twice",
	    "2380", "2381", "once");

	/* DNS names are case-insensitive. */
	reset_result(f);
	add_three(f, PLAIN);
	add(f, PLAIN, "H2.zl.test", 2380, "10.0.0.2", NULL);
	expect_fail(f, "h2.zl.test", "twice");
}

static void
test_same_address_and_port(void **state)
{
	struct fx *f = *state;

	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.2", NULL);
	add(f, PLAIN, "h2.zl.test", 2380, "10.0.0.2", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	set_ip(f, "10.0.0.3");
	expect_fail(f, "h1.zl.test and h2.zl.test both resolve to "
	    "http://10.0.0.2:2380", "own address or port");

	/* Different peer ports on one address still share the client URL. */
	reset_result(f);
	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.2", NULL);
	add(f, PLAIN, "h2.zl.test", 2381, "10.0.0.2", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	expect_fail(f, "h1.zl.test", "h2.zl.test", "both resolve to",
	    "http://10.0.0.2:2379");
}

static void
test_self_not_among_targets(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	set_ip(f, "10.0.0.9");
	f->c.role = CFG_ROLE_MEMBER;
	expect_fail(f, "this host (10.0.0.9, by --ip 10.0.0.9)",
	    "is not among the targets", "_etcd-server._tcp.zl.test",
	    "h1.zl.test=10.0.0.1", "h2.zl.test=10.0.0.2",
	    "h3.zl.test=10.0.0.3", "role is member", "publish a record",
	    "role = auto");
}

/* role auto: a host the complete zone does not list is a client of the
 * members, with etcd's grpc-proxy on its own address. */
static void
test_dns_client(void **state)
{
	struct fx *f = *state;
	const char *const want[] = {
		"/usr/bin/etcd", "grpc-proxy", "start", "--endpoints",
		"http://10.0.0.1:2379,http://10.0.0.2:2379,"
		"http://10.0.0.3:2379", "--listen-addr", "10.0.0.9:2379",
		"--advertise-client-url", "10.0.0.9:2379", "--data-dir",
		"/var/lib/zooinit/etcd/proxy",
	};

	add_three(f, PLAIN);
	set_ip(f, "10.0.0.9");
	expect(f, PLAN_OK, "3 members from _etcd-server._tcp.zl.test",
	    "this host is a client", NULL);
	assert_true(f->p.proxy);
	assert_int_equal(f->p.n, 3);
	for (size_t i = 0; i < f->p.n; i++)
		assert_false(f->p.m[i].self);
	assert_string_equal(f->p.initial_cluster, IC3);
	assert_contains(f->p.role_reason, "this host (10.0.0.9, by --ip "
	    "10.0.0.9) is not among the targets of _etcd-server._tcp.zl.test");
	assert_contains(f->p.role_reason, "with role auto it serves clients "
	    "through etcd's grpc-proxy");
	f->c.name = "c1";
	assert_int_equal(plan_client_me(&f->p, &f->c, &f->self, f->msg,
	    sizeof(f->msg)), PLAN_OK);
	assert_string_equal(plan_me(&f->p)->name, "c1");
	assert_string_equal(plan_me(&f->p)->client_url,
	    "http://10.0.0.9:2379");
	assert_string_equal(f->p.state_reason, "a client keeps no member "
	    "data");
	plan_build_argv(&f->p);
	assert_int_equal(f->p.argc, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f->p.argc; i++)
		assert_string_equal(f->p.argv[i], want[i]);

	/* Several addresses, none the route to the members: say what to
	 * set. */
	set_self(f, "local interface addresses", "192.0.2.7", "192.0.2.8",
	    NULL);
	expect_ok(f);
	assert_int_equal(plan_client_me(&f->p, &f->c, &f->self, f->msg,
	    sizeof(f->msg)), PLAN_FAIL);
	assert_contains(f->msg, "set --ip");
}

/* role client: never a member; a zone that lists this host contradicts
 * it, which is an error rather than a member that never starts. */
static void
test_dns_role_client(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->c.role = CFG_ROLE_CLIENT;
	expect_fail(f, "role is client", "_etcd-server._tcp.zl.test lists "
	    "this host as member h2.zl.test", "remove the record",
	    "role = auto");
	set_ip(f, "10.0.0.9");
	expect_ok(f);
	assert_true(f->p.proxy);
	assert_contains(f->p.role_reason, "role is client");

	/* A member's plan says why too. */
	f->c.role = CFG_ROLE_AUTO;
	set_ip(f, "10.0.0.2");
	expect_ok(f);
	assert_false(f->p.proxy);
	assert_string_equal(f->p.role_reason, "_etcd-server._tcp.zl.test "
	    "lists this host as h2.zl.test");
}

/* srv_name names the record sets, and the cluster token follows it so
 * two clusters in one domain never share one. */
static void
test_dns_srv_name(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->r.srv_name = xstrdup("blue");
	expect(f, PLAN_OK, "_etcd-server-blue._tcp.zl.test", NULL);
	assert_string_equal(f->p.source_detail,
	    "_etcd-server-blue._tcp.zl.test");
	assert_string_equal(f->p.token, "http://127.0.0.1:2378/zooinit-etcd-blue-zl.test");

	reset_result(f);
	f->r.srv_name = xstrdup("blue");
	expect_wait(f, "_etcd-server-ssl-blue._tcp.zl.test",
	    "_etcd-server-blue._tcp.zl.test",
	    "_etcd_server-blue._tcp.zl.test");
}

/* A client follows the zone: any change of a name or URL counts. */
static void
test_members_differ(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	set_ip(f, "10.0.0.9");
	expect_ok(f);
	f->q = f->p;
	memset(&f->p, 0, sizeof(f->p));
	expect_ok(f);
	assert_false(plan_members_differ(&f->p, &f->q));
	reset_result(f);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, PLAIN, "h4.zl.test", 2380, "10.0.0.4", NULL);
	expect_ok(f);
	assert_true(plan_members_differ(&f->p, &f->q));
	reset_result(f);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, PLAIN, "h2.zl.test", 2380, "10.0.0.5", NULL);
	expect_ok(f);
	assert_true(plan_members_differ(&f->p, &f->q));
}

static void
test_self_matches_two_targets(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	set_self(f, "local interface addresses", "10.0.0.1", "10.0.0.3",
	    NULL);
	expect_fail(f, "this host matches two targets", "h1.zl.test",
	    "h3.zl.test", "local interface addresses", "--ip");
}

static void
test_configured_name(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->c.name = "etcd-2";
	expect_fail(f, "name is set to etcd-2", "derives the name h2",
	    "h2.zl.test");

	f->c.name = "h2";
	expect_ok(f);
	assert_string_equal(f->p.m[f->p.self].name, "h2");

	f->c.member_names = CFG_NAMES_FQDN;
	expect_fail(f, "name is set to h2", "h2.zl.test");
	f->c.name = "h2.zl.test";
	expect_ok(f);
}

static void
test_peer_port_mismatch(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->c.peer_port = 2390;
	expect_fail(f, "port mismatch", "_etcd-server._tcp.zl.test",
	    "h2.zl.test", "2380", "2390");
	f->c.peer_port = 2380;
	expect_ok(f);
}

static void
test_client_port_equals_peer_port(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	f->c.client_port = 2380;
	expect_fail(f, "member h1", "http://10.0.0.1:2380",
	    "both peer and client", "client_port", "2380");
}

static void
test_srv_port_zero(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	add(f, PLAIN, "h4.zl.test", 0, "10.0.0.4", NULL);
	f->c.size = 4;
	expect_fail(f, "_etcd-server._tcp.zl.test", "h4.zl.test", "port 0",
	    "2380");
}

static void
test_hostile_targets(void **state)
{
	static const struct {
		const char *target, *shown;
	} bad[] = {
		{ "a;b.zl.test", "\"a;b.zl.test\"" },
		{ "x/y", "\"x/y\"" },
		{ "../etc", "\"../etc\"" },
		{ "h1 .zl.test", "\"h1 .zl.test\"" },
		{ "h_1.zl.test", "\"h_1.zl.test\"" },
		{ "h1\n.zl.test", "\"h1\\x0a.zl.test\"" },
		{ "h1\r\n", "\"h1\\x0d\\x0a\"" },
		{ "h1\".zl.test", "\"h1\\x22.zl.test\"" },
		{ "h1\\\".zl.test", "\"h1\\x5c\\x22.zl.test\"" },
		{ "h1\x1b[2J", "\"h1\\x1b[2J\"" },
		{ "h\xc3\xa9.zl.test", "\"h\\xc3\\xa9.zl.test\"" },
		{ "$(reboot).zl.test", "\"$(reboot).zl.test\"" },
	};
	struct fx *f = *state;
	char longname[301];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		reset_result(f);
		add(f, PLAIN, "h2.zl.test", 2380, "10.0.0.2", NULL);
		add(f, PLAIN, bad[i].target, 2380, "10.0.0.1", NULL);
		add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
		expect_fail(f, "SRV _etcd-server._tcp.zl.test", bad[i].shown,
		    "not a valid host name", "fix the record");
	}

	/* 300 bytes: refused, and the message stays bounded. */
	memset(longname, 'a', 300);
	longname[300] = '\0';
	for (int i = 1; i < 300; i += 60)
		longname[i] = '.';
	reset_result(f);
	add_three(f, PLAIN);
	add(f, PLAIN, longname, 2380, "10.0.0.4", NULL);
	f->c.size = 4;
	expect_fail(f, "not a valid host name", "...");
	assert_true(strlen(f->msg) < 600);

	/* Hostile, even when it did not resolve (yet). */
	reset_result(f);
	add_three(f, PLAIN);
	add(f, PLAIN, "h4\n.zl.test", 2380, NULL);
	f->c.size = 0;
	expect_fail(f, "\"h4\\x0a.zl.test\"", "not a valid host name");
}

static void
test_more_targets_than_size(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	add(f, PLAIN, "h4.zl.test", 2380, "10.0.0.4", NULL);
	expect_fail(f, "4 members", "size is 3",
	    "remove the extra SRV records");

	/* Without a size, at most CFG_MAX_MEMBERS. */
	reset_result(f);
	f->c.size = 0;
	for (int i = 1; i <= CFG_MAX_MEMBERS + 1; i++) {
		char t[32], a[32];

		snprintf(t, sizeof(t), "h%d.zl.test", i);
		snprintf(a, sizeof(a), "10.0.1.%d", i);
		add(f, PLAIN, t, 2380, a, NULL);
	}
	expect_fail(f, "65 members", "at most 64",
	    "remove the extra SRV records");
}

static void
test_first_labels_collide(void **state)
{
	struct fx *f = *state;

	add(f, PLAIN, "h1.a.zl.test", 2380, "10.0.0.1", NULL);
	add(f, PLAIN, "h1.b.zl.test", 2380, "10.0.0.2", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	expect_fail(f, "h1.a.zl.test", "h1.b.zl.test", "member name h1",
	    "member_names = \"fqdn\"");

	f->c.member_names = CFG_NAMES_FQDN;
	expect_ok(f);
	assert_string_equal(f->p.initial_cluster,
	    "h1.a.zl.test=http://10.0.0.1:2380,"
	    "h1.b.zl.test=http://10.0.0.2:2380,h3.zl.test=http://10.0.0.3:2380");
	assert_string_equal(f->p.m[f->p.self].name, "h1.b.zl.test");
}

/* ---- waiting -------------------------------------------------------- */

static void
test_wait_unresolved(void **state)
{
	struct fx *f = *state;

	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, PLAIN, "h2.zl.test", 2380, NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "10.0.0.3", NULL);
	expect_wait(f, "2/3 resolved (h1, h3)",
	    "h2.zl.test: no A/AAAA record");
	assert_int_equal(f->p.resolved, 2);
	assert_int_equal(f->p.need, 3);

	/* The resolver's own reason is passed on. */
	reset_result(f);
	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, PLAIN, "h2.zl.test", 2380, NULL)->why =
	    xstrdup("Timeout while contacting DNS servers");
	add(f, PLAIN, "h3.zl.test", 2380, NULL);
	expect_wait(f, "1/3 resolved (h1)",
	    "h2.zl.test: Timeout while contacting DNS servers",
	    "h3.zl.test: no A/AAAA record");
	assert_int_equal(f->p.resolved, 1);
	assert_int_equal(f->p.need, 3);

	/* Even this host's own record must wait for the others. */
	reset_result(f);
	add(f, PLAIN, "h1.zl.test", 2380, NULL);
	add(f, PLAIN, "h2.zl.test", 2380, NULL);
	add(f, PLAIN, "h3.zl.test", 2380, NULL);
	expect_wait(f, "0/3 resolved (none)");
	assert_int_equal(f->p.resolved, 0);
}

static void
test_wait_unpublished(void **state)
{
	struct fx *f = *state;

	add(f, PLAIN, "h2.zl.test", 2380, "10.0.0.2", NULL);
	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	expect_wait(f, "2/3 resolved (h2, h1)");
	assert_int_equal(f->p.resolved, 2);
	assert_int_equal(f->p.need, 3);
}

static void
test_wait_no_records(void **state)
{
	struct fx *f = *state;

	expect_wait(f, "no SRV records for zl.test",
	    "_etcd-server-ssl._tcp.zl.test", "_etcd-server._tcp.zl.test",
	    "_etcd_server._tcp.zl.test");
}

static void
test_wait_failed_set(void **state)
{
	struct fx *f = *state;

	/* The plain set answered in full, but the -ssl one timed out. */
	add_three(f, PLAIN);
	f->r.status[SSL] = DNS_FAILED;
	f->r.error[SSL] = xstrdup("_etcd-server-ssl._tcp.zl.test: Timeout "
	    "while contacting DNS servers");
	expect_wait(f, "DNS lookup failed",
	    "_etcd-server-ssl._tcp.zl.test: Timeout while contacting DNS "
	    "servers");

	reset_result(f);
	add_three(f, PLAIN);
	f->r.status[UNDER] = DNS_FAILED;
	f->r.error[UNDER] = xstrdup("_etcd_server._tcp.zl.test: Server "
	    "failure");
	expect_wait(f, "DNS lookup failed",
	    "_etcd_server._tcp.zl.test: Server failure");
}

static void
test_size_zero(void **state)
{
	struct fx *f = *state;

	f->c.size = 0;
	add(f, PLAIN, "h2.zl.test", 2380, "10.0.0.2", NULL);
	add(f, PLAIN, "h1.zl.test", 2380, "10.0.0.1", NULL);
	expect_ok(f);
	assert_int_equal(f->p.n, 2);
	assert_string_equal(f->p.initial_cluster,
	    "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2380");

	/* A single published member is a cluster of one. */
	reset_result(f);
	add(f, PLAIN, "h2.zl.test", 2380, "10.0.0.2", NULL);
	expect_ok(f);
	assert_int_equal(f->p.n, 1);
	assert_string_equal(f->p.initial_cluster, "h2=http://10.0.0.2:2380");

	/* All that is published must resolve. */
	reset_result(f);
	add_three(f, PLAIN);
	add(f, PLAIN, "h4.zl.test", 2380, NULL);
	expect_wait(f, "3/4 resolved (h3, h1, h2)",
	    "h4.zl.test: no A/AAAA record");
	assert_int_equal(f->p.resolved, 3);
	assert_int_equal(f->p.need, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_happy_path),
		T(test_self_first_and_last),
		T(test_token_and_client_port),
		T(test_same_initial_cluster_everywhere),
		T(test_member_names_fqdn),
		T(test_ipv6_only),
		T(test_dual_stack_uses_ipv4),
		T(test_self_by_second_address_fails),
		T(test_plain_and_underscore_merged),
		T(test_plain_and_underscore_ports_differ),
		T(test_scheme_mismatch_between_sets),
		T(test_scheme_mismatch_same_target),
		T(test_configured_https_zone_http),
		T(test_https_zone_without_certs),
		T(test_duplicate_target),
		T(test_same_address_and_port),
		T(test_self_not_among_targets),
		T(test_self_matches_two_targets),
		T(test_configured_name),
		T(test_peer_port_mismatch),
		T(test_client_port_equals_peer_port),
		T(test_srv_port_zero),
		T(test_hostile_targets),
		T(test_more_targets_than_size),
		T(test_first_labels_collide),
		T(test_wait_unresolved),
		T(test_wait_unpublished),
		T(test_wait_no_records),
		T(test_wait_failed_set),
		T(test_size_zero),
		T(test_dns_client),
		T(test_dns_role_client),
		T(test_dns_srv_name),
		T(test_members_differ),
	};

	return cmocka_run_group_tests_name("plan_dns", tests, NULL, NULL);
}
