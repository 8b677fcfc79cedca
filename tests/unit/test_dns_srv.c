/*
 * Unit tests for resolver/dns.c: lookups of the three SRV sets against
 * the fake DNS server of dns_fix.h (in this process, 127.0.0.1 only).
 * What each set's answer, rcode or silence makes of its status, error
 * and records; malformed SRV answers; answers too big for UDP, retried
 * over TCP, and the caps on records and addresses.
 */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ares.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dns.h"
#include "tests/unit/dns_fix.h"

/* error is "<set>.zl.test: <what>". */
static void
expect_error(const struct dns_result *r, enum dns_service s, const char *what)
{
	char want[512];

	snprintf(want, sizeof(want), "%s.%s: %s", dns_service_label(s), ZONE,
	    what);
	assert_int_equal(r->status[s], DNS_FAILED);
	assert_non_null(r->error[s]);
	assert_string_equal(r->error[s], want);
}

/* ---- lookups against the fake ------------------------------------------ */

static void
test_happy(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV,
		    RR_SRV3("h1." ZONE, 2380, 20, 5),
		    RR_SRV3("h2." ZONE, 2381, 10, 0),
		    RR_SRV3("h3." ZONE, 2382, 30, 100)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		ANSWER("h1." ZONE, QT_AAAA, RR_AAAA("fd00::1")),
		ANSWER("h2." ZONE, QT_A, RR_A("10.0.0.20"), RR_A("10.0.0.3"),
		    RR_A("10.0.0.20")),
		NODATA("h2." ZONE, QT_AAAA),
		ANSWER("h3." ZONE, QT_A, RR_A("10.0.0.9")),
		ANSWER("h3." ZONE, QT_AAAA, RR_AAAA("fd00::10"),
		    RR_AAAA("fd00::9")),
		/* ssl and underscore sets: not scripted, so NXDOMAIN */
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	assert_int_equal(r->n, 3);
	/* Answer order, not priority order. */
	assert_string_equal(r->t[0].target, "h1." ZONE);
	assert_string_equal(r->t[1].target, "h2." ZONE);
	assert_string_equal(r->t[2].target, "h3." ZONE);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(r->t[i].svc, DNS_SRV_PLAIN);
		assert_int_equal(r->t[i].port, 2380 + i);
		assert_null(r->t[i].why);
	}
	assert_int_equal(r->t[0].priority, 20);
	assert_int_equal(r->t[0].weight, 5);
	assert_int_equal(r->t[1].priority, 10);
	assert_int_equal(r->t[1].weight, 0);
	assert_int_equal(r->t[2].priority, 30);
	assert_int_equal(r->t[2].weight, 100);
	expect_addrs(&r->t[0], 2, "10.0.0.1", "fd00::1");
	/* The duplicate A answer once; 10.0.0.3 sorts before 10.0.0.20. */
	expect_addrs(&r->t[1], 2, "10.0.0.3", "10.0.0.20");
	expect_addrs(&r->t[2], 3, "10.0.0.9", "fd00::9", "fd00::10");
	/* Each SRV set asked once, each target's A and AAAA once. */
	assert_int_equal(queries(fx->f, SSL_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, US_Q, QT_SRV), 1);
	assert_int_equal(addr_queries(fx->f), 6);
}

static void
test_nodata_is_missing(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		NODATA(SSL_Q, QT_SRV),
		NODATA(PLAIN_Q, QT_SRV),
		ANSWER_C(US_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_MISSING, DNS_OK);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->t[0].svc, DNS_SRV_UNDERSCORE);
	expect_addrs(find(r, DNS_SRV_UNDERSCORE, "h1." ZONE, 2380), 1,
	    "10.0.0.1");
}

/* NOERROR whose answer section holds no SRV record (only a CNAME to a
 * name without SRV records: what a recursive server returns for an alias
 * whose target has no data) is NODATA for the SRV set. */
static void
test_srv_answer_without_srv_is_missing(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_CNAME("elsewhere." ZONE)),
		ANSWER(US_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	assert_int_equal(r->n, 1);
	if (r->status[DNS_SRV_PLAIN] == DNS_OK)
		fail_msg("BUG resolver/dns.c got_srv(): an SRV answer with no "
		    "SRV record (CNAME only) gives DNS_OK with no records; "
		    "dns.h says NODATA is DNS_MISSING");
	expect_status(r, DNS_MISSING, DNS_MISSING, DNS_OK);
}

