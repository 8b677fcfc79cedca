/* etcd/kv.c end to end, against Debian's etcd on loopback, one member
 * that the group setup of kv_fix.h starts (the tests are skipped without
 * it): watches, compaction and failover to a second endpoint. Keys,
 * transactions and leases: test_kv_e2e.c. */
#include "lib/fmacros.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/http.h"
#include "etcd/kv.h"
#include "tests/unit/kv_fix.h"

static void
on_watch_step(void *arg, const struct etcd_kv_watch_update *u)
{
	struct tenv *t = arg;

	wlog_record(&t->w, u);
	if (u->kind == ETCD_KV_WATCH_CREATED ||
	    (t->want_lines > 0 && t->w.n >= t->want_lines) ||
	    u->kind == ETCD_KV_WATCH_END) {
		t->want_lines = 0;
		step_next(t);
	}
}

/* A watch on a prefix sees PUT and DELETE events in order; cancelling it
 * closes the stream (etcd's own watcher gauge drops to 0). */

static void metrics_poll(struct loop *l, void *arg);

static void
on_metrics(void *arg, const struct etcd_http_result *r)
{
	struct tenv *t = arg;
	const char *p = strstr(r->body, "\netcd_debugging_mvcc_watcher_total ");

	t->watchers = p != NULL ? strtol(p + 35, NULL, 10) : -1;
	if (t->watchers == t->want_watchers || ++t->polls >= 100)
		step_next(t);
	else
		loop_timer(t->e.l, 50, metrics_poll, t);
}

static void
metrics_poll(struct loop *l, void *arg)
{
	struct tenv *t = arg;
	char url[96];

	(void)l;
	snprintf(url, sizeof(url), "%s/metrics", etcd.url);
	etcd_http_get(t->e.h, url, 2000, on_metrics, t);
}

/* Steps on once etcd counts want watchers (or after 5 s). */
static void
wait_watchers(struct tenv *t, long want)
{
	t->want_watchers = want;
	t->polls = 0;
	metrics_poll(t->e.l, t);
}

static void
w_start(struct tenv *t)
{
	t->wid = etcd_kv_watch(t->e.kv, "w/", 2, true, 0, on_watch_step, t);
	/* on_watch_step steps on at CREATED. */
}

static void
w_put_a(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED");
	etcd_kv_put(t->e.kv, "w/a", 3, "1", 1, 0, on_kv_step, t);
}

static void
w_put_b(struct tenv *t)
{
	ok(t);
	t->rev1 = t->res.revision;
	etcd_kv_put(t->e.kv, "w/b", 3, "2", 1, 0, on_kv_step, t);
}

static void
w_put_other(struct tenv *t)
{
	ok(t);
	etcd_kv_put(t->e.kv, "x/c", 3, "3", 1, 0, on_kv_step, t);
}

static void
w_del_a(struct tenv *t)
{
	ok(t);
	etcd_kv_delete(t->e.kv, "w/a", 3, false, on_kv_step, t);
}

static void
w_del_all(struct tenv *t)
{
	ok(t);
	etcd_kv_delete(t->e.kv, "w/", 2, true, on_kv_step, t);
}

static void
w_wait_events(struct tenv *t)
{
	ok(t);
	t->rev = t->res.revision;
	if (t->w.n >= 5)
		step_next(t);
	else
		t->want_lines = 5;
}

static void
w_count1(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|PUT w/a=1|PUT w/b=2|DELETE w/a|"
	    "DELETE w/b");
	/* The last event was the last delete. */
	assert_true(t->w.next == t->rev + 1);
	wait_watchers(t, 1);
}

static void
w_cancel(struct tenv *t)
{
	assert_int_equal(t->watchers, 1);
	etcd_kv_cancel(t->e.kv, t->wid);
	wait_watchers(t, 0);
}

static void
w_end(struct tenv *t)
{
	assert_int_equal(t->watchers, 0);
	assert_int_equal(t->w.ends, 0);
	step_next(t);
}

