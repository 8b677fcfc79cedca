#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/plan.h"
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "resolver/dns.h"
#include "resolver/localaddr.h"

#define SSL DNS_SRV_SSL
#define PLAIN DNS_SRV_PLAIN
#define UNDER DNS_SRV_UNDERSCORE

#define IC3 "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2380," \
	"h3=http://10.0.0.3:2380"

/* Everything one test touches; the teardown frees it all, so a failed
 * assertion leaks nothing either. */
struct fx {
	struct cfg c;
	struct dns_result r;
	struct local_addrs self;
	struct plan p, q;
	char msg[1024];
	char err[1024];
	char dir[64];		/* a temp dir for journal tests, or "" */
};

static const struct plan zero_plan;

static void
reset_result(struct fx *f)
{
	dns_result_free(&f->r);
	f->r.domain = xstrdup("zl.test");
	for (int s = 0; s < DNS_SRV_N; s++)
		f->r.status[s] = DNS_MISSING;
}

/* Sets this host's addresses (NULL-terminated) and how they were found. */
static void
set_self(struct fx *f, const char *how, ...)
{
	va_list ap;
	const char *a;

	local_addrs_free(&f->self);
	va_start(ap, how);
	while ((a = va_arg(ap, const char *)) != NULL) {
		f->self.v = xreallocarray(f->self.v, f->self.n + 1,
		    sizeof(*f->self.v));
		f->self.v[f->self.n++] = xstrdup(a);
	}
	va_end(ap);
	f->self.how = xstrdup(how);
}

static void
set_ip(struct fx *f, const char *ip)
{
	char how[80];

	snprintf(how, sizeof(how), "--ip %s", ip);
	set_self(f, how, ip, NULL);
}

/* Adds an SRV record and the addresses its target resolved to
 * (NULL-terminated; none: not resolvable). The pointer is valid until the
 * next add. */
static struct dns_target *
add(struct fx *f, enum dns_service svc, const char *target, unsigned port,
    ...)
{
	struct dns_target *t = dns_result_add(&f->r, svc, target, port, 10, 10);
	va_list ap;
	const char *a;

	va_start(ap, port);
	while ((a = va_arg(ap, const char *)) != NULL)
		dns_target_add_addr(t, a);
	va_end(ap);
	f->r.status[svc] = DNS_OK;
	return t;
}

/* h1..h3 on 10.0.0.1..3, port 2380, in scrambled answer order. */
static void
add_three(struct fx *f, enum dns_service svc)
{
	add(f, svc, "h3.zl.test", 2380, "10.0.0.3", NULL);
	add(f, svc, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, svc, "h2.zl.test", 2380, "10.0.0.2", NULL);
}

static enum plan_result
build(struct fx *f)
{
	plan_free(&f->p);
	f->msg[0] = '\0';
	return plan_from_dns(&f->c, &f->r, &f->self, &f->p, f->msg,
	    sizeof(f->msg));
}

static const char *
result_name(enum plan_result r)
{
	return r == PLAN_OK ? "PLAN_OK" : r == PLAN_WAIT ? "PLAN_WAIT" :
	    r == PLAN_FAIL ? "PLAN_FAIL" : "?";
}

/* A message a user reads: one line of printable ASCII. */
static void
assert_message_clean(const char *msg)
{
	assert_true(strlen(msg) > 0);
	for (const unsigned char *s = (const unsigned char *)msg; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			fail_msg("message has byte 0x%02x: %s", *s, msg);
}

#define assert_contains(s, sub) do {					\
	if (strstr((s), (sub)) == NULL)					\
		fail_msg("\"%s\"\n  lacks \"%s\"", (s), (sub));		\
} while (0)
#define assert_lacks(s, sub) do {					\
	if (strstr((s), (sub)) != NULL)					\
		fail_msg("\"%s\"\n  should not contain \"%s\"", (s), (sub)); \
} while (0)

/* Expects want from build() with each fragment (NULL-terminated) in the
 * message and the plan left zeroed but for the WAIT progress. */
static void
expect(struct fx *f, enum plan_result want, ...)
{
	enum plan_result got = build(f);
	struct plan p = f->p;
	va_list ap;
	const char *s;

	if (got != want)
		fail_msg("got %s, want %s: %s", result_name(got),
		    result_name(want), f->msg);
	assert_message_clean(f->msg);
	va_start(ap, want);
	while ((s = va_arg(ap, const char *)) != NULL)
		assert_contains(f->msg, s);
	va_end(ap);
	if (want != PLAN_OK) {
		p.resolved = p.need = 0;
		assert_memory_equal(&p, &zero_plan, sizeof(p));
	}
}

#define expect_fail(f, ...) expect((f), PLAN_FAIL, __VA_ARGS__, NULL)
#define expect_wait(f, ...) expect((f), PLAN_WAIT, __VA_ARGS__, NULL)

static void
expect_ok(struct fx *f)
{
	expect(f, PLAN_OK, NULL);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	f->c.domain = "zl.test";
	f->c.size = 3;
	f->c.data_dir = "/var/lib/zooinit/etcd";
	f->c.etcd = "/usr/bin/etcd";
	f->c.client_port = 2379;
	f->c.scheme = CFG_SCHEME_AUTO;
	f->c.member_names = CFG_NAMES_LABEL;
	reset_result(f);
	set_ip(f, "10.0.0.2");
	*state = f;
	return 0;
}

static void
rm_journal(struct fx *f)
{
	char path[160];

	if (f->dir[0] == '\0')
		return;
	char *state = plan_state_dir(f->dir);

	snprintf(path, sizeof(path), "%s/%s", state, PLAN_JOURNAL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.tmp", state, PLAN_JOURNAL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", f->dir, PLAN_JOURNAL_OLD);
	unlink(path);
	rmdir(state);
	free(state);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	plan_free(&f->p);
	plan_free(&f->q);
	dns_result_free(&f->r);
	local_addrs_free(&f->self);
	if (f->dir[0] != '\0') {
		rm_journal(f);
		if (rmdir(f->dir) < 0)
			fprintf(stderr, "rmdir %s: %s\n", f->dir,
			    strerror(errno));
	}
	free(f);
	return 0;
}

/* ---- the happy path ------------------------------------------------- */

