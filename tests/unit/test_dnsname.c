#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "resolver/dnsname.h"

/* Returns a static string of n copies of c; n < sizeof(buf). */
static const char *
rep(char c, size_t n)
{
	static char buf[4][1100];
	static int which;
	char *b = buf[which++ % 4];

	assert_true(n < sizeof(buf[0]));
	memset(b, c, n);
	b[n] = '\0';
	return b;
}

/* Joins labels of the given lengths with dots ("aaa.bbb"), plus a
 * trailing dot when dot is set. */
static const char *
labels(bool dot, size_t a, size_t b, size_t c, size_t d)
{
	static char buf[600];
	size_t lens[4] = { a, b, c, d }, o = 0;

	for (int i = 0; i < 4; i++) {
		if (lens[i] == 0)
			continue;
		if (o > 0)
			buf[o++] = '.';
		memset(buf + o, 'a' + i, lens[i]);
		o += lens[i];
	}
	if (dot)
		buf[o++] = '.';
	buf[o] = '\0';
	return buf;
}

#define assert_valid(s) do {						\
	if (!dns_hostname_valid(s))					\
		fail_msg("\"%s\" should be a valid host name", (s));	\
} while (0)
#define assert_invalid(s) do {						\
	if (dns_hostname_valid(s))					\
		fail_msg("\"%s\" should not be a valid host name", (s));\
} while (0)

static void
test_hostname_good(void **state)
{
	(void)state;
	assert_valid("h1");
	assert_valid("h1.zl.test");
	assert_valid("H1.ZL.Test");
	assert_valid("a");
	assert_valid("0");
	assert_valid("1.2.3.4");
	assert_valid("a-b.c-d.e");
	assert_valid("a--b");
	assert_valid("xn--bcher-kva.example");
	/* One trailing dot (the absolute form) is fine. */
	assert_valid("h1.zl.test.");
	assert_valid("h1.");
}

static void
test_hostname_bad_shape(void **state)
{
	(void)state;
	assert_invalid("");
	assert_invalid(".");
	assert_invalid("..");
	assert_invalid(".a");
	assert_invalid("-a");
	assert_invalid("a-");
	assert_invalid("a-.b");
	assert_invalid("a.-b");
	assert_invalid("a.b-");
	assert_invalid("a.b-.");
	assert_invalid("a..b");
	assert_invalid("../etc");
}

/* Only one trailing dot may be dropped: "a.." ends in an empty label. */
static void
test_hostname_double_trailing_dot(void **state)
{
	(void)state;
	assert_invalid("a..");
	assert_invalid("h1.zl.test..");
}

static void
test_hostname_bad_bytes(void **state)
{
	(void)state;
	assert_invalid("a_b");
	assert_invalid("_etcd-server._tcp.zl.test");
	assert_invalid("a;b.zl.test");
	assert_invalid("x/y");
	assert_invalid("a b");
	assert_invalid(" a");
	assert_invalid("a ");
	assert_invalid("a\tb");
	assert_invalid("a\nb");
	assert_invalid("a\n");
	assert_invalid("a\"b");
	assert_invalid("a'b");
	assert_invalid("a\\b");
	assert_invalid("a$(id)");
	assert_invalid("a:b");
	assert_invalid("a@b");
	assert_invalid("a=b");
	assert_invalid("a,b");
	assert_invalid("a*b");
	assert_invalid("h\xc3\xa9.zl.test");	/* UTF-8 e-acute */
	assert_invalid("h\x80");
	assert_invalid("h\xff");
	assert_invalid("\x7f");
}

