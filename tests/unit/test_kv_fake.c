/* etcd/http.c's streams and etcd/kv.c's client against the scripted HTTP
 * server on loopback of kv_fix.h: stream lines cut anywhere, caps,
 * backpressure and cancelling; kv failover, errors, rejected and
 * cancelled calls, watch streams and lease keepers. */
#include "lib/fmacros.h"

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
on_line(void *arg, const char *line, size_t len)
{
	struct env *e = arg;

	assert_int_equal(line[len], '\0');
	assert_true(len > 0);
	e->lines = xreallocarray(e->lines, e->nlines + 1, sizeof(*e->lines));
	e->lines[e->nlines++] = xstrndup(line, len);
	for (size_t i = 0; i < len; i++)
		e->sum += (unsigned char)line[i];
	if (e->stop_after > 0 && e->nlines == e->stop_after) {
		if (e->action == 1) {
			etcd_http_cancel(e->h, e->id);
			etcd_http_cancel(e->h, e->id);
		} else if (e->action == 2) {
			etcd_http_free(e->h);
			e->h = NULL;
			loop_stop(e->l, 0);
		}
	}
}

static void
on_done(void *arg, const struct etcd_http_result *r)
{
	struct env *e = arg;

	e->done_calls++;
	e->status = r->status;
	snprintf(e->body, sizeof(e->body), "%s", r->body);
	snprintf(e->error, sizeof(e->error), "%s", r->error ? r->error : "");
	loop_stop(e->l, 0);
}

static void
on_sdrop(void *arg)
{
	struct env *e = arg;

	e->drops++;
}

static void
stop_when_closed(struct loop *l, void *arg)
{
	struct env *e = arg;

	if (e->f.peer_closed > 0)
		loop_stop(l, 0);
	else
		loop_timer(l, 10, stop_when_closed, e);
}

static void
test_stream_lines(void **state)
{
	static const char body[] =
	    "{\"a\":1}\n\n{\"b\":\"two\"}\r\n   \n{\"c\":[1,2,3]}\n"
	    "{\"d\":\"the last one has no newline\"}";
	struct script s[] = {
		{ "/v3/watch", "200 OK", body, LEN(body), true, 5, 1, false },
		{ "/plain", "200 OK", body, LEN(body), false, 3, 1, false },
	};
	struct env e;
	char url[96];

	(void)state;
	for (int i = 0; i < 2; i++) {
		env_start(&e);
		fake_start(&e.f, e.l, s, 2);
		snprintf(url, sizeof(url), "%s%s", e.f.url, s[i].path);
		e.id = etcd_http_stream(e.h, url, "{\"create_request\":{}}",
		    64, on_line, on_done, on_sdrop, &e);
		assert_true(e.id > 0);
		env_run(&e, 5000);
		assert_int_equal(e.done_calls, 1);
		assert_string_equal(e.error, "");
		assert_int_equal(e.status, 200);
		assert_string_equal(e.body, "");
		assert_int_equal(e.nlines, 4);
		assert_string_equal(e.lines[0], "{\"a\":1}");
		assert_string_equal(e.lines[1], "{\"b\":\"two\"}");
		assert_string_equal(e.lines[2], "{\"c\":[1,2,3]}");
		assert_string_equal(e.lines[3],
		    "{\"d\":\"the last one has no newline\"}");
		assert_int_equal(e.drops, 0);
		/* The POST went out with the etcd leader requirement. */
		assert_string_equal(e.f.last_body, "{\"create_request\":{}}");
		env_end(&e);
	}
}