static void
test_servfail_refused(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(SSL_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		RCODE(PLAIN_Q, QT_SRV, ACT_SERVFAIL),
		RCODE(US_Q, QT_SRV, ACT_REFUSED),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_OK, DNS_FAILED, DNS_FAILED);
	/* The message names the set that failed... */
	assert_true(strncmp(r->error[DNS_SRV_PLAIN], PLAIN_Q ": ",
	    strlen(PLAIN_Q ": ")) == 0);
	assert_true(strncmp(r->error[DNS_SRV_UNDERSCORE], US_Q ": ",
	    strlen(US_Q ": ")) == 0);
	/* ...and says what the server answered: it was reached. */
	if (strstr(r->error[DNS_SRV_PLAIN], ares_strerror(ARES_ECONNREFUSED)))
		fail_msg("BUG resolver/dns.c dns_resolver_new(): without "
		    "ARES_FLAG_NOCHECKRESP c-ares 1.18 turns SERVFAIL/REFUSED "
		    "into ARES_ECONNREFUSED; got \"%s\"",
		    r->error[DNS_SRV_PLAIN]);
	expect_error(r, DNS_SRV_PLAIN, ares_strerror(ARES_ESERVFAIL));
	expect_error(r, DNS_SRV_UNDERSCORE, ares_strerror(ARES_EREFUSED));
	/* A failed set keeps the one that answered. */
	assert_int_equal(r->n, 1);
	expect_addrs(find(r, DNS_SRV_SSL, "h1." ZONE, 2380), 1, "10.0.0.1");
}

static void
test_timeout_all(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RCODE(SSL_Q, QT_SRV, ACT_DROP),
		RCODE(PLAIN_Q, QT_SRV, ACT_DROP),
		RCODE(US_Q, QT_SRV, ACT_DROP),
	};
	const struct dns_result *r;
	int64_t took;

	fx_resolver(fx, 200, 1);
	/* Keep running well past the timeout: a second callback would show. */
	fx->settle_ms = 500;
	r = lookup(fx, script, ARRAY_SIZE(script));
	took = fx->done_ms - fx->start_ms;
	expect_status(r, DNS_FAILED, DNS_FAILED, DNS_FAILED);
	for (int s = 0; s < DNS_SRV_N; s++)
		expect_error(r, (enum dns_service)s,
		    ares_strerror(ARES_ETIMEOUT));
	assert_int_equal(r->n, 0);
	assert_int_equal(fx->calls, 1);
	/* One try of 200 ms each, in parallel. */
	if (took < 190 || took > 1500)
		fail_msg("timed out after %lld ms, expected about 200",
		    (long long)took);
	assert_int_equal(queries(fx->f, SSL_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, US_Q, QT_SRV), 1);
}

/* The etcd 3.4 case from NOTES.md, but with a set that times out: the set
 * fails, the others still come back resolved. */
static void
test_timeout_one_set(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RCODE(SSL_Q, QT_SRV, ACT_DROP),
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r;

	fx_resolver(fx, 200, 1);
	r = lookup(fx, script, ARRAY_SIZE(script));
	expect_status(r, DNS_FAILED, DNS_OK, DNS_MISSING);
	expect_error(r, DNS_SRV_SSL, ares_strerror(ARES_ETIMEOUT));
	assert_int_equal(r->n, 1);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
}

/* ---- malformed SRV answers ------------------------------------------------ */

/* An SRV RR's owner (a pointer to the question), type, class and TTL. */
static void
put_srv_head(struct msg *m)
{
	put16(m, 0xc00c);
	put16(m, QT_SRV);
	put16(m, 1);
	put32(m, 60);
}

/* The message ends inside the RR's fixed part. */
static void
raw_truncated_rr(struct msg *m)
{
	set16(m, 6, 1);
	put16(m, 0xc00c);
	put16(m, QT_SRV);
	put16(m, 1);
}

/* rdlength promises 400 bytes; 18 follow. */
static void
raw_rdlength_past_end(struct msg *m)
{
	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 400);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put_name(m, "h1." ZONE);
}

/* rdlength too short for priority, weight and port. */
static void
raw_rdlength_short(struct msg *m)
{
	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 4);
	put16(m, 10);
	put16(m, 10);
}

/* The target is a compression pointer to itself. */
static void
raw_pointer_self(struct msg *m)
{
	size_t at;

	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 8);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	at = m->len;
	put16(m, 0xc000 | (unsigned)at);
}

