#include "lib/fmacros.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/http.h"
#include "etcd/http_int.h"

#define CONNECT_DEFAULT_MS 10000L
#define TOO_BIG_MSG "response larger than 4 MiB"
/* A stream with a complete line still undelivered takes in at most this
 * much beyond its line cap before curl is paused (one curl read). */
#define STREAM_SLACK ((size_t)CURL_MAX_WRITE_SIZE)
#define STREAM_READ 4096	/* a stream's download buffer */

static void on_fd(struct loop *l, int fd, int events, void *arg);
static void on_timeout(struct loop *l, void *arg);
static void on_kick(struct loop *l, void *arg);

static void
list_add(struct reqlist *list, struct req *r)
{
	r->next = NULL;
	r->prev = list->tail;
	if (list->tail != NULL)
		list->tail->next = r;
	else
		list->head = r;
	list->tail = r;
}

static void
list_del(struct reqlist *list, struct req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		list->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		list->tail = r->prev;
	r->prev = r->next = NULL;
}

static struct req *
list_find(struct reqlist *list, uint64_t id)
{
	for (struct req *r = list->head; r != NULL; r = r->next) {
		if (r->id == id)
			return r;
	}
	return NULL;
}

static void
req_free(struct req *r)
{
	curl_easy_cleanup(r->easy);
	free(r->buf);
	free(r);
}

/* Frees r, which is on no list any more and outside curl, and tells its
 * owner through the drop callback. The request whose line callback is
 * running is only marked: its line lives in r->buf until that returns. */
static void
req_drop(struct req *r)
{
	etcd_http_drop_cb drop = r->drop;
	void *arg = r->arg;

	if (r->h->delivering == r)
		r->dead = true;
	else
		req_free(r);
	if (drop != NULL)
		drop(arg);
}

static void
fd_track(struct etcd_http *h, int fd)
{
	for (size_t i = 0; i < h->nfds; i++) {
		if (h->fds[i] == fd)
			return;
	}
	if (h->nfds == h->capfds) {
		h->capfds = h->capfds ? h->capfds * 2 : 8;
		h->fds = xreallocarray(h->fds, h->capfds, sizeof(*h->fds));
	}
	h->fds[h->nfds++] = fd;
}

static void
fd_untrack(struct etcd_http *h, int fd)
{
	for (size_t i = 0; i < h->nfds; i++) {
		if (h->fds[i] == fd) {
			h->fds[i] = h->fds[--h->nfds];
			return;
		}
	}
}

static void
set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0 && !(fl & FD_CLOEXEC))
		(void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Appends n bytes to r->buf, keeping it NUL-terminated; the callers have
 * checked the caps, max is the largest size the buffer may reach. */
static void
buf_append(struct req *r, const char *p, size_t n, size_t max)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		if (cap < r->len + n + 1)
			cap = r->len + n + 1;
		r->buf = xrealloc(r->buf, cap);
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

/* The write callback of streams. Lines are only counted here: they are
 * handed out by dispatch(), outside curl, where the line callback may
 * cancel or start requests. */
static size_t
on_write_stream(struct req *r, char *p, size_t n)
{
	size_t part = r->part, lines = 0;
	const char *q = p, *end = p + n;

	if (!r->checked) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		r->checked = true;
		r->split = status >= 200 && status <= 299;
	}
	if (!r->split) {
		/* An error answer, kept whole for the done callback. */
		if (n > r->max_line - r->len) {
			r->too_big = true;
			return 0;
		}
		buf_append(r, p, n, r->max_line);
		return n;
	}
	/* Complete lines wait for dispatch(); beyond the slack curl keeps
	 * the data (and stops reading) until they are consumed. */
	if (r->lines > 0 && r->len - r->off + n > r->max_line + STREAM_SLACK) {
		r->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t k = (size_t)((nl != NULL ? nl : end) - q);

		if (k > r->max_line - part) {
			r->too_long = true;
			return 0;
		}
		if (nl == NULL) {
			part += k;
			break;
		}
		lines++;
		part = 0;
		q = nl + 1;
	}
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	buf_append(r, p, n, r->max_line + STREAM_SLACK);
	r->lines += lines;
	r->part = part;
	return n;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;
	size_t n = size * nmemb;

	if (r->stream)
		return on_write_stream(r, p, n);
	/* Returning less than n makes curl abort the transfer. */
	if (n > ETCD_HTTP_MAX_BODY - r->len) {
		r->too_big = true;
		return 0;
	}
	buf_append(r, p, n, ETCD_HTTP_MAX_BODY);
	return n;
}