static void
test_stream_caps(void **state)
{
	char longline[200];
	char *body;
	struct script s[2];
	struct env e;
	char url[96];

	(void)state;
	memset(longline, 'x', sizeof(longline));
	longline[sizeof(longline) - 1] = '\0';
	/* Exactly 64 bytes is fine, 65 is not; lines before it arrive. */
	body = xasprintf("%.64s\n%.65s\n{\"never\":1}\n", longline, longline);
	memset(s, 0, sizeof(s));
	s[0] = (struct script){ "/v3/watch", "200 OK", body, strlen(body),
	    true, 9, 1, true };
	s[1] = (struct script){ "/err", "500 Internal Server Error",
	    LEARNER_ERR, LEN(LEARNER_ERR), false, 0, 0, false };
	env_start(&e);
	fake_start(&e.f, e.l, s, 2);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	etcd_http_stream(e.h, url, NULL, 64, on_line, on_done, on_sdrop, &e);
	env_run(&e, 5000);
	assert_int_equal(e.nlines, 1);
	assert_int_equal(strlen(e.lines[0]), 64);
	assert_string_equal(e.error, "stream line longer than 64 bytes");
	assert_int_equal(e.status, 0);
	env_end(&e);

	/* An error answer is kept whole (up to the cap) for done. */
	env_start(&e);
	fake_start(&e.f, e.l, s, 2);
	snprintf(url, sizeof(url), "%s/err", e.f.url);
	etcd_http_stream(e.h, url, NULL, 4096, on_line, on_done, on_sdrop,
	    &e);
	env_run(&e, 5000);
	assert_int_equal(e.nlines, 0);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.body, LEARNER_ERR);
	assert_string_equal(e.error, "");
	env_end(&e);

	env_start(&e);
	fake_start(&e.f, e.l, s, 2);
	snprintf(url, sizeof(url), "%s/err", e.f.url);
	etcd_http_stream(e.h, url, NULL, 16, on_line, on_done, on_sdrop, &e);
	env_run(&e, 5000);
	assert_string_equal(e.error, "response larger than 16 bytes");
	env_end(&e);
	free(body);
}

/* Many lines at once, far more than a line cap: curl is paused while
 * they wait, and none is lost or reordered. */
static void
test_stream_backpressure(void **state)
{
	size_t n = 30000, cap = n * 40, o = 0;
	char *body = xmalloc(cap);
	struct script s[1];
	struct env e;
	uint64_t sum = 0;
	char url[96];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(body + o, cap - o, "{\"n\":%zu,\"pad\":\"%.*s\"}"
		    "\n", i, (int)(i % 13), "abcdefghijklm");

		for (int j = 0; j < k - 1; j++)
			sum += (unsigned char)body[o + (size_t)j];
		o += (size_t)k;
	}
	s[0] = (struct script){ "/v3/watch", "200 OK", body, o, true, 0, 0,
	    false };
	env_start(&e);
	fake_start(&e.f, e.l, s, 1);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	etcd_http_stream(e.h, url, NULL, 64, on_line, on_done, on_sdrop, &e);
	/* A bound against hangs only: 30,000 lines, one loop turn each, take
	 * over 20 s under ASan on a loaded two-core machine. */
	env_run(&e, 90000);
	assert_string_equal(e.error, "");
	assert_int_equal(e.nlines, n);
	assert_true(e.sum == sum);
	for (size_t i = 0; i < n; i += 997) {
		char want[64];

		snprintf(want, sizeof(want), "{\"n\":%zu,", i);
		assert_true(strncmp(e.lines[i], want, strlen(want)) == 0);
	}
	env_end(&e);
	free(body);
}

/* Cancelling from inside the line callback: nothing more arrives, the
 * drop callback runs once, and the server sees the connection close. */
static void
test_stream_cancel(void **state)
{
	static const char body[] = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n";
	struct script s[] = {
		{ "/v3/watch", "200 OK", body, LEN(body), true, 0, 0, true },
	};
	struct env e;
	char url[96];

	(void)state;
	env_start(&e);
	fake_start(&e.f, e.l, s, 1);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	e.stop_after = 2;
	e.action = 1;
	e.id = etcd_http_stream(e.h, url, NULL, 0, on_line, on_done, on_sdrop,
	    &e);
	loop_timer(e.l, 10, stop_when_closed, &e);
	env_run(&e, 5000);
	assert_int_equal(e.nlines, 2);
	assert_int_equal(e.done_calls, 0);
	assert_int_equal(e.drops, 1);
	assert_int_equal(e.f.peer_closed, 1);
	env_end(&e);

	/* Freeing the client from the line callback drops the rest. */
	env_start(&e);
	fake_start(&e.f, e.l, s, 1);
	snprintf(url, sizeof(url), "%s/v3/watch", e.f.url);
	e.stop_after = 1;
	e.action = 2;
	etcd_http_stream(e.h, url, NULL, 0, on_line, on_done, on_sdrop, &e);
	etcd_http_stream(e.h, url, NULL, 0, NULL, on_done, on_sdrop, &e);
	env_run(&e, 5000);
	assert_int_equal(e.done_calls, 0);
	assert_int_equal(e.drops, 2);
	env_end(&e);
}

