#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metrics.h"
#include "lib/httpd.h"
#include "lib/log.h"
#include "lib/prom.h"
#include "lib/xmalloc.h"

/* The metrics page's pieces: the text writer (lib/prom.h), the request
 * parser and listen address of the server (lib/httpd.h), and the
 * agent's shared families (agent/metrics.h). */

/* ---- the text writer ------------------------------------------------ */

static void
test_prom_family(void **state)
{
	struct prom p = { 0 };
	char *s;

	(void)state;
	prom_family(&p, "zooinit_x_total", PROM_COUNTER, "Things done.");
	prom_sample(&p, NULL, 3);
	prom_family(&p, "zooinit_y", PROM_GAUGE, "Per service.");
	prom_sample(&p, (const char *[]){ "service", "zk", NULL }, 1);
	prom_sample(&p, (const char *[]){ "service", "pg", "state", "up",
	    NULL }, 0);
	s = prom_take(&p);
	assert_string_equal(s,
	    "# HELP zooinit_x_total Things done.\n"
	    "# TYPE zooinit_x_total counter\n"
	    "zooinit_x_total 3\n"
	    "# HELP zooinit_y Per service.\n"
	    "# TYPE zooinit_y gauge\n"
	    "zooinit_y{service=\"zk\"} 1\n"
	    "zooinit_y{service=\"pg\",state=\"up\"} 0\n");
	free(s);
	assert_false(p.bad);
}

/* A family without samples leaves nothing, not even its header. */
static void
test_prom_empty_family(void **state)
{
	struct prom p = { 0 };
	char *s;

	(void)state;
	prom_family(&p, "zooinit_none", PROM_GAUGE, "Nothing.");
	prom_family(&p, "zooinit_some", PROM_UNTYPED, "Some.");
	prom_sample(&p, NULL, 1);
	s = prom_take(&p);
	assert_string_equal(s, "# HELP zooinit_some Some.\n"
	    "# TYPE zooinit_some untyped\nzooinit_some 1\n");
	free(s);
}

static void
test_prom_escaping(void **state)
{
	struct prom p = { 0 };
	char *s;

	(void)state;
	prom_family(&p, "m", PROM_GAUGE, "a \\ b\nc \"q\"");
	prom_sample(&p, (const char *[]){ "l", "x\\y\"z\nw", NULL }, 2);
	prom_sample(&p, (const char *[]){ "l", "", NULL }, 1);
	prom_sample(&p, (const char *[]){ "l", "h\xc3\xa9", NULL }, 1);
	s = prom_take(&p);
	/* HELP escapes backslash and newline only; label values also the
	 * double quote; UTF-8 passes as it is. */
	assert_string_equal(s,
	    "# HELP m a \\\\ b\\nc \"q\"\n"
	    "# TYPE m gauge\n"
	    "m{l=\"x\\\\y\\\"z\\nw\"} 2\n"
	    "m{l=\"\"} 1\n"
	    "m{l=\"h\xc3\xa9\"} 1\n");
	free(s);
}

static void
test_prom_values(void **state)
{
	struct prom p = { 0 };
	double zero = 0;
	char *s;

	(void)state;
	prom_family(&p, "v", PROM_GAUGE, "Values.");
	prom_sample(&p, NULL, 0);
	prom_sample(&p, NULL, -7);
	prom_sample(&p, NULL, 1.5);
	prom_sample(&p, NULL, 0.1);
	prom_sample(&p, NULL, 18446744073709551615.0);
	prom_sample(&p, NULL, 1.0 / zero);
	prom_sample(&p, NULL, -1.0 / zero);
	prom_sample(&p, NULL, zero / zero);
	s = prom_take(&p);
	assert_string_equal(s, "# HELP v Values.\n# TYPE v gauge\n"
	    "v 0\nv -7\nv 1.5\nv 0.1\nv 1.8446744073709552e+19\nv +Inf\n"
	    "v -Inf\nv NaN\n");
	free(s);
}