static void
test_hostname_lengths(void **state)
{
	(void)state;
	/* A label holds 1..63 bytes. */
	assert_valid(rep('a', 63));
	assert_invalid(rep('a', 64));
	assert_valid(labels(false, 63, 63, 0, 0));
	assert_invalid(labels(false, 63, 64, 0, 0));
	assert_invalid(labels(false, 64, 3, 0, 0));
	assert_valid(labels(true, 63, 0, 0, 0));
	assert_invalid(labels(true, 64, 0, 0, 0));

	/* 63+1+63+1+63+1+61 = 253 bytes is the most a name may have. */
	assert_int_equal(strlen(labels(false, 63, 63, 63, 61)), 253);
	assert_valid(labels(false, 63, 63, 63, 61));
	assert_int_equal(strlen(labels(false, 63, 63, 63, 62)), 254);
	assert_invalid(labels(false, 63, 63, 63, 62));
	/* The trailing dot does not count. */
	assert_valid(labels(true, 63, 63, 63, 61));
	assert_invalid(labels(true, 63, 63, 63, 62));
	assert_invalid(rep('a', 300));
}

static void
test_member_name(void **state)
{
	(void)state;
	assert_true(dns_member_name_valid("h1", false));
	assert_true(dns_member_name_valid("h1", true));
	assert_true(dns_member_name_valid("etcd-1", false));
	assert_true(dns_member_name_valid(rep('a', 63), false));
	assert_false(dns_member_name_valid(rep('a', 64), false));

	/* Dotted names only with allow_dots. */
	assert_false(dns_member_name_valid("h1.zl.test", false));
	assert_true(dns_member_name_valid("h1.zl.test", true));

	/* Never a trailing dot, even where a host name allows one. */
	assert_false(dns_member_name_valid("h1.", false));
	assert_false(dns_member_name_valid("h1.", true));
	assert_false(dns_member_name_valid("h1.zl.test.", true));

	assert_false(dns_member_name_valid("", false));
	assert_false(dns_member_name_valid("", true));
	assert_false(dns_member_name_valid(".", true));
	assert_false(dns_member_name_valid("-h1", false));
	assert_false(dns_member_name_valid("h1-", true));
	assert_false(dns_member_name_valid("h_1", false));
	assert_false(dns_member_name_valid("h1;rm", true));
	assert_false(dns_member_name_valid("a..b", true));
	assert_false(dns_member_name_valid("h1\n", true));
}

/* Quotes s into a buffer of outlen bytes inside a larger one and checks
 * the bytes beyond outlen were left alone and the result ends in NUL. */
static const char *
quote(const char *s, size_t outlen)
{
	static char buf[1100];

	assert_true(outlen <= sizeof(buf) - 16);
	memset(buf, 'Z', sizeof(buf));
	assert_ptr_equal(str_quote(s, buf, outlen), buf);
	for (size_t i = outlen; i < sizeof(buf); i++)
		if (buf[i] != 'Z')
			fail_msg("str_quote(\"%s\", %zu) wrote byte %zu", s,
			    outlen, i);
	if (outlen > 0 && memchr(buf, '\0', outlen) == NULL)
		fail_msg("str_quote(\"%s\", %zu) left no NUL", s, outlen);
	return buf;
}

static void
assert_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"')
			fail_msg("byte 0x%02x in quoted \"%s\"", *p, s);
}

static void
test_quote_plain(void **state)
{
	(void)state;
	assert_string_equal(quote("", 64), "");
	assert_string_equal(quote("h1.zl.test", 64), "h1.zl.test");
	assert_string_equal(quote("a;b /x", 64), "a;b /x");
	assert_string_equal(quote("~!#$%&'()*+,-./:<=>?@[]^_`{|}", 64),
	    "~!#$%&'()*+,-./:<=>?@[]^_`{|}");
}

static void
test_quote_escapes(void **state)
{
	(void)state;
	assert_string_equal(quote("a\nb", 64), "a\\x0ab");
	assert_string_equal(quote("\r\t\x01\x1b", 64), "\\x0d\\x09\\x01\\x1b");
	assert_string_equal(quote("say \"hi\"", 64), "say \\x22hi\\x22");
	assert_string_equal(quote("a\\b", 64), "a\\x5cb");
	assert_string_equal(quote("\x7f", 64), "\\x7f");
	assert_string_equal(quote("h\xc3\xa9", 64), "h\\xc3\\xa9");
	assert_string_equal(quote("\xff\x80", 64), "\\xff\\x80");
	assert_printable(quote("\x01\x02\n\"\\\x7f\x80\xff ok", 64));
}