struct kenv {
	struct env e;
	struct kres res[4];
	struct wlog w;
	int pending;
	bool free_kv_in_cb;
	uint64_t victim;
};

static void
kenv_done(struct kenv *k)
{
	if (--k->pending == 0)
		loop_stop(k->e.l, 0);
}

static void
on_res0(void *arg, const struct etcd_kv_result *r)
{
	struct kenv *k = arg;

	kres_set(&k->res[0], r);
	if (k->free_kv_in_cb) {
		etcd_kv_free(k->e.kv);
		k->e.kv = NULL;
		loop_stop(k->e.l, 0);
		return;
	}
	etcd_kv_cancel(k->e.kv, k->victim);
	kenv_done(k);
}

static void
on_res1(void *arg, const struct etcd_kv_result *r)
{
	struct kenv *k = arg;

	kres_set(&k->res[1], r);
	kenv_done(k);
}

static void
on_never(void *arg, const struct etcd_kv_result *r)
{
	(void)arg;
	fail_msg("a cancelled operation called back: %s",
	    r->error ? r->error : "ok");
}

static void
on_watch(void *arg, const struct etcd_kv_watch_update *u)
{
	struct kenv *k = arg;

	wlog_record(&k->w, u);
	if (u->kind == ETCD_KV_WATCH_END)
		kenv_done(k);
}

/* Counts as one pending callback once the fake saw the client close. */
static void
closed_done(struct loop *l, void *arg)
{
	struct kenv *k = arg;

	if (k->e.f.peer_closed > 0)
		kenv_done(k);
	else
		loop_timer(l, 10, closed_done, k);
}

static void
kenv_end(struct kenv *k)
{
	for (int i = 0; i < 4; i++)
		kres_clear(&k->res[i]);
	wlog_clear(&k->w);
	env_end(&k->e);
}

