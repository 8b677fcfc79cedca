#ifndef ZOOINIT_ETCD_HTTP_INT_H
#define ZOOINIT_ETCD_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "etcd/http.h"

/* Inside the HTTP client (etcd/http.h), shared by its files only:
 * http.c     requests, streams and their lines, curl on the loop;
 * http_tls.c TLS options of a request and the server's certificate.
 * Nothing outside etcd/http*.c includes this header. */

struct req {
	struct etcd_http *h;
	uint64_t id;
	CURL *easy;
	etcd_http_cb cb;
	etcd_http_drop_cb drop;
	void *arg;
	char *buf;		/* body so far, NUL-terminated when non-NULL */
	size_t len, cap;
	bool too_big;
	CURLcode code;		/* valid once on the done list */
	/* Streams (etcd_http_stream()): buf[off..len) is what the line
	 * callback has not seen yet, holding `lines` complete lines and an
	 * unterminated tail of `part` bytes. */
	bool stream;
	bool checked;		/* status looked at, on the first write */
	bool split;		/* 2xx: the body is cut into lines */
	bool paused;		/* curl holds data back until lines drain */
	bool too_long;		/* a line over max_line ended it */
	bool dead;		/* dropped while its line callback ran */
	int64_t lazy_ms;	/* etcd_http_lazy(): its answer may wait */
	long timeout_ms;	/* curl's for the whole request; 0: none */
	etcd_http_line_cb line;
	size_t max_line;
	size_t off, lines, part;
	struct req *prev, *next;
	char errbuf[CURL_ERROR_SIZE];
	char msg[CURL_ERROR_SIZE + 64];	/* errbuf and errno, as reported */
};

struct reqlist {
	struct req *head, *tail;
};

struct etcd_http {
	struct loop *loop;
	CURLM *multi;
	struct curl_slist *json_hdrs;
	struct curl_slist *stream_hdrs;
	uint64_t next_id;
	uint64_t timer;		/* curl's timeout, 0 when none */
	uint64_t kick;		/* dispatch of requests that never started */
	struct reqlist active;	/* inside curl */
	struct reqlist done;	/* out of curl, callback not yet run */
	int *fds;		/* sockets we watch for curl, so that
				 * etcd_http_free() leaves no watch behind */
	size_t nfds, capfds;
	bool dispatching;
	bool doomed;		/* etcd_http_free() ran during dispatch */
	char *tls_ca;		/* etcd_http_set_tls(); NULL when unset */
	char *tls_cert;
	char *tls_key;
	bool certinfo;		/* etcd_http_set_certinfo() */
	struct req *delivering;	/* whose line callback is running */
};

/* Sets one option of easy handle e, unless c holds a failure already. */
#define HTTP_SET(c, e, opt, val) do {				\
	if ((c) == CURLE_OK)					\
		(c) = curl_easy_setopt((e), (opt), (val));	\
} while (0)

/* Sets r's TLS options (verification, the CA, the client certificate,
 * certificate info) for url; returns curl's first failure. */
CURLcode http_tls_setup(struct req *r, const char *url);

/* Fills res's certificate times from the server's certificate of r's
 * handshake, when etcd_http_set_certinfo() asked for them. */
void http_cert_times(struct req *r, struct etcd_http_result *res);

#endif