static void
assert_member(const struct plan_member *m, const char *name,
    const char *host, const char *addr, const char *peer, const char *client,
    bool self)
{
	assert_string_equal(m->name, name);
	assert_string_equal(m->host, host);
	assert_string_equal(m->addr, addr);
	assert_int_equal(m->peer_port, 2380);
	assert_string_equal(m->peer_url, peer);
	assert_string_equal(m->client_url, client);
	assert_int_equal(m->self, self);
}

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

/* ---- argv, JSON, print ---------------------------------------------- */

static const char *const want_argv[] = {
	"/usr/bin/etcd",
	"--name", "h2",
	"--data-dir", "/var/lib/zooinit/etcd",
	"--listen-peer-urls", "http://10.0.0.2:2380",
	"--initial-advertise-peer-urls", "http://10.0.0.2:2380",
	"--listen-client-urls", "http://10.0.0.2:2379",
	"--advertise-client-urls", "http://10.0.0.2:2379",
	"--initial-cluster", IC3,
	"--initial-cluster-token", "http://127.0.0.1:2378/zooinit-etcd-zl.test",
	"--initial-cluster-state", "new",
	NULL
};
#define WANT_ARGC (sizeof(want_argv) / sizeof(*want_argv) - 1)

static void
test_argv(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	expect_ok(f);
	plan_build_argv(&f->p);
	assert_int_equal(f->p.argc, WANT_ARGC);
	for (size_t i = 0; i < WANT_ARGC; i++)
		assert_string_equal(f->p.argv[i], want_argv[i]);
	assert_null(f->p.argv[f->p.argc]);

	/* Built again after a restart decision: existing, nothing leaked. */
	plan_set_existing(&f->p, "the data dir holds member h2");
	assert_string_equal(f->p.state, "existing");
	assert_string_equal(f->p.state_reason, "the data dir holds member h2");
	plan_build_argv(&f->p);
	assert_int_equal(f->p.argc, WANT_ARGC);
	assert_string_equal(f->p.argv[WANT_ARGC - 2], "--initial-cluster-state");
	assert_string_equal(f->p.argv[WANT_ARGC - 1], "existing");
	assert_null(f->p.argv[WANT_ARGC]);
}

static void
test_json(void **state)
{
	struct fx *f = *state;
	json_error_t je;
	json_t *o, *m, *a;
	char *s;

	add_three(f, PLAIN);
	expect_ok(f);
	plan_build_argv(&f->p);
	s = plan_json(&f->p);
	o = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	free(s);
	if (o == NULL)
		fail_msg("plan_json is not JSON: %s", je.text);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "h2");
	assert_string_equal(json_string_value(json_object_get(o, "source")),
	    "dns");
	assert_string_equal(json_string_value(json_object_get(o,
	    "initial_cluster")), IC3);
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "new");
	assert_string_equal(json_string_value(json_object_get(o, "token")),
	    "http://127.0.0.1:2378/zooinit-etcd-zl.test");

	m = json_object_get(o, "members");
	assert_true(json_is_array(m));
	assert_int_equal(json_array_size(m), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(m, i);

		assert_string_equal(json_string_value(json_object_get(e,
		    "name")), f->p.m[i].name);
		assert_string_equal(json_string_value(json_object_get(e,
		    "peer_url")), f->p.m[i].peer_url);
		assert_string_equal(json_string_value(json_object_get(e,
		    "client_url")), f->p.m[i].client_url);
		assert_int_equal(json_is_true(json_object_get(e, "self")),
		    i == 1);
	}
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 0), "name")), "h1");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 2), "peer_url")), "http://10.0.0.3:2380");

	a = json_object_get(o, "etcd_argv");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), WANT_ARGC);
	for (size_t i = 0; i < WANT_ARGC; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)),
		    want_argv[i]);
	json_decref(o);
}

static void
test_print(void **state)
{
	struct fx *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	add_three(f, PLAIN);
	expect_ok(f);
	plan_build_argv(&f->p);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	plan_print(&f->p, out);
	fclose(out);
	assert_contains(text, "this host:   h2 (10.0.0.2)\n");
	assert_contains(text, "initial cluster: " IC3 "\n");
	assert_contains(text, "(this host)");
	assert_contains(text, "--initial-cluster-state new\n");
	free(text);
}

/* ---- the journal ---------------------------------------------------- */

static void
make_dir(struct fx *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/zooinit-plan-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		f->dir[0] = '\0';
		fail_msg("mkdtemp: %s", strerror(errno));
	}
}

static void
journal_path(const struct fx *f, char *path, size_t len)
{
	char *p = plan_journal_path(f->dir);

	snprintf(path, len, "%s", p);
	free(p);
}

static void
write_journal_text(struct fx *f, const char *text)
{
	char path[160];
	FILE *fp;

	char *state = plan_state_dir(f->dir);

	(void)mkdir(state, 0700);
	free(state);
	journal_path(f, path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int
read_journal(struct fx *f)
{
	struct cfg c = f->c;

	c.data_dir = f->dir;
	plan_free(&f->q);
	f->err[0] = '\0';
	return plan_journal_read(&c, &f->q, f->err, sizeof(f->err));
}

static void
test_journal_roundtrip(void **state)
{
	struct fx *f = *state;
	char path[160], tmp[170];
	struct stat st;

	make_dir(f);
	add_three(f, PLAIN);
	f->c.token = "prod-etcd-7";
	expect_ok(f);
	if (plan_journal_write(&f->p, f->dir, f->err, sizeof(f->err)) != 0)
		fail_msg("plan_journal_write: %s", f->err);

	journal_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);

	if (read_journal(f) != 0)
		fail_msg("plan_journal_read: %s", f->err);
	assert_string_equal(f->q.source, "journal");
	assert_string_equal(f->q.source_detail, path);
	assert_string_equal(f->q.state, "existing");
	assert_string_equal(f->q.scheme, "http");
	assert_string_equal(f->q.token, "http://127.0.0.1:2378/prod-etcd-7");
	assert_string_equal(f->q.initial_cluster, IC3);
	assert_string_equal(f->q.data_dir, f->dir);
	assert_string_equal(f->q.etcd, "/usr/bin/etcd");
	assert_int_equal(f->q.n, 3);
	assert_int_equal(f->q.self, 1);
	for (size_t i = 0; i < 3; i++) {
		assert_member(&f->q.m[i], f->p.m[i].name, f->p.m[i].host,
		    f->p.m[i].addr, f->p.m[i].peer_url, f->p.m[i].client_url,
		    i == 1);
	}

	/* The restart argv joins the existing cluster. */
	plan_build_argv(&f->q);
	assert_string_equal(f->q.argv[f->q.argc - 1], "existing");
	assert_string_equal(f->q.argv[f->q.argc - 3], "http://127.0.0.1:2378/prod-etcd-7");
	assert_string_equal(f->q.argv[f->q.argc - 5], IC3);

	/* Writing again replaces the file in place. */
	plan_set_existing(&f->p, "again");
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.initial_cluster, IC3);
}

