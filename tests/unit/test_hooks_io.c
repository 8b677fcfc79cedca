/* services/hooks.c: what a hook is given and what comes back: the event
 * names, the environment it gets (hook_env()), its argv passed as is, its
 * output lines in the log (escaped, cut and capped) and its exit status.
 * Real executables in a temp dir, run by the real loop; the fixture and
 * the plumbing are in hooks_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services/hooks.h"
#include "tests/unit/hooks_fix.h"

/* ---- helpers --------------------------------------------------------- */

/* Keeps env for the teardown, freeing the one kept before. */
static char **
set_env(struct fx *f, char **env)
{
	hook_env_free(f->env);
	f->env = env;
	return env;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL;
	    p = strstr(p + strlen(needle), needle))
		n++;
	return n;
}

/* ---- events ---------------------------------------------------------- */

static void
test_event_names(void **state)
{
	static const char *const names[] = {
		"OnPreRegist", "OnPostRegist", "OnReachQurorumNum",
		"OnPreStart", "OnStart", "OnPostStart", "OnClusterBooted",
		"OnHealthCheck", "OnStop", "OnLeaderChange",
	};
	enum hook_event ev = HOOK_STOP;

	(void)state;
	assert_int_equal(sizeof(names) / sizeof(names[0]), HOOK_NEVENTS);
	for (int i = 0; i < HOOK_NEVENTS; i++) {
		assert_string_equal(hook_event_name((enum hook_event)i),
		    names[i]);
		assert_int_equal(hook_event_parse(names[i], &ev), 0);
		assert_int_equal(ev, i);
	}
	assert_int_equal(hook_event_parse("onpoststart", &ev), 0);
	assert_int_equal(ev, HOOK_POST_START);
	ev = HOOK_STOP;
	assert_int_equal(hook_event_parse("OnReachQuorumNum", &ev), -1);
	assert_int_equal(hook_event_parse("", &ev), -1);
	assert_int_equal(hook_event_parse("OnPostStartX", &ev), -1);
	assert_int_equal(ev, HOOK_STOP);
	assert_string_equal(hook_event_name(HOOK_NEVENTS), "unknown");
}

/* ---- environment ----------------------------------------------------- */

static const char *const ips3[] = { "10.0.0.1", "10.0.0.2", "fd00::3" };
static const char *const eps2[] = { "http://10.0.0.1:2379",
	"https://[fd00::3]:2379" };

static struct hook_env
full_vars(void)
{
	return (struct hook_env){
		.backend = "etcd", .service = "zookeeper",
		.event = HOOK_POST_START,
		.server_ips = ips3, .n_server_ips = 3,
		.local_ip = "10.0.0.2", .master_ip = "10.0.0.1",
		.quorum = 2, .node_id = "h2.zl.test",
		.etcd_endpoints = eps2, .n_etcd_endpoints = 2,
		.etcd_ca_file = "/etc/zooinit/ca.crt",
		.etcd_cert_file = "/var/lib/zooinit/etcd.zooinit/tls/client.crt",
		.etcd_key_file = "/var/lib/zooinit/etcd.zooinit/tls/client.key",
	};
}

static const char *
env_get(char **env, const char *name)
{
	size_t len = strlen(name);
	const char *found = NULL;

	for (; *env != NULL; env++) {
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=') {
			/* Each name at most once. */
			assert_null(found);
			found = *env + len + 1;
		}
	}
	return found;
}

