/* etcd/api.c and etcd/http.c, the asynchronous half: etcd_check() and
 * the HTTP client against a small HTTP/1.1 server on loopback, driven by
 * the test's own loop, that serves answers captured from a real etcd.
 * Answers both this file and test_etcd_parse.c use are in etcd_fix.h. */
#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "tests/unit/etcd_fix.h"
#include "tests/unit/loopback_fix.h"

/* Status of an unstarted-voter leader, for the hex-name case. */
static const char STATUS_LEADER_UNNAMED[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\"},\"version\":\"3.4.23\",\"leader\":"
    "\"9331796414767838108\",\"raftTerm\":\"3\"}";

/* A small HTTP/1.1 server on loopback, driven by the same loop, so that the
 * asynchronous half runs without an etcd: one answer per connection, then
 * close. */

struct route {
	const char *path;
	long status;
	const char *body;
	size_t len;
	bool hang;		/* never answer */
	bool no_length;		/* body ends at close, no Content-Length */
};

struct conn {
	struct fake *f;
	int fd;
	char in[8192];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	struct conn *next;
};

struct fake {
	struct loop *l;
	int lfd;
	int port;
	const struct route *routes;
	size_t nroutes;
	struct conn *conns;
	char last_req[8192];	/* the last complete request */
	int nreq;
};

static void
conn_close(struct conn *c)
{
	struct conn **pp = &c->f->conns;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	loop_unwatch(c->f->l, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
}

static void
conn_write(struct loop *l, int fd, int events, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)l;
	(void)fd;
	(void)events;
	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff == c->outlen)
		conn_close(c);
}

static void
conn_answer(struct conn *c)
{
	struct fake *f = c->f;
	char path[256] = "";
	const struct route *r = NULL;
	char head[512];
	int hl;

	snprintf(f->last_req, sizeof(f->last_req), "%.*s",
	    (int)c->inlen, c->in);
	f->nreq++;
	sscanf(c->in, "%*s %255s", path);
	for (size_t i = 0; i < f->nroutes; i++) {
		if (strcmp(f->routes[i].path, path) == 0)
			r = &f->routes[i];
	}
	if (r != NULL && r->hang) {
		loop_unwatch(f->l, c->fd);
		return;
	}
	if (r == NULL) {
		static const struct route nf = { "", 404,
		    "404 page not found\n", 19, false, false };
		r = &nf;
	}
	if (r->no_length)
		hl = snprintf(head, sizeof(head), "HTTP/1.1 %ld X\r\n"
		    "Connection: close\r\n\r\n", r->status);
	else
		hl = snprintf(head, sizeof(head), "HTTP/1.1 %ld X\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n", r->status, r->len);
	c->outlen = (size_t)hl + r->len;
	c->out = xmalloc(c->outlen);
	memcpy(c->out, head, (size_t)hl);
	memcpy(c->out + hl, r->body, r->len);
	loop_watch(f->l, c->fd, LOOP_WRITE, conn_write, c);
}

