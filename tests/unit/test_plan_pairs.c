/* agent/plan.c: the plan from name=URL pairs. plan_from_pairs() as the
 * token source calls it, an extra host's grpc-proxy (plan_make_proxy),
 * plan_from_static() on initial_cluster, and the sources a plan skipped.
 * The fixture is in plan_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/plan.h"
#include "lib/xmalloc.h"
#include "plan_fix.h"

/* The opposite of assert_contains() in plan_fix.h. */
#define assert_lacks(s, sub) do {					\
	if (strstr((s), (sub)) != NULL)					\
		fail_msg("\"%s\"\n  should not contain \"%s\"", (s), (sub)); \
} while (0)

/* ---- plan_from_pairs: the token and static sources ------------------ */

/* P3 on fd00::1..3. */
#define P3_V6 "h3=http://[fd00::3]:2380,h1=http://[fd00::1]:2380," \
	"h2=http://[fd00::2]:2380"

static void
expect_static(struct fx *f, enum plan_result want, ...)
{
	enum plan_result got;
	va_list ap;

	plan_free(&f->p);
	f->msg[0] = '\0';
	got = plan_from_static(&f->c, &f->self, &f->p, f->msg, sizeof(f->msg));
	va_start(ap, want);
	check_outcome(f, got, want, ap);
	va_end(ap);
}

#define static_fail(f, ...) expect_static((f), PLAN_FAIL, __VA_ARGS__, NULL)
#define static_ok(f) expect_static((f), PLAN_OK, NULL)

static void
assert_pair_member(const struct plan_member *m, const char *name,
    const char *addr, const char *peer, const char *client, bool self)
{
	assert_string_equal(m->name, name);
	assert_null(m->host);
	assert_string_equal(m->addr, addr);
	assert_int_equal(m->peer_port, 2380);
	assert_string_equal(m->peer_url, peer);
	assert_string_equal(m->client_url, client);
	assert_int_equal(m->self, self);
}

static void
test_pairs_happy_path(void **state)
{
	struct fx *f = *state;

	pairs_ok(f, P3, "h2");
	assert_string_equal(f->msg, "3 members from " DISC);
	assert_int_equal(f->p.n, 3);
	assert_pair_member(&f->p.m[0], "h1", "10.0.0.1",
	    "http://10.0.0.1:2380", "http://10.0.0.1:2379", false);
	assert_pair_member(&f->p.m[1], "h2", "10.0.0.2",
	    "http://10.0.0.2:2380", "http://10.0.0.2:2379", true);
	assert_pair_member(&f->p.m[2], "h3", "10.0.0.3",
	    "http://10.0.0.3:2380", "http://10.0.0.3:2379", false);
	assert_int_equal(f->p.self, 1);
	assert_false(f->p.proxy);
	assert_ptr_equal(plan_me(&f->p), &f->p.m[1]);
	assert_string_equal(f->p.initial_cluster, IC3);
	assert_string_equal(f->p.token, "zooinit-etcd-T");
	assert_string_equal(f->p.source, "token");
	assert_string_equal(f->p.source_detail, DISC);
	assert_string_equal(f->p.scheme, "http");
	assert_string_equal(f->p.state, "new");
	assert_non_null(f->p.state_reason);
	assert_string_equal(f->p.data_dir, "/var/lib/zooinit/etcd");
	assert_string_equal(f->p.etcd, "/usr/bin/etcd");
	assert_null(f->p.argv);
	assert_int_equal(f->p.n_skipped, 0);

	/* The member's argv carries the token's cluster. */
	plan_build_argv(&f->p);
	assert_int_equal(f->p.argc, WANT_ARGC);
	assert_string_equal(f->p.argv[2], "h2");
	assert_string_equal(f->p.argv[14], IC3);
	assert_string_equal(f->p.argv[16], "zooinit-etcd-T");

	/* A configured token wins over the source's. */
	f->c.token = "prod-etcd-7";
	pairs_ok(f, P3, "h2");
	assert_string_equal(f->p.token, "prod-etcd-7");
	assert_string_equal(f->p.initial_cluster, IC3);
}

