#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/maint.h"
#include "agent/plan.h"
#include "config/cfg.h"
#include "config/etcd_args.h"
#include "config/retention.h"
#include "etcd/api.h"
#include "etcd/maint.h"
#include "lib/str.h"

/* compact_retention, etcd_args, the maintenance answers of etcd and the
 * maintenance module's pure helpers. */

/* ---- compact_retention ------------------------------------------------ */

static void
test_retention(void **state)
{
	static const struct {
		const char *s;
		int64_t revs, secs;
	} good[] = {
		{ "", 0, 0 }, { "0", 0, 0 }, { "0h", 0, 0 },
		{ "10000", 10000, 0 }, { "1", 1, 0 },
		{ "1000000000000000", 1000000000000000LL, 0 },
		{ "90s", 0, 90 }, { "30m", 0, 1800 }, { "1h", 0, 3600 },
		{ "7d", 0, 7 * 86400 }, { "366d", 0, 366 * 86400 },
		{ "31622400s", 0, 366 * 86400 },
	};
	static const char *const bad[] = {
		"1000000000000001", "99999999999999999999", "367d",
		"31622401s", "8785h", "-1", "+5", " 1h", "1h ", "1H", "1h30m",
		"1e3", "h", "s", "1x", "0x10", "1.5h", "10 000", "1hh",
	};
	struct retention r;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		r = (struct retention){ -1, -1 };
		if (retention_parse(good[i].s, &r) != 0)
			fail_msg("\"%s\" refused", good[i].s);
		assert_int_equal(r.revisions, good[i].revs);
		assert_int_equal(r.seconds, good[i].secs);
		assert_true(retention_valid(good[i].s));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		r = (struct retention){ 7, 7 };
		if (retention_parse(bad[i], &r) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(r.revisions, 7);	/* untouched */
		assert_int_equal(r.seconds, 7);
	}
}

/* ---- etcd_args --------------------------------------------------------- */