static void
test_journal_ipv6_roundtrip(void **state)
{
	struct fx *f = *state;

	make_dir(f);
	add(f, PLAIN, "h2.zl.test", 2380, "fd00::2", NULL);
	add(f, PLAIN, "h1.zl.test", 2380, "fd00::1", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "fd00::3", NULL);
	set_ip(f, "fd00::3");
	expect_ok(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	if (read_journal(f) != 0)
		fail_msg("plan_journal_read: %s", f->err);
	assert_string_equal(f->q.initial_cluster, f->p.initial_cluster);
	assert_int_equal(f->q.self, 2);
	assert_string_equal(f->q.m[2].addr, "fd00::3");
}

/* A temp file left by a crash must not decide the journal's mode. */
static void
test_journal_mode_despite_leftover(void **state)
{
	struct fx *f = *state;
	char path[160], tmp[170];
	struct stat st;
	int fd;

	make_dir(f);
	write_journal_text(f, "");	/* makes the state dir */
	journal_path(f, path, sizeof(path));
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);

	add_three(f, PLAIN);
	expect_ok(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_journal_missing(void **state)
{
	struct fx *f = *state;

	make_dir(f);
	assert_int_equal(read_journal(f), 1);
	assert_memory_equal(&f->q, &zero_plan, sizeof(f->q));
}

static void
test_journal_write_fails(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	expect_ok(f);
	/* The state dir cannot be made: its parent is a regular file. */
	assert_int_equal(plan_journal_write(&f->p, "/dev/null/etcd",
	    f->err, sizeof(f->err)), -1);
	assert_contains(f->err, "/dev/null/etcd" PLAN_STATE_SUFFIX);
	assert_contains(f->err, "Not a directory");
}

/* A journal an older zooinit left inside the data dir is moved beside it
 * and read; the data dir then holds nothing of zooinit's. */
static void
test_journal_moved_from_data_dir(void **state)
{
	struct fx *f = *state;
	char old[160], path[160];
	struct stat st;

	make_dir(f);
	add_three(f, PLAIN);
	expect_ok(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	journal_path(f, path, sizeof(path));
	snprintf(old, sizeof(old), "%s/%s", f->dir, PLAN_JOURNAL_OLD);
	assert_int_equal(rename(path, old), 0);

	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.initial_cluster, f->p.initial_cluster);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* The second start reads the moved journal. */
	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.source_detail, path);
}

/* plan_state_dir() drops trailing slashes before adding its suffix. */
static void
test_state_dir_name(void **state)
{
	char *d = plan_state_dir("/var/lib/zooinit/etcd//");

	(void)state;
	assert_string_equal(d, "/var/lib/zooinit/etcd" PLAN_STATE_SUFFIX);
	free(d);
}

#define J_HEAD "{\"version\": 1, \"name\": \"h1\", \"source\": \"dns\", " \
	"\"scheme\": \"http\", \"state\": \"new\", \"token\": \"tok\", "
#define J_M(n, a) "{\"name\": \"" n "\", \"host\": \"" n ".zl.test\", " \
	"\"peer_url\": \"http://" a ":2380\", " \
	"\"client_url\": \"http://" a ":2379\"}"
#define J_GOOD J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", " \
	J_M("h2", "10.0.0.2") "]}\n"

/* Writes text as the journal and expects -1 with the path and the
 * fragment (or NULL) in the error, and nothing in the plan. */
static void
expect_corrupt(struct fx *f, const char *text, const char *frag)
{
	char path[160];

	write_journal_text(f, text);
	journal_path(f, path, sizeof(path));
	if (read_journal(f) != -1)
		fail_msg("journal accepted: %s", text);
	assert_memory_equal(&f->q, &zero_plan, sizeof(f->q));
	assert_message_clean(f->err);
	assert_contains(f->err, path);
	if (frag != NULL)
		assert_contains(f->err, frag);
}

static void
test_journal_corrupt(void **state)
{
	struct fx *f = *state;

	make_dir(f);
	/* The template itself is fine. */
	write_journal_text(f, J_GOOD);
	if (read_journal(f) != 0)
		fail_msg("good journal refused: %s", f->err);
	assert_string_equal(f->q.initial_cluster,
	    "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2380");
	plan_free(&f->q);

	expect_corrupt(f, "not json at all\n", NULL);
	expect_corrupt(f, "", NULL);
	expect_corrupt(f, "{\"name\": \"h1\", \"members\": [", NULL);
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    "{\"name\": \"h2\", \"peer_url\": \"http://h1;rm -rf /:2380\", "
	    "\"client_url\": \"http://10.0.0.2:2379\"}]}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    J_M("h2", "h2.zl.test") "]}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h2", "10.0.0.2") ", "
	    J_M("h3", "10.0.0.3") "]}", "\"name\"");
	expect_corrupt(f, J_HEAD "\"members\": []}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": {}}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    "{\"name\": \"h2;x\", \"peer_url\": \"http://10.0.0.2:2380\", "
	    "\"client_url\": \"http://10.0.0.2:2379\"}]}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    "{\"name\": \"h2\", \"host\": \"a/b\", "
	    "\"peer_url\": \"http://10.0.0.2:2380\", "
	    "\"client_url\": \"http://10.0.0.2:2379\"}]}", "\"members\"");
	expect_corrupt(f, "{\"version\": 1, \"name\": \"h1\", "
	    "\"members\": [" J_M("h1", "10.0.0.1") "]}", "\"token\"");
	expect_corrupt(f, "{\"version\": 1, \"name\": \"../h1\", "
	    "\"token\": \"t\", \"members\": [" J_M("h1", "10.0.0.1") "]}",
	    "\"name\"");
	/* Duplicate keys are refused rather than silently picked. */
	expect_corrupt(f, "{\"name\": \"h1\", \"name\": \"h2\", "
	    "\"token\": \"t\", \"members\": [" J_M("h1", "10.0.0.1") "]}",
	    NULL);
	/* Every corrupt journal says how to recover. */
	expect_corrupt(f, J_HEAD "\"members\": []}", "move the file away");
}