/* The target is label "a" and then a pointer back to that label. */
static void
raw_pointer_cycle(struct msg *m)
{
	size_t at;

	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 10);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	at = m->len;
	put8(m, 1);
	put8(m, 'a');
	put16(m, 0xc000 | (unsigned)at);
}

/* The target points past the end of the message. */
static void
raw_pointer_past_end(struct msg *m)
{
	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 8);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put16(m, 0xc000 | 0x3fff);
}

/* The header counts three answers; one follows. */
static void
raw_ancount_lies(struct msg *m)
{
	size_t rdlen_at;

	set16(m, 6, 3);
	put_srv_head(m);
	rdlen_at = m->len;
	put16(m, 0);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put_name(m, "h1." ZONE);
	set16(m, rdlen_at, m->len - rdlen_at - 2);
}

/* A good record, then one whose target loops: nothing of the set may be
 * kept (and h1 not be asked about). */
static void
raw_good_then_bad(struct msg *m)
{
	size_t rdlen_at, at;

	set16(m, 6, 2);
	put_srv_head(m);
	rdlen_at = m->len;
	put16(m, 0);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put_name(m, "h1." ZONE);
	set16(m, rdlen_at, m->len - rdlen_at - 2);
	put_srv_head(m);
	put16(m, 8);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2381);
	at = m->len;
	put16(m, 0xc000 | (unsigned)at);
}

static void
malformed_case(void **state, void (*raw)(struct msg *m))
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RAW(PLAIN_Q, QT_SRV, raw),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_FAILED, DNS_MISSING);
	expect_error(r, DNS_SRV_PLAIN, "malformed SRV answer");
	assert_int_equal(r->n, 0);
	assert_int_equal(addr_queries(fx->f), 0);
}

static void
test_malformed_truncated_rr(void **state)
{
	malformed_case(state, raw_truncated_rr);
}

static void
test_malformed_rdlength_past_end(void **state)
{
	malformed_case(state, raw_rdlength_past_end);
}

static void
test_malformed_rdlength_short(void **state)
{
	malformed_case(state, raw_rdlength_short);
}

static void
test_malformed_pointer_self(void **state)
{
	malformed_case(state, raw_pointer_self);
}

static void
test_malformed_pointer_cycle(void **state)
{
	malformed_case(state, raw_pointer_cycle);
}

static void
test_malformed_pointer_past_end(void **state)
{
	malformed_case(state, raw_pointer_past_end);
}

static void
test_malformed_ancount_lies(void **state)
{
	malformed_case(state, raw_ancount_lies);
}

static void
test_malformed_good_then_bad(void **state)
{
	malformed_case(state, raw_good_then_bad);
}

/* ---- big answers: TC over UDP, then TCP ---------------------------------- */

/* How many queries for (name, type) the fake has seen over TCP (tcp) or
 * over UDP. */
static size_t
queries_over(const struct fake *f, const char *name, unsigned type, bool tcp)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_log; i++)
		n += f->qlog[i].type == type && f->qlog[i].tcp == tcp &&
		    strcmp(f->qlog[i].name, name) == 0;
	return n;
}

static void
test_huge_answer_rejected(void **state)
{
	struct fx *fx = *state;
	enum { N = 300 };
	static char names[N][32];
	struct rr *rrs = calloc(N, sizeof(*rrs));
	struct entry script[1];
	const struct dns_result *r;
	char what[128];

	assert_non_null(rrs);
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "m%zu." ZONE, i);
		rrs[i] = (struct rr)RR_SRV(names[i], 2380);
	}
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = N, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));
	free(rrs);

	/* Truncated over UDP, asked again and served whole over TCP. */
	assert_true(fx->f->n_tc >= 1);
	assert_int_equal(queries_over(fx->f, PLAIN_Q, QT_SRV, false), 1);
	assert_int_equal(queries_over(fx->f, PLAIN_Q, QT_SRV, true), 1);
	snprintf(what, sizeof(what),
	    "answer has %d records, more than the %d accepted", N,
	    DNS_MAX_RECORDS);
	expect_status(r, DNS_MISSING, DNS_FAILED, DNS_MISSING);
	expect_error(r, DNS_SRV_PLAIN, what);
	assert_non_null(strstr(r->error[DNS_SRV_PLAIN],
	    "more than the 256 accepted"));
	assert_int_equal(r->n, 0);
	assert_int_equal(addr_queries(fx->f), 0);
}

