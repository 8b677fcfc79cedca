#ifndef ZOOINIT_ETCD_HTTP_H
#define ZOOINIT_ETCD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Asynchronous HTTP for talking to etcd, on libcurl's multi interface
 * driven by the process's one event loop (lib/loop.h). Nothing here
 * blocks and no callback ever runs from inside a call into this module:
 * results are delivered from the loop only.
 *
 * The caller (main) runs etcd_http_global_init() once, with signals
 * already blocked, before etcd_http_new(), and curl_global_cleanup() after
 * the last etcd_http_free(). Connection sockets are close-on-exec,
 * curl never raises signals, proxies from the environment are ignored (etcd
 * is spoken to directly), redirects are not followed and only http/https
 * are allowed.
 *
 * curl keeps descriptors of its own that are not close-on-exec (the multi
 * handle's wakeup pair, the threaded resolver's socketpair), so spawners
 * must close descriptors >= 3 in the child; lib/proc.c does. */

struct loop;
struct etcd_http;

/* curl_global_init(CURL_GLOBAL_DEFAULT), after handing back GnuTLS's
 * tables when the process holds GnuTLS only because libcurl's other
 * protocols pulled it in (etcd/http.c says why). Once per process. */
void etcd_http_global_init(void);

/* How long etcd starting a new member waits for each peer's answer to
 * GET PEER_URL/members (its startup check; no flag changes it, 3.4 to
 * 3.7): agents asking a peer the same question wait as long. */
#define ETCD_PEER_CHECK_MS 1000

/* Response bodies larger than this fail the request as a transport error
 * "response larger than 4 MiB". */
#define ETCD_HTTP_MAX_BODY (4u * 1024 * 1024)

/* What kind of transport error ended a request: whether the server was
 * reached at all, for callers that care (agent/order.c tells a peer that
 * serves from one whose port is closed or that holds the request). */
enum etcd_http_fail {
	ETCD_HTTP_FAIL_NONE = 0, /* an answer came: status is set */
	ETCD_HTTP_FAIL_CONNECT,	/* refused: nothing listens there */
	ETCD_HTTP_FAIL_UNREACHABLE, /* no route, or the time ran out
				   before a connection was made */
	ETCD_HTTP_FAIL_TIMEOUT,	/* connected, and the time ran out */
	ETCD_HTTP_FAIL_TLS,	/* the server took part in a TLS handshake
				   that failed (its certificate, or ours) */
	ETCD_HTTP_FAIL_OTHER,	/* anything else (reset, bad answer, ...) */
};

struct etcd_http_result {
	long status;		/* HTTP code; 0 on transport error */
	const char *body;	/* borrowed, valid during the callback only;
				 * NUL-terminated; "" on transport error */
	size_t len;
	const char *error;	/* transport error text, or NULL */
	enum etcd_http_fail fail; /* NONE unless error is set */
	/* The validity of the server's certificate (Unix time), with
	 * etcd_http_set_certinfo() on and https; 0 when not known. */
	int64_t cert_not_before, cert_not_after;
};

typedef void (*etcd_http_cb)(void *arg, const struct etcd_http_result *r);
/* Called instead of the result callback when a request ends without one:
 * etcd_http_cancel() or etcd_http_free(). Lets arg be freed; it must not
 * start requests on the same client. */
typedef void (*etcd_http_drop_cb)(void *arg);

/* Returns a new client bound to l (one per loop); free with
 * etcd_http_free() before loop_free(l). */
struct etcd_http *etcd_http_new(struct loop *l);

/* Sets the TLS files of every request started afterwards (strings are
 * copied; NULL unsets). ca_file is the CA bundle that verifies https
 * servers (NULL: the system's bundle); cert_file and key_file, PEM, are
 * the client certificate presented when a server asks for one (etcd with
 * --client-cert-auth). Verification is never turned off: the server's
 * certificate must chain to ca_file and name the URL's host, which for
 * etcd's URLs is an IP address (an IP subjectAltName); a mismatch fails
 * the request with curl's reason as its transport error. */
void etcd_http_set_tls(struct etcd_http *h, const char *ca_file,
    const char *cert_file, const char *key_file);

/* Whether requests started afterwards learn the validity of the
 * server's certificate (etcd_http_result's cert_* fields). Each https
 * request then opens a connection of its own, so it is for one-shot
 * commands (zooinit status), not the agent. */
void etcd_http_set_certinfo(struct etcd_http *h, bool on);

/* Parses a certificate time as curl's OpenSSL backend writes it in
 * CURLINFO_CERTINFO ("Dec  4 18:21:30 2026 GMT"). Returns the Unix time,
 * or 0 when s is not such a time. */
