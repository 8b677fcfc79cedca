/*
 * Unit tests for resolver/dns.c: the targets of SRV records, against the
 * fake DNS server of dns_fix.h (in this process, 127.0.0.1 only). Hostile
 * and odd target names, which are kept but never asked about; the A and
 * AAAA lookups of valid targets and their failures; and the names that
 * go on the wire.
 */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ares.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dns.h"
#include "tests/unit/dns_fix.h"

static void
expect_no_addrs(const struct dns_target *t, const char *why)
{
	assert_int_equal(t->n_addrs, 0);
	assert_null(t->addrs);
	if (t->why == NULL)
		fail_msg("%s: why is NULL, expected \"%s\"", t->target, why);
	assert_string_equal(t->why, why);
}

/* ---- hostile and odd targets --------------------------------------------- */

static void
fill_labels(char *out, size_t n_labels, const size_t *lens)
{
	size_t o = 0;

	for (size_t i = 0; i < n_labels; i++) {
		if (i > 0)
			out[o++] = '.';
		memset(out + o, 'a' + (int)i, lens[i]);
		o += lens[i];
	}
	out[o] = '\0';
}

static void
test_hostile_targets(void **state)
{
	struct fx *fx = *state;
	static char n255[256], n319[320];
	static const size_t l255[] = { 63, 63, 63, 63 };
	static const size_t l319[] = { 63, 63, 63, 63, 63 };
	/* Each in the presentation form c-ares hands back: reserved
	 * characters as \c, bytes outside printable ASCII as \DDD. */
	const char *hostile[] = {
		"a\\;b." ZONE,		/* shell metacharacter */
		"x/y." ZONE,		/* path separator */
		"\\.\\./etc",		/* one label "../etc" */
		"a b." ZONE,		/* space */
		"a\\010b." ZONE,	/* newline */
		"a\\000b." ZONE,	/* NUL */
		"10\\.0\\.0\\.7",	/* one label that reads as an IPv4 */
		"h1\\." ZONE,		/* a dot inside a label */
		"-h." ZONE,		/* leading hyphen */
		"",			/* the root: "service not offered" */
		n255,			/* 255 bytes: over the 253 of a name */
	};
	enum { NH = ARRAY_SIZE(hostile) };
	struct rr rrs[NH + 2];
	struct entry script[2];
	const struct dns_result *r;

	fill_labels(n255, 4, l255);
	fill_labels(n319, 5, l319);
	assert_int_equal(strlen(n255), 255);
	for (size_t i = 0; i < NH; i++)
		rrs[i] = (struct rr)RR_SRV(hostile[i], (unsigned)(2400 + i));
	rrs[NH] = (struct rr)RR_SRV(n319, 2399);
	rrs[NH + 1] = (struct rr)RR_SRV("ok." ZONE, 2380);
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = ARRAY_SIZE(rrs) };
	script[1] = (struct entry)ANSWER("ok." ZONE, QT_A, RR_A("10.0.0.5"));
	r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	assert_int_equal(r->n, NH + 2);
	/* Every record kept, in answer order, with its raw target; none
	 * resolved, each saying why. */
	for (size_t i = 0; i < NH; i++) {
		assert_string_equal(r->t[i].target, hostile[i]);
		assert_int_equal(r->t[i].port, 2400 + i);
		expect_no_addrs(&r->t[i], "not a valid host name");
	}
	/* Longer than any name may be: kept cut to 255 bytes (dns.c keeps
	 * "at most a host name's worth"), still not resolved. */
	assert_int_equal(strlen(r->t[NH].target), 255);
	assert_memory_equal(r->t[NH].target, n319, 255);
	expect_no_addrs(&r->t[NH], "not a valid host name");
	expect_addrs(find(r, DNS_SRV_PLAIN, "ok." ZONE, 2380), 1, "10.0.0.5");

	/* Only the valid target was asked about. */
	for (size_t i = 0; i < fx->f->n_log; i++) {
		const struct qlog *q = &fx->f->qlog[i];

		if (q->type != QT_SRV && strcmp(q->name, "ok." ZONE) != 0)
			fail_msg("query type %u sent for hostile name \"%s\"",
			    q->type, q->name);
	}
	assert_int_equal(queries(fx->f, "ok." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "ok." ZONE, QT_AAAA), 1);
	assert_int_equal(addr_queries(fx->f), 2);
}