static void
test_pairs_self_and_ports(void **state)
{
	struct fx *f = *state;

	pairs_ok(f, P3, "h1");
	assert_int_equal(f->p.self, 0);
	assert_true(f->p.m[0].self && !f->p.m[1].self && !f->p.m[2].self);
	pairs_ok(f, P3, "h3");
	assert_int_equal(f->p.self, 2);
	assert_true(!f->p.m[0].self && !f->p.m[1].self && f->p.m[2].self);

	/* The client port is ours; the peer port is the URL's. */
	f->c.client_port = 4001;
	pairs_ok(f, "h1=http://10.0.0.1:2390,h2=http://10.0.0.2:2391", "h2");
	assert_string_equal(f->p.m[0].client_url, "http://10.0.0.1:4001");
	assert_int_equal(f->p.m[0].peer_port, 2390);
	assert_int_equal(f->p.m[1].peer_port, 2391);
	assert_string_equal(f->p.initial_cluster,
	    "h1=http://10.0.0.1:2390,h2=http://10.0.0.2:2391");

	/* One pair is a cluster of one; size is the source's business. */
	pairs_ok(f, "h2=http://10.0.0.2:2380", "h2");
	assert_int_equal(f->p.n, 1);
}

static void
test_pairs_ipv6(void **state)
{
	struct fx *f = *state;

	pairs_ok(f, P3_V6, "h1");
	assert_int_equal(f->p.self, 0);
	assert_string_equal(f->p.m[0].addr, "fd00::1");
	assert_string_equal(f->p.m[0].peer_url, "http://[fd00::1]:2380");
	assert_string_equal(f->p.m[0].client_url, "http://[fd00::1]:2379");
	assert_string_equal(f->p.initial_cluster,
	    "h1=http://[fd00::1]:2380,h2=http://[fd00::2]:2380,"
	    "h3=http://[fd00::3]:2380");
}

static void
test_pairs_duplicate_names(void **state)
{
	struct fx *f = *state;

	pairs_fail(f, "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2380,"
	    "h1=http://10.0.0.3:2380", "h2", DISC, "lists member h1 twice",
	    "unique");
	/* Even when the URLs agree. */
	pairs_fail(f, "h1=http://10.0.0.1:2380,h1=http://10.0.0.1:2380",
	    "h1", "member h1 twice");
}

static void
test_pairs_scheme_mismatch(void **state)
{
	struct fx *f = *state;

	pairs_fail(f, "h1=http://10.0.0.1:2380,h2=https://10.0.0.2:2380,"
	    "h3=http://10.0.0.3:2380", "h1", "scheme mismatch", DISC,
	    "mixes http and https", "h2 is https", "one scheme");
	pairs_fail(f, "h1=https://10.0.0.1:2380,h2=http://10.0.0.2:2380",
	    "h1", "scheme mismatch", "h2 is http");
	pairs_fail(f, "h1=http://10.0.0.1:2380,h2=https://10.0.0.2:2380",
	    NULL, "scheme mismatch");
}

static void
test_pairs_https_without_certs(void **state)
{
	struct fx *f = *state;

	pairs_fail(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380",
	    "h1", DISC " asks for https peers; set cert_file and key_file "
	    "(and trusted_ca_file) to give etcd its certificates");
	pairs_fail(f, "h1=https://10.0.0.1:2380", NULL, "set cert_file");
	/* https asked for in the setting, http in the URLs. */
	f->c.scheme = CFG_SCHEME_HTTPS;
	pairs_fail(f, P3, "h2", "scheme mismatch", "scheme is set to https",
	    "gives http peer URLs");
	f->c.scheme = CFG_SCHEME_HTTP;
	pairs_ok(f, P3, "h2");
}