/* ---- plan_parse_url ------------------------------------------------- */

static void
expect_url(const char *url, const char *scheme, const char *addr,
    unsigned port)
{
	char s[8] = "", a[64] = "";
	unsigned p = 0;

	if (plan_parse_url(url, s, sizeof(s), a, sizeof(a), &p) != 0)
		fail_msg("\"%s\" refused", url);
	assert_string_equal(s, scheme);
	assert_string_equal(a, addr);
	assert_int_equal(p, port);
}

static void
expect_bad_url(const char *url)
{
	char s[8], a[64];
	unsigned p = 0;

	if (plan_parse_url(url, s, sizeof(s), a, sizeof(a), &p) != -1)
		fail_msg("\"%s\" accepted", url);
}

static void
test_parse_url_good(void **state)
{
	(void)state;
	expect_url("http://10.0.0.1:2380", "http", "10.0.0.1", 2380);
	expect_url("https://10.0.0.1:2379", "https", "10.0.0.1", 2379);
	expect_url("http://[fd00::1]:2380", "http", "fd00::1", 2380);
	expect_url("https://[::1]:1", "https", "::1", 1);
	expect_url("http://255.255.255.255:65535", "http",
	    "255.255.255.255", 65535);
	expect_url("http://[2001:db8::8a2e:370:7334]:2380", "http",
	    "2001:db8::8a2e:370:7334", 2380);
}

static void
test_parse_url_bad(void **state)
{
	(void)state;
	/* Scheme. */
	expect_bad_url("");
	expect_bad_url("10.0.0.1:2380");
	expect_bad_url("//10.0.0.1:2380");
	expect_bad_url("ftp://10.0.0.1:2380");
	expect_bad_url("unix://10.0.0.1:2380");
	expect_bad_url("http:/10.0.0.1:2380");
	/* Hosts are IP literals only. */
	expect_bad_url("http://h1.zl.test:2380");
	expect_bad_url("http://localhost:2380");
	expect_bad_url("http://h1;rm -rf /:2380");
	expect_bad_url("http://:2380");
	expect_bad_url("http://10.0.0:2380");
	expect_bad_url("http://10.0.0.256:2380");
	expect_bad_url("http://user@10.0.0.1:2380");
	expect_bad_url("http://[fe80::1%eth0]:2380");
	/* Port. */
	expect_bad_url("http://10.0.0.1:0");
	expect_bad_url("http://10.0.0.1:65536");
	expect_bad_url("http://10.0.0.1:4294969676");
	expect_bad_url("http://10.0.0.1");
	expect_bad_url("http://10.0.0.1:");
	expect_bad_url("http://10.0.0.1:abc");
	expect_bad_url("http://10.0.0.1:23a");
	expect_bad_url("http://10.0.0.1:-1");
	expect_bad_url("http://10.0.0.1:+80");
	expect_bad_url("http://10.0.0.1: 80");
	expect_bad_url("http://10.0.0.1:2380/");
	expect_bad_url("http://10.0.0.1:2380/path");
	expect_bad_url("http://[fd00::1]");
	expect_bad_url("http://[fd00::1]:");
	expect_bad_url("http://[fd00::1]:0");
	/* Brackets. */
	expect_bad_url("http://[fd00::1:2380");
	expect_bad_url("http://fd00::1]:2380");
	expect_bad_url("http://[fd00::1]2380");
	expect_bad_url("http://[[fd00::1]]:2380");
	expect_bad_url("http://[]:2380");
}

/* An IP literal host in a URL is an IPv4 address or a bracketed IPv6 one
 * (RFC 3986 3.2.2); "fd00::1:2380" is ambiguous and etcd cannot listen on
 * it. */
static void
test_parse_url_needs_brackets_for_v6_only(void **state)
{
	(void)state;
	expect_bad_url("http://fd00::1:2380");
	expect_bad_url("http://::1:2380");
	expect_bad_url("http://[10.0.0.1]:2380");
}

/* libcurl splits more URLs than a member's URL may be: every host must
 * write the same --initial-cluster, so only the one spelling
 * url_make() gives is taken. */
static void
test_parse_url_only_the_canonical_spelling(void **state)
{
	(void)state;
	expect_bad_url("http://10.0.0.1:02380");
	expect_bad_url("HTTP://10.0.0.1:2380");
	expect_bad_url("http://10.0.0.1:2380?x=1");
	expect_bad_url("http://10.0.0.1:2380#f");
	expect_bad_url("http://10.0.0.1:2380/?");
	expect_bad_url("http://user:pw@10.0.0.1:2380");
	expect_bad_url("http://[FD00::1]:2380");
	expect_bad_url("http://[fd00:0::1]:2380");
	expect_bad_url("http://010.0.0.1:2380");
	expect_bad_url("http://10.0.0.1:2380 ");
	expect_bad_url(" http://10.0.0.1:2380");
}

/* ---- a token that is not full: what zooinit plan prints ------------- */

static void
test_waiting_json(void **state)
{
	char *names[] = { "h1", "h3" };
	char *urls[] = { "http://10.0.0.1:2380", "http://10.0.0.3:2380" };
	struct plan_waiting w = { .detail = "http://10.0.9.9:4001/v2/keys/T",
	    .names = names, .urls = urls, .n = 2, .size = 3, .name = "h2",
	    .peer_url = "http://10.0.0.2:2380" };
	json_error_t je;
	char *s;
	json_t *o;

	(void)state;
	s = plan_waiting_json(&w);
	o = json_loads(s, 0, &je);
	free(s);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "source")),
	    "token");
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "waiting");
	assert_string_equal(json_string_value(json_object_get(o,
	    "source_detail")), w.detail);
	assert_string_equal(json_string_value(json_object_get(o,
	    "state_reason")), "2/3 registered: h1, h3; plan does not "
	    "register this host");
	assert_int_equal(json_integer_value(json_object_get(o, "registered")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(o, "size")), 3);
	assert_int_equal(json_array_size(json_object_get(o, "members")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "members"), 1), "peer_url")), urls[1]);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    o, "this_host"), "peer_url")), "http://10.0.0.2:2380");
	assert_true(json_is_false(json_object_get(json_object_get(o,
	    "this_host"), "registered")));
	json_decref(o);
}

