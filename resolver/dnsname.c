#include "agent/fmacros.h"

#include <stdio.h>
#include <string.h>

#include "resolver/dnsname.h"

static bool
ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

bool
dns_hostname_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!ldh(s[i]))
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		if (++label > 63)
			return false;
	}
	/* label == 0 here means the name ended in an empty label ("a.."). */
	return label > 0 && s[len - 1] != '-';
}

bool
dns_member_name_valid(const char *s, bool allow_dots)
{
	size_t len = strlen(s);

	if (len == 0 || s[len - 1] == '.')
		return false;
	if (!allow_dots && strchr(s, '.') != NULL)
		return false;
	return dns_hostname_valid(s);
}

/* Writes the escaped form of c into buf (at least 5 bytes); returns its
 * length. */
static size_t
quote_char(unsigned char c, char *buf)
{
	if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
		return (size_t)snprintf(buf, 5, "\\x%02x", c);
	buf[0] = (char)c;
	return 1;
}

char *
dns_quote(const char *s, char *out, size_t outlen)
{
	return dns_quote_n(s, strlen(s), out, outlen);
}

char *
dns_quote_n(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0, total = 0;
	char buf[5];

	if (outlen == 0)
		return out;
	for (size_t i = 0; i < n; i++)
		total += quote_char((unsigned char)s[i], buf);
	/* Reserve room for "..." only when the whole text does not fit. */
	size_t limit = total + 1 <= outlen ? outlen - 1 :
	    (outlen >= 4 ? outlen - 4 : 0);
	for (size_t i = 0; i < n; i++) {
		size_t k = quote_char((unsigned char)s[i], buf);

		if (o + k > limit)
			break;
		memcpy(out + o, buf, k);
		o += k;
	}
	if (total + 1 > outlen && outlen >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