int64_t etcd_http_cert_time(const char *s);

/* Aborts every pending request without calling its result callback (drop
 * callbacks do run) and frees h. NULL is ignored. May be called from a
 * result callback; h is then released once that callback returns. */
void etcd_http_free(struct etcd_http *h);

/* Starts a request for url: a GET when post_json is NULL, else a POST of
 * post_json (copied) with Content-Type: application/json. The whole
 * request, connecting included, must finish within timeout_ms; with
 * timeout_ms <= 0 there is no overall limit but connecting is still
 * limited to 10 s. cb runs exactly once, later, from the loop, unless the
 * request is cancelled or h freed first; a NULL cb ignores the result.
 * Returns an id > 0. The callback may start and cancel requests (its own
 * id is a no-op) and may free h. */
uint64_t etcd_http_request(struct etcd_http *h, const char *url,
    const char *post_json, long timeout_ms, etcd_http_cb cb, void *arg);

/* As etcd_http_request(), and exactly one of cb or drop (if not NULL) is
 * eventually called with arg, so arg can be owned by the request. */
uint64_t etcd_http_request_ex(struct etcd_http *h, const char *url,
    const char *post_json, long timeout_ms, etcd_http_cb cb,
    etcd_http_drop_cb drop, void *arg);

/* Shorthands for the two shapes etcd's JSON gateway uses. */
uint64_t etcd_http_get(struct etcd_http *h, const char *url,
    long timeout_ms, etcd_http_cb cb, void *arg);
uint64_t etcd_http_post_json(struct etcd_http *h, const char *url,
    const char *json, long timeout_ms, etcd_http_cb cb, void *arg);
/* PUT with an empty body: etcd's v2 keys API takes its form values from
 * the query string too. */
uint64_t etcd_http_put(struct etcd_http *h, const char *url,
    long timeout_ms, etcd_http_cb cb, void *arg);

/* Cancels a request: its result callback will not run (its drop callback
 * does, at once). Unknown, finished or zero ids are ignored. For a
 * stream the connection is closed and no further line is delivered. */
void etcd_http_cancel(struct etcd_http *h, uint64_t id);
/* Request id's answer may wait (a lease renewal's, a routine check's):
 * once the request is sent, its socket goes unpolled until the loop
 * wakes for other work, and at most max_ms and three quarters of the
 * request's timeout (loop_hold), so that the answer shares a wakeup
 * with other work, however many pieces it comes in. */
void etcd_http_lazy(struct etcd_http *h, uint64_t id, int64_t max_ms);

/* Streaming answers (etcd's /v3/watch: newline-separated JSON objects
 * that never end). line is borrowed and valid during the call only; it is
 * NUL-terminated, without its '\n' (nor a '\r' before it), and never
 * empty or all blanks. */
typedef void (*etcd_http_line_cb)(void *arg, const char *line, size_t len);

/* Starts a POST of post_json (copied; NULL sends "{}") to url whose 2xx
 * answer is cut into lines, each handed to line as soon as it is
 * complete, whatever the chunking; a last line without '\n' is handed
 * over when the stream ends cleanly. There is no overall timeout:
 * connecting is limited to 10 s, TCP keepalive finds a vanished peer, and
 * "Grpc-Metadata-hasleader: true" is sent so that etcd ends the stream
 * when the member loses its leader.
 *
 * Memory is bounded: a line over max_line bytes (0: ETCD_HTTP_MAX_BODY)
 * ends the request with the error "stream line longer than N bytes", and
 * while lines wait to be delivered curl stops reading. A non-2xx answer
 * is not cut: at most max_line bytes of it are given to done as body.
 *
 * done runs exactly once when the stream ends (status, and "" as body
 * for a 2xx stream), after every line, unless the request is cancelled
 * or h freed first (then drop runs, if not NULL). Lines, like results,
 * are delivered from the loop only; the line callback may start and
 * cancel requests, its own included (nothing more is delivered then), and
 * may free h. Returns an id > 0 for etcd_http_cancel(). */
uint64_t etcd_http_stream(struct etcd_http *h, const char *url,
    const char *post_json, size_t max_line, etcd_http_line_cb line,
    etcd_http_cb done, etcd_http_drop_cb drop, void *arg);

/* Returns a copy of a base URL ("http://10.0.0.1:2379/") without its
 * trailing '/'s, for appending "/v3/..." paths; free with free(). */
char *etcd_http_base(const char *url);

/* The loop h runs on, for modules that need timers next to requests. */
struct loop *etcd_http_loop(struct etcd_http *h);

#endif
