#ifndef ZOOINIT_URL_H
#define ZOOINIT_URL_H

#include <stddef.h>

/* URLs through libcurl's URL API, so zooinit has no URL parser of its own. */

/* The parts of an http:// or https:// URL. host is without brackets (an
 * IPv6 literal as written; zone IDs are refused), port is the explicit
 * port (1..65535) or 0 when none is given, path is "" or starts with "/"
 * (query and fragment are not kept). */
struct url_parts {
	char scheme[8];		/* "http" or "https" */
	char host[256];
	unsigned port;
	char path[1024];
};

/* Splits url into u. Returns 0, or -1 with u zeroed and err set to one
 * sentence naming what is wrong (not http/https, no host, a bad port,
 * too long). */
int url_split(const char *url, struct url_parts *u, char *err, size_t errlen);

/* Returns "scheme://host:port" (an IPv6 literal host in brackets; no
 * ":port" when port is 0) as a new string. */
char *url_make(const char *scheme, const char *host, unsigned port);

/* Returns the scheme://host:port part of url as a new string (IPv6 in
 * brackets, no path), or NULL when url does not split. */
char *url_origin(const char *url);

/* Returns s percent-escaped for use as one URL path segment or query value
 * (everything but RFC 3986 unreserved characters is escaped); a new string,
 * free with free(). */
char *url_escape(const char *s);

#endif