/* Children are spawned while requests are in flight; curl 7.88 does not
 * open its sockets close-on-exec, so we open them ourselves. */
static curl_socket_t
on_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	int fd;

	(void)clientp;
	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* A lazy request, sent whole, now waits for its answer: its socket is
 * held, once (curl removes the socket, and the hold, when it ends). */
static void
hold_answer(struct etcd_http *h, CURL *easy, curl_socket_t s)
{
	struct req *r = NULL;
	long sent = 0;

	if (easy == NULL ||
	    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK ||
	    r == NULL || r->lazy_ms <= 0 ||
	    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK ||
	    sent <= 0)
		return;
	loop_hold(h->loop, s, r->lazy_ms);
	r->lazy_ms = 0;
}

static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct etcd_http *h = userp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		loop_unwatch(h->loop, s);
		fd_untrack(h, s);
		return 0;
	}
	/* Not every socket comes from on_opensocket: the threaded resolver's
	 * socketpair does too. Mark each once, before control returns to
	 * the loop (and so before any spawn). */
	if (socketp == NULL) {
		set_cloexec(s);
		curl_multi_assign(h->multi, s, h);
	}
	if (what & CURL_POLL_IN)
		events |= LOOP_READ;
	if (what & CURL_POLL_OUT)
		events |= LOOP_WRITE;
	if (events == 0) {
		loop_unwatch(h->loop, s);
		fd_untrack(h, s);
		return 0;
	}
	loop_watch(h->loop, s, events, on_fd, h);
	fd_track(h, s);
	if (events == LOOP_READ)
		hold_answer(h, easy, s);
	return 0;
}

static int
on_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	struct etcd_http *h = userp;

	(void)multi;
	loop_cancel(h->loop, h->timer);
	h->timer = 0;
	if (timeout_ms >= 0)
		h->timer = loop_timer(h->loop, timeout_ms, on_timeout, h);
	return 0;
}

/* Moves every finished transfer out of curl onto the done list. Callbacks
 * must not run while curl is still inside curl_multi_socket_action(), and
 * one may cancel another finished request, so all are collected first. */
static void
collect(struct etcd_http *h)
{
	for (;;) {
		int left;
		CURLMsg *m = curl_multi_info_read(h->multi, &left);
		char *priv = NULL;
		struct req *r;

		if (m == NULL)
			break;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		r = (struct req *)(void *)priv;
		r->code = m->data.result;
		curl_multi_remove_handle(h->multi, r->easy);
		list_del(&h->active, r);
		list_add(&h->done, r);
	}
}

static void
destroy(struct etcd_http *h)
{
	curl_multi_cleanup(h->multi);
	for (size_t i = 0; i < h->nfds; i++)
		loop_unwatch(h->loop, h->fds[i]);
	loop_cancel(h->loop, h->timer);
	loop_cancel(h->loop, h->kick);
	curl_slist_free_all(h->json_hdrs);
	curl_slist_free_all(h->stream_hdrs);
	free(h->tls_ca);
	free(h->tls_cert);
	free(h->tls_key);
	free(h->fds);
	free(h);
}