static void
conn_read(struct loop *l, int fd, int events, void *arg)
{
	struct conn *c = arg;
	ssize_t n;
	size_t hl, want;

	(void)l;
	(void)fd;
	(void)events;
	if (c->inlen == sizeof(c->in) - 1) {
		conn_close(c);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (http_request_whole(c->in, c->inlen, &hl, &want))
		conn_answer(c);
}

static void
fake_accept(struct loop *l, int fd, int events, void *arg)
{
	struct fake *f = arg;
	struct conn *c;
	int s;

	(void)events;
	s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->f = f;
	c->fd = s;
	c->next = f->conns;
	f->conns = c;
	loop_watch(l, s, LOOP_READ, conn_read, c);
}

static void
fake_start(struct fake *f, struct loop *l, const struct route *routes,
    size_t nroutes)
{
	memset(f, 0, sizeof(*f));
	f->l = l;
	f->routes = routes;
	f->nroutes = nroutes;
	f->port = loopback_port(&f->lfd);
	assert_int_equal(listen(f->lfd, 16), 0);
	fcntl(f->lfd, F_SETFL, O_NONBLOCK);
	loop_watch(l, f->lfd, LOOP_READ, fake_accept, f);
}

static void
fake_stop(struct fake *f)
{
	while (f->conns != NULL)
		conn_close(f->conns);
	loop_unwatch(f->l, f->lfd);
	close(f->lfd);
}

/* One asynchronous test case: a loop, a client, a fake server, and a
 * watchdog so that a lost callback fails instead of hanging. The loop is
 * run once: loop_stop() is final. */
struct env {
	struct loop *l;
	struct etcd_http *h;
	struct fake f;
	char url[64];
	int pending;		/* callbacks still expected */
	int calls;
	struct etcd_check_result res;
	uint64_t victim;
	bool timed_out;
};

static void
watchdog(struct loop *l, void *arg)
{
	struct env *e = arg;

	e->timed_out = true;
	loop_stop(l, -1);
}

static void
env_start(struct env *e, const struct route *routes, size_t nroutes)
{
	memset(e, 0, sizeof(*e));
	e->l = loop_new();
	e->h = etcd_http_new(e->l);
	fake_start(&e->f, e->l, routes, nroutes);
	snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%d", e->f.port);
}

static void
env_run(struct env *e)
{
	uint64_t t = loop_timer(e->l, 5000, watchdog, e);

	if (e->pending > 0)
		assert_int_equal(loop_run(e->l), 0);
	loop_cancel(e->l, t);
	assert_false(e->timed_out);
}

static void
env_end(struct env *e)
{
	etcd_http_free(e->h);
	fake_stop(&e->f);
	loop_free(e->l);
}

static void
one_done(struct env *e)
{
	if (--e->pending == 0)
		loop_stop(e->l, 0);
}

static void
on_check(void *arg, const struct etcd_check_result *r)
{
	struct env *e = arg;

	e->calls++;
	e->res = *r;
	one_done(e);
}

/* Where one request's result lands. */
struct slot {
	struct env *e;
	int calls;
	long status;
	size_t len;
	char body[64];
	char error[256];
	bool has_error;
};

static void
on_http(void *arg, const struct etcd_http_result *r)
{
	struct slot *sl = arg;

	sl->calls++;
	assert_non_null(r->body);
	assert_int_equal(r->body[r->len], '\0');
	sl->status = r->status;
	sl->len = r->len;
	snprintf(sl->body, sizeof(sl->body), "%.*s", (int)(r->len < 63 ?
	    r->len : 63), r->body);
	sl->has_error = r->error != NULL;
	snprintf(sl->error, sizeof(sl->error), "%s", r->error ? r->error : "");
	one_done(sl->e);
}

static void
on_never(void *arg, const struct etcd_check_result *r)
{
	(void)arg;
	(void)r;
	fail_msg("a cancelled check called back");
}

static const struct route CLUSTER[] = {
	{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
	{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3), false,
	    false },
	{ "/v3/maintenance/status", 200, STATUS, LEN(STATUS), false, false },
};

/* One check of the fake member serving routes; it has called back once. */
static void
run_check(struct env *e, const struct route *routes, size_t n,
    long timeout_ms, bool lazy)
{
	env_start(e, routes, n);
	etcd_check(e->h, e->url, timeout_ms, lazy, on_check, e);
	e->pending = 1;
	env_run(e);
	assert_int_equal(e->calls, 1);
}

static void
test_check_healthy(void **state)
{
	struct env e;
	char url[80];

	(void)state;
	env_start(&e, CLUSTER, 3);
	/* A trailing slash on the client URL is tolerated. */
	snprintf(url, sizeof(url), "%s/", e.url);
	assert_true(etcd_check(e.h, url, 3000, false, on_check, &e) > 0);
	e.pending = 1;
	assert_int_equal(e.calls, 0);	/* never from inside etcd_check() */
	env_run(&e);
	assert_int_equal(e.calls, 1);
	assert_true(e.res.healthy);
	assert_string_equal(e.res.error, "");
	assert_int_equal(e.res.members, 3);
	assert_int_equal(e.res.voters, 2);
	assert_int_equal(e.res.learners, 1);
	assert_string_equal(e.res.leader_name, "t1");
	assert_true(e.res.leader_id == UINT64_C(3319814642761637952));
	assert_true(e.res.cluster_id == UINT64_C(324952591200643719));
	assert_true(e.res.member_id == UINT64_C(3319814642761637952));
	/* The last request was the member list's or the status's (asked
	 * together), a POST with a JSON body. */
	assert_int_equal(e.f.nreq, 3);
	assert_true(strncmp(e.f.last_req, "POST /v3/maintenance/status "
	    "HTTP/1.1\r\n", 38) == 0 || strncmp(e.f.last_req,
	    "POST /v3/cluster/member/list HTTP/1.1\r\n", 39) == 0);
	assert_non_null(strcasestr(e.f.last_req,
	    "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(e.f.last_req, "\r\n\r\n{}"));
	env_end(&e);

	/* A lazy check finds the same. */
	run_check(&e, CLUSTER, 3, 3000, true);
	assert_true(e.res.healthy);
	assert_int_equal(e.res.members, 3);
	assert_string_equal(e.res.leader_name, "t1");
	assert_int_equal(e.f.nreq, 3);
	env_end(&e);
}

/* Once /health says healthy, the member list and the status are asked
 * together: the status request goes out while the member list hangs, and
 * the check reports the member list, the first part that failed. */
static void
test_check_together(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, "", 0, true, false },
		{ "/v3/maintenance/status", 200, STATUS, LEN(STATUS), false,
		    false },
	};
	struct env e;

	(void)state;
	run_check(&e, routes, 3, 400, false);
	assert_false(e.res.healthy);
	assert_int_equal(e.f.nreq, 3);
	if (strstr(e.res.error, "/v3/cluster/member/list: ") == NULL ||
	    strstr(e.res.error, "timed out") == NULL)
		fail_msg("unexpected error: %s", e.res.error);
	env_end(&e);
}

static void
test_check_leader_unnamed(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "{\"health\":true}", 15, false, false },
		{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3),
		    false, false },
		{ "/v3/maintenance/status", 200, STATUS_LEADER_UNNAMED,
		    LEN(STATUS_LEADER_UNNAMED), false, false },
	};
	struct env e;

	(void)state;
	run_check(&e, routes, 3, 3000, false);
	assert_true(e.res.healthy);
	assert_string_equal(e.res.leader_name, "81813365b280339c");
	env_end(&e);
}