static void
test_pairs_bad_urls(void **state)
{
	static const struct {
		const char *url, *shown;
	} bad[] = {
		{ "http://h1.zl.test:2380", "\"http://h1.zl.test:2380\"" },
		{ "http://localhost:2380", "\"http://localhost:2380\"" },
		{ "10.0.0.1:2380", "\"10.0.0.1:2380\"" },
		{ "http://10.0.0.1", "\"http://10.0.0.1\"" },
		{ "http://10.0.0.1:2380/", "\"http://10.0.0.1:2380/\"" },
		{ "http://fd00::1:2380", "\"http://fd00::1:2380\"" },
		{ "http://[FD00::1]:2380", "\"http://[FD00::1]:2380\"" },
		{ "unix:///run/etcd.sock", "\"unix:///run/etcd.sock\"" },
		{ "", "\"\"" },
		{ "http://10.0.0.1:2380\n\x1b[2J",
		  "\"http://10.0.0.1:2380\\x0a\\x1b[2J\"" },
		{ "http://h1;rm -rf /:2380", "\"http://h1;rm -rf /:2380\"" },
		{ "http://\"evil\":2380", "\"http://\\x22evil\\x22:2380\"" },
	};
	struct fx *f = *state;
	char spec[256], *longurl;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(spec, sizeof(spec), "h1=http://10.0.0.1:2380,h2=%s,"
		    "h3=http://10.0.0.3:2380", bad[i].url);
		pairs_fail(f, spec, "h1", DISC, "gives h2 the peer URL",
		    bad[i].shown, "expected http://ADDR:PORT",
		    "IP address");
	}

	/* 400 bytes of URL: refused, and the message stays bounded. */
	longurl = xcalloc(1, 420);
	snprintf(longurl, 420, "h1=http://10.0.0.1:2380,h2=http://");
	memset(longurl + strlen(longurl), '1', 380);
	longurl[419] = '\0';
	expect_pairs(f, PLAN_FAIL, longurl, "h1", "gives h2 the peer URL",
	    "...", NULL);
	free(longurl);
	assert_true(strlen(f->msg) < 400);
}

static void
test_pairs_hostile_names(void **state)
{
	static const struct {
		const char *name, *shown;
	} bad[] = {
		{ "h1;reboot", "\"h1;reboot\"" },
		{ "$(reboot)", "\"$(reboot)\"" },
		{ "../etc", "\"../etc\"" },
		{ "h 1", "\"h 1\"" },
		{ "h1\nERROR forged", "\"h1\\x0aERROR forged\"" },
		{ "h1\x1b[2J", "\"h1\\x1b[2J\"" },
		{ "h\"1", "\"h\\x221\"" },
		{ "h\\1", "\"h\\x5c1\"" },
		{ "h\xc3\xa9", "\"h\\xc3\\xa9\"" },
		{ "-h1", "\"-h1\"" },
		{ "", "\"\"" },
	};
	struct fx *f = *state;
	char spec[256], *longname;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(spec, sizeof(spec), "h1=http://10.0.0.1:2380,%s=http://"
		    "10.0.0.2:2380", bad[i].name);
		pairs_fail(f, spec, "h1", DISC, "member name", bad[i].shown,
		    "not valid");
	}

	/* 300 bytes of name: refused, the message bounded. */
	longname = xmalloc(340);
	memset(longname, 'a', 300);
	snprintf(longname + 300, 40, "=http://10.0.0.2:2380");
	expect_pairs(f, PLAN_FAIL, longname, NULL, "member name", "...",
	    NULL);
	free(longname);
	assert_true(strlen(f->msg) < 400);
}

static void
test_pairs_self_not_among(void **state)
{
	struct fx *f = *state;

	pairs_fail(f, P3, "h4", "this host (h4)", "not among the members",
	    DISC, "--name");
	/* Names are compared exactly. */
	pairs_fail(f, P3, "H2", "this host (H2)", "not among the members");
	pairs_fail(f, P3, "h2.zl.test", "not among the members");
}

