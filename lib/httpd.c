#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/httpd.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define ACCEPT_RETRY_MS 200	/* after running out of descriptors */

enum conn_state {
	C_READ = 0,	/* reading the request head */
	C_WRITE,	/* writing the answer */
	C_LINGER,	/* answered; reading what the client still sends */
};

struct conn {
	struct httpd *h;
	int fd;
	enum conn_state st;
	char in[HTTPD_REQ_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	uint64_t timer;
};

struct httpd {
	struct loop *loop;
	int fd;
	char *path, *ctype;	/* httpd_new()'s page */
	httpd_page_cb page;
	void *page_arg;
	httpd_handler_cb cb;
	void *arg;
	struct conn *c[HTTPD_CONN_MAX];
	uint64_t accept_timer;	/* accepting paused: no descriptors */
};

static void on_conn(struct loop *l, int fd, int events, void *arg);
static void on_listen(struct loop *l, int fd, int events, void *arg);

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* The whole answer; a missing body is the status's reason. head_only:
 * HEAD. extra: header lines to add, or NULL. */
static char *
answer(int status, const char *ctype, const char *body, const char *extra,
    bool head_only, size_t *len)
{
	struct sbuf b = { 0 };
	char text[64];

	if (body == NULL) {
		snprintf(text, sizeof(text), "%d %s\n", status, reason(status));
		body = text;
		ctype = "text/plain; charset=utf-8";
	}
	if (ctype == NULL)
		ctype = "application/octet-stream";
	sb_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
	    reason(status), ctype, strlen(body), extra ? extra : "");
	if (!head_only)
		sb_puts(&b, body);
	*len = b.len;
	return sb_take(&b);
}

static void
conn_close(struct conn *c)
{
	struct httpd *h = c->h;

	loop_unwatch(h->loop, c->fd);
	loop_cancel(h->loop, c->timer);
	close(c->fd);
	for (size_t i = 0; i < HTTPD_CONN_MAX; i++) {
		if (h->c[i] == c)
			h->c[i] = NULL;
	}
	free(c->out);
	free(c);
}

static void
on_timer(struct loop *l, void *arg)
{
	struct conn *c = arg;
	size_t len;
	char *a;

	(void)l;
	c->timer = 0;
	/* A slow request gets a word before the close, if the socket takes
	 * it at once; a slow reader of the answer gets nothing more. */
	if (c->st == C_READ && c->in_len > 0) {
		a = answer(408, NULL, NULL, NULL, false, &len);
		(void)send(c->fd, a, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(a);
	}
	conn_close(c);
}

static void
arm(struct conn *c, int64_t ms)
{
	loop_cancel(c->h->loop, c->timer);
	c->timer = loop_timer(c->h->loop, ms, on_timer, c);
}

/* The answer is out: say so with a FIN, then read until the client
 * closes too (or HTTPD_LINGER_MS), so that closing with its unread bytes
 * does not reset the connection before the answer arrives. */
static void
linger(struct conn *c)
{
	(void)shutdown(c->fd, SHUT_WR);
	c->st = C_LINGER;
	arm(c, HTTPD_LINGER_MS);
	loop_watch(c->h->loop, c->fd, LOOP_READ, on_conn, c);
}

static void
write_some(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	linger(c);
}

/* httpd_new()'s handler: one page at one path, GET or HEAD. */
static void
page(void *arg, const struct httpd_req *r, struct httpd_answer *a)
{
	struct httpd *h = arg;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		a->status = 405;
		a->headers = xstrdup("Allow: GET, HEAD\r\n");
	} else if (strcmp(r->path, h->path) != 0) {
		a->status = 404;
	} else {
		a->status = 200;
		a->ctype = h->ctype;
		a->body = h->page(h->page_arg);
	}
}

static void
respond(struct conn *c, int status, const struct httpd_req *r)
{
	struct httpd *h = c->h;
	bool head = r != NULL && strcmp(r->method, "HEAD") == 0;
	struct httpd_answer a = { .status = status };

	if (status == 200)
		h->cb(h->arg, r, &a);
	if (a.status < 200 || a.status > 599) {
		free(a.body);
		a.body = NULL;
		a.status = 500;
	}
	if (a.status >= 400)
		log_debug("http: answering %d %s", a.status, reason(a.status));
	c->out = answer(a.status, a.ctype, a.body, a.headers, head,
	    &c->out_len);
	free(a.body);
	free(a.headers);
	c->st = C_WRITE;
	loop_watch(h->loop, c->fd, LOOP_WRITE, on_conn, c);
	write_some(c);
}

