/* The checks that stand between untrusted names (from DNS, the journal,
 * discovery) and etcd's argv, messages and URLs: resolver/dnsname.h
 * (str_quote_n() also quotes every etcd answer in messages),
 * plan_parse_url(), addr_normalise() and url_escape().
 *
 * Input: one byte giving str_quote()'s output size (0..255), then the
 * string (up to its first NUL; str_quote_n() gets all the bytes). Each
 * function is checked against a plain re-statement of its header
 * comment. */
#include "lib/fmacros.h"

#include <ctype.h>

#include "agent/plan.h"
#include "lib/url.h"
#include "fuzz/fuzz.h"
#include "lib/str.h"
#include "resolver/dnsname.h"
#include "resolver/localaddr.h"

/* RFC 1035 as dnsname.h words it: letters, digits and hyphens, no label
 * starting or ending with a hyphen, labels of 1..63 bytes, at most 253
 * bytes without the optional trailing dot. */
static bool
ref_hostname(const char *s)
{
	size_t len = strlen(s), start = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!isalnum((unsigned char)s[i]) && s[i] != '-')
				return false;
			if (s[i] & 0x80)
				return false;
			continue;
		}
		/* s[start..i) is one label */
		if (i == start || i - start > 63 || s[start] == '-' ||
		    s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The contract of str_quote() (s up to its NUL) and str_quote_n() (slen
 * bytes, NULs included): the whole escaped text when it fits in outlen,
 * else as many whole escapes as fit with "..." after them. */
static void
check_quote(const char *s, size_t slen, bool with_n, size_t outlen)
{
	size_t flen = 0, len;
	char *full = malloc(slen * 4 + 1), *out = malloc(outlen + 1);
	bool *cut_ok = calloc(slen * 4 + 1, sizeof(bool));

	if (full == NULL || out == NULL || cut_ok == NULL)
		abort();
	for (size_t i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)s[i];

		cut_ok[flen] = true;
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			flen += (size_t)sprintf(full + flen, "\\x%02x", c);
		else
			full[flen++] = (char)c;
	}
	cut_ok[flen] = true;
	full[flen] = '\0';

	memset(out, 'Z', outlen + 1);
	if (with_n)
		FUZZ_CHECK(str_quote_n(s, slen, out, outlen) == out);
	else
		FUZZ_CHECK(str_quote(s, out, outlen) == out);
	FUZZ_CHECK(out[outlen] == 'Z');
	if (outlen == 0)
		goto done;
	FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
	len = strlen(out);
	if (flen + 1 <= outlen) {
		FUZZ_CHECK(strcmp(out, full) == 0);
	} else if (outlen >= 4) {
		size_t body = len - 3;

		FUZZ_CHECK(len >= 3 && strcmp(out + body, "...") == 0);
		FUZZ_CHECK(strncmp(out, full, body) == 0 && cut_ok[body]);
		/* ... and no further escape would have fit. */
		size_t next = body + 1;
		while (!cut_ok[next])
			next++;
		FUZZ_CHECK(next > outlen - 4);
	} else {
		FUZZ_CHECK(len == 0);
	}
done:
	free(cut_ok);
	free(out);
	free(full);
}

static void
check_url(const char *s)
{
	char scheme[8], addr[64], norm[64];
	unsigned port = 0;

	if (plan_parse_url(s, scheme, sizeof(scheme), addr, sizeof(addr),
	    &port) < 0)
		return;
	FUZZ_CHECK(strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
	FUZZ_CHECK(strncmp(s, scheme, strlen(scheme)) == 0);
	FUZZ_CHECK(port >= 1 && port <= 65535);
	FUZZ_CHECK(addr_normalise(addr, norm, sizeof(norm)) == 0 &&
	    strcmp(addr, norm) == 0);
	/* The address is the URL's host as written (bracketed for IPv6). */
	if (strchr(addr, ':') != NULL)
		FUZZ_CHECK(s[strlen(scheme) + 3] == '[' &&
		    strncmp(s + strlen(scheme) + 4, addr, strlen(addr)) == 0);
	else
		FUZZ_CHECK(strncmp(s + strlen(scheme) + 3, addr,
		    strlen(addr)) == 0);
}

static void
check_escape(const char *s)
{
	char *e = url_escape(s);
	size_t o = 0;

	for (const char *p = e; *p != '\0'; p++, o++) {
		char want = *p;

		if (*p == '%') {
			FUZZ_CHECK(isxdigit((unsigned char)p[1]) &&
			    isxdigit((unsigned char)p[2]));
			want = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			FUZZ_CHECK(isalnum((unsigned char)*p) || *p == '-' ||
			    *p == '.' || *p == '_' || *p == '~');
		}
		FUZZ_CHECK(s[o] == want);
	}
	FUZZ_CHECK(s[o] == '\0');
	free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, norm[64], norm2[64];
	bool host;

	if (size == 0)
		return 0;
	s = fuzz_strndup(data + 1, size - 1);

	host = dns_hostname_valid(s);
	FUZZ_CHECK(host == ref_hostname(s));
	FUZZ_CHECK(dns_member_name_valid(s, true) ==
	    (host && s[strlen(s) - 1] != '.'));
	FUZZ_CHECK(dns_member_name_valid(s, false) ==
	    (host && strchr(s, '.') == NULL));

	check_quote(s, strlen(s), false, data[0]);
	check_quote((const char *)data + 1, size - 1, true, data[0]);
	check_url(s);
	check_escape(s);

	if (addr_normalise(s, norm, sizeof(norm)) == 0) {
		FUZZ_CHECK(addr_normalise(norm, norm2, sizeof(norm2)) == 0);
		FUZZ_CHECK(strcmp(norm, norm2) == 0);
	}
	free(s);
	return 0;
}
