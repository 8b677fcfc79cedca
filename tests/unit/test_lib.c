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

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/str.h"
#include "lib/url.h"
#include "lib/xmalloc.h"

/* The ground floor's string and URL helpers (lib/str.h, lib/url.h). */

/* ---- sbuf ----------------------------------------------------------- */

static void
test_sbuf_empty(void **state)
{
	struct sbuf b = { 0 };
	char *s;

	(void)state;
	assert_string_equal(sb_str(&b), "");
	s = sb_take(&b);
	assert_string_equal(s, "");
	free(s);
	sb_free(&b);
	assert_null(b.p);
	/* An empty add still gives a terminated string. */
	sb_putn(&b, "x", 0);
	assert_string_equal(sb_str(&b), "");
	assert_int_equal(b.len, 0);
	sb_free(&b);
}

/* Growth far past the first allocation keeps every byte, in order. */
static void
test_sbuf_growth(void **state)
{
	struct sbuf b = { 0 };
	char want[16];
	size_t off = 0;

	(void)state;
	for (int i = 0; i < 5000; i++)
		sb_printf(&b, "%d,", i);
	assert_int_equal(strlen(sb_str(&b)), b.len);
	assert_true(b.cap > b.len);
	for (int i = 0; i < 5000; i++) {
		snprintf(want, sizeof(want), "%d,", i);
		assert_memory_equal(b.p + off, want, strlen(want));
		off += strlen(want);
	}
	assert_int_equal(off, b.len);
	sb_puts(&b, "end");
	assert_string_equal(b.p + b.len - 3, "end");
	sb_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

/* Bytes after a NUL are kept by sb_putn. */
static void
test_sbuf_putn_nul(void **state)
{
	struct sbuf b = { 0 };

	(void)state;
	sb_putn(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "a\0b", 4);
	sb_free(&b);
}

static void
test_sbuf_capped(void **state)
{
	struct sbuf b = { .max = 10 };
	char *s;

	(void)state;
	sb_puts(&b, "12345");
	assert_string_equal(sb_str(&b), "12345");
	sb_puts(&b, "67890");		/* exactly full: no cut */
	assert_string_equal(sb_str(&b), "1234567890");
	sb_puts(&b, "X");		/* over: the end says so */
	assert_string_equal(sb_str(&b), "1234567...");
	assert_int_equal(b.len, 10);
	assert_true(b.cap <= 11);
	sb_printf(&b, "%s", "more");	/* stays cut */
	assert_string_equal(sb_str(&b), "1234567...");
	/* take keeps the cap for the next use. */
	s = sb_take(&b);
	assert_string_equal(s, "1234567...");
	free(s);
	assert_int_equal(b.max, 10);
	sb_printf(&b, "%s-%d", "abcdefghij", 42);
	assert_string_equal(sb_str(&b), "abcdefg...");
	sb_free(&b);
	assert_int_equal(b.max, 10);
	/* One add that is too long at once. */
	sb_puts(&b, "a long line of text");
	assert_string_equal(sb_str(&b), "a long ...");
	sb_free(&b);
}

/* A cap far above the first allocation still grows up to it. */
static void
test_sbuf_capped_large(void **state)
{
	struct sbuf b = { .max = 1000 };

	(void)state;
	for (int i = 0; i < 300; i++)
		sb_puts(&b, "abcd");
	assert_int_equal(b.len, 1000);
	assert_int_equal(strlen(b.p), 1000);
	assert_string_equal(b.p + 997, "...");
	assert_memory_equal(b.p, "abcdabcd", 8);
	sb_free(&b);
}

/* ---- strv ----------------------------------------------------------- */

static void
test_strv(void **state)
{
	struct strv a = { 0 };
	char local[] = "changed";
	char **v, **d;

	(void)state;
	strv_add(&a, local);
	local[0] = 'X';			/* strv_add copies */
	strv_add2(&a, "--name", "h1");
	strv_addf(&a, "--port=%d", 2379);
	for (int i = 0; i < 40; i++)	/* past the first allocation */
		strv_addf(&a, "%d", i);
	assert_int_equal(a.n, 44);
	assert_null(a.v[a.n]);
	v = strv_take(&a);
	assert_null(a.v);
	assert_int_equal(a.n, 0);
	assert_int_equal(strv_len(v), 44);
	assert_string_equal(v[0], "changed");
	assert_string_equal(v[1], "--name");
	assert_string_equal(v[2], "h1");
	assert_string_equal(v[3], "--port=2379");
	assert_string_equal(v[43], "39");
	assert_null(v[44]);

	d = strv_dup(v);
	assert_int_equal(strv_len(d), 44);
	for (size_t i = 0; i < 44; i++) {
		assert_ptr_not_equal(d[i], v[i]);
		assert_string_equal(d[i], v[i]);
	}
	assert_null(d[44]);
	assert_true(strv_eq(v, d));
	free(d[43]);
	d[43] = strdup("x");
	assert_false(strv_eq(v, d));
	free(d[43]);
	d[43] = NULL;			/* one shorter */
	assert_false(strv_eq(v, d));
	assert_false(strv_eq(d, v));
	assert_false(strv_eq(v, NULL));
	assert_true(strv_eq(NULL, NULL));
	strv_free(v);
	strv_free(d);
}

static void
test_strv_empty(void **state)
{
	struct strv a = { 0 };
	char **v, **d;

	(void)state;
	v = strv_take(&a);
	assert_non_null(v);
	assert_null(v[0]);
	assert_int_equal(strv_len(v), 0);
	d = strv_dup(v);
	assert_non_null(d);
	assert_null(d[0]);
	strv_free(v);
	strv_free(d);
	assert_int_equal(strv_len(NULL), 0);
	assert_null(strv_dup(NULL));
	strv_free(NULL);
}

/* An environment with entries set over it: a set name replaces the base's
 * entry wherever it stood (a longer or shorter name with the same start
 * does not), entries with no name or no '=' go, the order is kept, and
 * the strings are the callers' own. */
static void
test_strv_overlay(void **state)
{
	char *base[] = { "PATH=/bin", "ZOOINIT_CLUSTER_EVENT=old",
	    "ZOOINIT_CLUSTER=keep", "=nameless", "NOVALUE", "HOME=/root",
	    "ZOOINIT_CLUSTER_EVENT_X=keep", NULL };
	char *over[] = { "ZOOINIT_CLUSTER_EVENT=OnStart", "ADDED=1", NULL };
	char *want[] = { "PATH=/bin", "ZOOINIT_CLUSTER=keep", "HOME=/root",
	    "ZOOINIT_CLUSTER_EVENT_X=keep", "ZOOINIT_CLUSTER_EVENT=OnStart",
	    "ADDED=1", NULL };
	char **env;

	(void)state;
	env = strv_overlay(base, over);
	assert_true(strv_eq(env, want));
	assert_ptr_equal(env[0], base[0]);
	assert_ptr_equal(env[4], over[0]);
	free(env);
	env = strv_overlay(base, NULL);
	assert_int_equal(strv_len(env), 5);
	assert_string_equal(env[1], "ZOOINIT_CLUSTER_EVENT=old");
	free(env);
	env = strv_overlay(NULL, over);
	assert_true(strv_eq(env, over));
	free(env);
	env = strv_overlay(NULL, NULL);
	assert_null(env[0]);
	free(env);
}

/* ---- str_quote ------------------------------------------------------ */

static void
test_quote(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(str_quote("plain text", out, sizeof(out)),
	    "plain text");
	assert_string_equal(str_quote("", out, sizeof(out)), "");
	assert_string_equal(str_quote("a\nb\tc\x1b[2J", out, sizeof(out)),
	    "a\\x0ab\\x09c\\x1b[2J");
	assert_string_equal(str_quote("\"q\\\x7f\xff\xc3\xa9", out,
	    sizeof(out)), "\\x22q\\x5c\\x7f\\xff\\xc3\\xa9");
	assert_string_equal(str_quote_n("a\0b", 3, out, sizeof(out)),
	    "a\\x00b");
	assert_string_equal(str_quote_n("abc", 0, out, sizeof(out)), "");
}

static void
test_quote_truncation(void **state)
{
	char out[64];

	(void)state;
	/* Exactly fits: no "...". */
	assert_string_equal(str_quote("abcd", out, 5), "abcd");
	/* One too many: cut with "...", total within outlen. */
	assert_string_equal(str_quote("abcde", out, 5), "a...");
	assert_string_equal(str_quote("abcdefghij", out, 8), "abcd...");
	/* An escape is never cut in half. */
	assert_string_equal(str_quote("ab\ncdefgh", out, 9), "ab...");
	assert_string_equal(str_quote("ab\ncdefgh", out, 10), "ab\\x0a...");
	assert_string_equal(str_quote("\n\n\n", out, 13), "\\x0a\\x0a\\x0a");
	assert_string_equal(str_quote("\n\n\n", out, 12), "\\x0a\\x0a...");
	assert_string_equal(str_quote("\n\n\n\n", out, 11), "\\x0a...");
	/* Too small for "...": nothing rather than a cut that looks whole. */
	assert_string_equal(str_quote("abcdef", out, 3), "");
	assert_string_equal(str_quote("ab", out, 3), "ab");
	assert_string_equal(str_quote("abc", out, 1), "");
	/* outlen 0 writes nothing at all. */
	out[0] = 'Z';
	str_quote("abc", out, 0);
	assert_int_equal(out[0], 'Z');
}

/* ---- str_utf8_valid ------------------------------------------------- */

static void
test_utf8(void **state)
{
	static const char *const good[] = {
		"", "ascii", "h\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xc2\xa0", "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf",
		"\xe0\xa0\x80", "\xf0\x90\x80\x80",
	};
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc3", "a\xc3", "\xe2\x82", "\xf0\x9f\x98",
		/* overlong */
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
		"\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
		/* surrogates */
		"\xed\xa0\x80", "\xed\xbf\xbf",
		/* above U+10FFFF, and bytes never in UTF-8 */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
		"\xfe", "\xff",
		/* a lead byte followed by ASCII */
		"\xc3(", "\xe2\x28\xa1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!str_utf8_valid(good[i], false) ||
		    !str_utf8_valid(good[i], true))
			fail_msg("good[%zu] refused", i);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (str_utf8_valid(bad[i], false) ||
		    str_utf8_valid(bad[i], true))
			fail_msg("bad[%zu] accepted", i);
	}
}

