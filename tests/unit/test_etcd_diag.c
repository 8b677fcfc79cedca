/* etcd/version.c: the version line of `etcd --version` as each release
 * prints it, and probing a program for it. etcd/diag.c: how an etcd that refuses its
 * flags exits. */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "etcd/diag.h"
#include "lib/sup.h"
#include "etcd/version.h"

static void
test_parse_releases(void **state)
{
	struct etcd_version v;
	char buf[32];

	(void)state;
	/* What Debian's 3.4 and a 3.7 built from the module proxy print. */
	assert_int_equal(etcd_version_parse("etcd Version: 3.4.23\nGit SHA: "
	    "Not provided\nGo Version: go1.19.8\n", &v), 0);
	assert_string_equal(etcd_version_str(&v, buf, sizeof(buf)), "3.4.23");
	assert_true(etcd_version_has_v2(&v));
	assert_int_equal(etcd_version_parse("something first\netcd Version: "
	    "3.7.3\nGo OS/Arch: linux/amd64\n", &v), 0);
	assert_int_equal(v.major, 3);
	assert_int_equal(v.minor, 7);
	assert_int_equal(v.patch, 3);
	assert_false(etcd_version_has_v2(&v));
	assert_int_equal(etcd_version_parse("etcd Version: 3.5.21", &v), 0);
	assert_true(etcd_version_has_v2(&v));
	assert_int_equal(etcd_version_cmp(&v, 3, 6), -1);
	assert_int_equal(etcd_version_cmp(&v, 3, 5), 0);
	assert_int_equal(etcd_version_cmp(&v, 3, 4), 1);
}

static void
test_parse_refuses(void **state)
{
	struct etcd_version v;

	(void)state;
	assert_int_equal(etcd_version_parse("", &v), -1);
	assert_int_equal(etcd_version_parse("etcdctl version: 3.4.23\n", &v),
	    -1);
	assert_int_equal(etcd_version_parse("etcd Version: x.y.z\n", &v), -1);
	assert_int_equal(etcd_version_parse(" etcd Version: 3.4.1\n", &v), -1);
}

/* A stand-in program that prints what a given etcd would. */
static char *
script(const char *body)
{
	/* mkstemp() replaces the template's six X's with a unique name. */
	char *path = strdup("/tmp/zooinit-etcdver-XXXXXX");
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static void
test_probe(void **state)
{
	struct etcd_version v;
	char err[256], *ok, *bad;

	(void)state;
	ok = script("echo 'etcd Version: 3.6.16'; echo 'Go Version: go1.24'");
	assert_int_equal(etcd_version_probe(ok, &v, err, sizeof(err)), 0);
	assert_int_equal(v.minor, 6);
	assert_int_equal(v.patch, 16);
	bad = script("echo 'Usage: not etcd'");
	assert_int_equal(etcd_version_probe(bad, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, bad));
	assert_non_null(strstr(err, "is it etcd?"));
	unlink(ok);
	unlink(bad);
	free(ok);
	free(bad);
	assert_int_equal(etcd_version_probe("/nonexistent/etcd", &v, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/etcd"));
}

/* etcd 3.4 and 3.7 both exit 2 for an unknown flag (etcd 3.6+ and
 * --enable-v2) and for a bad value; 1 for a port taken or a stale member. */
static void
test_refused_flags(void **state)
{
	struct sup_exit ex = { .status = 2 << 8, .ran_ms = 30, .starts = 1 };

	(void)state;
	assert_true(etcd_exited_at_once(&ex));
	assert_true(etcd_refused_flags(&ex));
	ex.status = 1 << 8;
	assert_true(etcd_exited_at_once(&ex));
	assert_false(etcd_refused_flags(&ex));
	ex.status = 2 << 8;
	ex.starts = 2;		/* a restart: the flags worked before */
	assert_false(etcd_exited_at_once(&ex));
	assert_false(etcd_refused_flags(&ex));
	ex.starts = 1;
	ex.ran_ms = ETCD_AT_ONCE_MS;	/* ran a while: a crash */
	assert_false(etcd_refused_flags(&ex));
	ex.ran_ms = 10;
	ex.status = 9;		/* killed by a signal */
	assert_false(etcd_exited_at_once(&ex));
	ex.status = -1;		/* no exit at all */
	assert_false(etcd_refused_flags(&ex));
}

/* A removed member stops with status 0, on its first run after a long
 * time and at once on every restart. */
static void
test_exited_zero(void **state)
{
	struct sup_exit ex = { .status = 0, .ran_ms = 35000, .starts = 1 };

	(void)state;
	assert_true(etcd_exited_zero(&ex));
	assert_false(etcd_exited_zero_at_once(&ex));
	ex.ran_ms = 200;
	ex.starts = 7;
	assert_true(etcd_exited_zero_at_once(&ex));
	assert_false(etcd_exited_at_once(&ex));	/* not the first start */
	ex.status = 1 << 8;
	assert_false(etcd_exited_zero(&ex));
	assert_false(etcd_exited_zero_at_once(&ex));
	ex.status = 15;				/* SIGTERM */
	assert_false(etcd_exited_zero(&ex));
	ex.status = -1;
	assert_false(etcd_exited_zero(&ex));
	assert_false(etcd_exited_zero(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_releases),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_refused_flags),
		cmocka_unit_test(test_exited_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
