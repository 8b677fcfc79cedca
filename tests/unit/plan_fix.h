/* The fixture and helpers the unit tests of agent/plan.c share: struct fx
 * (everything one test touches) with its setup and teardown, SRV records
 * and this host's addresses for plan_from_dns() and what to expect of it,
 * etcd's argv for member h2, a journal in a temp dir, plan_from_pairs()
 * on "name=url,..." pairs, and the grpc-proxy plan of an extra host.
 * Included by tests/unit/test_plan_dns.c, test_plan_output.c,
 * test_plan_pairs.c and test_plan_tls.c, each after lib/fmacros.h.
 *
 * Header-only, its functions static inline, so a file that uses only some
 * of them still builds without unused-function errors. */
#ifndef ZOOINIT_TESTS_PLAN_FIX_H
#define ZOOINIT_TESTS_PLAN_FIX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/plan.h"
#include "lib/xmalloc.h"
#include "resolver/dns.h"
#include "resolver/localaddr.h"

#define SSL DNS_SRV_SSL
#define PLAIN DNS_SRV_PLAIN

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

static inline void
reset_result(struct fx *f)
{
	dns_result_free(&f->r);
	f->r.domain = xstrdup("zl.test");
	for (int s = 0; s < DNS_SRV_N; s++)
		f->r.status[s] = DNS_MISSING;
}

/* Sets this host's addresses (NULL-terminated) and how they were found. */
static inline void
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

static inline void
set_ip(struct fx *f, const char *ip)
{
	char how[80];

	snprintf(how, sizeof(how), "--ip %s", ip);
	set_self(f, how, ip, NULL);
}

/* Adds an SRV record and the addresses its target resolved to
 * (NULL-terminated; none: not resolvable). The pointer is valid until the
 * next add. */
static inline struct dns_target *
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
static inline void
add_three(struct fx *f, enum dns_service svc)
{
	add(f, svc, "h3.zl.test", 2380, "10.0.0.3", NULL);
	add(f, svc, "h1.zl.test", 2380, "10.0.0.1", NULL);
	add(f, svc, "h2.zl.test", 2380, "10.0.0.2", NULL);
}

static inline enum plan_result
build(struct fx *f)
{
	plan_free(&f->p);
	f->msg[0] = '\0';
	return plan_from_dns(&f->c, &f->r, &f->self, &f->p, f->msg,
	    sizeof(f->msg));
}

static inline const char *
result_name(enum plan_result r)
{
	return r == PLAN_OK ? "PLAN_OK" : r == PLAN_WAIT ? "PLAN_WAIT" :
	    r == PLAN_FAIL ? "PLAN_FAIL" : "?";
}

/* A message a user reads: one line of printable ASCII. */
static inline void
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

/* Expects want from build() with each fragment (NULL-terminated) in the
 * message and the plan left zeroed but for the WAIT progress. */
static inline void
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

static inline void
expect_ok(struct fx *f)
{
	expect(f, PLAN_OK, NULL);
}

static inline int
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

static inline void
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

static inline int
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

/* A test on the fixture setup() makes. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- members, argv -------------------------------------------------- */

static inline void
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

/* etcd's argv for member h2 of the http zone h1..h3. */
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

/* ---- the journal: a temp dir as the data dir ------------------------ */

static inline void
make_dir(struct fx *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/zooinit-plan-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		f->dir[0] = '\0';
		fail_msg("mkdtemp: %s", strerror(errno));
	}
}

static inline int
read_journal(struct fx *f)
{
	struct cfg c = f->c;

	c.data_dir = f->dir;
	plan_free(&f->q);
	f->err[0] = '\0';
	return plan_journal_read(&c, &f->q, f->err, sizeof(f->err));
}

/* ---- plan_from_pairs ------------------------------------------------ */

#define DISC "http://10.0.9.9:4001/v2/keys/_etcd/registry/T"
/* h1..h3 on 10.0.0.1..3 in registration (not name) order. */
#define P3 "h3=http://10.0.0.3:2380,h1=http://10.0.0.1:2380," \
	"h2=http://10.0.0.2:2380"

/* Calls plan_from_pairs with the "name=url,..." pairs of spec (source
 * "token", detail DISC, default token "zooinit-etcd-T"). The strings are
 * heap copies scribbled over and freed right after the call: they are
 * borrowed, so the plan must not point into them. */
static inline enum plan_result
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
static inline void
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

static inline void
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

/* ---- an extra host: grpc-proxy -------------------------------------- */

/* plan_make_proxy copies its strings: give it copies and spoil them. */
static inline void
make_proxy(struct fx *f, const char *name, const char *addr)
{
	char *n = xstrdup(name), *a = xstrdup(addr);

	plan_make_proxy(&f->p, &f->c, n, a);
	memset(n, 'X', strlen(n));
	memset(a, 'X', strlen(a));
	free(n);
	free(a);
}

static inline void
assert_argv(const struct plan *p, const char *const *want, size_t n)
{
	if (p->argc != n)
		fail_msg("argc %zu, want %zu", p->argc, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(p->argv[i], want[i]);
	assert_null(p->argv[n]);
}

#endif
