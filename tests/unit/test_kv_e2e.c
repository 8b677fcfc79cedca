/* etcd/kv.c end to end, against Debian's etcd on loopback, one member
 * that the group setup of kv_fix.h starts (the tests are skipped without
 * it): binary keys and big values, transactions, leases and keepers.
 * Watches, compaction and failover: test_kv_e2e_watch.c. */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/http.h"
#include "etcd/kv.h"
#include "tests/unit/kv_fix.h"

/* Binary keys and values, a 1 MiB value, limits and prefix deletes. */

static const char BKEY[] = "b/\xff\x00\x01\xc0";

static void
b_put(struct tenv *t)
{
	unsigned char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	etcd_kv_put(t->e.kv, BKEY, LEN(BKEY), all, sizeof(all), 0,
	    on_kv_step, t);
}

static void
b_get(struct tenv *t)
{
	ok(t);
	t->rev = t->res.revision;
	etcd_kv_get(t->e.kv, BKEY, LEN(BKEY), false, 0, on_kv_step, t);
}

static void
b_put_big(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 1);
	assert_int_equal(t->res.kvs[0].key_len, LEN(BKEY));
	assert_memory_equal(t->res.kvs[0].key, BKEY, LEN(BKEY));
	assert_int_equal(t->res.kvs[0].value_len, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal((unsigned char)t->res.kvs[0].value[i], i);
	assert_true(t->res.kvs[0].mod_revision == t->rev);
	assert_true(t->res.kvs[0].version == 1);
	t->big = xmalloc(1024 * 1024);
	for (size_t i = 0; i < 1024 * 1024; i++)
		t->big[i] = (char)((i * 2654435761u) >> 13);
	etcd_kv_put(t->e.kv, "b/big", 5, t->big, 1024 * 1024, 0, on_kv_step,
	    t);
}

static void
b_get_big(struct tenv *t)
{
	ok(t);
	etcd_kv_get(t->e.kv, "b/big", 5, false, 0, on_kv_step, t);
}

static void
b_limit(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 1);
	assert_int_equal(t->res.kvs[0].value_len, 1024 * 1024);
	assert_memory_equal(t->res.kvs[0].value, t->big, 1024 * 1024);
	etcd_kv_get(t->e.kv, "b/", 2, true, 1, on_kv_step, t);
}

static void
b_delete(struct tenv *t)
{
	ok(t);
	/* Sorted by key: "b/big" < "b/\xff...". */
	assert_int_equal(t->res.n_kvs, 1);
	assert_string_equal(t->res.kvs[0].key, "b/big");
	assert_true(t->res.count == 2);
	etcd_kv_delete(t->e.kv, "b/", 2, true, on_kv_step, t);
}

static void
b_check(struct tenv *t)
{
	ok(t);
	assert_true(t->res.deleted == 2);
	etcd_kv_get(t->e.kv, "b/", 2, true, 0, on_kv_step, t);
}

static void
b_end(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 0);
	step_next(t);
}

