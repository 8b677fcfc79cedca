#include "lib/fmacros.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/xmalloc.h"
#include "etcd/http.h"
#include "etcd/http_int.h"

void
etcd_http_set_tls(struct etcd_http *h, const char *ca_file,
    const char *cert_file, const char *key_file)
{
	free(h->tls_ca);
	free(h->tls_cert);
	free(h->tls_key);
	h->tls_ca = ca_file != NULL ? xstrdup(ca_file) : NULL;
	h->tls_cert = cert_file != NULL ? xstrdup(cert_file) : NULL;
	h->tls_key = key_file != NULL ? xstrdup(key_file) : NULL;
}

int64_t
etcd_http_cert_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%b %d %H:%M:%S %Y GMT", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return (int64_t)timegm(&tm);
}

void
etcd_http_set_certinfo(struct etcd_http *h, bool on)
{
	h->certinfo = on;
}

/* The server's certificate (the first of the chain) from curl. */
void
http_cert_times(struct req *r, struct etcd_http_result *res)
{
	struct curl_certinfo *ci = NULL;

	if (!r->h->certinfo || curl_easy_getinfo(r->easy, CURLINFO_CERTINFO,
	    &ci) != CURLE_OK || ci == NULL || ci->num_of_certs < 1)
		return;
	for (struct curl_slist *l = ci->certinfo[0]; l != NULL; l = l->next) {
		if (strncmp(l->data, "Start date:", 11) == 0)
			res->cert_not_before = etcd_http_cert_time(l->data + 11);
		else if (strncmp(l->data, "Expire date:", 12) == 0)
			res->cert_not_after = etcd_http_cert_time(l->data + 12);
	}
}

CURLcode
http_tls_setup(struct req *r, const char *url)
{
	CURL *e = r->easy;
	CURLcode c = CURLE_OK;

#define SET(opt, val) HTTP_SET(c, e, opt, val)
	/* curl's defaults, said out loud: a member that cannot prove it is
	 * the address we asked for is not spoken to. */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	/* That CA alone: the directory of CAs libcurl was built with
	 * (Debian's: /etc/ssl/certs, every public CA) would vouch for a
	 * member too. Without it curl also keeps one parsed copy of the CA
	 * for all connections rather than one per connection. */
	if (r->h->tls_ca != NULL) {
		SET(CURLOPT_CAINFO, r->h->tls_ca);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	if (r->h->tls_cert != NULL)
		SET(CURLOPT_SSLCERT, r->h->tls_cert);
	if (r->h->tls_key != NULL)
		SET(CURLOPT_SSLKEY, r->h->tls_key);
	/* curl fills in the certificate during the handshake only: a
	 * reused connection would leave it empty. */
	if (r->h->certinfo && strncmp(url, "https:", 6) == 0) {
		SET(CURLOPT_CERTINFO, 1L);
		SET(CURLOPT_FRESH_CONNECT, 1L);
	}
#undef SET
	return c;
}