static enum etcd_http_fail
fail_kind(CURL *easy, CURLcode c, long os)
{
	curl_off_t connected = 0;

	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return os == ECONNREFUSED ? ETCD_HTTP_FAIL_CONNECT :
		    ETCD_HTTP_FAIL_UNREACHABLE;
	case CURLE_COULDNT_RESOLVE_HOST:
		return ETCD_HTTP_FAIL_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		if (curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T,
		    &connected) != CURLE_OK || connected == 0)
			return ETCD_HTTP_FAIL_UNREACHABLE;
		return ETCD_HTTP_FAIL_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return ETCD_HTTP_FAIL_TLS;
	default:
		return ETCD_HTTP_FAIL_OTHER;
	}
}

static void
deliver(struct req *r)
{
	struct etcd_http_result res = { .body = "", .fail = ETCD_HTTP_FAIL_NONE };

	if (r->stream && r->too_long) {
		snprintf(r->msg, sizeof(r->msg), "stream line longer than %zu "
		    "bytes", r->max_line);
		res.error = r->msg;
	} else if (r->stream && r->too_big) {
		snprintf(r->msg, sizeof(r->msg), "response larger than %zu "
		    "bytes", r->max_line);
		res.error = r->msg;
	} else if (r->too_big || r->code == CURLE_FILESIZE_EXCEEDED)
		res.error = TOO_BIG_MSG;
	else if (r->code != CURLE_OK) {
		long os = 0;
		const char *e = r->errbuf[0] != '\0' ? r->errbuf :
		    curl_easy_strerror(r->code);

		/* curl 7.88 says "Couldn't connect to server" where the
		 * user wants "Connection refused" or "No route to host". */
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os);
		res.fail = fail_kind(r->easy, r->code, os);
		if (os != 0 && strstr(e, strerror((int)os)) == NULL)
			snprintf(r->msg, sizeof(r->msg), "%s: %s", e,
			    strerror((int)os));
		else
			snprintf(r->msg, sizeof(r->msg), "%s", e);
		res.error = r->msg;
	}
	if (res.error != NULL && res.fail == ETCD_HTTP_FAIL_NONE)
		res.fail = ETCD_HTTP_FAIL_OTHER;
	if (res.error == NULL) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		http_cert_times(r, &res);
		/* A split stream's lines went to the line callback. */
		if (r->buf != NULL && !r->split) {
			res.body = r->buf;
			res.len = r->len;
		}
	}
	if (r->cb != NULL)
		r->cb(r->arg, &res);
}

/* Whether r, a stream, has a line for its callback: a complete one, or
 * the unterminated tail once the stream ended cleanly. */
static bool
line_ready(const struct req *r, bool done)
{
	if (!r->split)
		return false;
	return r->lines > 0 || (done && r->code == CURLE_OK && r->part > 0);
}

static bool
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	}
	return true;
}

/* Hands r's next line to its line callback. r may be dropped, and h
 * doomed, by the callback. */
static void
deliver_line(struct etcd_http *h, struct req *r)
{
	char *line = r->buf + r->off;
	size_t avail = r->len - r->off;
	char *nl = r->lines > 0 ? memchr(line, '\n', avail) : NULL;
	size_t k;

	if (nl != NULL) {
		k = (size_t)(nl - line);
		r->off += k + 1;
		r->lines--;
	} else {
		/* The tail of a finished stream; buf[len] is already NUL. */
		k = avail;
		r->off = r->len;
		r->part = 0;
	}
	line[k] = '\0';
	if (k > 0 && line[k - 1] == '\r')
		line[--k] = '\0';
	if (blank(line, k))
		return;
	h->delivering = r;
	r->line(r->arg, line, k);
	h->delivering = NULL;
	if (r->dead)
		req_free(r);
}

/* Runs the callbacks of streamed lines and finished requests, and lets
 * paused streams go on once their lines are consumed. This is the last
 * thing every loop callback of ours does, since a callback may free h. */
