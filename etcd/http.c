#include "agent/fmacros.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "agent/log.h"
#include "agent/loop.h"
#include "agent/xmalloc.h"
#include "etcd/http.h"

#define CONNECT_DEFAULT_MS 10000L
#define TOO_BIG_MSG "response larger than 4 MiB"

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
};

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
 * owner through the drop callback. */
static void
req_drop(struct req *r)
{
	etcd_http_drop_cb drop = r->drop;
	void *arg = r->arg;

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

static size_t
on_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;
	size_t n = size * nmemb;

	/* Returning less than n makes curl abort the transfer. */
	if (n > ETCD_HTTP_MAX_BODY - r->len) {
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > ETCD_HTTP_MAX_BODY + 1)
			cap = ETCD_HTTP_MAX_BODY + 1;
		r->buf = xrealloc(r->buf, cap);
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
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

static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct etcd_http *h = userp;
	int events = 0;

	(void)easy;
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
	free(h->fds);
	free(h);
}

static void
deliver(struct req *r)
{
	struct etcd_http_result res = { 0, "", 0, NULL };

	if (r->too_big || r->code == CURLE_FILESIZE_EXCEEDED)
		res.error = TOO_BIG_MSG;
	else if (r->code != CURLE_OK) {
		long os = 0;
		const char *e = r->errbuf[0] != '\0' ? r->errbuf :
		    curl_easy_strerror(r->code);

		/* curl 7.88 says "Couldn't connect to server" where the
		 * user wants "Connection refused" or "No route to host". */
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os);
		if (os != 0 && strstr(e, strerror((int)os)) == NULL)
			snprintf(r->msg, sizeof(r->msg), "%s: %s", e,
			    strerror((int)os));
		else
			snprintf(r->msg, sizeof(r->msg), "%s", e);
		res.error = r->msg;
	} else {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		if (r->buf != NULL) {
			res.body = r->buf;
			res.len = r->len;
		}
	}
	if (r->cb != NULL)
		r->cb(r->arg, &res);
}

/* Runs the callbacks of finished requests. This is the last thing every
 * loop callback of ours does, since a callback may free h. */
static void
dispatch(struct etcd_http *h)
{
	if (h->dispatching)
		return;
	h->dispatching = true;
	for (;;) {
		struct req *r = h->done.head;

		if (r == NULL || h->doomed)
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
	/* "Expect:" keeps curl from waiting for 100-continue on big POSTs. */
	s = curl_slist_append(NULL, "Content-Type: application/json");
	if (s != NULL)
		h->json_hdrs = curl_slist_append(s, "Expect:");
	if (h->json_hdrs == NULL) {
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

#define SET(opt, val) do {					\
	if (c == CURLE_OK)					\
		c = curl_easy_setopt(e, opt, val);		\
} while (0)
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
	/* Fails early on an announced Content-Length over the cap; on_write
	 * enforces it for chunked bodies. */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ETCD_HTTP_MAX_BODY);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	if (post_json != NULL) {
		SET(CURLOPT_HTTPHEADER, r->h->json_hdrs);
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(post_json));
		SET(CURLOPT_COPYPOSTFIELDS, post_json);
	}
#undef SET
	return c;
}

static uint64_t start(struct etcd_http *h, const char *method,
    const char *url, const char *post_json, long timeout_ms, etcd_http_cb cb,
    etcd_http_drop_cb drop, void *arg);

uint64_t
etcd_http_request_ex(struct etcd_http *h, const char *url,
    const char *post_json, long timeout_ms, etcd_http_cb cb,
    etcd_http_drop_cb drop, void *arg)
{
	return start(h, NULL, url, post_json, timeout_ms, cb, drop, arg);
}

uint64_t
etcd_http_put(struct etcd_http *h, const char *url, long timeout_ms,
    etcd_http_cb cb, void *arg)
{
	return start(h, "PUT", url, NULL, timeout_ms, cb, NULL, arg);
}

static uint64_t
start(struct etcd_http *h, const char *method, const char *url,
    const char *post_json, long timeout_ms, etcd_http_cb cb,
    etcd_http_drop_cb drop, void *arg)
{
	struct req *r = xcalloc(1, sizeof(*r));
	CURLcode c;
	CURLMcode mc;

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