static void
test_pairs_peer_port_mismatch(void **state)
{
	struct fx *f = *state;

	f->c.peer_port = 2390;
	pairs_fail(f, P3, "h2", "port mismatch", DISC, "h2 peer port 2380",
	    "peer_port is set to 2390");
	f->c.peer_port = 2380;
	pairs_ok(f, P3, "h2");
	/* Only this host's own port must agree. */
	f->c.peer_port = 2390;
	pairs_ok(f, "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2390", "h2");
}

static void
test_pairs_same_endpoint(void **state)
{
	struct fx *f = *state;

	pairs_fail(f, "h1=http://10.0.0.1:2380,h2=http://10.0.0.1:2380,"
	    "h3=http://10.0.0.3:2380", "h3",
	    "h1 and h2 both resolve to http://10.0.0.1:2380",
	    "own address or port");
	/* Different peer ports on one address still share a client URL. */
	pairs_fail(f, "h1=http://10.0.0.1:2380,h2=http://10.0.0.1:2381,"
	    "h3=http://10.0.0.3:2380", "h3", "h1 and h2",
	    "both resolve to http://10.0.0.1:2379");
	/* The extra host's view of the cluster is checked as well. */
	pairs_fail(f, "h1=http://10.0.0.1:2380,h2=http://10.0.0.1:2380",
	    NULL, "both resolve to");
	/* A peer URL on the client port. */
	pairs_fail(f, "h1=http://10.0.0.1:2379,h2=http://10.0.0.2:2380",
	    "h2", "member h1", "both peer and client", "client_port");
}

static void
test_pairs_count(void **state)
{
	struct fx *f = *state;
	char *spec = xcalloc(1, 65 * 40);
	size_t o = 0;

	pairs_fail(f, "", "h1", DISC, "lists 0 members", "between 1 and 64");
	for (int i = 1; i <= CFG_MAX_MEMBERS + 1; i++)
		o += (size_t)snprintf(spec + o, 65 * 40 - o,
		    "%sh%d=http://10.0.1.%d:2380", i > 1 ? "," : "", i, i);
	expect_pairs(f, PLAN_FAIL, spec, "h1", "lists 65 members",
	    "between 1 and 64", NULL);
	/* Exactly the maximum is fine. */
	*strrchr(spec, ',') = '\0';
	expect_pairs(f, PLAN_OK, spec, "h64", NULL);
	free(spec);
	assert_int_equal(f->p.n, CFG_MAX_MEMBERS);
}

/* ---- an extra host: grpc-proxy -------------------------------------- */

static const char *const want_proxy_argv[] = {
	"/usr/bin/etcd", "grpc-proxy", "start",
	"--endpoints",
	"http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379",
	"--listen-addr", "10.0.0.9:2379",
	"--advertise-client-url", "10.0.0.9:2379",
	"--data-dir", "/var/lib/zooinit/etcd/proxy",
	NULL
};
#define WANT_PROXY_ARGC \
	(sizeof(want_proxy_argv) / sizeof(*want_proxy_argv) - 1)

