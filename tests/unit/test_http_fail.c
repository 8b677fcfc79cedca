#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd/http.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"

struct got {
	struct loop *l;
	int calls;
	enum etcd_http_fail fail;
	long status;
	char body[16];
	int64_t at;		/* when the callback ran */
};

static void
on_res(void *arg, const struct etcd_http_result *r)
{
	struct got *g = arg;

	g->calls++;
	g->fail = r->fail;
	g->status = r->status;
	g->at = loop_now_ms();
	snprintf(g->body, sizeof(g->body), "%.*s", (int)r->len,
	    r->body != NULL ? r->body : "");
	loop_stop(g->l, 0);
}

/* A loopback port bound to fd; listening (with a backlog nobody accepts
 * from, as etcd's peer port while it runs its startup check) or not (so
 * connecting is refused). */
static int
port_of(int *fd, bool listening)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(*fd, 8), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &sl), 0);
	return ntohs(sa.sin_port);
}

static enum etcd_http_fail
fail_of(int port, long timeout_ms)
{
	struct got g = { .l = loop_new() };
	struct etcd_http *h = etcd_http_new(g.l);
	char *url = xasprintf("http://127.0.0.1:%d/members", port);

	assert_true(etcd_http_get(h, url, timeout_ms, on_res, &g) > 0);
	assert_int_equal(loop_run(g.l), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, 0);
	free(url);
	etcd_http_free(h);
	loop_free(g.l);
	return g.fail;
}

/* A closed port is refused; a port that takes the connection and never
 * answers times out connected: the two states agent/order.c tells apart. */
static void
test_fail_kinds(void **state)
{
	int closed, held;
	int pc = port_of(&closed, false), ph = port_of(&held, true);

	(void)state;
	assert_int_equal(fail_of(pc, 2000), ETCD_HTTP_FAIL_CONNECT);
	assert_int_equal(fail_of(ph, 200), ETCD_HTTP_FAIL_TIMEOUT);
	close(closed);
	close(held);
}

/* A server in a child process (so that it never wakes the test's loop)
 * that answers one request in two pieces 5 ms apart, the headers and
 * then the body, as etcd's gateway flushes a keepalive round's lines,
 * then waits for the client to close. Forked before the client exists:
 * under valgrind the child, which exits without freeing, then has
 * nothing to leak. */
static pid_t
piecewise_server(int lfd)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
	const struct timespec gap = { 0, 5 * 1000000L };
	char buf[1024];
	pid_t pid = fork();
	int conn;

	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	conn = accept(lfd, NULL, NULL);
	if (conn < 0 || read(conn, buf, sizeof(buf)) <= 0 ||
	    write(conn, head, strlen(head)) != (ssize_t)strlen(head))
		_exit(1);
	nanosleep(&gap, NULL);
	if (write(conn, "ok", 2) != 2)
		_exit(1);
	while (read(conn, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

static void
on_tick(struct loop *l, void *arg)
{
	(void)l;
	*(int64_t *)arg = loop_now_ms();
}

/* One lazy GET of max_ms to the piecewise server, with a timer at
 * tick_ms (0: none); returns how long after the request its answer came. */
static int64_t
lazy_get(int64_t max_ms, int64_t tick_ms)
{
	int lfd, port = port_of(&lfd, true), status;
	pid_t child = piecewise_server(lfd);
	struct got g = { .l = loop_new() };
	struct etcd_http *h = etcd_http_new(g.l);
	char *url = xasprintf("http://127.0.0.1:%d/health", port);
	int64_t t0, ticked = 0;

	t0 = loop_now_ms();
	etcd_http_lazy(h, etcd_http_get(h, url, 2000, on_res, &g), max_ms);
	if (tick_ms > 0)
		loop_timer(g.l, tick_ms, on_tick, &ticked);
	assert_int_equal(loop_run(g.l), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, "ok");
	if (tick_ms > 0)
		assert_true(ticked == 0 || ticked >= g.at);
	free(url);
	etcd_http_free(h);
	loop_free(g.l);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(status, 0);
	close(lfd);
	return g.at - t0;
}

/* A lazy request's socket is first polled max_ms after the request went
 * out when nothing else wakes the loop: its answer, sent in two pieces,
 * reaches the callback whole and not sooner. When the loop wakes for a
 * timer first, the answer is read in that wakeup, before the timer's
 * callback. */
static void
test_lazy(void **state)
{
	int64_t took;

	(void)state;
	assert_true(lazy_get(20, 0) >= 20);
	took = lazy_get(1500, 60);
	assert_true(took >= 60 && took < 1500);
}

/* A server on the test's own loop that answers every request at once
 * and keeps the connections it accepted. */
#define BURST 12

struct burst {
	struct loop *l;
	int fds[BURST];
	int conns;
	int done, ok;
};

static void
on_burst_request(struct loop *l, int fd, int events, void *arg)
{
	static const char ans[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char buf[1024];

	(void)events;
	(void)arg;
	if (read(fd, buf, sizeof(buf)) <= 0) {
		loop_unwatch(l, fd);
		return;
	}
	assert_int_equal(write(fd, ans, strlen(ans)), (ssize_t)strlen(ans));
}

static void
on_burst_accept(struct loop *l, int fd, int events, void *arg)
{
	struct burst *b = arg;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	(void)events;
	assert_true(c >= 0);
	assert_true(b->conns < BURST);
	b->fds[b->conns++] = c;
	loop_watch(l, c, LOOP_READ, on_burst_request, b);
}

static void
on_burst_res(void *arg, const struct etcd_http_result *r)
{
	struct burst *b = arg;

	b->ok += r->status == 200;
	if (++b->done == BURST)
		loop_stop(b->l, 0);
}

/* Twelve requests to one server at once (every service's lease at an
 * agent's start) share at most four connections, the rest waiting their
 * turn, and every one is answered. */
static void
test_burst(void **state)
{
	struct burst b = { .l = loop_new() };
	struct etcd_http *h = etcd_http_new(b.l);
	int lfd, port = port_of(&lfd, true);
	char *url = xasprintf("http://127.0.0.1:%d/health", port);

	(void)state;
	loop_watch(b.l, lfd, LOOP_READ, on_burst_accept, &b);
	for (int i = 0; i < BURST; i++)
		assert_true(etcd_http_get(h, url, 5000, on_burst_res, &b) > 0);
	assert_int_equal(loop_run(b.l), 0);
	assert_int_equal(b.ok, BURST);
	assert_true(b.conns >= 1);
	assert_true(b.conns <= 4);
	free(url);
	etcd_http_free(h);
	loop_free(b.l);
	for (int i = 0; i < b.conns; i++)
		close(b.fds[i]);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_kinds),
		cmocka_unit_test(test_lazy),
		cmocka_unit_test(test_burst),
	};

	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
