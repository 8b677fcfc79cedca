/*
 * Unit tests for resolver/dns.c: the result helpers on their own
 * (dns_service_label/scheme/name, dns_result_add, dns_target_add_addr),
 * without a lookup or the fake DNS server of dns_fix.h.
 */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dns.h"
#include "tests/unit/dns_fix.h"

/* ---- the result helpers on their own ----------------------------------- */

static void
test_service_names(void **state)
{
	(void)state;
	assert_string_equal(dns_service_label(DNS_SRV_SSL),
	    "_etcd-server-ssl._tcp");
	assert_string_equal(dns_service_label(DNS_SRV_PLAIN), "_etcd-server._tcp");
	assert_string_equal(dns_service_label(DNS_SRV_UNDERSCORE),
	    "_etcd_server._tcp");
	assert_string_equal(dns_service_scheme(DNS_SRV_SSL), "https");
	assert_string_equal(dns_service_scheme(DNS_SRV_PLAIN), "http");
	assert_string_equal(dns_service_scheme(DNS_SRV_UNDERSCORE), "http");
}

/* srv_name goes between the service and "._tcp", as etcd's
 * --discovery-srv-name puts it; none (NULL or "") leaves the names. */
static void
test_service_names_srv_name(void **state)
{
	static const struct {
		enum dns_service s;
		const char *srv_name, *want;
	} cases[] = {
		{ DNS_SRV_SSL, NULL, "_etcd-server-ssl._tcp.zl.test" },
		{ DNS_SRV_PLAIN, "", "_etcd-server._tcp.zl.test" },
		{ DNS_SRV_SSL, "blue", "_etcd-server-ssl-blue._tcp.zl.test" },
		{ DNS_SRV_PLAIN, "blue", "_etcd-server-blue._tcp.zl.test" },
		{ DNS_SRV_UNDERSCORE, "blue", "_etcd_server-blue._tcp.zl.test" },
		{ DNS_SRV_PLAIN, "a-1", "_etcd-server-a-1._tcp.zl.test" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = dns_service_name(cases[i].s, cases[i].srv_name,
		    "zl.test");
		assert_string_equal(n, cases[i].want);
		free(n);
	}
}

static void
test_result_add_and_addrs(void **state)
{
	struct dns_result r;
	struct dns_target *t;
	char name[32] = "h1.zl.test";

	(void)state;
	memset(&r, 0, sizeof(r));
	dns_result_free(&r);	/* safe on a zeroed struct */

	t = dns_result_add(&r, DNS_SRV_PLAIN, name, 2380, 10, 20);
	/* The target is copied. */
	name[0] = 'X';
	assert_string_equal(t->target, "h1.zl.test");
	assert_int_equal(t->svc, DNS_SRV_PLAIN);
	assert_int_equal(t->port, 2380);
	assert_int_equal(t->priority, 10);
	assert_int_equal(t->weight, 20);
	assert_int_equal(t->n_addrs, 0);
	assert_null(t->addrs);
	assert_null(t->why);

	t->why = strdup("no A/AAAA record");
	/* IPv4 before IPv6; numeric order within a family (10.0.0.9 before
	 * 10.0.0.10, which text order would swap); duplicates once, also
	 * when spelt differently (fd00::0002 is fd00::2). */
	dns_target_add_addr(t, "fd00::2");
	assert_null(t->why);	/* an address clears why */
	dns_target_add_addr(t, "10.0.0.10");
	dns_target_add_addr(t, "::1");
	dns_target_add_addr(t, "10.0.0.9");
	dns_target_add_addr(t, "10.0.0.10");
	dns_target_add_addr(t, "fd00::0002");
	dns_target_add_addr(t, "192.168.0.1");
	dns_target_add_addr(t, "fd00::10");
	dns_target_add_addr(t, "fd00::9");
	dns_target_add_addr(t, "10.0.0.9");
	expect_addrs(t, 7, "10.0.0.9", "10.0.0.10", "192.168.0.1", "::1",
	    "fd00::2", "fd00::9", "fd00::10");

	/* Appending reallocates: records stay in order, fields intact. */
	for (unsigned i = 0; i < 40; i++) {
		char n[32];

		snprintf(n, sizeof(n), "m%u.zl.test", i);
		dns_result_add(&r, DNS_SRV_UNDERSCORE, n, 3000 + i, i, 0);
	}
	assert_int_equal(r.n, 41);
	assert_string_equal(r.t[0].target, "h1.zl.test");
	assert_int_equal(r.t[0].n_addrs, 7);
	assert_string_equal(r.t[40].target, "m39.zl.test");
	assert_int_equal(r.t[40].port, 3039);
	assert_int_equal(r.t[40].svc, DNS_SRV_UNDERSCORE);

	dns_result_free(&r);
	assert_null(r.t);
	assert_int_equal(r.n, 0);
	dns_result_free(&r);	/* and again: it was zeroed */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_names),
		cmocka_unit_test(test_service_names_srv_name),
		cmocka_unit_test(test_result_add_and_addrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