static void
test_env_build(void **state)
{
	char *base[] = { "PATH=/usr/bin:/bin", "KEEP=a=b",
		"ZOOINIT_LOCAL_IP=9.9.9.9", "ZOOINIT_QURORUM=7", "noequals",
		"=nameless", "EMPTY=", NULL };
	struct hook_env v = full_vars();
	char err[256] = "";
	struct fx *f = *state;
	char **env;

	env = set_env(f, hook_env(&v, base, err, sizeof(err)));
	assert_non_null(env);
	assert_string_equal(env_get(env, "PATH"), "/usr/bin:/bin");
	assert_string_equal(env_get(env, "KEEP"), "a=b");
	assert_string_equal(env_get(env, "EMPTY"), "");
	assert_null(env_get(env, "noequals"));
	for (char **p = env; *p != NULL; p++)
		assert_true((*p)[0] != '=' && strchr(*p, '=') != NULL);
	assert_string_equal(env_get(env, "ZOOINIT_CLUSTER_BACKEND"), "etcd");
	assert_string_equal(env_get(env, "ZOOINIT_CLUSTER_SERVICE"),
	    "zookeeper");
	assert_string_equal(env_get(env, "ZOOINIT_CLUSTER_EVENT"),
	    "OnPostStart");
	assert_string_equal(env_get(env, "ZOOINIT_SERVER_IP_LIST"),
	    "10.0.0.1,10.0.0.2,fd00::3");
	assert_string_equal(env_get(env, "ZOOINIT_LOCAL_IP"), "10.0.0.2");
	assert_string_equal(env_get(env, "ZOOINIT_MASTER_IP"), "10.0.0.1");
	assert_string_equal(env_get(env, "ZOOINIT_QUORUM"), "2");
	assert_string_equal(env_get(env, "ZOOINIT_QURORUM"), "2");
	assert_string_equal(env_get(env, "ZOOINIT_NODE_ID"), "h2.zl.test");
	assert_string_equal(env_get(env, "ZOOINIT_ETCD_ENDPOINTS"),
	    "http://10.0.0.1:2379,https://[fd00::3]:2379");
	assert_string_equal(env_get(env, "ZOOINIT_ETCD_CA_FILE"),
	    "/etc/zooinit/ca.crt");
	assert_string_equal(env_get(env, "ZOOINIT_ETCD_CERT_FILE"),
	    "/var/lib/zooinit/etcd.zooinit/tls/client.crt");
	assert_string_equal(env_get(env, "ZOOINIT_ETCD_KEY_FILE"),
	    "/var/lib/zooinit/etcd.zooinit/tls/client.key");
	v.etcd_key_file = "/tmp/a\nb";
	assert_null(hook_env(&v, base, err, sizeof(err)));
	assert_non_null(strstr(err, "the etcd key file"));

	/* Unknown values are empty, and hide inherited ones. */
	v = (struct hook_env){ .event = HOOK_PRE_REGIST };
	env = set_env(f, hook_env(&v, base, err, sizeof(err)));
	assert_non_null(env);
	assert_string_equal(env_get(env, "ZOOINIT_LOCAL_IP"), "");
	assert_string_equal(env_get(env, "ZOOINIT_QURORUM"), "");
	assert_string_equal(env_get(env, "ZOOINIT_QUORUM"), "");
	assert_string_equal(env_get(env, "ZOOINIT_SERVER_IP_LIST"), "");
	assert_string_equal(env_get(env, "ZOOINIT_ETCD_CERT_FILE"), "");
	assert_string_equal(env_get(env, "ZOOINIT_CLUSTER_EVENT"),
	    "OnPreRegist");

	/* No base at all. */
	env = set_env(f, hook_env(&v, NULL, err, sizeof(err)));
	assert_non_null(env);
	assert_null(env_get(env, "PATH"));
	assert_string_equal(env_get(env, "ZOOINIT_NODE_ID"), "");
	hook_env_free(NULL);	/* ignored */
}

static void
expect_rejected(struct hook_env *v, const char *what)
{
	char err[256] = "";
	char *base[] = { "PATH=/bin", NULL };
	char **env = hook_env(v, base, err, sizeof(err));

	if (env != NULL) {
		hook_env_free(env);
		fail_msg("accepted a bad %s", what);
	}
	if (strstr(err, what) == NULL)
		fail_msg("error does not name %s: %s", what, err);
	/* The error never carries raw control characters into a log. */
	for (const char *p = err; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20);
}

static void
test_env_rejects(void **state)
{
	const char *bad_ips[] = { "10.0.0.1", "10.0.0.2\nEVIL=1" };
	const char *comma_ips[] = { "10.0.0.1,10.0.0.9" };
	const char *empty_ips[] = { "10.0.0.1", "" };
	const char *null_ips[] = { NULL };
	const char *name_ip[] = { "h1.zl.test" };
	const char *bad_eps[] = { "http://$(reboot):2379" };
	const char *space_eps[] = { "http://10.0.0.1:2379 x" };
	const char *comma_eps[] = { "http://a:1,http://b:2" };
	struct hook_env v;

	(void)state;
	v = full_vars();
	v.service = "zoo\nkeeper";
	expect_rejected(&v, "service");
	v = full_vars();
	v.node_id = "h2=x";
	expect_rejected(&v, "node ID");
	v = full_vars();
	v.node_id = "h2;rm -rf /";
	expect_rejected(&v, "node ID");
	v = full_vars();
	v.backend = "et cd";
	expect_rejected(&v, "backend");
	v = full_vars();
	v.local_ip = "10.0.0.2;id";
	expect_rejected(&v, "local IP");
	v = full_vars();
	v.master_ip = "999.0.0.1";
	expect_rejected(&v, "master IP");
	v = full_vars();
	v.master_ip = "fe80::1%eth0;x";
	expect_rejected(&v, "master IP");
	v = full_vars();
	v.server_ips = bad_ips;
	v.n_server_ips = 2;
	expect_rejected(&v, "server IP list");
	v.server_ips = comma_ips;
	v.n_server_ips = 1;
	expect_rejected(&v, "server IP list");
	v.server_ips = empty_ips;
	v.n_server_ips = 2;
	expect_rejected(&v, "server IP list");
	v.server_ips = null_ips;
	v.n_server_ips = 1;
	expect_rejected(&v, "server IP list");
	v.server_ips = name_ip;
	v.n_server_ips = 1;
	expect_rejected(&v, "server IP list");
	v = full_vars();
	v.etcd_endpoints = bad_eps;
	v.n_etcd_endpoints = 1;
	expect_rejected(&v, "etcd endpoints");
	v.etcd_endpoints = space_eps;
	expect_rejected(&v, "etcd endpoints");
	v.etcd_endpoints = comma_eps;
	expect_rejected(&v, "etcd endpoints");
	v = full_vars();
	v.event = HOOK_NEVENTS;
	expect_rejected(&v, "event");

	/* A scoped link-local address is fine. */
	v = full_vars();
	v.master_ip = "fe80::1%eth0";
	{
		struct fx *f = *state;
		char err[256];
		char **env = set_env(f, hook_env(&v, NULL, err, sizeof(err)));

		assert_non_null(env);
		assert_string_equal(env_get(env, "ZOOINIT_MASTER_IP"),
		    "fe80::1%eth0");
	}
}