static void
test_kv_failover(void **state)
{
	struct script s[] = {
		{ "/v3/kv/range", "200 OK", RANGE, LEN(RANGE), false, 0, 0,
		    false },
	};
	struct script learner[] = {
		{ "/v3/kv/range", "503 Service Unavailable", LEARNER_ERR,
		    LEN(LEARNER_ERR), true, 0, 0, false },
	};
	struct kenv k;
	char dead[64], dead2[64];
	char *eps[3];
	int fd, fd2;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	fake_start(&k.e.g, k.e.l, learner, 1);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d/",
	    loopback_port(&fd));
	snprintf(dead2, sizeof(dead2), "http://127.0.0.1:%d",
	    loopback_port(&fd2));
	/* Refused, then a learner (503), then the good one. */
	eps[0] = dead;
	eps[1] = k.e.g.url;
	eps[2] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 3);
	dead[strlen(dead) - 1] = '\0';	/* the slash goes */
	assert_string_equal(etcd_kv_endpoint(k.e.kv), dead);
	assert_true(etcd_kv_get(k.e.kv, "foo", 3, false, 0, on_res0, &k) > 0);
	k.pending = 1;
	assert_int_equal(k.res[0].calls, 0);	/* never from inside */
	env_run(&k.e, 5000);
	assert_false(k.res[0].has_error);
	assert_int_equal(k.res[0].n_kvs, 1);
	assert_memory_equal(k.res[0].kvs[0].value, "\xff\0bar", 5);
	assert_string_equal(etcd_kv_endpoint(k.e.kv), k.e.f.url);
	assert_int_equal(k.e.g.nreq, 1);
	assert_int_equal(k.e.f.nreq, 1);
	assert_string_equal(k.e.f.last_body, "{\"key\":\"Zm9v\"}");
	kenv_end(&k);

	/* Nothing answers: one sentence naming the last URL. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	eps[0] = dead;
	eps[1] = dead2;
	k.e.kv = etcd_kv_new(k.e.h, eps, 2);
	etcd_kv_put(k.e.kv, "a", 1, "b", 1, 0, on_res0, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	assert_true(k.res[0].has_error);
	if (strncmp(k.res[0].error, "POST ", 5) != 0 ||
	    strstr(k.res[0].error, dead2) == NULL ||
	    strstr(k.res[0].error, "/v3/kv/put: ") == NULL ||
	    strstr(k.res[0].error, "Connection refused") == NULL ||
	    strstr(k.res[0].error, "(all 2 endpoints failed)") == NULL)
		fail_msg("unexpected error: %s", k.res[0].error);
	assert_int_equal(k.res[0].http_status, 0);
	kenv_end(&k);
	close(fd);
	close(fd2);
}

static void
test_kv_errors(void **state)
{
	struct script s[] = {
		{ "/v3/lease/revoke", "404 Not Found", LEASE_NOT_FOUND,
		    LEN(LEASE_NOT_FOUND), true, 0, 0, false },
		{ "/v3/lease/keepalive", "200 OK", KEEPALIVE_GONE,
		    LEN(KEEPALIVE_GONE), true, 0, 0, false },
		{ "/v3/kv/txn", "200 OK", "<html>oops</html>", 17, false, 0, 0,
		    false },
		{ "/v3/kv/put", "502 Bad Gateway", "<html>\x01</html>", 14,
		    false, 0, 0, false },
	};
	struct kenv k;
	char *eps[1];

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);

	etcd_kv_lease_revoke(k.e.kv, 42, on_res0, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	assert_string_equal(strstr(k.res[0].error, "/v3/lease/revoke: "),
	    "/v3/lease/revoke: etcd error: etcdserver: requested lease not "
	    "found (gRPC code 5, HTTP 404)");
	assert_int_equal(k.res[0].grpc_code, 5);
	assert_int_equal(k.res[0].http_status, 404);
	assert_string_equal(k.e.f.last_body, "{\"ID\":\"42\"}");
	kenv_end(&k);

	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_lease_keepalive(k.e.kv, 1353509806776755223, on_res0, &k);
	etcd_kv_txn_create(k.e.kv, "k", 1, "v", 1, 0, on_res1, &k);
	k.pending = 2;
	env_run(&k.e, 5000);
	assert_non_null(strstr(k.res[0].error, "/v3/lease/keepalive: lease "
	    "1353509806776755223 not found (expired or revoked)"));
	assert_int_equal(k.res[0].grpc_code, 5);
	assert_true(k.res[0].ttl == 0);
	assert_non_null(strstr(k.res[1].error, "/v3/kv/txn: txn answer: "
	    "invalid JSON"));
	kenv_end(&k);

	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_put(k.e.kv, "k", 1, "v", 1, 0, on_res0, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	assert_non_null(strstr(k.res[0].error, "/v3/kv/put: HTTP 502: "
	    "<html>\\x01</html>"));
	kenv_end(&k);
}

/* Bad arguments fail from the loop, and can be cancelled like the rest;
 * a callback may cancel another operation or free the client. */
