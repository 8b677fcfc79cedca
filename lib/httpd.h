#ifndef ZOOINIT_HTTPD_H
#define ZOOINIT_HTTPD_H

#include <stddef.h>

#include "lib/loop.h"

/* A small HTTP/1.x server on the loop, for one read-only page (the metrics
 * page) or a handler that answers every request (etcd's discovery
 * protocol, served on loopback): non-blocking accepts, one request per
 * connection, every answer with Connection: close. Clients are not
 * trusted: a request head is at most HTTPD_REQ_MAX bytes (more gets 431),
 * at most HTTPD_CONN_MAX connections are open at once (one more gets 503
 * and is closed), and a connection must deliver its request and take its
 * answer within HTTPD_TIMEOUT_MS (a slow one gets 408, or is closed). A
 * page answers 405 to methods other than GET and HEAD and 404 to other
 * paths. Request bodies are not read (what a client sends after the head
 * is drained). Nothing here blocks, but a host name to listen on is
 * resolved once when the server is made (getaddrinfo): give literals to
 * avoid that. */

#define HTTPD_REQ_MAX 8192	/* bytes of request line and headers */
#define HTTPD_CONN_MAX 16	/* connections open at once */
#define HTTPD_TIMEOUT_MS 5000	/* to read a request and write its answer */
#define HTTPD_LINGER_MS 1000	/* reading what is left after answering */
#define HTTPD_PATH_MAX 1024	/* bytes of a request's path */

/* Splits "HOST:PORT" into host (no brackets; hostlen bytes) and port.
 * HOST is an IPv4 literal, an IPv6 literal in brackets ("[::1]:9100")
 * or a host name (letters, digits, '-' and '.'); PORT is 1 to 65535.
 * Returns 0, or -1 with err set to what was expected. */
int httpd_split_listen(const char *s, char *host, size_t hostlen,
    unsigned *port, char *err, size_t errlen);

/* What httpd_parse() read from a request head. */
struct httpd_req {
	char method[16];
	char path[HTTPD_PATH_MAX];	/* the target without "?query" */
	int minor;			/* HTTP/1.minor: 0 or 1 */
};

/* Parses the request head at buf (len bytes, not NUL-terminated).
 * Returns 0 while the head is incomplete and may still become valid,
 * 200 when it is complete and r is filled, or the HTTP status to answer
 * with: 400 (malformed: a bad request line or header line, control
 * bytes), 414 (a target of HTTPD_PATH_MAX bytes or more), 431 (no end of
 * the head within HTTPD_REQ_MAX bytes), 505 (a version other than
 * HTTP/1.0 or 1.1). Lines end with CRLF or a bare LF. A bad request line
 * is answered as soon as it is complete. */
int httpd_parse(const char *buf, size_t len, struct httpd_req *r);

/* Returns the page as a new string (free with free()); called once per
 * GET or HEAD of the path. */
typedef char *(*httpd_page_cb)(void *arg);

/* What a handler answers: a status (200 to 599; anything else becomes
 * 500), the content type (static storage or the arg's), the body (a new
 * string the server frees; NULL: the status's reason as text) and header
 * lines to add ("Name: value\r\n" each; a new string or NULL). */
struct httpd_answer {
	int status;
	const char *ctype;
	char *body;
	char *headers;
};

/* Answers one request whose head is complete and valid, any method; a
 * is zeroed but for status, which holds 200. */
typedef void (*httpd_handler_cb)(void *arg, const struct httpd_req *r,
    struct httpd_answer *a);

struct httpd;

/* Listens on addr ("HOST:PORT", see httpd_split_listen(); copied) and
 * answers every request with cb. Returns a new server (free with
 * httpd_free()), or NULL with err set (errno then says why: EADDRINUSE,
 * EADDRNOTAVAIL, EACCES, ...). */
struct httpd *httpd_new_handler(struct loop *l, const char *addr,
    httpd_handler_cb cb, void *arg, char *err, size_t errlen);

/* Listens on addr ("HOST:PORT", see httpd_split_listen(); copied) and
 * serves cb's page at path (copied) with content type ctype (copied).
 * Returns a new server (free with httpd_free()), or NULL with err set
 * (errno then says why: EADDRINUSE, EADDRNOTAVAIL, EACCES, ...). */
struct httpd *httpd_new(struct loop *l, const char *addr, const char *path,
    const char *ctype, httpd_page_cb cb, void *arg, char *err,
    size_t errlen);
/* Closes the socket and every connection; NULL is ignored. */
void httpd_free(struct httpd *h);

#endif