static void
test_proxy_plan(void **state)
{
	struct fx *f = *state;

	/* No self name: the cluster as the extra host sees it. */
	pairs_ok(f, P3, NULL);
	assert_int_equal(f->p.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_false(f->p.m[i].self);
	assert_string_equal(f->p.initial_cluster, IC3);

	make_proxy(f, "h9", "10.0.0.9");
	assert_true(f->p.proxy);
	assert_ptr_equal(plan_me(&f->p), &f->p.proxy_me);
	assert_string_equal(plan_me(&f->p)->name, "h9");
	assert_string_equal(plan_me(&f->p)->addr, "10.0.0.9");
	assert_string_equal(plan_me(&f->p)->client_url, "http://10.0.0.9:2379");
	assert_true(plan_me(&f->p)->self);
	assert_contains(f->p.state_reason, "3 members");
	assert_contains(f->p.state_reason, "grpc-proxy");
	assert_string_equal(f->p.state, "new");

	plan_build_argv(&f->p);
	assert_argv(&f->p, want_proxy_argv, WANT_PROXY_ARGC);
	/* Built again: the same, nothing leaked. */
	plan_build_argv(&f->p);
	assert_argv(&f->p, want_proxy_argv, WANT_PROXY_ARGC);
}

static void
test_proxy_client_port(void **state)
{
	struct fx *f = *state;

	f->c.client_port = 4001;
	pairs_ok(f, "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2380", NULL);
	make_proxy(f, "h9", "10.0.0.9");
	plan_build_argv(&f->p);
	assert_int_equal(f->p.argc, WANT_PROXY_ARGC);
	assert_string_equal(f->p.argv[4],
	    "http://10.0.0.1:4001,http://10.0.0.2:4001");
	assert_string_equal(f->p.argv[6], "10.0.0.9:4001");
	assert_string_equal(f->p.argv[8], "10.0.0.9:4001");
}

static void
test_proxy_ipv6(void **state)
{
	static const char *const want[] = {
		"/usr/bin/etcd", "grpc-proxy", "start",
		"--endpoints", "http://[fd00::1]:2379,http://[fd00::2]:2379,"
		    "http://[fd00::3]:2379",
		"--listen-addr", "[fd00::9]:2379",
		"--advertise-client-url", "[fd00::9]:2379",
		"--data-dir", "/var/lib/zooinit/etcd/proxy",
		NULL
	};
	struct fx *f = *state;

	pairs_ok(f, P3_V6, NULL);
	make_proxy(f, "h9", "fd00::9");
	assert_string_equal(plan_me(&f->p)->client_url, "http://[fd00::9]:2379");
	plan_build_argv(&f->p);
	assert_argv(&f->p, want, sizeof(want) / sizeof(*want) - 1);

	/* An IPv6 extra in front of IPv4 members. */
	pairs_ok(f, P3, NULL);
	make_proxy(f, "h9", "fd00::9");
	plan_build_argv(&f->p);
	assert_string_equal(f->p.argv[4], want_proxy_argv[4]);
	assert_string_equal(f->p.argv[6], "[fd00::9]:2379");
	assert_string_equal(f->p.argv[8], "[fd00::9]:2379");
}

static json_t *
load_plan_json(const struct plan *p)
{
	json_error_t je;
	char *s = plan_json(p);
	json_t *o = json_loads(s, JSON_REJECT_DUPLICATES, &je);

	free(s);
	if (o == NULL)
		fail_msg("plan_json is not JSON: %s", je.text);
	return o;
}

static void
test_proxy_json_and_print(void **state)
{
	struct fx *f = *state;
	json_t *o, *m, *a;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	pairs_ok(f, P3, NULL);
	make_proxy(f, "h9", "10.0.0.9");
	plan_build_argv(&f->p);
	o = load_plan_json(&f->p);
	assert_string_equal(json_string_value(json_object_get(o, "role")),
	    "client");
	assert_string_equal(json_string_value(json_object_get(o, "name")),
	    "h9");
	assert_string_equal(json_string_value(json_object_get(o, "source")),
	    "token");
	assert_string_equal(json_string_value(json_object_get(o,
	    "source_detail")), DISC);
	assert_string_equal(json_string_value(json_object_get(o,
	    "initial_cluster")), IC3);
	m = json_object_get(o, "members");
	assert_int_equal(json_array_size(m), 3);
	for (size_t i = 0; i < 3; i++)
		assert_true(json_is_false(json_object_get(json_array_get(m, i),
		    "self")));
	a = json_object_get(o, "etcd_argv");
	assert_int_equal(json_array_size(a), WANT_PROXY_ARGC);
	for (size_t i = 0; i < WANT_PROXY_ARGC; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)),
		    want_proxy_argv[i]);
	json_decref(o);

	out = open_memstream(&text, &len);
	assert_non_null(out);
	plan_print(&f->p, out);
	fclose(out);
	assert_contains(text, "this host:   h9 (10.0.0.9), a client: "
	    "grpc-proxy\n");
	assert_contains(text, "role:        client (the cluster is full: 3 "
	    "members registered before this host");
	assert_contains(text, "source:      token (" DISC ")\n");
	assert_lacks(text, "(this host)");
	assert_contains(text, "etcd: /usr/bin/etcd grpc-proxy start "
	    "--endpoints http://10.0.0.1:2379,http://10.0.0.2:2379,"
	    "http://10.0.0.3:2379 --listen-addr 10.0.0.9:2379 "
	    "--advertise-client-url 10.0.0.9:2379 --data-dir "
	    "/var/lib/zooinit/etcd/proxy\n");
	free(text);
}