static void
dispatch(struct etcd_http *h)
{
	if (h->dispatching)
		return;
	h->dispatching = true;
	while (!h->doomed) {
		struct req *r;

		for (r = h->active.head; r != NULL; r = r->next) {
			if (line_ready(r, false))
				break;
		}
		if (r == NULL) {
			for (r = h->done.head; r != NULL; r = r->next) {
				if (line_ready(r, true))
					break;
			}
		}
		if (r != NULL) {
			deliver_line(h, r);
			continue;
		}
		for (r = h->active.head; r != NULL; r = r->next) {
			if (r->paused)
				break;
		}
		if (r != NULL) {
			/* curl may hand the held data to on_write at once,
			 * and may finish transfers meanwhile. */
			r->paused = false;
			curl_easy_pause(r->easy, CURLPAUSE_CONT);
			collect(h);
			continue;
		}
		r = h->done.head;
		if (r == NULL)
			break;
		list_del(&h->done, r);
		deliver(r);
		req_free(r);
	}
	h->dispatching = false;
	if (h->doomed)
		destroy(h);
}

static void
socket_action(struct etcd_http *h, curl_socket_t s, int flags)
{
	int running;
	CURLMcode mc = curl_multi_socket_action(h->multi, s, flags, &running);

	if (mc != CURLM_OK)
		log_warn("curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	collect(h);
	dispatch(h);
}

static void
on_fd(struct loop *l, int fd, int events, void *arg)
{
	int flags = 0;

	(void)l;
	if (events & LOOP_READ)
		flags |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	socket_action(arg, fd, flags);
}

static void
on_timeout(struct loop *l, void *arg)
{
	struct etcd_http *h = arg;

	(void)l;
	h->timer = 0;
	socket_action(h, CURL_SOCKET_TIMEOUT, 0);
}

static void
on_kick(struct loop *l, void *arg)
{
	struct etcd_http *h = arg;

	(void)l;
	h->kick = 0;
	dispatch(h);
}

/* Debian's libcurl loads GnuTLS for its RTMP and LDAP (its TLS is
 * OpenSSL's), and GnuTLS sets itself up as it loads, counted as one
 * gnutls_global_init(): about 90 kB of ASN.1 trees and tables (100-140
 * kB of the agent's anonymous memory). zooinit speaks only http and https
 * (CURLOPT_PROTOCOLS_STR), so that count is handed back before curl
 * starts; a libcurl built on GnuTLS takes its own in curl_global_init()
 * and is unaffected. */
void
etcd_http_global_init(void)
{
	void (*gnutls_deinit)(void);

	gnutls_deinit = (void (*)(void))dlsym(RTLD_DEFAULT,
	    "gnutls_global_deinit");
	if (gnutls_deinit != NULL)
		gnutls_deinit();
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

#define HTTP_MAX_CONNS 4

struct etcd_http *
etcd_http_new(struct loop *l)
{
	struct etcd_http *h = xcalloc(1, sizeof(*h));
	struct curl_slist *s;

	h->loop = l;
	h->next_id = 1;
	/* curl_multi_init() opens a wakeup socketpair it does not mark
	 * close-on-exec; children never see it because proc_spawn() closes
	 * every descriptor above stderr. */
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		log_error("curl_multi_init failed (out of memory?)");
		abort();
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* At most this many connections to one member, and kept: a burst
	 * (every service's request at start) waits its turn rather than
	 * opening a connection each (over https a handshake and about 50
	 * KB). curl times a waiting request out only once it has one; at
	 * most three requests to one member are long (the registry's watch,
	 * a snapshot, a token's watch), so a connection turns over. */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)HTTP_MAX_CONNS);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_MAX_CONNS);
	/* "Expect:" keeps curl from waiting for 100-continue on big POSTs. */
	s = curl_slist_append(NULL, "Content-Type: application/json");
	if (s != NULL)
		h->json_hdrs = curl_slist_append(s, "Expect:");
	/* Streams also ask etcd to end them when the member loses its
	 * leader ("hasleader" gRPC metadata, passed on by the gateway),
	 * rather than stay silent on a member cut off from the quorum. */
	s = curl_slist_append(NULL, "Content-Type: application/json");
	if (s != NULL && curl_slist_append(s, "Expect:") != NULL)
		h->stream_hdrs = curl_slist_append(s,
		    "Grpc-Metadata-hasleader: true");
	if (h->stream_hdrs == NULL)
		curl_slist_free_all(s);
	if (h->json_hdrs == NULL || h->stream_hdrs == NULL) {
		log_error("curl_slist_append failed (out of memory)");
		abort();
	}
	return h;
}

static void
abort_all(struct etcd_http *h)
{
	for (;;) {
		struct req *r = h->active.head;

		if (r == NULL)
			break;
		list_del(&h->active, r);
		curl_multi_remove_handle(h->multi, r->easy);
		req_drop(r);
	}
	for (;;) {
		struct req *r = h->done.head;

		if (r == NULL)
			break;
		list_del(&h->done, r);
		req_drop(r);
	}
}

void
etcd_http_free(struct etcd_http *h)
{
	if (h == NULL || h->doomed)
		return;
	h->doomed = true;
	abort_all(h);
	if (!h->dispatching)
		destroy(h);
}

/* Sets every option of a new transfer; returns the first failure. */
static CURLcode
req_setup(struct req *r, const char *url, const char *post_json,
    long timeout_ms)
{
	CURL *e = r->easy;
	CURLcode c = CURLE_OK;
	long connect_ms = timeout_ms > 0 ? timeout_ms : CONNECT_DEFAULT_MS;

	r->timeout_ms = timeout_ms;
#define SET(opt, val) HTTP_SET(c, e, opt, val)
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_PRIVATE, (void *)r);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOPROXY, "*");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "zooinit");
	SET(CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, (void *)r);
	/* curl's smallest: every transfer holds its upload buffer while it
	 * runs (64 KB by default; a stream for its whole life), and the
	 * bodies zooinit sends are small. */
	SET(CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	/* Likewise its download buffer (16 KB by default): a stream (a
	 * watch idle for hours) reads in smaller pieces instead. */
	if (r->stream)
		SET(CURLOPT_BUFFERSIZE, (long)STREAM_READ);
	/* A connection idle this long is closed rather than reused: what a
	 * burst opened does not stay (curl's default is 118 s). */
	SET(CURLOPT_MAXAGE_CONN, 30L);
	/* Fails early on an announced Content-Length over the cap; on_write
	 * enforces it for chunked bodies. A stream has no overall size. */
	if (!r->stream)
		SET(CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)ETCD_HTTP_MAX_BODY);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	/* HTTP/1.1 over TLS as over plain http: etcd's grpc-proxy (3.4)
	 * hands every HTTP/2 connection to gRPC, so /health asked over h2
	 * ends in a protocol error. */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (c == CURLE_OK)
		c = http_tls_setup(r, url);
	/* A stream may be silent for hours: TCP keepalive finds a peer
	 * that vanished without a reset within about a minute. */
	if (r->stream) {
		SET(CURLOPT_TCP_KEEPALIVE, 1L);
		SET(CURLOPT_TCP_KEEPIDLE, 30L);
		SET(CURLOPT_TCP_KEEPINTVL, 10L);
	}
	if (post_json != NULL) {
		SET(CURLOPT_HTTPHEADER, r->stream ? r->h->stream_hdrs :
		    r->h->json_hdrs);
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(post_json));
		SET(CURLOPT_COPYPOSTFIELDS, post_json);
	}
#undef SET
	return c;
}

