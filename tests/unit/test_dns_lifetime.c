/*
 * Unit tests for resolver/dns.c: the resolver's lifetime, against the
 * fake DNS server of dns_fix.h (in this process, 127.0.0.1 only).
 * Freeing it while queries are in flight, before or inside its
 * callback; one lookup at a time, and a new one from the callback;
 * a domain c-ares refuses, reported from the loop.
 */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/loop.h"
#include "resolver/dns.h"
#include "tests/unit/dns_fix.h"

/* ---- lifetime ----------------------------------------------------------- */

static void
on_free_now(struct loop *l, void *arg)
{
	struct fx *fx = arg;

	fx->log_at_free = fx->f->n_log;
	dns_resolver_free(fx->r);
	fx->r = NULL;
	/* Run on: a callback or a stale socket watch would show now. */
	loop_timer(l, 300, on_stop, fx);
}

static void
test_free_while_srv_in_flight(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RCODE(SSL_Q, QT_SRV, ACT_DROP),
		RCODE(PLAIN_Q, QT_SRV, ACT_DROP),
		RCODE(US_Q, QT_SRV, ACT_DROP),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	assert_int_equal(dns_lookup(fx->r, ZONE, on_result, fx), 0);
	loop_timer(fx->l, 100, on_free_now, fx);
	run(fx);
	assert_int_equal(fx->log_at_free, 3);
	assert_int_equal(fx->calls, 0);
	assert_null(fx->res);
}

/* Frees the resolver once both targets' address queries have arrived. */
static void
on_poll_free(struct loop *l, void *arg)
{
	struct fx *fx = arg;

	if (addr_queries(fx->f) < 4) {
		loop_timer(l, 10, on_poll_free, fx);
		return;
	}
	on_free_now(l, fx);
}

static void
test_free_while_addr_in_flight(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h2." ZONE, 2380)),
		RCODE("h1." ZONE, QT_A, ACT_DROP),
		RCODE("h1." ZONE, QT_AAAA, ACT_DROP),
		RCODE("h2." ZONE, QT_A, ACT_DROP),
		RCODE("h2." ZONE, QT_AAAA, ACT_DROP),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	assert_int_equal(dns_lookup(fx->r, ZONE, on_result, fx), 0);
	loop_timer(fx->l, 10, on_poll_free, fx);
	run(fx);
	assert_int_equal(fx->log_at_free, 7);
	assert_int_equal(fx->calls, 0);
	assert_null(fx->res);
}

static void
on_second(void *arg, struct dns_result *r)
{
	struct fx *fx = arg;

	fx->calls2++;
	if (fx->res2 == NULL) {
		fx->res2 = r;
	} else {
		dns_result_free(r);
		free(r);
	}
	loop_stop(fx->l, 0);
}

/* The first lookup's callback starts the next: the resolver is free
 * again by the time its callback runs. */
static void
on_first(void *arg, struct dns_result *r)
{
	struct fx *fx = arg;

	fx->calls++;
	if (fx->res == NULL) {
		fx->res = r;
	} else {
		dns_result_free(r);
		free(r);
	}
	fx->relookup_rc = dns_lookup(fx->r, "other.test", on_second, fx);
	if (fx->relookup_rc != 0)
		loop_stop(fx->l, 0);
}

static void
test_busy_then_reuse(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	fx->relookup_rc = 99;
	assert_int_equal(dns_lookup(fx->r, ZONE, on_first, fx), 0);
	/* One lookup at a time; a refused one changes nothing. */
	assert_int_equal(dns_lookup(fx->r, ZONE, on_first, fx), -1);
	assert_int_equal(dns_lookup(fx->r, "other.test", on_second, fx), -1);
	assert_int_equal(fx->calls, 0);
	run(fx);

	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->relookup_rc, 0);
	assert_int_equal(fx->calls2, 1);
	assert_non_null(fx->res);
	assert_string_equal(fx->res->domain, ZONE);
	expect_status(fx->res, DNS_MISSING, DNS_OK, DNS_MISSING);
	expect_addrs(find(fx->res, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1,
	    "10.0.0.1");
	assert_non_null(fx->res2);
	assert_string_equal(fx->res2->domain, "other.test");
	expect_status(fx->res2, DNS_MISSING, DNS_MISSING, DNS_MISSING);
	assert_int_equal(fx->res2->n, 0);
	/* The refused calls sent nothing. */
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, "_etcd-server._tcp.other.test",
	    QT_SRV), 1);
}

/* c-ares fails these queries inside ares_query() (empty label): the
 * callback still runs later, from the loop, once. */
static void
test_bad_domain_fails_from_loop(void **state)
{
	struct fx *fx = *state;

	set_script(fx, NULL, 0);
	assert_int_equal(dns_lookup(fx->r, "zl..test", on_result, fx), 0);
	assert_int_equal(fx->calls, 0);
	fx->settle_ms = 100;
	run(fx);
	assert_int_equal(fx->calls, 1);
	assert_string_equal(fx->res->domain, "zl..test");
	assert_int_equal(fx->res->n, 0);
	for (int s = 0; s < DNS_SRV_N; s++) {
		char want[256];

		snprintf(want, sizeof(want), "%s.zl..test: %s",
		    dns_service_label((enum dns_service)s),
		    ares_strerror(ARES_EBADNAME));
		assert_int_equal(fx->res->status[s], DNS_FAILED);
		assert_string_equal(fx->res->error[s], want);
	}
	assert_int_equal(fx->f->n_log, 0);
}

/* Every query failed inside dns_lookup(), so the result is complete and
 * only its callback is pending: freeing now must cancel that too (else a
 * timer fires on a freed resolver). */
static void
test_free_before_callback_runs(void **state)
{
	struct fx *fx = *state;

	set_script(fx, NULL, 0);
	assert_int_equal(dns_lookup(fx->r, "zl..test", on_result, fx), 0);
	dns_resolver_free(fx->r);
	fx->r = NULL;
	loop_timer(fx->l, 200, on_stop, fx);
	run(fx);
	assert_int_equal(fx->calls, 0);
	assert_null(fx->res);
}

/* Freeing the resolver from its own callback is allowed. */
static void
on_result_free(void *arg, struct dns_result *r)
{
	struct fx *fx = arg;

	on_result(arg, r);
	dns_resolver_free(fx->r);
	fx->r = NULL;
}

static void
test_free_in_callback(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	assert_int_equal(dns_lookup(fx->r, ZONE, on_result_free, fx), 0);
	fx->settle_ms = 200;
	run(fx);
	assert_int_equal(fx->calls, 1);
	assert_null(fx->r);
	expect_addrs(find(fx->res, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1,
	    "10.0.0.1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_free_while_srv_in_flight),
		T(test_free_while_addr_in_flight),
		T(test_busy_then_reuse),
		T(test_bad_domain_fails_from_loop),
		T(test_free_before_callback_runs),
		T(test_free_in_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