static void
test_member_json_role(void **state)
{
	struct fx *f = *state;
	json_t *o;

	pairs_ok(f, P3, "h2");
	plan_build_argv(&f->p);
	o = load_plan_json(&f->p);
	assert_string_equal(json_string_value(json_object_get(o, "role")),
	    "member");
	assert_string_equal(json_string_value(json_object_get(o, "name")),
	    "h2");
	json_decref(o);

	add_three(f, PLAIN);
	expect_ok(f);
	o = load_plan_json(&f->p);
	assert_string_equal(json_string_value(json_object_get(o, "role")),
	    "member");
	json_decref(o);
}

/* ---- plan_from_static ----------------------------------------------- */

#define S2 "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380"

static void
test_static_self_by_address(void **state)
{
	struct fx *f = *state;

	f->c.initial_cluster = S2;
	f->c.size = 2;
	static_ok(f);
	assert_string_equal(f->msg, "2 members from initial_cluster");
	assert_int_equal(f->p.n, 2);
	assert_int_equal(f->p.self, 1);
	assert_string_equal(plan_me(&f->p)->name, "b");
	assert_true(f->p.m[1].self && !f->p.m[0].self);
	assert_string_equal(f->p.source, "static");
	assert_string_equal(f->p.source_detail, "initial_cluster");
	assert_string_equal(f->p.initial_cluster, S2);
	assert_pair_member(&f->p.m[0], "a", "10.0.0.1",
	    "http://10.0.0.1:2380", "http://10.0.0.1:2379", false);

	/* Any order; size 0 takes the list as it is. */
	f->c.initial_cluster = "b=http://10.0.0.2:2380,a=http://10.0.0.1:2380";
	f->c.size = 0;
	static_ok(f);
	assert_string_equal(f->p.initial_cluster, S2);
	assert_string_equal(plan_me(&f->p)->name, "b");

	set_ip(f, "10.0.0.1");
	static_ok(f);
	assert_string_equal(plan_me(&f->p)->name, "a");
	assert_int_equal(f->p.self, 0);
}

static void
test_static_ipv6(void **state)
{
	struct fx *f = *state;

	f->c.initial_cluster = "a=http://[fd00::1]:2380,b=http://[fd00::2]:2380";
	f->c.size = 0;
	set_self(f, "local interface addresses", "10.9.9.9", "fd00::2", NULL);
	static_ok(f);
	assert_string_equal(plan_me(&f->p)->name, "b");
	assert_string_equal(plan_me(&f->p)->client_url, "http://[fd00::2]:2379");
}

