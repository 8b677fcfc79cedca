#include "lib/fmacros.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "lib/xmalloc.h"

/* Makes room for more bytes plus the NUL; returns how many of them fit
 * (fewer than asked only for a capped builder). */
static size_t
sb_room(struct sbuf *b, size_t more)
{
	size_t want = b->len + more + 1;

	if (b->max != 0 && want > b->max + 1)
		want = b->max + 1;
	if (want > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < want)
			cap *= 2;
		if (b->max != 0 && cap > b->max + 1)
			cap = b->max + 1;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	return want - b->len - 1;
}

/* A capped builder that had to cut marks the cut with "...". */
static void
sb_cut(struct sbuf *b)
{
	if (b->len >= 3)
		memcpy(b->p + b->len - 3, "...", 3);
}

void
sb_putn(struct sbuf *b, const char *s, size_t n)
{
	size_t fit = sb_room(b, n);

	memcpy(b->p + b->len, s, fit);
	b->len += fit;
	b->p[b->len] = '\0';
	if (fit < n)
		sb_cut(b);
}

void
sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t fit = sb_room(b, (size_t)n);

	/* vsnprintf cuts at fit bytes and ends them with the NUL. */
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, fit + 1, fmt, ap);
	va_end(ap);
	b->len += fit;
	if (fit < (size_t)n)
		sb_cut(b);
}

const char *
sb_str(const struct sbuf *b)
{
	return b->p != NULL ? b->p : "";
}

char *
sb_take(struct sbuf *b)
{
	char *s = b->p != NULL ? b->p : xstrdup("");
	size_t max = b->max;

	*b = (struct sbuf){ .max = max };
	return s;
}

void
sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){ .max = b->max };
}

void
strv_add(struct strv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

void
strv_add2(struct strv *a, const char *flag, const char *value)
{
	strv_add(a, flag);
	strv_add(a, value);
}

void
strv_addf(struct strv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	strv_add(a, s);
	free(s);
}

char **
strv_take(struct strv *a)
{
	char **v = a->v != NULL ? a->v : xcalloc(1, sizeof(*v));

	*a = (struct strv){ 0 };
	return v;
}

size_t
strv_len(char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

char **
strv_dup(char *const *v)
{
	size_t n = strv_len(v);
	char **c;

	if (v == NULL)
		return NULL;
	c = xcalloc(n + 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

/* Whether entry ("NAME=..." or "NAME") names a variable that v sets. */
static bool
strv_sets(char *const *v, const char *entry)
{
	size_t len = strcspn(entry, "=");

	for (size_t i = 0; v[i] != NULL; i++)
		if (strncmp(v[i], entry, len) == 0 && v[i][len] == '=')
			return true;
	return false;
}

char **
strv_overlay(char *const *base, char *const *over)
{
	size_t n = 0, nover = strv_len(over);
	char **env = xcalloc(strv_len(base) + nover + 1, sizeof(*env));

	for (size_t i = 0; base != NULL && base[i] != NULL; i++) {
		const char *e = base[i];

		if (e[0] != '=' && strchr(e, '=') != NULL &&
		    (over == NULL || !strv_sets(over, e)))
			env[n++] = (char *)e;
	}
	for (size_t i = 0; i < nover; i++)
		env[n++] = over[i];
	env[n] = NULL;
	return env;
}

void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

bool
strv_eq(char *const *a, char *const *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return strv_len(a) == strv_len(b);
	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return a[i] == NULL && b[i] == NULL;
}

/* Writes c into buf (at least 5 bytes), escaped if needed; returns the
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
str_quote(const char *s, char *out, size_t outlen)
{
	return str_quote_n(s, strlen(s), out, outlen);
}

char *
str_quote_n(const char *s, size_t n, char *out, size_t outlen)
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

bool
str_utf8_valid(const char *s, bool printable)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n;

		if (printable && (*p < 0x20 || *p == 0x7f))
			return false;
		if (*p < 0x80)
			n = 0;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return false;
		for (size_t i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		/* No overlong or surrogate forms. */
		/* C1 controls (U+0080..U+009F) are controls too: 0x9b is a
		 * terminal's CSI. */
		if (printable && n == 1 && p[0] == 0xc2 && p[1] < 0xa0)
			return false;
		if ((n == 2 && ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] >= 0xa0))) ||
		    (n == 3 && ((p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] >= 0x90))))
			return false;
		p += n + 1;
	}
	return true;
}

char *
str_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (len == 0)
		return buf;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		buf[0] = '\0';
	return buf;
}

int
str_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