static void
check_fails(const struct route *routes, size_t n, const char *needle,
    size_t members)
{
	struct env e;

	run_check(&e, routes, n, 3000, false);
	assert_false(e.res.healthy);
	if (strstr(e.res.error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", e.res.error, needle);
	assert_true(strncmp(e.res.error, "GET http://127.0.0.1:", 21) == 0 ||
	    strncmp(e.res.error, "POST http://127.0.0.1:", 22) == 0);
	assert_int_equal(e.res.members, members);
	env_end(&e);
}

static void
test_check_unhealthy(void **state)
{
	static const struct route unhealthy[] = {
		{ "/health", 503, "{\"health\":\"false\"}", 18, false, false },
	};
	static const struct route garbage[] = {
		{ "/health", 200, "ok", 2, false, false },
	};
	static const struct route learner[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 503, LEARNER_ERR,
		    LEN(LEARNER_ERR), false, false },
	};
	static const struct route noleader[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3),
		    false, false },
		{ "/v3/maintenance/status", 200, STATUS_NOLEADER,
		    LEN(STATUS_NOLEADER), false, false },
	};
	static const struct route badlist[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, "{\"header\":{}}", 13,
		    false, false },
	};

	(void)state;
	check_fails(unhealthy, 1, "/health: etcd reports unhealthy "
	    "(HTTP 503)", 0);
	check_fails(garbage, 1, "/health: health: invalid JSON", 0);
	check_fails(CLUSTER, 0, "/health: HTTP 404: 404 page not found", 0);
	check_fails(learner, 2, "/v3/cluster/member/list: etcd error: "
	    "etcdserver: rpc not supported for learner (gRPC code 14, "
	    "HTTP 503)", 0);
	check_fails(noleader, 3, "/v3/maintenance/status: member "
	    "2e1259d415f2a040 knows no leader", 3);
	check_fails(badlist, 2, "member list: missing \"cluster_id\"", 0);
}