static void
test_quote_truncates(void **state)
{
	const char *q;

	(void)state;
	/* 100 bytes into 16: as much as fits, then "...", then NUL. */
	q = quote(rep('a', 100), 16);
	assert_string_equal(q, "aaaaaaaaaaaa...");
	q = quote(rep('a', 1050), 1024);
	assert_int_equal(strlen(q), 1023);
	assert_string_equal(q + 1020, "...");

	/* An escape is never cut in half. */
	q = quote("\n\n\n\n\n", 12);
	assert_string_equal(q, "\\x0a\\x0a...");
	q = quote("ab\ncdefghijklmnop", 8);
	assert_string_equal(q, "ab...");
	q = quote("abc\n\nxyz", 12);
	assert_string_equal(q, "abc\\x0a...");

	/* Hostile input is printable after quoting, however it is cut. */
	for (size_t n = 1; n < 40; n++)
		assert_printable(quote("\n\"\\\x01\xfe;rm -rf /\n\n\n\n", n));
}

static void
test_quote_tiny_buffers(void **state)
{
	(void)state;
	/* outlen 0: nothing is written at all. */
	quote("abcdef", 0);
	for (size_t n = 1; n <= 5; n++) {
		const char *q = quote("abcdef", n);

		assert_true(strlen(q) < n);
		/* Either a cut copy or a cut copy ending in "...". */
		if (strcmp(q, "...") != 0 && strcmp(q, "a...") != 0 &&
		    strncmp("abcdef", q, strlen(q)) != 0)
			fail_msg("str_quote(\"abcdef\", %zu) = \"%s\"", n, q);
		q = quote("\n\n", n);
		assert_true(strlen(q) < n);
		assert_printable(q);
		assert_true(q[0] == '\0' || strcmp(q, "...") == 0 ||
		    strncmp(q, "\\x0a", 4) == 0);
	}
	assert_string_equal(quote("abcdef", 1), "");
	assert_string_equal(quote("abcdef", 4), "...");
	assert_string_equal(quote("abcdef", 5), "a...");
	assert_string_equal(quote("", 1), "");
}

/* "Truncated if needed": a string that fits is copied whole, even when it
 * leaves no room for "...". */
static void
test_quote_fits_exactly(void **state)
{
	(void)state;
	assert_string_equal(quote("a", 2), "a");
	assert_string_equal(quote("ab", 3), "ab");
	assert_string_equal(quote("abc", 4), "abc");
	assert_string_equal(quote("abcd", 5), "abcd");
	assert_string_equal(quote(rep('a', 15), 16), rep('a', 15));
	assert_string_equal(quote("abcd\n", 9), "abcd\\x0a");
	assert_string_equal(quote("h1.zl.test", 11), "h1.zl.test");
	/* One byte more and it is cut. */
	assert_string_equal(quote("h1.zl.test!", 11), "h1.zl.t...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostname_good),
		cmocka_unit_test(test_hostname_bad_shape),
		cmocka_unit_test(test_hostname_double_trailing_dot),
		cmocka_unit_test(test_hostname_bad_bytes),
		cmocka_unit_test(test_hostname_lengths),
		cmocka_unit_test(test_member_name),
		cmocka_unit_test(test_quote_plain),
		cmocka_unit_test(test_quote_escapes),
		cmocka_unit_test(test_quote_truncates),
		cmocka_unit_test(test_quote_tiny_buffers),
		cmocka_unit_test(test_quote_fits_exactly),
	};

	return cmocka_run_group_tests_name("dnsname", tests, NULL, NULL);
}