/* Controls are UTF-8 but not printable: C0, DEL and C1. */
static void
test_utf8_controls(void **state)
{
	static const char *const controls[] = {
		"a\nb", "\t", "\x1b[2J", "\x01", "\x1f", "x\x7f",
		"\xc2\x80", "\xc2\x85", "\xc2\x9b", "\xc2\x9f",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
		if (!str_utf8_valid(controls[i], false))
			fail_msg("controls[%zu] is UTF-8", i);
		if (str_utf8_valid(controls[i], true))
			fail_msg("controls[%zu] taken as printable", i);
	}
	assert_true(str_utf8_valid(" ~\xc2\xa0\xc3\xbf", true));
}

/* ---- url_split, url_origin ------------------------------------------ */

static void
split_ok(const char *url, const char *scheme, const char *host,
    unsigned port, const char *path)
{
	struct url_parts u;
	char err[200] = "";

	if (url_split(url, &u, err, sizeof(err)) != 0)
		fail_msg("url_split(\"%s\") failed: %s", url, err);
	assert_string_equal(u.scheme, scheme);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_string_equal(u.path, path);
}

static void
split_bad(const char *url, const char *needle)
{
	static const struct url_parts zero;
	struct url_parts u;
	char err[200] = "";

	memset(&u, 0x55, sizeof(u));
	if (url_split(url, &u, err, sizeof(err)) == 0)
		fail_msg("url_split(\"%s\") accepted", url);
	if (strstr(err, needle) == NULL)
		fail_msg("url_split(\"%s\"): \"%s\" lacks \"%s\"", url, err,
		    needle);
	/* Never half-built. */
	assert_memory_equal(&u, &zero, sizeof(u));
}