static void
test_check_refused(void **state)
{
	struct env e;
	char url[64];
	int fd;

	(void)state;
	env_start(&e, CLUSTER, 3);
	/* Bound but not listening: connecting is refused. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", loopback_port(&fd));
	etcd_check(e.h, url, 3000, false, on_check, &e);
	e.pending = 1;
	env_run(&e);
	close(fd);
	assert_false(e.res.healthy);
	if (strstr(e.res.error, "Connection refused") == NULL ||
	    strncmp(e.res.error, "GET http://127.0.0.1:", 21) != 0)
		fail_msg("unexpected error: %s", e.res.error);
	env_end(&e);
}

static void
test_check_timeout(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "", 0, true, false },
	};
	struct env e;
	int64_t t0;

	(void)state;
	env_start(&e, routes, 1);
	t0 = loop_now_ms();
	etcd_check(e.h, e.url, 200, false, on_check, &e);
	e.pending = 1;
	env_run(&e);
	assert_true(loop_now_ms() - t0 < 2000);
	assert_false(e.res.healthy);
	if (strstr(e.res.error, "timed out") == NULL)
		fail_msg("unexpected error: %s", e.res.error);
	env_end(&e);
}

static void
cancel_victim(void *arg, const struct etcd_check_result *r)
{
	struct env *e = arg;

	etcd_check_cancel(e->h, e->victim);
	on_check(arg, r);
}

static void
test_check_cancel(void **state)
{
	static const struct route routes[] = {
		{ "/health", 200, "{\"health\":\"true\"}", 17, false, false },
		{ "/v3/cluster/member/list", 200, MEMBERS3, LEN(MEMBERS3),
		    false, false },
		{ "/v3/maintenance/status", 200, STATUS, LEN(STATUS), false,
		    false },
		{ "/slow/health", 200, "", 0, true, false },
	};
	struct env e;
	char slow[96];
	uint64_t id;

	(void)state;
	env_start(&e, routes, 4);
	/* Cancelled at once. */
	id = etcd_check(e.h, e.url, 3000, false, on_never, &e);
	etcd_check_cancel(e.h, id);
	etcd_check_cancel(e.h, id);	/* dead ids are ignored */
	etcd_check_cancel(e.h, 0);
	/* Cancelled, mid-request, by another check's callback. */
	snprintf(slow, sizeof(slow), "%s/slow", e.url);
	e.victim = etcd_check(e.h, slow, 3000, false, on_never, &e);
	etcd_check(e.h, e.url, 3000, false, cancel_victim, &e);
	e.pending = 1;
	env_run(&e);
	assert_int_equal(e.calls, 1);
	assert_true(e.res.healthy);
	/* Left pending when the client goes away: no callback, no leak. */
	etcd_check(e.h, slow, 3000, false, on_never, &e);
	env_end(&e);
}

static void
test_http_cap(void **state)
{
	size_t big = ETCD_HTTP_MAX_BODY + 1;
	char *body = xmalloc(big);
	struct route routes[] = {
		{ "/big", 200, body, big, false, false },
		{ "/bigstream", 200, body, big, false, true },
		{ "/exact", 200, body, big - 1, false, true },
	};
	struct slot sl[3];
	struct env e;
	char url[96];

	(void)state;
	memset(body, 'x', big);
	env_start(&e, routes, 3);
	for (size_t i = 0; i < 3; i++) {
		memset(&sl[i], 0, sizeof(sl[i]));
		sl[i].e = &e;
		snprintf(url, sizeof(url), "%s%s", e.url, routes[i].path);
		etcd_http_get(e.h, url, 5000, on_http, &sl[i]);
	}
	e.pending = 3;
	env_run(&e);
	/* Announced length over the cap, and a body without one. */
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(sl[i].calls, 1);
		assert_int_equal(sl[i].status, 0);
		assert_int_equal(sl[i].len, 0);
		assert_string_equal(sl[i].error, "response larger than 4 MiB");
	}
	/* Exactly 4 MiB is allowed. */
	assert_int_equal(sl[2].status, 200);
	assert_int_equal(sl[2].len, ETCD_HTTP_MAX_BODY);
	assert_false(sl[2].has_error);
	env_end(&e);
	free(body);
}