static void
test_kv_reject_cancel(void **state)
{
	struct script s[] = {
		{ "/v3/kv/range", "200 OK", RANGE, LEN(RANGE), false, 1, 200,
		    false },
	};
	struct etcd_kv_op bad_op = { .type = ETCD_KV_PUT, .key = "k",
	    .key_len = 1, .lease = -1 };
	struct etcd_kv_cmp bad_cmp = { .target = ETCD_KV_CMP_VALUE,
	    .key_len = 0 };
	struct kenv k;
	char *eps[1];
	uint64_t id;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	/* Cancelled at once, rejected or not. */
	id = etcd_kv_get(k.e.kv, "", 0, false, 0, on_never, &k);
	etcd_kv_cancel(k.e.kv, id);
	etcd_kv_cancel(k.e.kv, id);
	etcd_kv_cancel(k.e.kv, 0);
	id = etcd_kv_watch(k.e.kv, "w/", 2, true, 0, NULL, &k);
	etcd_kv_cancel(k.e.kv, id);
	/* Cancelled by the first callback: a slow get. */
	k.victim = etcd_kv_get(k.e.kv, "foo", 3, false, 0, on_never, &k);
	etcd_kv_get(k.e.kv, "", 0, false, 0, on_res0, &k);
	etcd_kv_txn(k.e.kv, NULL, 0, &bad_op, 1, NULL, 0, on_res1, &k);
	k.pending = 2;
	assert_int_equal(k.res[0].calls + k.res[1].calls, 0);
	env_run(&k.e, 5000);
	assert_string_equal(k.res[0].error, "get: empty key (etcd has none; "
	    "use prefix for all keys)");
	assert_string_equal(k.res[1].error, "txn: then op 0: negative limit "
	    "or lease");
	kenv_end(&k);

	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	eps[0] = "http://127.0.0.1:1";
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_txn(k.e.kv, &bad_cmp, 1, NULL, 0, NULL, 0, on_res1, &k);
	etcd_kv_lease_grant(k.e.kv, 0, on_res1, &k);
	k.pending = 2;
	env_run(&k.e, 5000);
	assert_string_equal(k.res[1].error, "lease grant answer: TTL 0 should "
	    "be > 0");
	kenv_end(&k);

	/* Freeing kv from a callback: the others never call back. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	k.free_kv_in_cb = true;
	etcd_kv_get(k.e.kv, "foo", 3, false, 0, on_never, &k);
	etcd_kv_watch(k.e.kv, "w/", 2, true, 0, NULL, &k);
	etcd_kv_lease_keep(k.e.kv, 5, 30, NULL, &k);
	etcd_kv_get(k.e.kv, "", 0, true, 0, on_never, &k);
	etcd_kv_delete(k.e.kv, "", 0, false, on_res0, &k);
	env_run(&k.e, 5000);
	assert_int_equal(k.res[0].calls, 1);
	kenv_end(&k);
}

static void
test_kv_watch_stream(void **state)
{
	char *story = xasprintf("%s\n%s\n%s\n%s\n%s", W_CREATED, W_PUT,
	    W_PUT_PREV, W_DELETE, W_CLOSING);
	char *noleader = xasprintf("%s", W_NOLEADER);
	char *hostile = xasprintf("%s\n%s\n{\"result\":}\n", W_CREATED, W_PUT);
	char *compacted = xasprintf("%s\n%s\n", W_CREATED, W_COMPACTED);
	char *refused = xasprintf("%s\n", W_REFUSED);
	char *replay = xasprintf("%s\n%s\n%s\n", W_CREATED, W_PUT_PREV, W_PUT);
	struct script a[] = {
		{ "/v3/watch", "200 OK", story, strlen(story), true, 11, 1,
		    false },
	};
	struct script b[] = {
		{ "/v3/watch", "200 OK", noleader, strlen(noleader), true, 0,
		    0, false },
	};
	struct script c[] = {
		{ "/v3/watch", "200 OK", hostile, strlen(hostile), true, 0, 0,
		    true },
		{ "/x/v3/watch", "200 OK", compacted, strlen(compacted), true,
		    0, 0, true },
		{ "/y/v3/watch", "200 OK", refused, strlen(refused), true, 0,
		    0, true },
		{ "/z/v3/watch", "200 OK", replay, strlen(replay), true, 0, 0,
		    true },
	};
	struct kenv k;
	char *eps[2];
	char url[96];

	(void)state;
	/* The first member has no leader: the second one serves. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, a, 1);
	fake_start(&k.e.g, k.e.l, b, 1);
	eps[0] = k.e.g.url;
	eps[1] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 2);
	etcd_kv_watch(k.e.kv, "w/", 2, true, 0, on_watch, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	wlog_expect(&k.w, "CREATED|PUT w/a=1|PUT w/a=2|DELETE w/a|END");
	assert_non_null(strstr(k.w.error, "/v3/watch: watch of prefix "
	    "\"w/\": watch message: etcd error: transport is closing (gRPC "
	    "code 14)"));
	assert_true(k.w.next == 12);
	assert_string_equal(k.e.f.last_body, "{\"create_request\":{\"key\":"
	    "\"dy8=\",\"range_end\":\"dzA=\"}}");
	assert_int_equal(k.e.g.nreq, 1);
	kenv_end(&k);

	/* A broken message ends the watch and closes the stream. */
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, c, 4);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	etcd_kv_watch(k.e.kv, "w/a", 3, false, 5, on_watch, &k);
	k.pending = 2;
	loop_timer(k.e.l, 10, closed_done, &k);
	env_run(&k.e, 5000);
	wlog_expect(&k.w, "CREATED|PUT w/a=1|END");
	assert_non_null(strstr(k.w.error, "watch of key \"w/a\": watch "
	    "message: invalid JSON"));
	assert_true(k.w.next == 10);
	assert_string_equal(k.e.f.last_body, "{\"create_request\":{\"key\":"
	    "\"dy9h\",\"start_revision\":\"5\"}}");
	kenv_end(&k);

	/* Compacted, refused, and events going backwards. */
	for (int i = 0; i < 3; i++) {
		static const char *const want[] = {
			"CREATED|END", "END", "CREATED|PUT w/a=2|END",
		};
		static const char *const needle[] = {
			"from revision 3: history before revision 10 was "
			    "compacted away; get the keys again",
			"etcd cancelled the watch of key \"w/a\": mvcc: watcher "
			    "range is empty",
			"events of revision 9 came after revision 11 was "
			    "expected",
		};

		memset(&k, 0, sizeof(k));
		env_start(&k.e);
		fake_start(&k.e.f, k.e.l, c, 4);
		snprintf(url, sizeof(url), "%s/%c", k.e.f.url, "xyz"[i]);
		eps[0] = url;
		k.e.kv = etcd_kv_new(k.e.h, eps, 1);
		etcd_kv_watch(k.e.kv, "w/a", 3, false, i == 0 ? 3 : 0,
		    on_watch, &k);
		k.pending = 2;
		loop_timer(k.e.l, 10, closed_done, &k);
		env_run(&k.e, 5000);
		wlog_expect(&k.w, want[i]);
		if (strstr(k.w.error, needle[i]) == NULL)
			fail_msg("%s lacks %s", k.w.error, needle[i]);
		assert_true(k.w.compact == (i == 0 ? 10 : 0));
		assert_int_equal(k.e.f.peer_closed, 1);
		kenv_end(&k);
	}
	free(story);
	free(noleader);
	free(hostile);
	free(compacted);
	free(refused);
	free(replay);
}