static void
test_big_answer_accepted(void **state)
{
	struct fx *fx = *state;
	enum { N = 200, HOSTS = 20 };
	static char names[HOSTS][32], addrs[HOSTS][32];
	struct rr *rrs = calloc(N + HOSTS, sizeof(*rrs));
	struct entry script[1 + HOSTS];
	const struct dns_result *r;

	assert_non_null(rrs);
	memset(script, 0, sizeof(script));
	for (size_t h = 0; h < HOSTS; h++) {
		snprintf(names[h], sizeof(names[h]), "n%02zu." ZONE, h);
		snprintf(addrs[h], sizeof(addrs[h]), "10.2.0.%zu", h + 1);
		rrs[N + h] = (struct rr)RR_A(addrs[h]);
		script[1 + h] = (struct entry){ .qname = names[h],
		    .qtype = QT_A, .act = ACT_ANSWER, .rr = &rrs[N + h],
		    .n_rr = 1 };
	}
	/* 200 records over 20 targets: also 20 A queries, not 200. */
	for (size_t i = 0; i < N; i++)
		rrs[i] = (struct rr)RR_SRV(names[i % HOSTS],
		    (unsigned)(3000 + i));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = N, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));

	assert_true(fx->f->n_tc >= 1);
	assert_int_equal(queries_over(fx->f, PLAIN_Q, QT_SRV, true), 1);
	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	assert_int_equal(r->n, N);
	for (size_t i = 0; i < N; i++) {
		assert_string_equal(r->t[i].target, names[i % HOSTS]);
		assert_int_equal(r->t[i].port, 3000 + i);
		expect_addrs(&r->t[i], 1, addrs[i % HOSTS]);
		assert_null(r->t[i].why);
	}
	for (size_t h = 0; h < HOSTS; h++) {
		assert_int_equal(queries(fx->f, names[h], QT_A), 1);
		assert_int_equal(queries(fx->f, names[h], QT_AAAA), 1);
	}
	assert_int_equal(addr_queries(fx->f), 2 * HOSTS);
	free(rrs);
}

/* At most DNS_MAX_ADDRS addresses per target and family. */
static void
test_addr_cap(void **state)
{
	struct fx *fx = *state;
	enum { N = 20 };
	static char a4[N][32], a6[N][48];
	struct rr *rrs = calloc(2 * N + 1, sizeof(*rrs));
	struct entry script[3];
	const struct dns_result *r;
	const struct dns_target *t;

	assert_non_null(rrs);
	for (size_t i = 0; i < N; i++) {
		snprintf(a4[i], sizeof(a4[i]), "10.3.0.%zu", i + 1);
		snprintf(a6[i], sizeof(a6[i]), "fd00::3:%zx", i + 1);
		rrs[i] = (struct rr)RR_A(a4[i]);
		rrs[N + i] = (struct rr)RR_AAAA(a6[i]);
	}
	rrs[2 * N] = (struct rr)RR_SRV("h1." ZONE, 2380);
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = &rrs[2 * N], .n_rr = 1 };
	script[1] = (struct entry){ .qname = "h1." ZONE, .qtype = QT_A,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = N, .compress = true };
	script[2] = (struct entry){ .qname = "h1." ZONE, .qtype = QT_AAAA,
	    .act = ACT_ANSWER, .rr = &rrs[N], .n_rr = N, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));
	free(rrs);

	t = find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380);
	assert_int_equal(t->n_addrs, 2 * DNS_MAX_ADDRS);
	for (size_t i = 0; i < t->n_addrs; i++) {
		bool v6 = strchr(t->addrs[i], ':') != NULL;

		assert_int_equal(v6, i >= DNS_MAX_ADDRS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_happy),
		T(test_nodata_is_missing),
		T(test_srv_answer_without_srv_is_missing),
		T(test_servfail_refused),
		T(test_timeout_all),
		T(test_timeout_one_set),
		T(test_malformed_truncated_rr),
		T(test_malformed_rdlength_past_end),
		T(test_malformed_rdlength_short),
		T(test_malformed_pointer_self),
		T(test_malformed_pointer_cycle),
		T(test_malformed_pointer_past_end),
		T(test_malformed_ancount_lies),
		T(test_malformed_good_then_bad),
		T(test_huge_answer_rejected),
		T(test_big_answer_accepted),
		T(test_addr_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