static void
test_static_self_by_name(void **state)
{
	struct fx *f = *state;

	f->c.initial_cluster = S2;
	f->c.size = 2;
	/* The name decides, whatever the local addresses say. */
	f->c.name = "a";
	static_ok(f);
	assert_int_equal(f->p.self, 0);
	assert_string_equal(plan_me(&f->p)->name, "a");
	set_self(f, "local interface addresses", "10.0.0.1", "10.0.0.2", NULL);
	static_ok(f);
	assert_string_equal(plan_me(&f->p)->name, "a");

	f->c.name = "zz";
	f->c.role = CFG_ROLE_MEMBER;
	static_fail(f, "this host (zz)", "not among the members",
	    "initial_cluster");
	/* role auto: a name the list lacks is a client's. */
	f->c.role = CFG_ROLE_AUTO;
	static_ok(f);
	assert_true(f->p.proxy);
	/* role client: a listed name is an error. */
	f->c.name = "a";
	f->c.role = CFG_ROLE_CLIENT;
	static_fail(f, "role is client, but initial_cluster lists this host "
	    "as member a", "role = auto");
}

/* Neither a name nor an address of this host in the list: there is no
 * member to start, so the plan must fail rather than pick one. */
static void
test_static_no_local_match(void **state)
{
	struct fx *f = *state;

	f->c.initial_cluster = S2;
	f->c.size = 2;
	set_ip(f, "10.0.0.9");
	f->c.role = CFG_ROLE_MEMBER;
	static_fail(f, "not among the members", "initial_cluster",
	    "role is member", "role = auto");
	/* role auto: a client of the two members. */
	f->c.role = CFG_ROLE_AUTO;
	static_ok(f);
	assert_contains(f->msg, "2 members from initial_cluster; this host "
	    "is a client");
	assert_true(f->p.proxy);
	assert_contains(f->p.role_reason, "this host (10.0.0.9, by --ip "
	    "10.0.0.9) is not among the members of initial_cluster, so with "
	    "role auto it serves clients");
	f->c.name = "c9";
	assert_int_equal(plan_client_me(&f->p, &f->c, &f->self, f->msg,
	    sizeof(f->msg)), PLAN_OK);
	assert_string_equal(plan_me(&f->p)->client_url,
	    "http://10.0.0.9:2379");
}

static void
test_static_two_local_matches(void **state)
{
	struct fx *f = *state;

	f->c.initial_cluster = "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,"
	    "c=http://10.0.0.3:2380";
	set_self(f, "local interface addresses", "10.0.0.3", "10.0.0.1", NULL);
	static_fail(f, "this host matches two members of initial_cluster",
	    "a and c", "--name", "--ip");
}

static void
test_static_bad_entries(void **state)
{
	struct fx *f = *state;

	f->c.size = 0;
	f->c.initial_cluster = "a=http://10.0.0.1:2380,bogus";
	static_fail(f, "initial_cluster entry \"bogus\" is not NAME=URL");
	f->c.initial_cluster = "bogus,a=http://10.0.0.1:2380";
	static_fail(f, "initial_cluster entry \"bogus\"", "NAME=URL");
	f->c.initial_cluster = "=http://10.0.0.1:2380,b=http://10.0.0.2:2380";
	static_fail(f, "initial_cluster entry \"=http://10.0.0.1:2380\"",
	    "NAME=URL");
	/* The URL check is plan_from_pairs's. */
	f->c.initial_cluster = "a=http://10.0.0.1:2380,b=http://h2.zl.test:2380";
	static_fail(f, "initial_cluster gives b the peer URL",
	    "\"http://h2.zl.test:2380\"", "expected http://ADDR:PORT");
	f->c.initial_cluster = "a=http://10.0.0.1:2380,a=http://10.0.0.2:2380";
	static_fail(f, "lists member a twice");
}

static void
test_static_size_mismatch(void **state)
{
	struct fx *f = *state;

	f->c.initial_cluster = S2;
	f->c.size = 3;
	static_fail(f, "initial_cluster lists 2 members but size is 3",
	    "make them agree");
	f->c.size = 1;
	static_fail(f, "initial_cluster lists 2 members but size is 1");
}