/* A registered host, and names from the service that are not text: the
 * output quotes them and stays JSON and one line each. */
static void
test_waiting_registered_and_hostile(void **state)
{
	char *names[] = { "h2", "e\xff\x1b[1m" };
	char *urls[] = { "http://10.0.0.2:2380", "http://\n10.0.0.9:2380" };
	struct plan_waiting w = { .detail = "token T at http://10.0.9.9:2379",
	    .names = names, .urls = urls, .n = 2, .size = 5, .name = "h2",
	    .peer_url = "http://10.0.0.2:2380" };
	char *s, *text = NULL;
	size_t len = 0;
	json_t *o;
	FILE *f;

	(void)state;
	s = plan_waiting_json(&w);
	o = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(o);
	assert_true(json_is_true(json_object_get(json_object_get(o,
	    "this_host"), "registered")));
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(o, "members"), 0), "self")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "members"), 1), "name")), "e\\xff\\x1b[1m");
	json_decref(o);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	plan_waiting_print(&w, f);
	fclose(f);
	assert_non_null(strstr(text, "this host:   h2, registered as "
	    "h2=http://10.0.0.2:2380\n"));
	assert_non_null(strstr(text, "state:       waiting (2/5 registered: "
	    "h2, e\\xff\\x1b[1m; this host is one of them)\n"));
	assert_null(strchr(text, '\x1b'));
	assert_null(strstr(text, "http://\n"));
	free(text);
}

static void
test_json_string_not_utf8(void **state)
{
	json_t *v;

	(void)state;
	v = plan_json_stringn("a\0b", 3);
	assert_int_equal(json_string_length(v), 3);
	json_decref(v);
	v = plan_json_string("\xc3\x28");
	assert_string_equal(json_string_value(v), "\\xc3(");
	json_decref(v);
	v = plan_json_string(NULL);
	assert_true(json_is_null(v));
	json_decref(v);
}

/* ---- plan_from_pairs: the token and static sources ------------------ */

#define DISC "http://10.0.9.9:4001/v2/keys/_etcd/registry/T"
/* h1..h3 on 10.0.0.1..3 in registration (not name) order. */
#define P3 "h3=http://10.0.0.3:2380,h1=http://10.0.0.1:2380," \
	"h2=http://10.0.0.2:2380"
#define P3_V6 "h3=http://[fd00::3]:2380,h1=http://[fd00::1]:2380," \
	"h2=http://[fd00::2]:2380"

/* Calls plan_from_pairs with the "name=url,..." pairs of spec (source
 * "token", detail DISC, default token "zooinit-etcd-T"). The strings are
 * heap copies scribbled over and freed right after the call: they are
 * borrowed, so the plan must not point into them. */
static enum plan_result
pairs(struct fx *f, const char *spec, const char *self_name)
{
	char *names[CFG_MAX_MEMBERS + 8], *urls[CFG_MAX_MEMBERS + 8];
	char *list = xstrdup(spec), *save = NULL;
	char *self_copy = self_name ? xstrdup(self_name) : NULL;
	size_t n = 0;
	enum plan_result res;

	for (char *tok = strtok_r(list, ",", &save);
	    tok != NULL && n < CFG_MAX_MEMBERS + 8;
	    tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL)
			eq = tok + strlen(tok);
		names[n] = xstrndup(tok, (size_t)(eq - tok));
		urls[n++] = xstrdup(*eq ? eq + 1 : eq);
	}
	free(list);
	plan_free(&f->p);
	f->msg[0] = '\0';
	res = plan_from_pairs(&f->c, "token", DISC, "zooinit-etcd-T", names,
	    urls, n, self_copy, &f->p, f->msg, sizeof(f->msg));
	for (size_t i = 0; i < n; i++) {
		memset(names[i], 'X', strlen(names[i]));
		memset(urls[i], 'X', strlen(urls[i]));
		free(names[i]);
		free(urls[i]);
	}
	if (self_copy != NULL)
		memset(self_copy, 'X', strlen(self_copy));
	free(self_copy);
	return res;
}

/* Checks got against want, the message and each fragment in ap, and on
 * failure that the plan was left zeroed. */
static void
check_outcome(struct fx *f, enum plan_result got, enum plan_result want,
    va_list ap)
{
	const char *s;

	if (got != want)
		fail_msg("got %s, want %s: %s", result_name(got),
		    result_name(want), f->msg);
	assert_message_clean(f->msg);
	while ((s = va_arg(ap, const char *)) != NULL)
		assert_contains(f->msg, s);
	if (want != PLAN_OK)
		assert_memory_equal(&f->p, &zero_plan, sizeof(f->p));
}

static void
expect_pairs(struct fx *f, enum plan_result want, const char *spec,
    const char *self_name, ...)
{
	enum plan_result got = pairs(f, spec, self_name);
	va_list ap;

	va_start(ap, self_name);
	check_outcome(f, got, want, ap);
	va_end(ap);
}

#define pairs_fail(f, spec, self, ...) \
	expect_pairs((f), PLAN_FAIL, (spec), (self), __VA_ARGS__, NULL)
#define pairs_ok(f, spec, self) \
	expect_pairs((f), PLAN_OK, (spec), (self), NULL)

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

/* plan_make_proxy copies its strings: give it copies and spoil them. */
static void
make_proxy(struct fx *f, const char *name, const char *addr)
{
	char *n = xstrdup(name), *a = xstrdup(addr);

	plan_make_proxy(&f->p, &f->c, n, a);
	memset(n, 'X', strlen(n));
	memset(a, 'X', strlen(a));
	free(n);
	free(a);
}