static void
test_env_arrives(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "env.sh", "env > \"$1\"\n", 0755, false);
	char *out = file_in(f, "env.out");
	char *argv[] = { sh, out, NULL };
	char *base[] = { "PATH=/usr/bin:/bin", "BASE_KEEP=kept value",
		"ZOOINIT_LOCAL_IP=1.1.1.1", NULL };
	struct hook_env v = full_vars();
	char err[256];
	char **env = f->env = hook_env(&v, base, err, sizeof(err));
	char *got;

	assert_non_null(env);
	run(f, 0, "OnPostStart", argv, env, 5000);
	wait_done(f, 1);
	assert_int_equal(f->got[0].calls, 1);
	assert_null(f->got[0].error);
	assert_int_equal(f->got[0].status, 0);
	got = own(f, slurp(out));
	assert_non_null(got);
	assert_non_null(strstr(got, "\nBASE_KEEP=kept value\n"));
	assert_non_null(strstr(got, "ZOOINIT_CLUSTER_BACKEND=etcd\n"));
	assert_non_null(strstr(got, "ZOOINIT_CLUSTER_SERVICE=zookeeper\n"));
	assert_non_null(strstr(got, "ZOOINIT_CLUSTER_EVENT=OnPostStart\n"));
	assert_non_null(strstr(got,
	    "ZOOINIT_SERVER_IP_LIST=10.0.0.1,10.0.0.2,fd00::3\n"));
	assert_non_null(strstr(got, "ZOOINIT_LOCAL_IP=10.0.0.2\n"));
	assert_null(strstr(got, "1.1.1.1"));
	assert_non_null(strstr(got, "ZOOINIT_MASTER_IP=10.0.0.1\n"));
	assert_non_null(strstr(got, "ZOOINIT_QUORUM=2\n"));
	assert_non_null(strstr(got, "ZOOINIT_QURORUM=2\n"));
	assert_non_null(strstr(got, "ZOOINIT_NODE_ID=h2.zl.test\n"));
	assert_non_null(strstr(got, "ZOOINIT_ETCD_ENDPOINTS=http://10.0.0.1:"
	    "2379,https://[fd00::3]:2379\n"));
	assert_non_null(strstr(got,
	    "ZOOINIT_ETCD_CA_FILE=/etc/zooinit/ca.crt\n"));
	/* Nothing of the test's own environment leaked in. */
	assert_int_equal(count(got, "ZOOINIT_"), 13);
}

/* ---- argv ------------------------------------------------------------ */

static void
test_argv_literal(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "args.sh",
	    "out=$1; shift\n"
	    "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > \"$out\"\n"
	    "printf '%s\\n' \"$#\" >> \"$out\"\n", 0755, false);
	char *out = file_in(f, "args.out");
	char *argv[] = { sh, out, "two words", "a;b", "$(touch pwned)",
		"`touch pwned`", "", "*", "'q'\"q\"", "x > y", NULL };
	char *got, *pwned = file_in(f, "pwned");

	run(f, 0, "OnPreStart", argv, NULL, 5000);
	wait_done(f, 1);
	assert_int_equal(f->got[0].status, 0);
	got = own(f, slurp(out));
	assert_non_null(got);
	assert_string_equal(got, "[two words]\n[a;b]\n[$(touch pwned)]\n"
	    "[`touch pwned`]\n[]\n[*]\n['q'\"q\"]\n[x > y]\n8\n");
	assert_int_equal(access(pwned, F_OK), -1);
}

/* ---- output ---------------------------------------------------------- */