static void
read_some(struct conn *c)
{
	struct httpd_req r;
	char drain[1024];
	ssize_t n;
	int st;

	if (c->st == C_LINGER) {
		n = recv(c->fd, drain, sizeof(drain), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR &&
		    errno != EWOULDBLOCK))
			conn_close(c);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
	    MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);	/* gone before a whole request */
		return;
	}
	c->in_len += (size_t)n;
	st = httpd_parse(c->in, c->in_len, &r);	/* 431 once c->in is full */
	if (st != 0)
		respond(c, st, st == 200 ? &r : NULL);
}

static void
on_conn(struct loop *l, int fd, int events, void *arg)
{
	struct conn *c = arg;

	(void)l;
	(void)fd;
	(void)events;
	if (c->st == C_WRITE)
		write_some(c);
	else
		read_some(c);
}

static void
on_accept_timer(struct loop *l, void *arg)
{
	struct httpd *h = arg;

	h->accept_timer = 0;
	loop_watch(l, h->fd, LOOP_READ, on_listen, h);
}

static void
take(struct httpd *h, int fd)
{
	size_t i = 0, len;
	struct conn *c;
	char *a;

	while (i < HTTPD_CONN_MAX && h->c[i] != NULL)
		i++;
	if (i == HTTPD_CONN_MAX) {
		/* Full: one word, if the socket takes it at once, and close. */
		a = answer(503, NULL, NULL, NULL, false, &len);
		(void)send(fd, a, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(a);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->fd = fd;
	h->c[i] = c;
	arm(c, HTTPD_TIMEOUT_MS);
	loop_watch(h->loop, fd, LOOP_READ, on_conn, c);
}

static void
on_listen(struct loop *l, int fd, int events, void *arg)
{
	struct httpd *h = arg;

	(void)events;
	for (int i = 0; i < HTTPD_CONN_MAX; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c >= 0) {
			take(h, c);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* The pending connection stays readable: pause rather
			 * than spin on it. */
			log_warn("http: cannot accept a connection: %s; "
			    "pausing for %d ms", strerror(errno),
			    ACCEPT_RETRY_MS);
			loop_unwatch(l, fd);
			h->accept_timer = loop_timer(l, ACCEPT_RETRY_MS,
			    on_accept_timer, h);
		}
		return;
	}
}

/* The first address of host:port that a socket binds and listens on;
 * -1 with err set and errno kept otherwise. */
static int
bind_first(const char *host, unsigned port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res, *ai;
	unsigned char a[sizeof(struct in6_addr)];
	char ps[8];
	int fd = -1, e = 0, one = 1, rc;

	if (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1)
		hints.ai_flags |= AI_NUMERICHOST;
	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0) {
		errno = EADDRNOTAVAIL;
		return str_seterr(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, HTTPD_CONN_MAX) < 0) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		str_seterr(err, errlen, "cannot listen on %s port %u: %s",
		    host, port, strerror(e));
		errno = e;
	}
	return fd;
}

struct httpd *
httpd_new_handler(struct loop *l, const char *addr, httpd_handler_cb cb,
    void *arg, char *err, size_t errlen)
{
	char host[256];
	unsigned port;
	struct httpd *h;
	int fd;

	if (httpd_split_listen(addr, host, sizeof(host), &port, err,
	    errlen) < 0) {
		errno = EINVAL;
		return NULL;
	}
	fd = bind_first(host, port, err, errlen);
	if (fd < 0)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->loop = l;
	h->fd = fd;
	h->cb = cb;
	h->arg = arg;
	loop_watch(l, fd, LOOP_READ, on_listen, h);
	return h;
}

struct httpd *
httpd_new(struct loop *l, const char *addr, const char *path,
    const char *ctype, httpd_page_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct httpd *h = httpd_new_handler(l, addr, page, NULL, err, errlen);

	if (h == NULL)
		return NULL;
	h->path = xstrdup(path);
	h->ctype = xstrdup(ctype);
	h->page = cb;
	h->page_arg = arg;
	h->arg = h;
	return h;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < HTTPD_CONN_MAX; i++) {
		if (h->c[i] != NULL)
			conn_close(h->c[i]);
	}
	loop_cancel(h->loop, h->accept_timer);
	loop_unwatch(h->loop, h->fd);
	close(h->fd);
	free(h->path);
	free(h->ctype);
	free(h);
}