static void
test_e2e_binary(void **state)
{
	static const step_fn steps[] = {
		b_put, b_get, b_put_big, b_get_big, b_limit, b_delete, b_check,
		b_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Create-if-absent, twice, and a generic transaction. */

static void
x_create1(struct tenv *t)
{
	etcd_kv_txn_create(t->e.kv, "t/leader", 8, "first", 5, 0, on_kv_step,
	    t);
}

static void
x_create2(struct tenv *t)
{
	ok(t);
	assert_true(t->res.succeeded);
	t->rev1 = t->res.revision;
	etcd_kv_txn_create(t->e.kv, "t/leader", 8, "second", 6, 0,
	    on_kv_step, t);
}

static void
x_generic(struct tenv *t)
{
	struct etcd_kv_cmp cmp[] = {
		{ .target = ETCD_KV_CMP_VALUE, .result = ETCD_KV_EQUAL,
		    .key = "t/leader", .key_len = 8, .value = "first",
		    .value_len = 5 },
		{ .target = ETCD_KV_CMP_MOD, .result = ETCD_KV_EQUAL,
		    .key = "t/leader", .key_len = 8, .number = t->rev1 },
		{ .target = ETCD_KV_CMP_VERSION, .result = ETCD_KV_LESS,
		    .key = "t/leader", .key_len = 8, .number = 2 },
	};
	struct etcd_kv_op then[] = {
		{ .type = ETCD_KV_RANGE, .key = "t/", .key_len = 2,
		    .prefix = true },
		{ .type = ETCD_KV_PUT, .key = "t/leader", .key_len = 8,
		    .value = "third", .value_len = 5 },
	};

	ok(t);
	/* Lost: the first value is there, with its revision. */
	assert_false(t->res.succeeded);
	assert_int_equal(t->res.n_kvs, 1);
	assert_string_equal(t->res.kvs[0].value, "first");
	assert_true(t->res.kvs[0].create_revision == t->rev1);
	etcd_kv_txn(t->e.kv, cmp, 3, then, 2, NULL, 0, on_kv_step, t);
}

static void
x_failing(struct tenv *t)
{
	struct etcd_kv_cmp cmp = { .target = ETCD_KV_CMP_CREATE,
	    .result = ETCD_KV_EQUAL, .key = "t/leader", .key_len = 8 };
	struct etcd_kv_op other = { .type = ETCD_KV_DELETE, .key = "t/",
	    .key_len = 2, .range_end = "t0", .range_end_len = 2 };

	ok(t);
	assert_true(t->res.succeeded);
	/* The range, which came before the put. */
	assert_int_equal(t->res.n_kvs, 1);
	assert_string_equal(t->res.kvs[0].value, "first");
	etcd_kv_txn(t->e.kv, &cmp, 1, NULL, 0, &other, 1, on_kv_step, t);
}

static void
x_end(struct tenv *t)
{
	ok(t);
	assert_false(t->res.succeeded);
	assert_true(t->res.deleted == 1);
	step_next(t);
}

static void
test_e2e_txn(void **state)
{
	static const step_fn steps[] = {
		x_create1, x_create2, x_generic, x_failing, x_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Leases: a key attached to one goes with it. */

static void
l_grant(struct tenv *t)
{
	etcd_kv_lease_grant(t->e.kv, 5, on_kv_step, t);
}

static void
l_put(struct tenv *t)
{
	ok(t);
	assert_true(t->res.lease_id > 0);
	assert_true(t->res.ttl >= 5);
	t->lease = t->res.lease_id;
	etcd_kv_put(t->e.kv, "l/svc", 5, "up", 2, t->lease, on_kv_step, t);
}

static void
l_keepalive(struct tenv *t)
{
	ok(t);
	etcd_kv_lease_keepalive(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_get(struct tenv *t)
{
	ok(t);
	assert_true(t->res.lease_id == t->lease);
	assert_true(t->res.ttl > 0 && t->res.ttl <= 5);
	etcd_kv_get(t->e.kv, "l/svc", 5, false, 0, on_kv_step, t);
}

static void
l_revoke(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 1);
	assert_true(t->res.kvs[0].lease == t->lease);
	etcd_kv_lease_revoke(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_get_gone(struct tenv *t)
{
	ok(t);
	etcd_kv_get(t->e.kv, "l/svc", 5, false, 0, on_kv_step, t);
}

static void
l_keepalive_gone(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->res.n_kvs, 0);
	etcd_kv_lease_keepalive(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_revoke_gone(struct tenv *t)
{
	assert_true(t->res.has_error);
	assert_int_equal(t->res.grpc_code, 5);
	assert_true(t->res.ttl == 0);
	assert_non_null(strstr(t->res.error, "not found (expired or "
	    "revoked)"));
	t->res.calls = 0;
	etcd_kv_lease_revoke(t->e.kv, t->lease, on_kv_step, t);
}

static void
l_end(struct tenv *t)
{
	assert_true(t->res.has_error);
	assert_int_equal(t->res.grpc_code, 5);
	assert_int_equal(t->res.http_status, 404);
	assert_non_null(strstr(t->res.error, "/v3/lease/revoke: etcd error: "
	    "etcdserver: requested lease not found (gRPC code 5, HTTP 404)"));
	step_next(t);
}

static void
test_e2e_lease(void **state)
{
	static const step_fn steps[] = {
		l_grant, l_put, l_keepalive, l_get, l_revoke, l_get_gone,
		l_keepalive_gone, l_revoke_gone, l_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* A keeper holds a 2 s lease for twice that long, then reports the loss
 * once the lease is revoked behind its back. */

static void
k_lost(void *arg, int64_t lease, const char *reason)
{
	struct tenv *t = arg;

	assert_true(lease == t->lease);
	t->lost++;
	snprintf(t->lost_reason, sizeof(t->lost_reason), "%s", reason);
	step_next(t);
}

static void
k_grant(struct tenv *t)
{
	etcd_kv_lease_grant(t->e.kv, 2, on_kv_step, t);
}

static void
k_put(struct tenv *t)
{
	ok(t);
	t->lease = t->res.lease_id;
	etcd_kv_put(t->e.kv, "k/svc", 5, "up", 2, t->lease, on_kv_step, t);
}

static void
k_keep(struct tenv *t)
{
	ok(t);
	etcd_kv_lease_keep(t->e.kv, t->lease, 2, k_lost, t);
	step_after(t, 4500);
}

static void
k_get(struct tenv *t)
{
	etcd_kv_get(t->e.kv, "k/svc", 5, false, 0, on_kv_step, t);
}

static void
k_revoke(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->res.n_kvs, 1);	/* alive after 2 TTLs */
	etcd_kv_lease_revoke(t->e.kv, t->lease, on_kv_step, t);
}

static void
k_wait(struct tenv *t)
{
	ok(t);
	/* k_lost steps on. */
}

static void
k_end(struct tenv *t)
{
	assert_int_equal(t->lost, 1);
	if (strstr(t->lost_reason, "not found (expired or revoked)") == NULL)
		fail_msg("unexpected reason: %s", t->lost_reason);
	step_next(t);
}

static void
test_e2e_keeper(void **state)
{
	static const step_fn steps[] = {
		k_grant, k_put, k_keep, k_get, k_revoke, k_wait, k_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

/* Three keepers of one client, two of them started 0.3 s after the
 * first: they fall into step and renew in one request per period, so
 * etcd counts a third of the keepalive streams one each would open, and
 * every lease lives on. */

static void
on_streams(void *arg, const struct etcd_http_result *r)
{
	static const char name[] = "\ngrpc_server_started_total{grpc_method="
	    "\"LeaseKeepAlive\"";
	struct tenv *t = arg;
	const char *p = r->body != NULL ? strstr(r->body, name) : NULL;
	long before = t->streams;

	p = p != NULL ? strstr(p, "} ") : NULL;
	t->streams = p != NULL ? strtol(p + 2, NULL, 10) : -1;
	if (before > 0)
		t->streams -= before;
	step_next(t);
}

static void
kr_streams(struct tenv *t)
{
	char url[96];

	if (t->res.calls > 0)
		ok(t);	/* the last put */
	snprintf(url, sizeof(url), "%s/metrics", etcd.url);
	etcd_http_get(t->e.h, url, 2000, on_streams, t);
}

static void
kr_grant(struct tenv *t)
{
	if (t->res.calls > 0)
		ok(t);	/* the last put */
	etcd_kv_lease_grant(t->e.kv, 2, on_kv_step, t);
}

static void
kr_put(struct tenv *t)
{
	char key[8];

	ok(t);
	for (int i = 0; i < 3; i++)
		if (t->leases[i] == 0) {
			t->leases[i] = t->res.lease_id;
			snprintf(key, sizeof(key), "r/%d", i);
			etcd_kv_put(t->e.kv, key, 3, "up", 2, t->leases[i],
			    on_kv_step, t);
			return;
		}
	fail_msg("more than three leases");
}

static void
kr_first(struct tenv *t)
{
	assert_true(t->streams >= 0);
	t->streams = t->streams > 0 ? t->streams : 1;
	etcd_kv_lease_keep(t->e.kv, t->leases[0], 2, k_lost, t);
	step_after(t, 300);
}

static void
kr_others(struct tenv *t)
{
	etcd_kv_lease_keep(t->e.kv, t->leases[1], 2, k_lost, t);
	etcd_kv_lease_keep(t->e.kv, t->leases[2], 2, k_lost, t);
	step_after(t, 4000);
}

static void
kr_get(struct tenv *t)
{
	/* Keepers one each: 6 + 2 x 5 streams in these 4.3 s. */
	if (t->streams < 4 || t->streams > 9)
		fail_msg("%ld keepalive streams in 4.3 s", t->streams);
	etcd_kv_get(t->e.kv, "r/", 2, true, 0, on_kv_step, t);
}

static void
kr_end(struct tenv *t)
{
	ok(t);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->res.n_kvs, 3);	/* alive after 2 TTLs */
	step_next(t);
}

static void
test_e2e_keeper_round(void **state)
{
	static const step_fn steps[] = {
		kr_grant, kr_put, kr_grant, kr_put, kr_grant, kr_put,
		kr_streams, kr_first, kr_others, kr_streams, kr_get, kr_end,
	};
	struct tenv *t = e2e_begin(state);

	RUN(t, steps, 20000);
}

int
main(void)
{
	const struct CMUnitTest e2e[] = {
		cmocka_unit_test_setup_teardown(test_e2e_binary, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_txn, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_lease, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_keeper, e2e_setup,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_keeper_round,
		    e2e_setup, e2e_teardown),
	};
	int rc;

	etcd_http_global_init();
	rc = cmocka_run_group_tests_name("kv-etcd", e2e, e2e_group_setup,
	    e2e_group_teardown);
	curl_global_cleanup();
	return rc;
}