static void
test_output_lines(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "out.sh",
	    "echo one\n"
	    "echo two >&2\n"
	    "echo three\n"
	    "printf 'esc\\033[31mred\\ttab\\r\\n'\n"
	    "head -c 5000 /dev/zero | tr '\\0' x; echo\n"
	    "echo after-huge\n"
	    "echo\n"
	    "printf 'last without newline'\n", 0755, false);
	char *argv[] = { sh, NULL };
	char huge[HOOK_LINE_MAX + 64];
	const char *order[] = {
		"hook OnPostStart: one\n",
		"hook OnPostStart: two\n",
		"hook OnPostStart: three\n",
		"hook OnPostStart: esc\\x1b[31mred\\x09tab\n",
		huge,
		"hook OnPostStart: after-huge\n",
		"hook OnPostStart: \n",
		"hook OnPostStart: last without newline\n",
	};

	size_t o = (size_t)snprintf(huge, sizeof(huge), "hook OnPostStart: ");

	memset(huge + o, 'x', HOOK_LINE_MAX);
	o += HOOK_LINE_MAX;
	snprintf(huge + o, sizeof(huge) - o, " [line truncated]\n");
	run(f, 0, "OnPostStart", argv, NULL, 5000);
	wait_done(f, 1);
	assert_int_equal(f->got[0].status, 0);
	assert_in_order(f->log, order, sizeof(order) / sizeof(order[0]));
	/* The rest of the long line went nowhere, and no raw ESC got out. */
	assert_int_equal(count(f->log, "xxxxxxxxxx"), HOOK_LINE_MAX / 10);
	assert_null(strchr(f->log, '\033'));
	assert_null(strchr(f->log, '\r'));
}

static void
test_output_capped(void **state)
{
	struct fx *f = *state;
	/* About 220 KB in 11-byte lines, then a marker that must not show. */
	char *sh = script(f, "flood.sh",
	    "yes 0123456789 | head -n 20000\n"
	    "echo end-marker\n", 0755, false);
	char *argv[] = { sh, NULL };
	size_t lines;

	run(f, 0, "OnHealthCheck", argv, NULL, 10000);
	wait_done(f, 1);
	assert_int_equal(f->got[0].status, 0);
	assert_false(f->got[0].timed_out);
	assert_int_equal(count(f->log, "output truncated"), 1);
	assert_null(strstr(f->log, "end-marker"));
	lines = count(f->log, "hook OnHealthCheck: 0123456789\n");
	assert_true(lines * 10 <= HOOK_OUTPUT_MAX);
	assert_true(lines * 10 > HOOK_OUTPUT_MAX - 10);
}

/* ---- results --------------------------------------------------------- */

static void
test_exit_status(void **state)
{
	struct fx *f = *state;
	char *ok = script(f, "ok.sh", "exit 0\n", 0755, false);
	char *three = script(f, "three.sh", "exit 3\n", 0755, false);
	char *sig = script(f, "sig.sh", "kill -USR1 $$\n", 0755, false);
	char *a0[] = { ok, NULL }, *a1[] = { three, NULL },
	    *a2[] = { sig, NULL };
	struct hook_result r;
	char buf[160];

	run(f, 0, "OnHealthCheck", a0, NULL, 5000);
	run(f, 1, "OnStop", a1, NULL, 5000);
	run(f, 2, "OnLeaderChange", a2, NULL, 5000);
	wait_done(f, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f->got[i].calls, 1);
		assert_null(f->got[i].error);
		assert_false(f->got[i].timed_out);
	}
	assert_string_equal(f->got[0].name, "OnHealthCheck");
	assert_true(WIFEXITED(f->got[0].status));
	assert_int_equal(WEXITSTATUS(f->got[0].status), 0);
	assert_true(WIFEXITED(f->got[1].status));
	assert_int_equal(WEXITSTATUS(f->got[1].status), 3);
	assert_true(WIFSIGNALED(f->got[2].status));
	assert_int_equal(WTERMSIG(f->got[2].status), SIGUSR1);

	r = (struct hook_result){ .status = f->got[0].status };
	assert_true(hook_succeeded(&r));
	r.status = f->got[1].status;
	assert_false(hook_succeeded(&r));
	assert_string_equal(hook_result_str(&r, buf, sizeof(buf)),
	    "exited with status 3");
	r.status = f->got[2].status;
	assert_false(hook_succeeded(&r));
	r = (struct hook_result){ .status = 0, .timed_out = true };
	assert_false(hook_succeeded(&r));
	r = (struct hook_result){ .status = -1, .error = "cannot run x" };
	assert_false(hook_succeeded(&r));
	assert_string_equal(hook_result_str(&r, buf, sizeof(buf)),
	    "could not start: cannot run x");
	assert_int_equal(hook_count(), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_names),
		T(test_env_build),
		T(test_env_rejects),
		T(test_env_arrives),
		T(test_argv_literal),
		T(test_output_lines),
		T(test_output_capped),
		T(test_exit_status),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
