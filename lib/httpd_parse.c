#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/httpd.h"
#include "lib/str.h"

/* The pure half of lib/httpd.h: the listen address and the request head,
 * kept apart from the sockets so unit tests and fuzzers reach them. */

static bool
valid_port(const char *s, unsigned *port)
{
	size_t len = strlen(s);
	long v;

	if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
		return false;
	v = strtol(s, NULL, 10);
	if (v < 1 || v > 65535)
		return false;
	*port = (unsigned)v;
	return true;
}

/* Letters, digits, '-' and '.', in labels that neither start nor end
 * with '-': enough to keep anything odd out of getaddrinfo and logs. */
static bool
valid_hostname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 253 || s[0] == '.' || s[0] == '-' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-.") != len)
		return false;
	for (size_t i = 1; i < len; i++) {
		if (s[i] == '.' && (s[i - 1] == '.' || s[i - 1] == '-'))
			return false;
		if (s[i] == '-' && s[i - 1] == '.')
			return false;
	}
	return s[len - 1] != '-';
}

int
httpd_split_listen(const char *s, char *host, size_t hostlen,
    unsigned *port, char *err, size_t errlen)
{
	static const char expect[] = "HOST:PORT with HOST an IPv4 address, "
	    "a host name or an IPv6 address in brackets ([::1]:9100) and "
	    "PORT from 1 to 65535";
	unsigned char a6[sizeof(struct in6_addr)];
	const char *colon, *h = s;
	size_t len;
	char q[80];

	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (colon == NULL || colon[1] != ':')
			goto bad;
		h = s + 1;
		len = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		len = (size_t)(colon - s);
	}
	if (len == 0 || len >= hostlen || !valid_port(colon + 1, port))
		goto bad;
	memcpy(host, h, len);
	host[len] = '\0';
	if (s[0] == '[' ? inet_pton(AF_INET6, host, a6) == 1 :
	    inet_pton(AF_INET, host, a6) == 1 || valid_hostname(host))
		return 0;
bad:
	return str_seterr(err, errlen, "expected %s, found \"%s\"", expect,
	    str_quote(s, q, sizeof(q)));
}

/* RFC 9110 token characters, for a method and a header name. */
static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The end of the line that starts at p (the LF), or NULL. */
static const char *
line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* The length of the line [p, lf) without a CR before the LF. */
static size_t
line_len(const char *p, const char *lf)
{
	size_t n = (size_t)(lf - p);

	return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

/* "METHOD SP TARGET SP HTTP/1.x": 200, or the status to answer. */
static int
request_line(const char *p, size_t n, struct httpd_req *r)
{
	size_t m = 0, t;
	const char *target, *q;

	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	if (m == 0 || m >= sizeof(r->method) || m == n || p[m] != ' ')
		return 400;
	memcpy(r->method, p, m);
	r->method[m] = '\0';
	target = p + m + 1;
	q = memchr(target, ' ', n - m - 1);
	if (q == NULL)
		return 400;
	t = (size_t)(q - target);
	for (size_t i = 0; i < t; i++) {
		if ((unsigned char)target[i] <= 0x20 ||
		    (unsigned char)target[i] >= 0x7f)
			return 400;
	}
	if (t == 0 || target[0] != '/')
		return 400;
	if (t >= sizeof(r->path))
		return 414;
	q++;
	n -= (size_t)(q - p);
	if (n != 8 || memcmp(q, "HTTP/", 5) != 0 || q[6] != '.' ||
	    q[5] < '0' || q[5] > '9' || q[7] < '0' || q[7] > '9')
		return 400;
	if (q[5] != '1' || q[7] > '1')
		return 505;
	r->minor = q[7] - '0';
	memcpy(r->path, target, t);
	r->path[t] = '\0';
	r->path[strcspn(r->path, "?")] = '\0';
	return 200;
}

/* "Name: value": a token, a colon, then no control bytes but tab. */
static bool
header_line(const char *p, size_t n)
{
	size_t m = 0;

	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	if (m == 0 || m == n || p[m] != ':')
		return false;
	for (size_t i = m + 1; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

int
httpd_parse(const char *buf, size_t len, struct httpd_req *r)
{
	const char *end = buf + (len > HTTPD_REQ_MAX ? HTTPD_REQ_MAX : len);
	const char *p = buf, *lf;
	int st;

	memset(r, 0, sizeof(*r));
	lf = line_end(p, end);
	if (lf == NULL)
		return len >= HTTPD_REQ_MAX ? 431 : 0;
	st = request_line(p, line_len(p, lf), r);
	if (st != 200)
		return st;
	for (p = lf + 1; (lf = line_end(p, end)) != NULL; p = lf + 1) {
		size_t n = line_len(p, lf);

		if (n == 0)
			return 200;
		if (!header_line(p, n))
			return 400;
	}
	return len >= HTTPD_REQ_MAX ? 431 : 0;
}