static struct req *
req_new(struct etcd_http *h, etcd_http_cb cb, etcd_http_drop_cb drop,
    void *arg)
{
	struct req *r = xcalloc(1, sizeof(*r));

	r->h = h;
	r->id = h->next_id++;
	r->cb = cb;
	r->drop = drop;
	r->arg = arg;
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		log_error("curl_easy_init failed (out of memory?)");
		abort();
	}
	return r;
}

/* Hands r, set up by req_new() and its caller, to curl. */
static uint64_t
launch(struct req *r, const char *method, const char *url,
    const char *post_json, long timeout_ms)
{
	struct etcd_http *h = r->h;
	CURLcode c;
	CURLMcode mc;

	c = req_setup(r, url, post_json, timeout_ms);
	if (c == CURLE_OK && method != NULL)
		c = curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	if (c == CURLE_OK) {
		list_add(&h->active, r);
		mc = curl_multi_add_handle(h->multi, r->easy);
		if (mc == CURLM_OK)
			return r->id;
		list_del(&h->active, r);
		snprintf(r->errbuf, sizeof(r->errbuf), "%s",
		    curl_multi_strerror(mc));
		c = CURLE_FAILED_INIT;
	}
	/* Report the failure from the loop like any other, never from
	 * inside this call. */
	r->code = c;
	list_add(&h->done, r);
	if (h->kick == 0)
		h->kick = loop_timer(h->loop, 0, on_kick, h);
	return r->id;
}