/* The longest valid name (253 bytes) is asked about and resolves. */
static void
test_longest_valid_name(void **state)
{
	struct fx *fx = *state;
	static char n253[254];
	static const size_t lens[] = { 63, 63, 63, 61 };
	struct rr rrs[2];
	struct entry script[2];
	const struct dns_result *r;

	fill_labels(n253, 4, lens);
	assert_int_equal(strlen(n253), 253);
	rrs[0] = (struct rr)RR_SRV(n253, 2380);
	rrs[1] = (struct rr)RR_A("10.0.0.253");
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = &rrs[0], .n_rr = 1 };
	/* Compressed, the answer fits in 512 bytes: one query each, UDP. */
	script[1] = (struct entry){ .qname = n253, .qtype = QT_A,
	    .act = ACT_ANSWER, .rr = &rrs[1], .n_rr = 1, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	expect_addrs(find(r, DNS_SRV_PLAIN, n253, 2380), 1, "10.0.0.253");
	assert_int_equal(queries(fx->f, n253, QT_A), 1);
	assert_int_equal(queries(fx->f, n253, QT_AAAA), 1);
}

static void
test_ipv4_literal_target(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("10.0.0.7", 2380),
		    RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		/* Would be wrong to use: the literal is the address. */
		ANSWER("10.0.0.7", QT_A, RR_A("10.9.9.9")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));
	const struct dns_target *t;

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	t = find(r, DNS_SRV_PLAIN, "10.0.0.7", 2380);
	expect_addrs(t, 1, "10.0.0.7");
	assert_null(t->why);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
	assert_int_equal(queries(fx->f, "10.0.0.7", QT_A), 0);
	assert_int_equal(queries(fx->f, "10.0.0.7", QT_AAAA), 0);
	assert_int_equal(addr_queries(fx->f), 2);
}

/* ---- address lookups -------------------------------------------------------- */

static void
test_target_without_address(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h2." ZONE, 2380), RR_SRV("h3." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		ANSWER("h3." ZONE, QT_AAAA, RR_AAAA("fd00::3")),
		/* h2: NXDOMAIN on A and AAAA (not scripted) */
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
	assert_null(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380)->why);
	expect_no_addrs(find(r, DNS_SRV_PLAIN, "h2." ZONE, 2380),
	    "no A/AAAA record");
	expect_addrs(find(r, DNS_SRV_PLAIN, "h3." ZONE, 2380), 1, "fd00::3");
	assert_null(find(r, DNS_SRV_PLAIN, "h3." ZONE, 2380)->why);
	assert_int_equal(queries(fx->f, "h2." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "h2." ZONE, QT_AAAA), 1);
}

static void
test_address_servfail(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h2." ZONE, 2380), RR_SRV("h3." ZONE, 2380)),
		/* h1: the A query fails, AAAA is NXDOMAIN (default). */
		RCODE("h1." ZONE, QT_A, ACT_SERVFAIL),
		/* h2: the same, but the failure arrives last. */
		{ .qname = "h2." ZONE, .qtype = QT_A, .act = ACT_SERVFAIL,
		    .delay_ms = 100 },
		/* h3: A answers, AAAA fails: the address is what counts. */
		ANSWER("h3." ZONE, QT_A, RR_A("10.0.0.3")),
		RCODE("h3." ZONE, QT_AAAA, ACT_SERVFAIL),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));
	const char *names[] = { "h1." ZONE, "h2." ZONE };
	const struct dns_target *t;

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		t = find(r, DNS_SRV_PLAIN, names[i], 2380);
		assert_int_equal(t->n_addrs, 0);
		assert_non_null(t->why);
		if (strcmp(t->why, "no A/AAAA record") == 0)
			fail_msg("%s: a failed A query reads \"no A/AAAA "
			    "record\"", names[i]);
		if (strcmp(t->why, ares_strerror(ARES_ECONNREFUSED)) == 0)
			fail_msg("BUG resolver/dns.c dns_resolver_new(): "
			    "SERVFAIL on %s's A query reads \"%s\" (c-ares "
			    "1.18 without ARES_FLAG_NOCHECKRESP)", names[i],
			    t->why);
		assert_string_equal(t->why, ares_strerror(ARES_ESERVFAIL));
	}
	t = find(r, DNS_SRV_PLAIN, "h3." ZONE, 2380);
	expect_addrs(t, 1, "10.0.0.3");
	assert_null(t->why);
}