static void
assert_argv(const struct plan *p, const char *const *want, size_t n)
{
	if (p->argc != n)
		fail_msg("argc %zu, want %zu", p->argc, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(p->argv[i], want[i]);
	assert_null(p->argv[n]);
}

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

/* ---- TLS: https zones and URLs with certificates -------------------- */

/* The files plan_check_tls() looks at; their contents do not matter to
 * the plan, only that they can be read. */
static char tls_dir[64];
static const char *const tls_files[] = {
	"ca.pem", "h.pem", "h.key", "peer.pem", "peer.key", "peer-ca.pem",
};

static char *
tls_path(const char *name)
{
	return xasprintf("%s/%s", tls_dir, name);
}

static int
tls_setup(void **state)
{
	struct fx *f;

	snprintf(tls_dir, sizeof(tls_dir), "/tmp/zooinit-tls-XXXXXX");
	if (mkdtemp(tls_dir) == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(tls_files) / sizeof(*tls_files); i++) {
		char *path = tls_path(tls_files[i]);
		FILE *fp = fopen(path, "w");

		free(path);
		if (fp == NULL)
			return -1;
		fputs("-----BEGIN PLACEHOLDER-----\n", fp);
		fclose(fp);
	}
	setup(state);
	f = *state;
	/* Borrowed by the cfg, like the other strings setup() sets. */
	f->c.cert_file = tls_path("h.pem");
	f->c.key_file = tls_path("h.key");
	f->c.trusted_ca_file = tls_path("ca.pem");
	return 0;
}

static int
tls_teardown(void **state)
{
	struct fx *f = *state;

	free(f->c.cert_file);
	free(f->c.key_file);
	free(f->c.trusted_ca_file);
	free(f->c.peer_cert_file);
	free(f->c.peer_key_file);
	free(f->c.peer_trusted_ca_file);
	for (size_t i = 0; i < sizeof(tls_files) / sizeof(*tls_files); i++) {
		char *path = tls_path(tls_files[i]);

		(void)unlink(path);
		free(path);
	}
	if (rmdir(tls_dir) < 0)
		fprintf(stderr, "rmdir %s: %s\n", tls_dir, strerror(errno));
	return teardown(state);
}

static enum plan_result
check_tls(struct fx *f)
{
	f->msg[0] = '\0';
	return plan_check_tls(&f->p, &f->c, f->msg, sizeof(f->msg));
}

/* The member argv of h2 in an https zone: want_argv with https URLs, then
 * the TLS flags (extra, NULL-terminated) in order. */
static void
assert_tls_argv(const struct plan *p, ...)
{
	static const char ic[] = "h1=https://10.0.0.1:2380,"
	    "h2=https://10.0.0.2:2380,h3=https://10.0.0.3:2380";
	const char *want[WANT_ARGC + 16];
	size_t n = 0;
	va_list ap;
	const char *s;

	for (size_t i = 0; i < WANT_ARGC; i++)
		want[n++] = want_argv[i];
	want[6] = want[8] = "https://10.0.0.2:2380";
	want[10] = want[12] = "https://10.0.0.2:2379";
	want[14] = ic;
	va_start(ap, p);
	while ((s = va_arg(ap, const char *)) != NULL && n < WANT_ARGC + 16)
		want[n++] = s;
	va_end(ap);
	assert_argv(p, want, n);
}

static void
test_tls_https_zone(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem"),
	    *key = tls_path("h.key");

	add_three(f, SSL);
	expect_ok(f);
	assert_string_equal(f->p.scheme, "https");
	assert_string_equal(f->p.source_detail, "_etcd-server-ssl._tcp.zl.test");
	assert_member(&f->p.m[0], "h1", "h1.zl.test", "10.0.0.1",
	    "https://10.0.0.1:2380", "https://10.0.0.1:2379", false);
	assert_member(&f->p.m[1], "h2", "h2.zl.test", "10.0.0.2",
	    "https://10.0.0.2:2380", "https://10.0.0.2:2379", true);
	assert_member(&f->p.m[2], "h3", "h3.zl.test", "10.0.0.3",
	    "https://10.0.0.3:2380", "https://10.0.0.3:2379", false);

	/* client_cert_auth off: etcd gets no client CA, since etcd 3.4
	 * would then demand client certificates anyway. */
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_string_equal(f->p.tls.cert_file, crt);
	assert_string_equal(f->p.tls.peer_key_file, key);
	assert_false(f->p.tls.client_cert_auth);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--peer-cert-file", crt, "--peer-key-file", key,
	    "--peer-trusted-ca-file", ca, NULL);

	/* on: both CAs and both switches. */
	f->c.client_cert_auth = CFG_ON;
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.client_cert_auth);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--trusted-ca-file", ca,
	    "--peer-cert-file", crt, "--peer-key-file", key,
	    "--peer-trusted-ca-file", ca,
	    "--client-cert-auth", "--peer-client-cert-auth", NULL);

	/* The plan's JSON shows etcd's TLS flags in its argv. */
	char *s = plan_json(&f->p);
	assert_contains(s, "\"--peer-client-cert-auth\"");
	assert_contains(s, "\"https://10.0.0.2:2379\"");
	free(s);

	/* scheme = "https" agrees with the zone. */
	f->c.scheme = CFG_SCHEME_HTTPS;
	expect_ok(f);
	assert_string_equal(f->p.m[1].client_url, "https://10.0.0.2:2379");
	free(ca);
	free(crt);
	free(key);
}

/* A CA instead of certificates: the files zooinit makes in the state
 * directory, client_cert_auth on; given certificates win. */
static void
test_tls_made_from_ca(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem");
	const char *d = "/var/lib/zooinit/etcd.zooinit/tls/";
	char *sc = xasprintf("%sserver.crt", d), *sk = xasprintf("%sserver.key", d);
	char *pc = xasprintf("%speer.crt", d), *pk = xasprintf("%speer.key", d);

	add_three(f, SSL);
	free(f->c.cert_file);
	free(f->c.key_file);
	free(f->c.trusted_ca_file);
	f->c.cert_file = f->c.key_file = f->c.trusted_ca_file = NULL;
	f->c.ca_file = ca;
	f->c.ca_key_file = ca;
	expect_ok(f);
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.made);
	assert_true(f->p.tls.client_cert_auth);
	assert_string_equal(f->p.tls.client_cert_file,
	    "/var/lib/zooinit/etcd.zooinit/tls/client.crt");
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p, "--cert-file", sc, "--key-file", sk,
	    "--trusted-ca-file", ca, "--peer-cert-file", pc,
	    "--peer-key-file", pk, "--peer-trusted-ca-file", ca,
	    "--client-cert-auth", "--peer-client-cert-auth", NULL);

	/* Given files win; checking again drops the made paths. */
	f->c.cert_file = crt;
	f->c.key_file = crt;
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_false(f->p.tls.made);
	assert_null(f->p.tls_made[0]);
	assert_string_equal(f->p.tls.cert_file, crt);
	f->c.cert_file = f->c.key_file = NULL;
	f->c.ca_file = f->c.ca_key_file = NULL;
	free(ca);
	free(crt);
	free(sc);
	free(sk);
	free(pc);
	free(pk);
}

