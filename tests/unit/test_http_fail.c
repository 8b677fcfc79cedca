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
#include <sys/socket.h>
#include <unistd.h>

#include "etcd/http.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"

struct got {
	struct loop *l;
	int calls;
	enum etcd_http_fail fail;
	long status;
};

static void
on_res(void *arg, const struct etcd_http_result *r)
{
	struct got *g = arg;

	g->calls++;
	g->fail = r->fail;
	g->status = r->status;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_kinds),
	};

	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