static void
test_same_target_twice(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h1." ZONE, 2381), RR_SRV("h2." ZONE, 2380)),
		ANSWER(US_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		ANSWER("h1." ZONE, QT_AAAA, RR_AAAA("fd00::1")),
		ANSWER("h2." ZONE, QT_A, RR_A("10.0.0.2")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_OK);
	assert_int_equal(r->n, 4);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 2, "10.0.0.1",
	    "fd00::1");
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2381), 2, "10.0.0.1",
	    "fd00::1");
	expect_addrs(find(r, DNS_SRV_UNDERSCORE, "h1." ZONE, 2380), 2,
	    "10.0.0.1", "fd00::1");
	expect_addrs(find(r, DNS_SRV_PLAIN, "h2." ZONE, 2380), 1, "10.0.0.2");
	for (size_t i = 0; i < r->n; i++)
		assert_null(r->t[i].why);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_AAAA), 1);
	assert_int_equal(addr_queries(fx->f), 4);
}

/* A target listed twice whose A and AAAA answers are a CNAME to a name
 * without addresses (NOERROR, no address): neither record has an address,
 * so each must say why. */
static void
test_same_target_twice_no_address(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("c1." ZONE, 2380)),
		ANSWER(US_Q, QT_SRV, RR_SRV("c1." ZONE, 2380)),
		ANSWER("c1." ZONE, QT_A, RR_CNAME("gone." ZONE)),
		ANSWER("c1." ZONE, QT_AAAA, RR_CNAME("gone." ZONE)),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));
	const struct dns_target *t;

	expect_status(r, DNS_MISSING, DNS_OK, DNS_OK);
	assert_int_equal(queries(fx->f, "c1." ZONE, QT_A), 1);
	expect_no_addrs(find(r, DNS_SRV_PLAIN, "c1." ZONE, 2380),
	    "no A/AAAA record");
	t = find(r, DNS_SRV_UNDERSCORE, "c1." ZONE, 2380);
	assert_int_equal(t->n_addrs, 0);
	if (t->why == NULL)
		fail_msg("BUG resolver/dns.c resolve_targets(): the second "
		    "record for c1 has n_addrs 0 and why NULL (only the "
		    "first record of a name gets the initial why)");
	assert_string_equal(t->why, "no A/AAAA record");
}

/* ---- what goes on the wire ---------------------------------------------- */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Every query is for a fully qualified name in the zone: no search domain
 * appended, even with one in the environment and ndots high. */
static void
test_queries_are_fqdn(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r;

	setenv("LOCALDOMAIN", "search.invalid", 1);
	setenv("RES_OPTIONS", "ndots:9", 1);
	fx_resolver(fx, QUERY_TIMEOUT_MS, 1);
	unsetenv("LOCALDOMAIN");
	unsetenv("RES_OPTIONS");
	r = lookup(fx, script, ARRAY_SIZE(script));

	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
	assert_int_equal(fx->f->n_log, 5);
	for (size_t i = 0; i < fx->f->n_log; i++) {
		const char *n = fx->f->qlog[i].name;

		if (!ends_with(n, "." ZONE) || strstr(n, "invalid") != NULL)
			fail_msg("query for \"%s\" is not under %s", n, ZONE);
	}
	assert_int_equal(queries(fx->f, SSL_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, US_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_AAAA), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hostile_targets),
		T(test_longest_valid_name),
		T(test_ipv4_literal_target),
		T(test_target_without_address),
		T(test_address_servfail),
		T(test_same_target_twice),
		T(test_same_target_twice_no_address),
		T(test_queries_are_fqdn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