/* A keeper whose endpoint is dead reports the lease lost when its TTL
 * is about to run out without a successful keepalive. */
static void
on_lost(void *arg, int64_t lease, const char *reason)
{
	struct kenv *k = arg;

	k->res[0].calls++;
	k->res[0].lease_id = lease;
	snprintf(k->res[0].error, sizeof(k->res[0].error), "%s", reason);
	kenv_done(k);
}

static void
test_kv_keeper_dead(void **state)
{
	struct kenv k;
	char dead[64];
	char *eps[1];
	int fd;
	int64_t t0;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d",
	    loopback_port(&fd));
	eps[0] = dead;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	t0 = loop_now_ms();
	etcd_kv_lease_keep(k.e.kv, 77, 1, on_lost, &k);
	k.pending = 1;
	env_run(&k.e, 5000);
	/* Lost a little before the TTL ends, never after. */
	assert_true(loop_now_ms() - t0 >= 700);
	assert_true(loop_now_ms() - t0 < 1500);
	assert_int_equal(k.res[0].calls, 1);
	assert_true(k.res[0].lease_id == 77);
	if (strstr(k.res[0].error, " ms of its 1 s TTL, so it is taken as "
	    "expired; the last attempt: POST http://127.0.0.1:") == NULL ||
	    strncmp(k.res[0].error, "lease 77: no keepalive got through for ",
	    39) != 0 ||
	    strstr(k.res[0].error, "Connection refused") == NULL)
		fail_msg("unexpected reason: %s", k.res[0].error);
	kenv_end(&k);
	close(fd);
}