/* Bad names and a family begun twice are refused and flagged. */
static void
test_prom_refuses(void **state)
{
	struct prom p = { 0 };
	char *s;

	(void)state;
	assert_true(prom_metric_name_valid("zooinit_a:b_1"));
	assert_false(prom_metric_name_valid("1abc"));
	assert_false(prom_metric_name_valid("a-b"));
	assert_false(prom_metric_name_valid(""));
	assert_true(prom_label_name_valid("service"));
	assert_false(prom_label_name_valid("__name"));
	assert_false(prom_label_name_valid("a:b"));

	prom_family(&p, "bad-name", PROM_GAUGE, "x");
	prom_sample(&p, NULL, 1);
	assert_true(p.bad);
	prom_family(&p, "ok", PROM_GAUGE, "x");
	prom_sample(&p, (const char *[]){ "bad label", "v", NULL }, 1);
	prom_sample(&p, NULL, 2);
	prom_family(&p, "ok", PROM_GAUGE, "again");
	prom_sample(&p, NULL, 3);
	s = prom_take(&p);
	assert_string_equal(s, "# HELP ok x\n# TYPE ok gauge\nok 2\n");
	free(s);
	assert_false(p.bad);	/* reset by prom_take() */
}

/* ---- the request parser --------------------------------------------- */

#define PARSE(s, r) httpd_parse((s), sizeof(s) - 1, (r))

static void
test_parse_good(void **state)
{
	struct httpd_req r;

	(void)state;
	assert_int_equal(PARSE("GET /metrics HTTP/1.1\r\nHost: a\r\n"
	    "Accept: text/plain;version=0.0.4\r\n\r\n", &r), 200);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/metrics");
	assert_int_equal(r.minor, 1);
	/* Bare LFs, HTTP/1.0, no headers, a query string. */
	assert_int_equal(PARSE("HEAD /metrics?x=1&y HTTP/1.0\n\n", &r), 200);
	assert_string_equal(r.method, "HEAD");
	assert_string_equal(r.path, "/metrics");
	assert_int_equal(r.minor, 0);
	/* Other methods parse; the server answers them 405. */
	assert_int_equal(PARSE("DELETE / HTTP/1.1\r\n\r\n", &r), 200);
	assert_string_equal(r.method, "DELETE");
	/* A body after the head is not the parser's business. */
	assert_int_equal(PARSE("GET / HTTP/1.1\r\n\r\nbody", &r), 200);
}

static void
test_parse_incomplete(void **state)
{
	struct httpd_req r;

	(void)state;
	assert_int_equal(httpd_parse("", 0, &r), 0);
	assert_int_equal(PARSE("GET /met", &r), 0);
	assert_int_equal(PARSE("GET /metrics HTTP/1.1\r\n", &r), 0);
	assert_int_equal(PARSE("GET /metrics HTTP/1.1\r\nHost: a\r\n", &r),
	    0);
	assert_int_equal(PARSE("GET /metrics HTTP/1.1\r\nHost: a\r\n\r",
	    &r), 0);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"\r\n\r\n",
		" GET / HTTP/1.1\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n",
		"GET http://h/metrics HTTP/1.1\r\n\r\n",
		"GET /\x01 HTTP/1.1\r\n\r\n",
		"GET /\xff HTTP/1.1\r\n\r\n",
		"GET / FTP/1.1\r\n\r\n",
		"GET / HTTP/1\r\n\r\n",
		"GET / HTTP/1.1x\r\n\r\n",
		"GET /\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GETTINGALONGMETHOD / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nno colon\r\n\r\n",
		"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET / HTTP/1.1\r\nName : space\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n",
		NULL,
	};
	struct httpd_req r;

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (httpd_parse(bad[i], strlen(bad[i]), &r) != 400)
			fail_msg("not 400: \"%s\"", bad[i]);
	}
	/* A NUL in a header. */
	assert_int_equal(httpd_parse("GET / HTTP/1.1\r\nA: \0\r\n\r\n", 22,
	    &r), 400);
	/* A bad request line is answered before the head ends. */
	assert_int_equal(PARSE("POST\r\n", &r), 400);
	assert_int_equal(PARSE("GET / HTTP/2.0\r\n\r\n", &r), 505);
	assert_int_equal(PARSE("GET / HTTP/1.2\r\n\r\n", &r), 505);
	assert_int_equal(PARSE("GET / HTTP/0.9\r\n\r\n", &r), 505);
}

