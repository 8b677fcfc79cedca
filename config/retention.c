#include "lib/fmacros.h"

#include <string.h>

#include "config/retention.h"

#define MAX_REVISIONS 1000000000000000LL	/* 10^15 */
#define MAX_SECONDS (366LL * 86400)

int
retention_parse(const char *s, struct retention *r)
{
	size_t digits = strspn(s, "0123456789");
	int64_t v = 0, unit;

	if (s[0] == '\0') {
		*r = (struct retention){ 0 };
		return 0;
	}
	/* 16 digits overflow nothing and already exceed both limits. */
	if (digits == 0 || digits > 16)
		return -1;
	for (size_t i = 0; i < digits; i++)
		v = v * 10 + (s[i] - '0');
	switch (s[digits]) {
	case '\0':
		if (v > MAX_REVISIONS)
			return -1;
		*r = (struct retention){ .revisions = v };
		return 0;
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -1;
	}
	if (s[digits + 1] != '\0' || v > MAX_SECONDS / unit)
		return -1;
	/* "0h" is off, as "0" is. */
	*r = (struct retention){ .seconds = v * unit };
	return 0;
}

bool
retention_valid(const char *s)
{
	struct retention r;

	return retention_parse(s, &r) == 0;
}
