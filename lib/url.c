#include "lib/fmacros.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/url.h"
#include "lib/xmalloc.h"

/* Copies part p of h into out; returns 0, or -1 when it is missing or
 * does not fit. An absent optional part gives "". */
static int
get_part(CURLU *h, CURLUPart p, char *out, size_t outlen, int optional)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(h, p, &v, 0);
	int ret = 0;

	if (rc != CURLUE_OK) {
		out[0] = '\0';
		return optional ? 0 : -1;
	}
	if (strlen(v) >= outlen)
		ret = -1;
	else
		memcpy(out, v, strlen(v) + 1);
	curl_free(v);
	return ret;
}

int
url_split(const char *url, struct url_parts *u, char *err, size_t errlen)
{
	CURLU *h = curl_url();
	CURLUcode rc;
	char port[16], zone[64];
	const char *auth;
	int ret = -1;

	if (h == NULL)
		abort();
	memset(u, 0, sizeof(*u));
	/* Without CURLU_DEFAULT_SCHEME a URL without a scheme is refused. */
	rc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc != CURLUE_OK) {
		snprintf(err, errlen, "not a URL (%s); expected "
		    "http://HOST:PORT or https://HOST:PORT", curl_url_strerror(rc));
		goto out;
	}
	if (get_part(h, CURLUPART_SCHEME, u->scheme, sizeof(u->scheme), 0) < 0 ||
	    (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0)) {
		snprintf(err, errlen, "the scheme is not http or https");
		goto out;
	}
	if (get_part(h, CURLUPART_HOST, u->host, sizeof(u->host), 0) < 0 ||
	    u->host[0] == '\0') {
		snprintf(err, errlen, "the host is missing or too long");
		goto out;
	}
	/* libcurl keeps the brackets of an IPv6 literal; callers want none. */
	if (u->host[0] == '[') {
		size_t n = strlen(u->host);

		memmove(u->host, u->host + 1, n - 2);
		u->host[n - 2] = '\0';
	}
	/* libcurl drops a zone ID ("[fe80::1%25eth0]") from the host; the
	 * address without it is another one, so refuse rather than guess. */
	if (get_part(h, CURLUPART_ZONEID, zone, sizeof(zone), 1) < 0 ||
	    zone[0] != '\0') {
		snprintf(err, errlen, "IPv6 zone IDs (%%25...) are not "
		    "supported; use an address without one");
		goto out;
	}
	if (get_part(h, CURLUPART_PORT, port, sizeof(port), 1) < 0) {
		snprintf(err, errlen, "the port is not a number");
		goto out;
	}
	u->port = port[0] ? (unsigned)strtoul(port, NULL, 10) : 0;
	/* port 0 would read as "no port" and no server listens there. */
	if (port[0] != '\0' && u->port == 0) {
		snprintf(err, errlen, "the port is 0; expected 1 to 65535");
		goto out;
	}
	if (get_part(h, CURLUPART_PATH, u->path, sizeof(u->path), 1) < 0) {
		snprintf(err, errlen, "the path is too long");
		goto out;
	}
	/* libcurl says "/" for no path at all; only a '/' that ends the
	 * authority (not one in the query or fragment) is a path. */
	auth = strstr(url, "://");
	if (strcmp(u->path, "/") == 0 && auth != NULL &&
	    auth[3 + strcspn(auth + 3, "/?#")] != '/')
		u->path[0] = '\0';
	ret = 0;
out:
	if (ret < 0)
		memset(u, 0, sizeof(*u));
	curl_url_cleanup(h);
	return ret;
}

char *
url_origin(const char *url)
{
	struct url_parts u;
	char err[128];

	if (url_split(url, &u, err, sizeof(err)) < 0)
		return NULL;
	return url_make(u.scheme, u.host, u.port);
}

char *
url_make(const char *scheme, const char *host, unsigned port)
{
	const char *lb = strchr(host, ':') ? "[" : "";
	const char *rb = *lb ? "]" : "";

	if (port == 0)
		return xasprintf("%s://%s%s%s", scheme, lb, host, rb);
	return xasprintf("%s://%s%s%s:%u", scheme, lb, host, rb, port);
}

char *
url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, (int)strlen(s));
	char *out;

	if (e == NULL)
		abort();
	out = xstrdup(e);
	curl_free(e);
	return out;
}