/* Keepers due together renew in one request, a round: lease 6 is gone
 * (a line without TTL), lease 5 renewed, and lease 7 gets no line at all,
 * so it tries again alone until its TTL is nearly over. */
static const char ROUND_ANSWER[] =
    "{\"result\":{\"header\":{\"revision\":\"6\"},\"ID\":\"5\","
    "\"TTL\":\"30\"}}\n"
    "{\"result\":{\"header\":{\"revision\":\"6\"},\"ID\":\"6\"}}\n";

static char round_body[4096];	/* the fake's last body at a loss */

static void
on_lost_n(void *arg, int64_t lease, const char *reason)
{
	struct kenv *k = arg;
	struct kres *r = &k->res[lease - 5];

	assert_true(lease >= 5 && lease <= 7);
	r->calls++;
	r->lease_id = lease;
	r->ttl = loop_now_ms();	/* when */
	r->count = k->e.f.nreq;	/* requests until then */
	snprintf(r->error, sizeof(r->error), "%s", reason);
	if (lease == 6)
		snprintf(round_body, sizeof(round_body), "%s",
		    k->e.f.last_body);
	kenv_done(k);
}

static void
test_kv_keeper_round(void **state)
{
	struct script s[] = {
		{ "/v3/lease/keepalive", "200 OK", ROUND_ANSWER,
		    LEN(ROUND_ANSWER), true, 0, 0, false },
	};
	struct kenv k;
	char *eps[1], want[256];
	int64_t t0;

	(void)state;
	memset(&k, 0, sizeof(k));
	env_start(&k.e);
	fake_start(&k.e.f, k.e.l, s, 1);
	eps[0] = k.e.f.url;
	k.e.kv = etcd_kv_new(k.e.h, eps, 1);
	t0 = loop_now_ms();
	for (int64_t lease = 5; lease <= 7; lease++)
		etcd_kv_lease_keep(k.e.kv, lease, 3, on_lost_n, &k);
	k.pending = 2;
	env_run(&k.e, 5000);
	/* One request for all three, a TTL/3 after the start. */
	assert_int_equal(k.res[1].count, 1);
	assert_string_equal(round_body, "{\"ID\":\"7\"}\n{\"ID\":\"6\"}\n"
	    "{\"ID\":\"5\"}\n");
	assert_int_equal(k.res[1].calls, 1);
	snprintf(want, sizeof(want), "POST %s/v3/lease/keepalive: lease 6 "
	    "not found (expired or revoked)", k.e.f.url);
	assert_string_equal(k.res[1].error, want);
	assert_true(k.res[1].ttl - t0 >= 900 && k.res[1].ttl - t0 < 1500);
	/* Lease 7 alone: again at 2 s and 2.8 s, then lost before its 3 s. */
	assert_int_equal(k.res[2].calls, 1);
	assert_int_equal(k.e.f.nreq, 3);
	assert_string_equal(k.e.f.last_body, "{\"ID\":\"7\"}\n");
	assert_true(k.res[2].ttl - t0 >= 2600 && k.res[2].ttl - t0 < 3000);
	snprintf(want, sizeof(want), "the last attempt: POST "
	    "%s/v3/lease/keepalive: no answer for lease 7", k.e.f.url);
	if (strncmp(k.res[2].error, "lease 7: no keepalive got through "
	    "for ", 38) != 0 || strstr(k.res[2].error, want) == NULL)
		fail_msg("unexpected reason: %s", k.res[2].error);
	/* Lease 5 was renewed for 30 s and is kept still. */
	assert_int_equal(k.res[0].calls, 0);
	kenv_end(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_lines),
		cmocka_unit_test(test_stream_caps),
		cmocka_unit_test(test_stream_backpressure),
		cmocka_unit_test(test_stream_cancel),
		cmocka_unit_test(test_kv_failover),
		cmocka_unit_test(test_kv_errors),
		cmocka_unit_test(test_kv_reject_cancel),
		cmocka_unit_test(test_kv_watch_stream),
		cmocka_unit_test(test_kv_keeper_dead),
		cmocka_unit_test(test_kv_keeper_round),
	};
	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests_name("kv-fake", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