static void
test_tls_https_zone_without_certs(void **state)
{
	struct fx *f = *state;

	add_three(f, SSL);
	free(f->c.cert_file);
	free(f->c.key_file);
	f->c.cert_file = f->c.key_file = NULL;
	assert_int_equal(build(f), PLAN_FAIL);
	assert_string_equal(f->msg, "_etcd-server-ssl._tcp.zl.test asks for "
	    "https peers; set cert_file and key_file (and trusted_ca_file) to "
	    "give etcd its certificates, or ca_file and ca_key_file to have "
	    "zooinit make them");
	/* A key without its certificate is no better. */
	f->c.key_file = tls_path("h.key");
	expect_fail(f, "_etcd-server-ssl._tcp.zl.test asks for https peers");
	/* Certificates do not make an http zone https. */
	f->c.cert_file = tls_path("h.pem");
	reset_result(f);
	add_three(f, PLAIN);
	expect_ok(f);
	assert_string_equal(f->p.m[1].client_url, "http://10.0.0.2:2379");
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_null(f->p.tls.cert_file);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want_argv, WANT_ARGC);
}

static void
test_tls_peer_files(void **state)
{
	struct fx *f = *state;
	char *crt = tls_path("h.pem"), *key = tls_path("h.key"),
	    *pcrt = tls_path("peer.pem"), *pkey = tls_path("peer.key"),
	    *pca = tls_path("peer-ca.pem");

	f->c.peer_cert_file = xstrdup(pcrt);
	f->c.peer_key_file = xstrdup(pkey);
	f->c.peer_trusted_ca_file = xstrdup(pca);
	add_three(f, SSL);
	expect_ok(f);
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--peer-cert-file", pcrt, "--peer-key-file", pkey,
	    "--peer-trusted-ca-file", pca, NULL);

	/* Without any CA: the system's verifies, and no CA flag is given. */
	free(f->c.trusted_ca_file);
	free(f->c.peer_trusted_ca_file);
	f->c.trusted_ca_file = f->c.peer_trusted_ca_file = NULL;
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--peer-cert-file", pcrt, "--peer-key-file", pkey, NULL);
	free(crt);
	free(key);
	free(pcrt);
	free(pkey);
	free(pca);
}

static void
test_tls_check_failures(void **state)
{
	struct fx *f = *state;
	char *want;

	add_three(f, SSL);
	expect_ok(f);

	/* A missing file: the key and the path are named. */
	free(f->c.key_file);
	f->c.key_file = tls_path("missing.key");
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_message_clean(f->msg);
	want = xasprintf("key_file is set to \"%s/missing.key\", which cannot "
	    "be read: No such file or directory; point key_file at a readable "
	    "PEM file", tls_dir);
	assert_string_equal(f->msg, want);
	free(want);
	assert_null(f->p.tls.cert_file);
	free(f->c.key_file);
	f->c.key_file = tls_path("h.key");

	/* A directory is not a certificate. */
	f->c.peer_trusted_ca_file = xstrdup(tls_dir);
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_contains(f->msg, "peer_trusted_ca_file is set to");
	assert_contains(f->msg, tls_dir);
	assert_contains(f->msg, "Is a directory");
	free(f->c.peer_trusted_ca_file);
	f->c.peer_trusted_ca_file = NULL;

	/* Nor is a device. */
	f->c.peer_cert_file = xstrdup("/dev/null");
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_string_equal(f->msg, "peer_cert_file is set to \"/dev/null\", "
	    "which cannot be read: not a regular file; point peer_cert_file "
	    "at a readable PEM file");
	free(f->c.peer_cert_file);
	f->c.peer_cert_file = NULL;

	/* Client certificates are checked against trusted_ca_file. */
	f->c.client_cert_auth = CFG_ON;
	free(f->c.trusted_ca_file);
	f->c.trusted_ca_file = NULL;
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_contains(f->msg, "client_cert_auth is on but trusted_ca_file "
	    "is not set");
	assert_null(f->p.tls.cert_file);

	/* An https plan that skipped the zone's check (a journal) is
	 * stopped here too. */
	free(f->c.cert_file);
	f->c.cert_file = NULL;
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_string_equal(f->msg, "_etcd-server-ssl._tcp.zl.test asks for "
	    "https peers; set cert_file and key_file (and trusted_ca_file) to "
	    "give etcd its certificates, or ca_file and ca_key_file to have "
	    "zooinit make them");
}

static void
test_tls_pairs(void **state)
{
	struct fx *f = *state;
	char *crt = tls_path("h.pem");

	pairs_ok(f, "h3=https://10.0.0.3:2380,h1=https://10.0.0.1:2380,"
	    "h2=https://10.0.0.2:2380", "h2");
	assert_string_equal(f->p.scheme, "https");
	assert_string_equal(f->p.m[0].peer_url, "https://10.0.0.1:2380");
	assert_string_equal(f->p.m[0].client_url, "https://10.0.0.1:2379");
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_string_equal(f->p.argv[WANT_ARGC], "--cert-file");
	assert_string_equal(f->p.argv[WANT_ARGC + 1], crt);

	/* The setting and the URLs must agree, either way round. */
	f->c.scheme = CFG_SCHEME_HTTPS;
	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", "h2");
	pairs_fail(f, P3, "h2", "scheme mismatch: scheme is set to https but "
	    DISC " gives http peer URLs; use https URLs or set scheme = "
	    "\"http\"");
	f->c.scheme = CFG_SCHEME_HTTP;
	pairs_fail(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380",
	    "h2", "scheme is set to http but", "gives https peer URLs");
	free(crt);
}

/* An extra host's grpc-proxy: a TLS client of the members and a TLS
 * server for this host's clients. */
