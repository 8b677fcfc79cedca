#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/plan.h"
#include "agent/readdress.h"
#include "lib/xmalloc.h"
#include "resolver/dns.h"
#include "resolver/localaddr.h"

/* Everything one test touches; the teardown frees it all. */
struct fx {
	struct plan p;
	struct dns_result r;
	struct local_addrs self;
	char out[256];
};

static void
add_member(struct plan *p, const char *name, const char *addr, bool self)
{
	struct plan_member *m = &p->m[p->n];

	m->name = xstrdup(name);
	m->addr = xstrdup(addr);
	m->peer_port = 2380;
	m->peer_url = xasprintf("http://%s:2380", addr);
	m->client_url = xasprintf("http://%s:2379", addr);
	m->self = self;
	if (self)
		p->self = p->n;
	p->n++;
}

static void
add_self(struct local_addrs *a, const char *addr)
{
	a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
	a->v[a->n++] = xstrdup(addr);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	f->p.m = xcalloc(4, sizeof(*f->p.m));
	f->p.scheme = "http";
	add_member(&f->p, "h1", "10.0.0.1", false);
	add_member(&f->p, "h2", "10.0.0.2", false);
	add_member(&f->p, "h3", "10.0.0.3", true);
	f->p.initial_cluster = xstrdup("stale");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	plan_free(&f->p);
	dns_result_free(&f->r);
	local_addrs_free(&f->self);
	free(f);
	return 0;
}

static void
apply_moves_urls_and_cluster(void **state)
{
	struct fx *f = *state;

	assert_int_equal(readdress_apply(&f->p, "10.0.0.23"), 0);
	assert_string_equal(f->p.m[2].addr, "10.0.0.23");
	assert_string_equal(f->p.m[2].peer_url, "http://10.0.0.23:2380");
	assert_string_equal(f->p.m[2].client_url, "http://10.0.0.23:2379");
	assert_string_equal(f->p.m[0].peer_url, "http://10.0.0.1:2380");
	assert_string_equal(f->p.initial_cluster, "h1=http://10.0.0.1:2380,"
	    "h2=http://10.0.0.2:2380,h3=http://10.0.0.23:2380");
}

static void
apply_keeps_scheme_and_ports(void **state)
{
	struct fx *f = *state;
	struct plan_member *me = &f->p.m[2];

	free(me->peer_url);
	free(me->client_url);
	me->peer_url = xstrdup("https://10.0.0.3:12380");
	me->client_url = xstrdup("https://10.0.0.3:12379");
	assert_int_equal(readdress_apply(&f->p, "fd00::3"), 0);
	assert_string_equal(me->peer_url, "https://[fd00::3]:12380");
	assert_string_equal(me->client_url, "https://[fd00::3]:12379");
}

static void
apply_refuses_bad_url(void **state)
{
	struct fx *f = *state;

	free(f->p.m[2].peer_url);
	f->p.m[2].peer_url = xstrdup("http://h3.example:2380");
	assert_int_equal(readdress_apply(&f->p, "10.0.0.23"), -1);
	assert_string_equal(f->p.m[2].addr, "10.0.0.3");
}

static void
pick_finds_local_address(void **state)
{
	struct fx *f = *state;
	struct dns_target *t;

	dns_result_add(&f->r, DNS_SRV_PLAIN, "h1.zl.test", 2380, 0, 10);
	t = dns_result_add(&f->r, DNS_SRV_PLAIN, "H3.zl.test", 2380, 0, 10);
	dns_target_add_addr(t, "10.0.0.9");
	dns_target_add_addr(t, "10.0.0.23");
	add_self(&f->self, "127.0.0.1");
	add_self(&f->self, "10.0.0.23");
	assert_int_equal(readdress_pick(&f->r, "h3.zl.test", &f->self, f->out,
	    sizeof(f->out)), 1);
	assert_string_equal(f->out, "10.0.0.23");
}

static void
pick_reports_stale_address(void **state)
{
	struct fx *f = *state;
	struct dns_target *t;

	t = dns_result_add(&f->r, DNS_SRV_PLAIN, "h3.zl.test", 2380, 0, 10);
	dns_target_add_addr(t, "10.0.0.3");
	dns_target_add_addr(t, "10.0.0.4");
	add_self(&f->self, "10.0.0.23");
	assert_int_equal(readdress_pick(&f->r, "h3.zl.test", &f->self, f->out,
	    sizeof(f->out)), 0);
	assert_string_equal(f->out, "10.0.0.3, 10.0.0.4");
}

static void
pick_no_record(void **state)
{
	struct fx *f = *state;

	dns_result_add(&f->r, DNS_SRV_PLAIN, "h1.zl.test", 2380, 0, 10);
	add_self(&f->self, "10.0.0.23");
	assert_int_equal(readdress_pick(&f->r, "h3.zl.test", &f->self, f->out,
	    sizeof(f->out)), -1);
	assert_string_equal(f->out, "");
	dns_result_add(&f->r, DNS_SRV_PLAIN, "h3.zl.test", 2380, 0, 10);
	assert_int_equal(readdress_pick(&f->r, "h3.zl.test", &f->self, f->out,
	    sizeof(f->out)), 0);
	assert_string_equal(f->out, "");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(apply_moves_urls_and_cluster),
		T(apply_keeps_scheme_and_ports),
		T(apply_refuses_bad_url),
		T(pick_finds_local_address),
		T(pick_reports_stale_address),
		T(pick_no_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