uint64_t
etcd_http_request_ex(struct etcd_http *h, const char *url,
    const char *post_json, long timeout_ms, etcd_http_cb cb,
    etcd_http_drop_cb drop, void *arg)
{
	return launch(req_new(h, cb, drop, arg), NULL, url, post_json,
	    timeout_ms);
}

uint64_t
etcd_http_put(struct etcd_http *h, const char *url, long timeout_ms,
    etcd_http_cb cb, void *arg)
{
	return launch(req_new(h, cb, NULL, arg), "PUT", url, NULL, timeout_ms);
}

uint64_t
etcd_http_request(struct etcd_http *h, const char *url,
    const char *post_json, long timeout_ms, etcd_http_cb cb, void *arg)
{
	return etcd_http_request_ex(h, url, post_json, timeout_ms, cb, NULL,
	    arg);
}

uint64_t
etcd_http_get(struct etcd_http *h, const char *url, long timeout_ms,
    etcd_http_cb cb, void *arg)
{
	return etcd_http_request_ex(h, url, NULL, timeout_ms, cb, NULL, arg);
}

uint64_t
etcd_http_post_json(struct etcd_http *h, const char *url, const char *json,
    long timeout_ms, etcd_http_cb cb, void *arg)
{
	return etcd_http_request_ex(h, url, json != NULL ? json : "{}",
	    timeout_ms, cb, NULL, arg);
}

uint64_t
etcd_http_stream(struct etcd_http *h, const char *url, const char *post_json,
    size_t max_line, etcd_http_line_cb line, etcd_http_cb done,
    etcd_http_drop_cb drop, void *arg)
{
	struct req *r = req_new(h, done, drop, arg);

	r->stream = true;
	r->line = line;
	r->max_line = max_line > 0 ? max_line : ETCD_HTTP_MAX_BODY;
	return launch(r, NULL, url, post_json != NULL ? post_json : "{}", 0);
}

char *
etcd_http_base(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return xstrndup(url, n);
}

struct loop *
etcd_http_loop(struct etcd_http *h)
{
	return h->loop;
}

void
etcd_http_lazy(struct etcd_http *h, uint64_t id, int64_t max_ms)
{
	struct req *r = list_find(&h->active, id);

	if (r == NULL)
		return;
	/* curl, handed the socket after the request's timeout, reports the
	 * timeout without reading what waits in it. */
	if (r->timeout_ms > 0 && max_ms > r->timeout_ms * 3 / 4)
		max_ms = r->timeout_ms * 3 / 4;
	r->lazy_ms = max_ms;
}

void
etcd_http_cancel(struct etcd_http *h, uint64_t id)
{
	struct req *r;

	if (id == 0)
		return;
	r = list_find(&h->active, id);
	if (r != NULL) {
		list_del(&h->active, r);
		curl_multi_remove_handle(h->multi, r->easy);
		req_drop(r);
		return;
	}
	r = list_find(&h->done, id);
	if (r != NULL) {
		list_del(&h->done, r);
		req_drop(r);
	}
}