static void
test_tls_proxy(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem"),
	    *key = tls_path("h.key");
	const char *want[] = {
		"/usr/bin/etcd", "grpc-proxy", "start",
		"--endpoints", "https://10.0.0.1:2379,https://10.0.0.2:2379",
		"--listen-addr", "10.0.0.9:2379",
		"--advertise-client-url", "10.0.0.9:2379",
		"--data-dir", "/var/lib/zooinit/etcd/proxy",
		"--cacert", ca, "--cert", crt, "--key", key,
		"--cert-file", crt, "--key-file", key,
		"--trusted-ca-file", ca,
	};
	const char *want_off[] = {
		"/usr/bin/etcd", "grpc-proxy", "start",
		"--endpoints", "https://10.0.0.1:2379,https://10.0.0.2:2379",
		"--listen-addr", "10.0.0.9:2379",
		"--advertise-client-url", "10.0.0.9:2379",
		"--data-dir", "/var/lib/zooinit/etcd/proxy",
		"--cacert", ca, "--cert", crt, "--key", key,
		"--cert-file", crt, "--key-file", key,
	};

	f->c.client_cert_auth = CFG_ON;
	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", NULL);
	make_proxy(f, "h9", "10.0.0.9");
	assert_string_equal(plan_me(&f->p)->client_url, "https://10.0.0.9:2379");
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want, sizeof(want) / sizeof(*want));

	/* off: the proxy verifies the members and still shows its
	 * certificate (etcd 3.5+ takes no --cacert without --cert); its own
	 * clients need none. */
	f->c.client_cert_auth = CFG_OFF;
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want_off, sizeof(want_off) / sizeof(*want_off));
	free(ca);
	free(crt);
	free(key);
}

/* A token with a CA alone: the host registers https (a CA asks for TLS
 * as an _etcd-server-ssl zone does), the plan from the https pairs makes
 * its files, and an extra's grpc-proxy shows its client certificate to
 * the members and serves its server certificate. */
static void
test_tls_token_ca(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem");
	const char *d = "/var/lib/zooinit/etcd.zooinit/tls/";
	char *sc = xasprintf("%sserver.crt", d), *sk = xasprintf("%sserver.key", d);
	char *cc = xasprintf("%sclient.crt", d), *ck = xasprintf("%sclient.key", d);
	const char *want[] = {
		"/usr/bin/etcd", "grpc-proxy", "start",
		"--endpoints", "https://10.0.0.1:2379,https://10.0.0.2:2379",
		"--listen-addr", "10.0.0.9:2379",
		"--advertise-client-url", "10.0.0.9:2379",
		"--data-dir", "/var/lib/zooinit/etcd/proxy",
		"--cacert", ca, "--cert", cc, "--key", ck,
		"--cert-file", sc, "--key-file", sk,
		"--trusted-ca-file", ca,
	};

	free(f->c.cert_file);
	free(f->c.key_file);
	free(f->c.trusted_ca_file);
	f->c.cert_file = f->c.key_file = f->c.trusted_ca_file = NULL;
	assert_string_equal(plan_token_scheme(&f->c), "http");
	f->c.ca_file = ca;
	f->c.ca_key_file = ca;
	assert_string_equal(plan_token_scheme(&f->c), "https");
	f->c.scheme = CFG_SCHEME_HTTP;
	assert_string_equal(plan_token_scheme(&f->c), "http");
	f->c.scheme = CFG_SCHEME_AUTO;
	/* Given certificates win over the CA, as they do for the files:
	 * scheme = "https" asks for TLS with them. */
	f->c.cert_file = crt;
	assert_string_equal(plan_token_scheme(&f->c), "http");
	f->c.scheme = CFG_SCHEME_HTTPS;
	assert_string_equal(plan_token_scheme(&f->c), "https");
	f->c.scheme = CFG_SCHEME_AUTO;
	f->c.cert_file = NULL;

	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", "h2");
	assert_string_equal(f->p.scheme, "https");
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.made);
	assert_string_equal(plan_me(&f->p)->client_url, "https://10.0.0.2:2379");

	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", NULL);
	make_proxy(f, "h9", "10.0.0.9");
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.made);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want, sizeof(want) / sizeof(*want));
	f->c.ca_file = f->c.ca_key_file = NULL;
	free(ca);
	free(crt);
	free(sc);
	free(sk);
	free(cc);
	free(ck);
}

/* A restart from the journal gets its TLS flags from the configuration,
 * which is where certificates are renewed; the journal keeps none. */
static void
test_tls_journal(void **state)
{
	struct fx *f = *state;
	char *crt = tls_path("h.pem");

	add_three(f, SSL);
	expect_ok(f);
	make_dir(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.scheme, "https");
	f->msg[0] = '\0';
	assert_int_equal(plan_check_tls(&f->q, &f->c, f->msg, sizeof(f->msg)),
	    PLAN_OK);
	plan_build_argv(&f->q);
	assert_string_equal(f->q.argv[WANT_ARGC - 1], "existing");
	assert_string_equal(f->q.argv[WANT_ARGC], "--cert-file");
	assert_string_equal(f->q.argv[WANT_ARGC + 1], crt);
	free(crt);

	/* Without certificates now, the restart is refused with the
	 * journal named. */
	free(f->c.cert_file);
	f->c.cert_file = NULL;
	assert_int_equal(plan_check_tls(&f->q, &f->c, f->msg, sizeof(f->msg)),
	    PLAN_FAIL);
	assert_contains(f->msg, PLAN_JOURNAL " asks for https peers");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TLS(f) cmocka_unit_test_setup_teardown(f, tls_setup, tls_teardown)

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
		T(test_argv),
		T(test_json),
		T(test_print),
		T(test_journal_roundtrip),
		T(test_journal_ipv6_roundtrip),
		T(test_journal_mode_despite_leftover),
		T(test_journal_missing),
		T(test_journal_write_fails),
		T(test_journal_moved_from_data_dir),
		T(test_state_dir_name),
		T(test_journal_corrupt),
		T(test_parse_url_good),
		T(test_parse_url_bad),
		T(test_parse_url_needs_brackets_for_v6_only),
		T(test_parse_url_only_the_canonical_spelling),
		T(test_waiting_json),
		T(test_waiting_registered_and_hostile),
		T(test_json_string_not_utf8),
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
		T(test_dns_client),
		T(test_dns_role_client),
		T(test_dns_srv_name),
		T(test_members_differ),
		T(test_static_self_by_address),
		T(test_static_ipv6),
		T(test_static_self_by_name),
		T(test_static_no_local_match),
		T(test_static_two_local_matches),
		T(test_static_bad_entries),
		T(test_static_size_mismatch),
		T(test_static_token),
		T(test_skipped),
		TLS(test_tls_https_zone),
		TLS(test_tls_https_zone_without_certs),
		TLS(test_tls_made_from_ca),
		TLS(test_tls_peer_files),
		TLS(test_tls_check_failures),
		TLS(test_tls_pairs),
		TLS(test_tls_proxy),
		TLS(test_tls_token_ca),
		TLS(test_tls_journal),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