static void
test_static_token(void **state)
{
	struct fx *f = *state;

	f->c.initial_cluster = S2;
	f->c.size = 2;
	static_ok(f);
	assert_string_equal(f->p.token, "http://127.0.0.1:2378/zooinit-etcd-zl.test");
	f->c.domain = NULL;
	static_ok(f);
	assert_string_equal(f->p.token, "http://127.0.0.1:2378/zooinit-etcd");
	f->c.token = "prod-etcd-7";
	static_ok(f);
	assert_string_equal(f->p.token, "http://127.0.0.1:2378/prod-etcd-7");
	assert_true(plan_token_is_url(&f->p));
	assert_string_equal(plan_token_bare(&f->p), "prod-etcd-7");
	/* A token a URL does not carry as it is goes to etcd as it is. */
	f->c.token = "prod/etcd%7";
	static_ok(f);
	assert_string_equal(f->p.token, "prod/etcd%7");
	assert_false(plan_token_is_url(&f->p));
	plan_build_argv(&f->p);
	size_t i = 0;
	while (f->p.argv[i] != NULL &&
	    strcmp(f->p.argv[i], "--initial-cluster-token") != 0)
		i++;
	assert_non_null(f->p.argv[i]);
	assert_string_equal(f->p.argv[i + 1], "prod/etcd%7");
}

/* ---- skipped sources ------------------------------------------------ */

static void
test_skipped(void **state)
{
	struct fx *f = *state;
	char *why = xstrdup("token: no discovery URL set");
	char *text = NULL;
	size_t len = 0;
	json_t *o, *sk;
	FILE *out;

	f->c.initial_cluster = S2;
	f->c.size = 2;
	static_ok(f);
	plan_build_argv(&f->p);

	/* None yet: an empty array, no line. */
	o = load_plan_json(&f->p);
	sk = json_object_get(o, "skipped");
	assert_true(json_is_array(sk));
	assert_int_equal(json_array_size(sk), 0);
	json_decref(o);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	plan_print(&f->p, out);
	fclose(out);
	assert_lacks(text, "skipped:");
	free(text);
	text = NULL;

	plan_add_skipped(&f->p, "dns: no SRV records for zl.test");
	plan_add_skipped(&f->p, why);
	memset(why, 'X', strlen(why));
	free(why);
	assert_int_equal(f->p.n_skipped, 2);

	o = load_plan_json(&f->p);
	sk = json_object_get(o, "skipped");
	assert_int_equal(json_array_size(sk), 2);
	assert_string_equal(json_string_value(json_array_get(sk, 0)),
	    "dns: no SRV records for zl.test");
	assert_string_equal(json_string_value(json_array_get(sk, 1)),
	    "token: no discovery URL set");
	assert_string_equal(json_string_value(json_object_get(o, "source")),
	    "static");
	json_decref(o);

	out = open_memstream(&text, &len);
	assert_non_null(out);
	plan_print(&f->p, out);
	fclose(out);
	assert_contains(text, "source:      static (initial_cluster)\n"
	    "skipped:     dns: no SRV records for zl.test\n"
	    "skipped:     token: no discovery URL set\n"
	    "state:       new");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pairs_happy_path),
		T(test_pairs_self_and_ports),
		T(test_pairs_ipv6),
		T(test_pairs_duplicate_names),
		T(test_pairs_scheme_mismatch),
		T(test_pairs_https_without_certs),
		T(test_pairs_bad_urls),
		T(test_pairs_hostile_names),
		T(test_pairs_self_not_among),
		T(test_pairs_peer_port_mismatch),
		T(test_pairs_same_endpoint),
		T(test_pairs_count),
		T(test_proxy_plan),
		T(test_proxy_client_port),
		T(test_proxy_ipv6),
		T(test_proxy_json_and_print),
		T(test_member_json_role),
		T(test_static_self_by_address),
		T(test_static_ipv6),
		T(test_static_self_by_name),
		T(test_static_no_local_match),
		T(test_static_two_local_matches),
		T(test_static_bad_entries),
		T(test_static_size_mismatch),
		T(test_static_token),
		T(test_skipped),
	};

	return cmocka_run_group_tests_name("plan_pairs", tests, NULL, NULL);
}