static void
test_eargs_shape(void **state)
{
	static const char *const good[] = {
		"--quota-backend-bytes=16777216", "--quota-backend-bytes 1",
		"--auto-compaction-mode", "--log-level=debug", "--x=",
		"--listen-metrics-urls=http://a:1,http://b:2",
		"--experimental-x.y_z=1", "--a b c",
	};
	static const char *const bad[] = {
		"", "-", "--", "-quota-backend-bytes=1", "quota=1", "---x",
		"--=x", "-- x", "--a ", "--a\tb", "--a\nb", "--a/b", "--é=1",
		"--a=\x01", " --a",
	};
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		if (!eargs_valid(good[i]))
			fail_msg("\"%s\" refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (eargs_valid(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	assert_memory_equal(eargs_name("--a-b=c d", &len), "a-b", 3);
	assert_int_equal(len, 3);
	assert_null(eargs_spaced_value("--a=b c"));
	assert_null(eargs_spaced_value("--a"));
	assert_string_equal(eargs_spaced_value("--a b c"), "b c");
}

static void
test_eargs_refused(void **state)
{
	static const char *const refused[] = {
		"--name=x", "--name x", "--name", "--data-dir=/x", "--wal-dir=/w",
		"--initial-cluster=a=http://x:2380", "--initial-cluster-state new",
		"--initial-cluster-token=t", "--listen-client-urls=http://x:1",
		"--advertise-client-urls=http://x:1", "--discovery-srv=zl.test",
		"--discovery=http://d", "--discovery-token=t", "--cert-file=/c",
		"--peer-trusted-ca-file=/c", "--auto-tls", "--config-file=/c",
	};
	static const char *const allowed[] = {
		"--quota-backend-bytes=1", "--name-x=1", "--data-dirs=1",
		"--snapshot-count=100", "--initial-cluster-x=1",
	};
	char msg[400];

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		size_t len;
		const char *n = eargs_name(refused[i], &len);
		char want[64];

		msg[0] = '\0';
		if (eargs_check(refused[i], msg, sizeof(msg)) != -1)
			fail_msg("\"%s\" allowed", refused[i]);
		snprintf(want, sizeof(want), "--%.*s is a flag zooinit gives "
		    "etcd itself", (int)len, n);
		if (strstr(msg, want) == NULL || strstr(msg, refused[i]) == NULL)
			fail_msg("message \"%s\" does not name \"%s\"", msg,
			    refused[i]);
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
		if (eargs_check(allowed[i], msg, sizeof(msg)) != 0)
			fail_msg("\"%s\" refused: %s", allowed[i], msg);
}

/* Every flag agent/plan_argv.c writes, for a member and for a proxy with
 * every TLS option on, is one etcd_args refuses: the list in
 * config/etcd_args.c cannot fall behind the argv. */
static void
assert_argv_refused(char **argv)
{
	char msg[400];

	for (size_t i = 1; argv[i] != NULL; i++) {
		if (strncmp(argv[i], "--", 2) != 0)
			continue;
		if (eargs_check(argv[i], msg, sizeof(msg)) != -1)
			fail_msg("plan_argv.c gives etcd %s, which etcd_args "
			    "would accept: add it to config/etcd_args.c",
			    argv[i]);
	}
}

static void
test_eargs_cover_plan_argv(void **state)
{
	struct plan_member me = {
		.name = "h1", .addr = "10.0.0.1",
		.peer_url = "https://10.0.0.1:2380",
		.client_url = "https://10.0.0.1:2379", .self = true,
	};
	struct plan p = {
		.scheme = "https", .m = &me, .n = 1, .self = 0,
		.initial_cluster = "h1=https://10.0.0.1:2380", .token = "t",
		.state = "new", .data_dir = "/d", .etcd = "/usr/bin/etcd",
		.tls = { "/c", "/k", "/ca", "/pc", "/pk", "/pca", true },
	};
	char *extra[] = { "--quota-backend-bytes 16777216", "--log-level=warn",
		"--enable-pprof" };

	(void)state;
	/* plan_build_argv() frees the argv it replaces. */
	plan_build_argv(&p);
	assert_argv_refused(p.argv);
	p.proxy = true;
	p.proxy_me = me;
	plan_build_argv(&p);
	assert_argv_refused(p.argv);

	/* etcd_args come last, the spaced form as two arguments; a proxy
	 * gets none of them. */
	p.etcd_args = extra;
	p.n_etcd_args = 3;
	plan_build_argv(&p);
	for (size_t i = 0; p.argv[i] != NULL; i++)
		assert_null(strstr(p.argv[i], "quota"));
	p.proxy = false;
	plan_build_argv(&p);
	assert_string_equal(p.argv[p.argc - 4], "--quota-backend-bytes");
	assert_string_equal(p.argv[p.argc - 3], "16777216");
	assert_string_equal(p.argv[p.argc - 2], "--log-level=warn");
	assert_string_equal(p.argv[p.argc - 1], "--enable-pprof");
	assert_null(p.argv[p.argc]);
	strv_free(p.argv);
}

/* The three layers: a file list, the environment (split only at a comma
 * before "--"), repeated flags whose values begin with "--". */
static void
test_eargs_config(void **state)
{
	char *env[] = { "ZOOINIT_ETCD_ARGS=--a=x,y, --b,--c z", NULL };
	char *argv[] = { "plan", "--etcd-args", "--q=1", "--etcd-args=--r",
		"--etcd-args", "--s t,u", NULL };
	char *bad[] = { "plan", "--etcd-args", "--initial-cluster=x", NULL };
	char *env_bad[] = { "ZOOINIT_ETCD_ARGS=--a,-b", NULL };
	char *none[] = { NULL };
	char err[512];
	struct cfg c;

	(void)state;
	assert_int_equal(cfg_load(&c, 1, (char *[]){ "plan", NULL }, env, err,
	    sizeof(err)), 0);
	assert_int_equal(c.n_etcd_args, 3);
	assert_string_equal(c.etcd_args[0], "--a=x,y");
	assert_string_equal(c.etcd_args[1], "--b");
	assert_string_equal(c.etcd_args[2], "--c z");
	cfg_free(&c);

	assert_int_equal(cfg_load(&c, 6, argv, env, err, sizeof(err)), 0);
	assert_int_equal(c.n_etcd_args, 3);	/* flags replace the env */
	assert_string_equal(c.etcd_args[0], "--q=1");
	assert_string_equal(c.etcd_args[1], "--r");
	assert_string_equal(c.etcd_args[2], "--s t,u");
	assert_string_equal(c.compact_retention, "0");
	assert_int_equal(c.defrag_interval, 0);
	cfg_free(&c);

	assert_int_equal(cfg_load(&c, 3, bad, none, err, sizeof(err)), -1);
	assert_string_equal(err, "--etcd-args: etcd_args: --initial-cluster "
	    "is a flag zooinit gives etcd itself, from the plan (sources); "
	    "remove \"--initial-cluster=x\" from etcd_args");
	assert_int_equal(cfg_load(&c, 1, (char *[]){ "plan", NULL }, env_bad,
	    err, sizeof(err)), -1);
	if (strstr(err, "environment ZOOINIT_ETCD_ARGS: expected an etcd "
	    "flag") == NULL || strstr(err, "\"--a,-b\"") == NULL)
		fail_msg("%s", err);
	assert_int_equal(cfg_load(&c, 3, (char *[]){ "plan",
	    "--compact-retention", "1y", NULL }, none, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--compact-retention: expected 0 (off)"));
}

static void
test_quota_from_args(void **state)
{
	char *a[] = { "--log-level=warn", "--quota-backend-bytes=16777216" };
	char *b[] = { "--quota-backend-bytes 1024" };
	char *c[] = { "--quota-backend-bytes=-1" };
	char *d[] = { "--quota-backend-bytes", "--quota-backend-bytesx=5" };

	(void)state;
	assert_int_equal(maint_quota_from_args(a, 2), 16777216);
	assert_int_equal(maint_quota_from_args(b, 1), 1024);
	assert_int_equal(maint_quota_from_args(c, 1), 2147483648LL);
	assert_int_equal(maint_quota_from_args(d, 2), 2147483648LL);
	assert_int_equal(maint_quota_from_args(NULL, 0), 2147483648LL);
}

/* ---- the (time, revision) ring ---------------------------------------- */

static void
test_ring(void **state)
{
	struct maint_ring *r = calloc(1, sizeof(*r));

	(void)state;
	assert_int_equal(maint_ring_at(r, 1000), 0);
	maint_ring_add(r, 1000, 5);
	maint_ring_add(r, 2000, 9);
	maint_ring_add(r, 3000, 12);
	assert_int_equal(maint_ring_at(r, 999), 0);
	assert_int_equal(maint_ring_at(r, 1000), 5);
	assert_int_equal(maint_ring_at(r, 2500), 9);
	assert_int_equal(maint_ring_at(r, 99999), 12);
	/* Wrapping keeps the newest MAINT_RING samples. */
	for (int64_t i = 4; i < 4 + MAINT_RING; i++)
		maint_ring_add(r, i * 1000, i * 10);
	assert_int_equal(r->n, MAINT_RING);
	assert_int_equal(maint_ring_at(r, 3500), 0);
	assert_int_equal(maint_ring_at(r, 4000), 40);
	assert_int_equal(maint_ring_at(r, (3 + MAINT_RING) * 1000),
	    (3 + MAINT_RING) * 10);
	/* Samples closer than min_gap_ms are skipped. */
	memset(r, 0, sizeof(*r));
	r->min_gap_ms = 1000;
	maint_ring_add(r, 0, 1);
	maint_ring_add(r, 500, 2);
	maint_ring_add(r, 1000, 3);
	assert_int_equal(r->n, 2);
	assert_int_equal(maint_ring_at(r, 999), 1);
	free(r);
}

/* ---- etcd's answers ------------------------------------------------------ */

#define HDR "\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"," \
	"\"revision\":\"16\",\"raft_term\":\"2\"}"

static void
test_alarms(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{\"alarms\":{}}", "{\"alarms\":[1]}",
		"{\"alarms\":[{}]}", "{\"alarms\":[{\"memberID\":5}]}",
		"{\"alarms\":[{\"memberID\":\"-5\"}]}",
		"{\"alarms\":[{\"memberID\":\"5\",\"alarm\":true}]}",
		"{\"alarms\":[{\"memberID\":\"99999999999999999999\"}]}",
		"{\"error\":\"etcdserver: no leader\",\"message\":\"etcdserver: no leader\","
		    "\"code\":14}",
		"{\"alarms\":[]", "{\"alarms\":[]}junk",
		"{\"code\":2,\"message\":\"m\"}",
	};
	struct etcd_alarms a = { 0 };
	char err[256];

	(void)state;
	/* etcd 3.7.3 */
	const char *s37 = "{\"header\":{\"cluster_id\":\"11894470811451714410\","
	    "\"member_id\":\"14720799474854129801\",\"revision\":\"19\","
	    "\"raft_term\":\"2\"},\"alarms\":[{\"memberID\":"
	    "\"14720799474854129801\",\"alarm\":\"NOSPACE\"}]}";
	assert_int_equal(etcd_parse_alarms(s37, strlen(s37), &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.n, 1);
	assert_true(a.v[0].member_id == 14720799474854129801ULL);
	etcd_alarms_free(&a);
	/* etcd 3.4.23: no header on this answer. */
	assert_int_equal(etcd_parse_alarms("{\"alarms\":[{\"memberID\":"
	    "\"13668033151171901709\",\"alarm\":\"NOSPACE\"}]}", 66, &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.n, 1);
	assert_true(a.v[0].member_id == 13668033151171901709ULL);
	assert_int_equal(a.v[0].type, ETCD_ALARM_NOSPACE);
	etcd_alarms_free(&a);
	assert_int_equal(etcd_parse_alarms("{}", 2, &a, err, sizeof(err)), 0);
	assert_int_equal(a.n, 0);
	const char *three = "{" HDR ",\"alarms\":[{\"memberID\":\"1\","
	    "\"alarm\":\"CORRUPT\"},{\"memberID\":\"2\",\"alarm\":\"NEWER\"},"
	    "{\"memberID\":\"3\",\"alarm\":1},{\"memberID\":\"4\"}]}";
	assert_int_equal(etcd_parse_alarms(three, strlen(three), &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.n, 4);
	assert_int_equal(a.v[0].type, ETCD_ALARM_CORRUPT);
	assert_int_equal(a.v[1].type, ETCD_ALARM_OTHER);
	assert_int_equal(a.v[2].type, ETCD_ALARM_NOSPACE);
	assert_int_equal(a.v[3].type, ETCD_ALARM_NONE);
	assert_string_equal(etcd_alarm_name(a.v[1].type), "OTHER");
	etcd_alarms_free(&a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		a = (struct etcd_alarms){ 0 };
		err[0] = '\0';
		if (etcd_parse_alarms(bad[i], strlen(bad[i]), &a, err,
		    sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_null(a.v);
		assert_true(strlen(err) > 0);
	}
	const char *e = bad[9];
	etcd_parse_alarms(e, strlen(e), &a, err, sizeof(err));
	assert_non_null(strstr(err, "etcdserver: no leader"));
}

static void
test_alarms_too_many(void **state)
{
	struct etcd_alarms a = { 0 };
	struct sbuf b = { .max = 1 << 20 };
	char err[256];

	(void)state;
	sb_printf(&b, "{\"alarms\":[");
	for (int i = 0; i <= ETCD_MAX_ALARMS; i++)
		sb_printf(&b, "%s{\"memberID\":\"%d\",\"alarm\":\"NOSPACE\"}",
		    i ? "," : "", i + 1);
	sb_printf(&b, "]}");
	assert_int_equal(etcd_parse_alarms(sb_str(&b), strlen(sb_str(&b)), &a,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than the 1024"));
	sb_free(&b);
}

static void
test_mstatus(void **state)
{
	/* etcd 3.4.23 under a NOSPACE alarm. */
	const char *s34 = "{\"header\":{\"cluster_id\":\"15118495548433857066\","
	    "\"member_id\":\"13668033151171901709\",\"revision\":\"16\","
	    "\"raft_term\":\"2\"},\"version\":\"3.4.23\",\"dbSize\":"
	    "\"17297408\",\"leader\":\"13668033151171901709\",\"raftIndex\":"
	    "\"22\",\"raftTerm\":\"2\",\"raftAppliedIndex\":\"22\",\"errors\":"
	    "[\"memberID:13668033151171901709 alarm:NOSPACE \"],"
	    "\"dbSizeInUse\":\"11292672\"}";
	const char *s36 = "{" HDR ",\"version\":\"3.6.16\",\"dbSize\":"
	    "\"20480\",\"leader\":\"2\",\"dbSizeQuota\":\"16777216\"}";
	static const char *const bad[] = {
		"{}", "{\"header\":{}}", "{\"header\":[]}",
		"{\"header\":{\"member_id\":\"2\"}}",
		"{\"header\":{\"member_id\":\"2\",\"revision\":\"-3\"}}",
		"{" HDR ",\"dbSize\":\"-1\"}", "{" HDR ",\"dbSize\":12}",
		"{" HDR ",\"leader\":\"x\"}",
		"{\"error\":\"e\",\"message\":\"e\",\"code\":2}",
	};
	struct etcd_status st;
	char err[256];

	(void)state;
	assert_int_equal(etcd_parse_status(s34, strlen(s34), &st, err,
	    sizeof(err)), 0);
	assert_true(st.member_id == 13668033151171901709ULL);
	assert_true(st.leader == st.member_id);
	assert_int_equal(st.revision, 16);
	assert_int_equal(st.db_size, 17297408);
	assert_int_equal(st.db_size_in_use, 11292672);
	assert_int_equal(st.db_size_quota, 0);
	assert_int_equal(etcd_parse_status(s36, strlen(s36), &st, err,
	    sizeof(err)), 0);
	assert_int_equal(st.db_size_quota, 16777216);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		memset(&st, 0x5a, sizeof(st));
		if (etcd_parse_status(bad[i], strlen(bad[i]), &st, err,
		    sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(st.revision, 0x5a5a5a5a5a5a5a5aLL);
	}
}

static void
test_ack(void **state)
{
	const char *compacted = "{\"error\":\"etcdserver: mvcc: required "
	    "revision has been compacted\",\"message\":\"etcdserver: mvcc: "
	    "required revision has been compacted\",\"code\":11}";
	const char *future = "{\"error\":\"etcdserver: mvcc: required "
	    "revision is a future revision\",\"message\":\"etcdserver: mvcc: "
	    "required revision is a future revision\",\"code\":11}";
	char err[256];

	(void)state;
	assert_int_equal(etcd_parse_ack("defragment", 200, "{}", 2, err,
	    sizeof(err)), 0);
	assert_int_equal(etcd_parse_ack("compaction", 200, "{" HDR "}",
	    strlen("{" HDR "}"), err, sizeof(err)), 0);
	assert_int_equal(etcd_parse_ack("compaction", 400, compacted,
	    strlen(compacted), err, sizeof(err)), 1);
	/* etcd 3.6+ leaves "error" out. */
	const char *c37 = "{\"code\":11,\"message\":\"etcdserver: mvcc: "
	    "required revision has been compacted\"}";
	const char *e37 = "{\"code\":14,\"message\":\"etcdserver: "
	    "leader changed\"}";
	const char *nested = "{\"error\":{\"code\":14,\"message\":"
	    "\"etcdserver: leader changed\"}}";
	assert_int_equal(etcd_parse_ack("compaction", 400, c37, strlen(c37),
	    err, sizeof(err)), 1);
	assert_int_equal(etcd_parse_ack("defragment", 200, e37, strlen(e37),
	    err, sizeof(err)), -1);
	assert_string_equal(err, "defragment: etcd error: etcdserver: leader "
	    "changed (gRPC code 14)");
	assert_int_equal(etcd_parse_ack("defragment", 503, nested,
	    strlen(nested), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "leader changed"));
	assert_int_equal(etcd_parse_ack("compaction", 400, future,
	    strlen(future), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "future revision"));
	assert_int_equal(etcd_parse_ack("defragment", 500, "{}", 2, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "HTTP 500"));
	assert_int_equal(etcd_parse_ack("defragment", 200, "nope", 4, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_parse_ack("defragment", 200, "[]", 2, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_parse_ack("defragment", 200, "", 0, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_eargs_shape),
		cmocka_unit_test(test_eargs_refused),
		cmocka_unit_test(test_eargs_cover_plan_argv),
		cmocka_unit_test(test_eargs_config),
		cmocka_unit_test(test_quota_from_args),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_alarms),
		cmocka_unit_test(test_alarms_too_many),
		cmocka_unit_test(test_mstatus),
		cmocka_unit_test(test_ack),
	};

	return cmocka_run_group_tests_name("maint", tests, NULL, NULL);
}