static void
test_e2e_watch(void **state)
{
	static const step_fn steps[] = {
		w_start, w_put_a, w_put_b, w_put_other, w_del_a, w_del_all,
		w_wait_events, w_count1, w_cancel, w_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Watching from a compacted revision ends with compact_revision; a get
 * and a watch from its revision + 1 go on from there. */

static void
c_put1(struct tenv *t)
{
	etcd_kv_put(t->e.kv, "c/k", 3, "1", 1, 0, on_kv_step, t);
}

static void
c_put2(struct tenv *t)
{
	ok(t);
	t->rev1 = t->res.revision;
	etcd_kv_put(t->e.kv, "c/k", 3, "2", 1, 0, on_kv_step, t);
}

static void
on_compacted(void *arg, const struct etcd_http_result *r)
{
	struct tenv *t = arg;

	if (r->status != 200)
		fail_msg("compaction: %ld %s %s", r->status, r->body,
		    r->error ? r->error : "");
	step_next(t);
}

static void
c_compact(struct tenv *t)
{
	char url[96], body[64];

	ok(t);
	t->rev = t->res.revision;
	snprintf(url, sizeof(url), "%s/v3/kv/compaction", etcd.url);
	snprintf(body, sizeof(body), "{\"revision\":\"%" PRId64 "\"}",
	    t->rev);
	etcd_http_post_json(t->e.h, url, body, 5000, on_compacted, t);
}

static void
c_watch_old(struct tenv *t)
{
	etcd_kv_watch(t->e.kv, "c/k", 3, false, t->rev1, on_watch_step, t);
	t->want_lines = 2;	/* CREATED, then END */
}

static void
c_skip_created(struct tenv *t)
{
	/* on_watch_step stepped at CREATED; END steps again. */
	(void)t;
}

static void
c_get(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|END");
	assert_true(t->w.compact == t->rev);
	assert_true(t->w.next == t->rev1);
	if (strstr(t->w.error, "was compacted away") == NULL)
		fail_msg("unexpected error: %s", t->w.error);
	wlog_clear(&t->w);
	etcd_kv_get(t->e.kv, "c/k", 3, false, 0, on_kv_step, t);
}

static void
c_watch_new(struct tenv *t)
{
	ok(t);
	assert_string_equal(t->res.kvs[0].value, "2");
	t->wid = etcd_kv_watch(t->e.kv, "c/k", 3, false, t->res.revision + 1,
	    on_watch_step, t);
}

static void
c_put3(struct tenv *t)
{
	etcd_kv_put(t->e.kv, "c/k", 3, "3", 1, 0, on_kv_step, t);
}

static void
c_wait(struct tenv *t)
{
	ok(t);
	if (t->w.n >= 2)
		step_next(t);
	else
		t->want_lines = 2;
}

static void
c_end(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|PUT c/k=3");
	etcd_kv_cancel(t->e.kv, t->wid);
	step_next(t);
}

static void
test_e2e_compacted(void **state)
{
	static const step_fn steps[] = {
		c_put1, c_put2, c_compact, c_watch_old, c_skip_created, c_get,
		c_watch_new, c_put3, c_wait, c_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* The first endpoint is dead: calls and watches go to the second, and
 * later calls go there directly. */

static int dead_fd = -1;

static void
f_setup(struct tenv *t)
{
	char dead[64];
	char *eps[2];

	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d",
	    loopback_port(&dead_fd));
	eps[0] = dead;
	eps[1] = etcd.url;
	etcd_kv_free(t->e.kv);
	t->e.kv = etcd_kv_new(t->e.h, eps, 2);
	t->wid = etcd_kv_watch(t->e.kv, "f/", 2, true, 0, on_watch_step, t);
}

static void
f_put(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED");
	assert_string_equal(etcd_kv_endpoint(t->e.kv), etcd.url);
	etcd_kv_put(t->e.kv, "f/k", 3, "v", 1, 0, on_kv_step, t);
}

static void
f_get(struct tenv *t)
{
	ok(t);
	etcd_kv_get(t->e.kv, "f/k", 3, false, 0, on_kv_step, t);
}

static void
f_wait(struct tenv *t)
{
	ok(t);
	assert_string_equal(t->res.kvs[0].value, "v");
	if (t->w.n >= 2)
		step_next(t);
	else
		t->want_lines = 2;
}

static void
f_end(struct tenv *t)
{
	wlog_expect(&t->w, "CREATED|PUT f/k=v");
	etcd_kv_cancel(t->e.kv, t->wid);
	step_next(t);
}

static void
test_e2e_failover(void **state)
{
	static const step_fn steps[] = {
		f_setup, f_put, f_get, f_wait, f_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
	close(dead_fd);
	dead_fd = -1;
}

int
main(void)
{
	const struct CMUnitTest e2e[] = {
		cmocka_unit_test_setup_teardown(test_e2e_watch, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_compacted, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_failover, e2e_setup,
		    e2e_teardown),
	};
	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests_name("kv-etcd", e2e, e2e_group_setup,
	    e2e_group_teardown);
	curl_global_cleanup();
	return rc;
}
