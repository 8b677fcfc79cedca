#include "lib/fmacros.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "lib/xmalloc.h"

static void
oom(size_t n)
{
	fprintf(stderr, "zooinit: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	void *q = reallocarray(p, nmemb ? nmemb : 1, size ? size : 1);

	if (q == NULL)
		oom(nmemb * size);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		oom(n + 1);
	return p;
}

char *
xjoin(char *const *v, size_t n, const char *sep)
{
	size_t len = 1, o = 0, seplen = strlen(sep);
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + seplen;
	s = xmalloc(len);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(v[i]);

		if (i > 0) {
			memcpy(s + o, sep, seplen);
			o += seplen;
		}
		memcpy(s + o, v[i], k);
		o += k;
	}
	s[o] = '\0';
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return s;
}

void
xmalloc_trim(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}
