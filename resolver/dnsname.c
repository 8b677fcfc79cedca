#include "lib/fmacros.h"

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