static void
test_url_split(void **state)
{
	(void)state;
	split_ok("http://10.0.0.1:2379", "http", "10.0.0.1", 2379, "");
	split_ok("https://h1.zl.test:2380", "https", "h1.zl.test", 2380, "");
	split_ok("http://h1.zl.test", "http", "h1.zl.test", 0, "");
	split_ok("https://[fd00::1]:2380", "https", "fd00::1", 2380, "");
	split_ok("http://[::1]", "http", "::1", 0, "");
	split_ok("http://h:1/", "http", "h", 1, "/");
	split_ok("http://h:1/v2/keys/a", "http", "h", 1, "/v2/keys/a");
	/* Query and fragment are not kept, nor taken as a path. */
	split_ok("http://h:1/p?x=1#f", "http", "h", 1, "/p");
	split_ok("http://h:1?a=/b", "http", "h", 1, "");
	split_ok("http://h#/x", "http", "h", 0, "");
	split_ok("HTTP://h:65535", "http", "h", 65535, "");
}

static void
test_url_split_bad(void **state)
{
	char err[8];
	struct url_parts u;

	(void)state;
	split_bad("ftp://h:21", "scheme is not http or https");
	split_bad("etcd://h:2379", "scheme is not http or https");
	split_bad("10.0.0.1:2379", "not a URL");
	split_bad("h1.zl.test", "not a URL");
	split_bad("", "not a URL");
	split_bad("http://", "not a URL");
	split_bad("http://:2379", "not a URL");
	split_bad("http://h:99999", "not a URL");
	split_bad("http://h:-1", "not a URL");
	split_bad("http://h:abc", "not a URL");
	split_bad("http://h:0", "port is 0");
	split_bad("http://h :1", "not a URL");
	split_bad("http://[fd00::1", "not a URL");
	split_bad("http://[fe80::1%25eth0]:2380", "zone");
	/* A small error buffer is still terminated. */
	assert_int_equal(url_split("ftp://h", &u, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void
origin_is(const char *url, const char *want)
{
	char *got = url_origin(url);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("url_origin(\"%s\") = \"%s\"", url, got);
		return;
	}
	if (got == NULL)
		fail_msg("url_origin(\"%s\") failed", url);
	assert_string_equal(got, want);
	free(got);
}

static void
test_url_origin(void **state)
{
	(void)state;
	origin_is("http://10.0.0.1:2379", "http://10.0.0.1:2379");
	origin_is("http://10.0.0.1:2379/", "http://10.0.0.1:2379");
	origin_is("https://h1.zl.test:2380/v2/keys?x=1",
	    "https://h1.zl.test:2380");
	origin_is("https://[fd00::1]:2380/x", "https://[fd00::1]:2380");
	origin_is("http://[::1]", "http://[::1]");
	origin_is("http://h1", "http://h1");
	origin_is("HTTP://h1:1", "http://h1:1");
	/* Credentials never reach a message through the origin. */
	origin_is("http://user:pw@h1:1/", "http://h1:1");
	origin_is("ftp://h1", NULL);
	origin_is("h1:2379", NULL);
	origin_is("", NULL);
}

/* ---- url_escape ----------------------------------------------------- */

static void
expect_escape(const char *in, const char *want)
{
	char *got = url_escape(in);
	char copy[512];

	snprintf(copy, sizeof(copy), "%s", got);
	free(got);
	if (strcmp(copy, want) != 0)
		fail_msg("url_escape(\"%s\") = \"%s\", want \"%s\"", in, copy, want);
}

static void
test_escape(void **state)
{
	(void)state;
	expect_escape("", "");
	expect_escape("abcxyzABCXYZ0189-._~", "abcxyzABCXYZ0189-._~");
	expect_escape("=", "%3D");
	expect_escape(":", "%3A");
	expect_escape("/", "%2F");
	expect_escape(" ", "%20");
	expect_escape("%", "%25");
	expect_escape("%3D", "%253D");
	expect_escape("+&?#", "%2B%26%3F%23");
	expect_escape("[fd00::1]", "%5Bfd00%3A%3A1%5D");
	expect_escape("h1=http://10.0.0.1:2380",
	    "h1%3Dhttp%3A%2F%2F10.0.0.1%3A2380");
	expect_escape("h\xc3\xa9", "h%C3%A9");
	expect_escape("\x80\xff\x7f\x01\n", "%80%FF%7F%01%0A");
}

/* Every byte: unreserved ones as themselves, the rest as %XX with
 * uppercase hex, and decoding gives the input back. */
static void
test_escape_every_byte(void **state)
{
	char in[256], *out, *d;
	size_t o = 0;

	(void)state;
	for (int c = 1; c < 256; c++)
		in[c - 1] = (char)c;
	in[255] = '\0';
	out = url_escape(in);
	d = xmalloc(strlen(out) + 1);
	for (int c = 1; c < 256; c++) {
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~';
		char want[4];

		if (keep)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		if (strncmp(out + o, want, strlen(want)) != 0) {
			char got[4];

			snprintf(got, sizeof(got), "%.3s", out + o);
			free(out);
			free(d);
			fail_msg("byte 0x%02x: got \"%s\", want \"%s\"", c, got,
			    want);
		}
		o += strlen(want);
	}
	assert_int_equal(strlen(out), o);
	/* Decode: the round trip is exact. */
	{
		size_t n = 0;

		for (const char *p = out; *p; p++) {
			if (*p == '%') {
				unsigned v;

				assert_int_equal(sscanf(p + 1, "%2X", &v), 1);
				d[n++] = (char)v;
				p += 2;
			} else {
				d[n++] = *p;
			}
		}
		d[n] = '\0';
	}
	assert_string_equal(d, in);
	free(d);
	free(out);
}


/* A temp file: prefix plus six characters, 0600, a new name each time;
 * in a directory that does not exist, an error naming the prefix. */
static void
test_file_mktemp(void **state)
{
	char err[256], *a, *b;
	int fa, fb;
	struct stat st;

	(void)state;
	fa = file_mktemp("/tmp/zooinit-lib-", &a, err, sizeof(err));
	fb = file_mktemp("/tmp/zooinit-lib-", &b, err, sizeof(err));
	assert_true(fa >= 0 && fb >= 0);
	assert_int_equal(strlen(a), strlen("/tmp/zooinit-lib-") + 6);
	assert_string_not_equal(a, b);
	assert_int_equal(fstat(fa, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_sync_dir_of(a), 0);
	close(fa);
	close(fb);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
	assert_int_equal(file_mktemp("/nonexistent-zooinit/x-", &a, err,
	    sizeof(err)), -1);
	assert_null(a);
	assert_non_null(strstr(err, "/nonexistent-zooinit/x-"));
	assert_int_equal(file_sync_dir_of("/nonexistent-zooinit/x"), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_str_utc(void **state)
{
	char buf[32], small[8];

	(void)state;
	assert_string_equal(str_utc(0, buf, sizeof(buf)),
	    "1970-01-01 00:00:00 UTC");
	assert_string_equal(str_utc(1796424108, buf, sizeof(buf)),
	    "2026-12-04 22:41:48 UTC");
	assert_string_equal(str_utc(0, small, sizeof(small)), "");
}

/* The heap is usable after freed pages went back to the kernel, and what
 * was kept is intact. */
static void
test_xmalloc_trim(void **state)
{
	char *keep = xstrdup("kept"), *v[64];

	(void)state;
	for (size_t i = 0; i < 64; i++)
		v[i] = xcalloc(1, 8192);
	for (size_t i = 0; i < 64; i += 2)
		free(v[i]);
	xmalloc_trim();
	for (size_t i = 1; i < 64; i += 2) {
		assert_int_equal(v[i][8191], 0);
		free(v[i]);
	}
	xmalloc_trim();
	assert_string_equal(keep, "kept");
	free(keep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_mktemp),
		cmocka_unit_test(test_xmalloc_trim),
		cmocka_unit_test(test_str_utc),
		cmocka_unit_test(test_sbuf_empty),
		cmocka_unit_test(test_sbuf_growth),
		cmocka_unit_test(test_sbuf_putn_nul),
		cmocka_unit_test(test_sbuf_capped),
		cmocka_unit_test(test_sbuf_capped_large),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_strv_empty),
		cmocka_unit_test(test_strv_overlay),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_quote_truncation),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_utf8_controls),
		cmocka_unit_test(test_url_split),
		cmocka_unit_test(test_url_split_bad),
		cmocka_unit_test(test_url_origin),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_every_byte),
	};

	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