static void
test_http_errors(void **state)
{
	struct slot sl[3];
	struct env e;
	char url[96];

	(void)state;
	env_start(&e, CLUSTER, 3);
	memset(sl, 0, sizeof(sl));
	for (size_t i = 0; i < 3; i++)
		sl[i].e = &e;
	/* Malformed URLs and other protocols fail from the loop, too. */
	etcd_http_get(e.h, "http://[bogus/health", 1000, on_http, &sl[0]);
	etcd_http_post_json(e.h, "file:///etc/passwd", "{}", 1000, on_http,
	    &sl[1]);
	snprintf(url, sizeof(url), "%s/health", e.url);
	etcd_http_request(e.h, url, NULL, 1000, on_http, &sl[2]);
	e.pending = 3;
	assert_int_equal(sl[0].calls + sl[1].calls, 0);
	env_run(&e);
	assert_int_equal(sl[0].status, 0);
	assert_string_equal(sl[0].body, "");
	assert_true(sl[0].has_error);
	assert_int_equal(sl[1].status, 0);
	assert_non_null(strstr(sl[1].error, "file"));
	assert_int_equal(sl[2].status, 200);
	assert_string_equal(sl[2].body, "{\"health\":\"true\"}");
	assert_int_equal(sl[2].len, 17);
	assert_false(sl[2].has_error);
	/* The GET carried no JSON content type. */
	assert_null(strcasestr(e.f.last_req, "Content-Type"));
	env_end(&e);
}

struct canceller {
	struct env *e;
	uint64_t other;
	int calls;
	int drops;
};

static void
cancel_other(void *arg, const struct etcd_http_result *r)
{
	struct canceller *c = arg;

	(void)r;
	c->calls++;
	etcd_http_cancel(c->e->h, c->other);
	etcd_http_cancel(c->e->h, c->other);
	loop_stop(c->e->l, 0);
}

static void
count_drop(void *arg)
{
	struct canceller *c = arg;

	c->drops++;
}

static void
test_http_cancel_finished(void **state)
{
	struct env e;
	struct canceller c = { 0 };
	size_t n = 9 * 1000 * 1000;
	char *url = xmalloc(n);
	uint64_t a;

	(void)state;
	env_start(&e, CLUSTER, 3);
	c.e = &e;
	/* curl refuses URLs over 8 MB already in curl_easy_setopt(), so
	 * both requests are finished, in this order, before the loop runs:
	 * the second is cancelled after it finished but before it was
	 * delivered. */
	memset(url, 'a', n - 1);
	url[n - 1] = '\0';
	memcpy(url, "http://", 7);
	a = etcd_http_request_ex(e.h, url, NULL, 1000, cancel_other,
	    count_drop, &c);
	c.other = etcd_http_request_ex(e.h, url, NULL, 1000, cancel_other,
	    count_drop, &c);
	free(url);
	assert_true(a > 0 && c.other > a);
	e.pending = 1;
	env_run(&e);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.drops, 1);
	env_end(&e);
}

struct freer {
	struct env *e;
	int calls;
	int drops;
};

/* Whichever request finishes first frees the client; the rest must be
 * dropped, never called back. */
static void
free_from_cb(void *arg, const struct etcd_http_result *r)
{
	struct freer *fr = arg;

	(void)r;
	fr->calls++;
	assert_int_equal(fr->calls, 1);
	etcd_http_free(fr->e->h);
	fr->e->h = NULL;
	loop_stop(fr->e->l, 0);
}

static void
drop_count(void *arg)
{
	struct freer *fr = arg;

	fr->drops++;
}

static void
test_http_free_in_callback(void **state)
{
	struct env e;
	struct freer fr = { 0 };
	char url[96];

	(void)state;
	env_start(&e, CLUSTER, 3);
	fr.e = &e;
	snprintf(url, sizeof(url), "%s/health", e.url);
	for (int i = 0; i < 4; i++)
		etcd_http_request_ex(e.h, url, NULL, 3000, free_from_cb,
		    drop_count, &fr);
	etcd_check(e.h, e.url, 3000, false, on_never, &e);
	e.pending = 1;
	env_run(&e);
	assert_int_equal(fr.calls, 1);
	assert_int_equal(fr.drops, 3);
	env_end(&e);		/* e.h is NULL: etcd_http_free(NULL) */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_healthy),
		cmocka_unit_test(test_check_together),
		cmocka_unit_test(test_check_leader_unnamed),
		cmocka_unit_test(test_check_unhealthy),
		cmocka_unit_test(test_check_refused),
		cmocka_unit_test(test_check_timeout),
		cmocka_unit_test(test_check_cancel),
		cmocka_unit_test(test_http_cap),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_http_cancel_finished),
		cmocka_unit_test(test_http_free_in_callback),
	};
	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