/* Hostile sizes: a huge header, a target too long, no line end. */
static void
test_parse_huge(void **state)
{
	size_t n = 3 * HTTPD_REQ_MAX;
	char *buf = xmalloc(n);
	struct httpd_req r;
	int len;

	(void)state;
	len = snprintf(buf, n, "GET /metrics HTTP/1.1\r\nX: ");
	memset(buf + len, 'a', n - (size_t)len);
	assert_int_equal(httpd_parse(buf, HTTPD_REQ_MAX - 1, &r), 0);
	assert_int_equal(httpd_parse(buf, HTTPD_REQ_MAX, &r), 431);
	assert_int_equal(httpd_parse(buf, n, &r), 431);
	/* No CRLF at all. */
	memset(buf, 'G', n);
	assert_int_equal(httpd_parse(buf, HTTPD_REQ_MAX / 2, &r), 0);
	assert_int_equal(httpd_parse(buf, HTTPD_REQ_MAX, &r), 431);
	/* A head that ends just past the limit is still too large. */
	len = snprintf(buf, n, "GET / HTTP/1.1\r\nX: ");
	memset(buf + len, 'b', HTTPD_REQ_MAX);
	memcpy(buf + HTTPD_REQ_MAX - 2, "\r\n\r\n", 4);
	assert_int_equal(httpd_parse(buf, HTTPD_REQ_MAX + 2, &r), 431);
	/* A target of HTTPD_PATH_MAX bytes. */
	len = snprintf(buf, n, "GET /");
	memset(buf + len, 'p', HTTPD_PATH_MAX);
	len += HTTPD_PATH_MAX;
	len += snprintf(buf + len, n - (size_t)len, " HTTP/1.1\r\n\r\n");
	assert_int_equal(httpd_parse(buf, (size_t)len, &r), 414);
	free(buf);
}

/* ---- the listen address --------------------------------------------- */

static void
test_split_listen(void **state)
{
	static const char *const bad[] = {
		"", "9100", ":9100", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0",
		"10.0.0.1:65536", "10.0.0.1:91a", "10.0.0.1: 91",
		"::1:9100", "[::1]", "[::1]9100", "[10.0.0.1]:9100",
		"[nothost]:9100", "a b:9100", "-host:9100", "host-:9100",
		"a..b:9100", "h/x:9100", "[]:9100", "10.0.0.1:+9100",
		NULL,
	};
	char host[64], err[256];
	unsigned port;

	(void)state;
	assert_int_equal(httpd_split_listen("10.0.0.1:9100", host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 9100);
	assert_int_equal(httpd_split_listen("[::1]:1", host, sizeof(host),
	    &port, err, sizeof(err)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1);
	assert_int_equal(httpd_split_listen("[fd00::a:b]:65535", host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "fd00::a:b");
	assert_int_equal(httpd_split_listen("localhost:9100", host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_int_equal(httpd_split_listen("mon.example.com:9100", host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "mon.example.com");
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (httpd_split_listen(bad[i], host, sizeof(host), &port, err,
		    sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(httpd_split_listen("x", host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[::1]:9100"));
	assert_non_null(strstr(err, "found \"x\""));
	/* A host longer than the buffer. */
	assert_int_equal(httpd_split_listen("abcdefghij.example:1", host, 8,
	    &port, err, sizeof(err)), -1);
}

/* ---- the agent's families ------------------------------------------- */

static void
test_day2_and_services(void **state)
{
	struct day2_stats d = { 0 };
	struct prom p = { 0 };
	char *s;

	(void)state;
	d.snap.taken_total = 4;
	d.snap.last_bytes = 20480;
	d.snap.last_unix = 1700000000;
	d.snap.last_seconds = 0.25;
	d.maint.nospace_alarms_total = 1;
	metrics_write_start(&p, 1690000000);
	metrics_write_day2(&p, &d);
	metrics_write_services(&p, NULL);	/* no services: nothing */
	s = prom_take(&p);
	assert_non_null(strstr(s, "\nzooinit_start_time_seconds 1690000000\n"));
	assert_non_null(strstr(s, "\nzooinit_snapshots_taken_total 4\n"));
	assert_non_null(strstr(s,
	    "\nzooinit_snapshot_last_size_bytes 20480\n"));
	assert_non_null(strstr(s,
	    "\nzooinit_snapshot_last_timestamp_seconds 1700000000\n"));
	assert_non_null(strstr(s,
	    "\nzooinit_snapshot_last_duration_seconds 0.25\n"));
	assert_non_null(strstr(s, "\nzooinit_nospace_alarms_total 1\n"));
	assert_non_null(strstr(s,
	    "# TYPE zooinit_defrags_total counter\n"));
	assert_null(strstr(s, "zooinit_service"));
	assert_null(strstr(s, "zooinit_hook"));
	free(s);
	assert_false(p.bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_family),
		cmocka_unit_test(test_prom_empty_family),
		cmocka_unit_test(test_prom_escaping),
		cmocka_unit_test(test_prom_values),
		cmocka_unit_test(test_prom_refuses),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_incomplete),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_huge),
		cmocka_unit_test(test_split_listen),
		cmocka_unit_test(test_day2_and_services),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
