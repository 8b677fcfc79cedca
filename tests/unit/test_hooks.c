#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services/hooks.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/proc.h"
#include "lib/sup.h"
#include "lib/xmalloc.h"

/* Real executables in a temp dir, run by the real loop. The test process
 * blocks SIGCHLD, reads it from a signalfd and reaps like the agent does
 * (proc_reap()), handing each pid to hook_reaped(). The hooks are /bin/sh
 * scripts the test writes; zooinit itself never runs a shell. */

#define MAX_GOT 5
#define SAFETY_MS 15000		/* no test waits longer than this */

static int sigfd = -1;		/* for the whole group */

struct got {
	uint64_t id;
	int calls;
	int status;
	bool timed_out;
	char *error;
	char *name;
	int64_t at;		/* loop_now_ms() of the callback */
};

struct fx {
	char dir[64];
	struct loop *loop;
	struct got got[MAX_GOT];
	int n_expected;		/* callbacks that end a run */
	int n_got;
	int orphans;		/* reaped pids that were not a hook's */
	int saved_stderr;
	char *log;		/* what the last run logged */
	bool (*until)(struct fx *);
	int64_t deadline;
	bool sync_guard;	/* set while inside a hook_* call */
	bool ran;		/* loop_run() returned; it stays stopped */
	/* Freed by the teardown, so a failed assertion leaks nothing. */
	char *owned[32];
	size_t n_owned;
	char **env;
	struct sup *sup;	/* the test_sup_* tests' */
	/* What on_sup_rec saw: per exit, the start it ended (struct
	 * sup_exit), when, and when the next start came. */
	int sup_exits, sup_stop_after;
	unsigned sup_starts[8];
	int64_t sup_exit_at[8], sup_up_at[8];
};

/* Keeps env for the teardown, freeing the one kept before. */
static char **
set_env(struct fx *f, char **env)
{
	hook_env_free(f->env);
	f->env = env;
	return env;
}

static char *
own(struct fx *f, char *p)
{
	assert_true(f->n_owned < sizeof(f->owned) / sizeof(f->owned[0]));
	f->owned[f->n_owned++] = p;
	return p;
}

/* ---- plumbing -------------------------------------------------------- */

static void capture_start(struct fx *f);

/* A process group must only be signalled while its leader is not reaped:
 * once it is, the kernel may give its id to another process, whose group
 * would be hit. This definition of kill() takes the place of libc's for
 * the whole test binary (hooks.o and sup.o included) and counts every
 * signal to a group whose leader, our child, is already gone: waitid()
 * with WNOWAIT still finds a running or zombie child and fails with
 * ECHILD once it was reaped. The teardown wants none of those; before
 * the reaper told owners of an exit ahead of the reaping (proc_reap()),
 * every sweep of a hook's group after its exit counted here. */
static int group_kills, late_group_kills;

int
kill(pid_t pid, int sig)
{
	if (pid < -1 && sig != 0) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		group_kills++;
		if (waitid(P_PID, (id_t)-pid, &si,
		    WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD) {
			late_group_kills++;
			fprintf(stderr, "kill(%d, %d) after its leader was "
			    "reaped\n", (int)pid, sig);
		}
	}
	return (int)syscall(SYS_kill, pid, sig);
}

static void
on_exited(void *arg, pid_t pid, int status)
{
	struct fx *f = arg;

	if (f->sup != NULL && sup_reaped(f->sup, pid, status))
		return;
	if (!hook_reaped(pid, status))
		f->orphans++;
}

static void
on_signal(struct loop *l, int fd, int events, void *arg)
{
	struct fx *f = arg;
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			proc_reap(on_exited, f);
	}
}

static void
on_done(void *arg, const struct hook_result *r)
{
	struct fx *f = arg;
	struct got *g = NULL;

	/* cb must never run inside hook_run() or hook_reaped(). */
	assert_false(f->sync_guard);
	for (int i = 0; i < MAX_GOT; i++) {
		if (f->got[i].id == r->id)
			g = &f->got[i];
	}
	assert_non_null(g);
	g->calls++;
	g->status = r->status;
	g->timed_out = r->timed_out;
	free(g->error);
	free(g->name);
	g->error = r->error ? xstrdup(r->error) : NULL;
	g->name = xstrdup(r->name);
	g->at = loop_now_ms();
	f->n_got++;
}

/* A loop stays stopped once loop_stop() was called, so each run after the
 * first gets a new one. Only when no hook uses the old one any more. */
static void
fresh_loop(struct fx *f)
{
	if (!f->ran)
		return;
	assert_int_equal(hook_count(), 0);
	loop_free(f->loop);
	f->loop = loop_new();
	loop_watch(f->loop, sigfd, LOOP_READ, on_signal, f);
	f->ran = false;
}

/* Starts a hook and remembers its id in slot i. */
static uint64_t
run(struct fx *f, int i, const char *name, char *const argv[],
    char *const envp[], int timeout_ms)
{
	uint64_t id;

	fresh_loop(f);
	if (f->saved_stderr < 0)
		capture_start(f);
	f->sync_guard = true;
	id = hook_run(f->loop, name, argv, envp, timeout_ms, on_done, f);
	f->sync_guard = false;
	assert_true(id > 0);
	f->got[i].id = id;
	f->got[i].status = -2;
	return id;
}

static bool
all_done(struct fx *f)
{
	return f->n_got >= f->n_expected;
}

static void
on_tick(struct loop *l, void *arg)
{
	struct fx *f = arg;

	if (f->until(f)) {
		loop_stop(l, 0);
		return;
	}
	if (loop_now_ms() > f->deadline) {
		loop_stop(l, -1);
		return;
	}
	(void)loop_timer(l, 10, on_tick, f);
}

static void
capture_start(struct fx *f)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/log", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	f->saved_stderr = dup(2);
	assert_true(f->saved_stderr >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *s = NULL;
	size_t n = 0, cap = 0, r;

	if (fp == NULL)
		return NULL;
	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			s = xrealloc(s, cap);
		}
		r = fread(s + n, 1, cap - n - 1, fp);
		n += r;
	} while (r > 0);
	fclose(fp);
	s[n] = '\0';
	return s;
}

static void
capture_stop(struct fx *f)
{
	char path[96];

	if (f->saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(f->saved_stderr, 2);
	close(f->saved_stderr);
	f->saved_stderr = -1;
	snprintf(path, sizeof(path), "%s/log", f->dir);
	free(f->log);
	f->log = slurp(path);
	assert_non_null(f->log);
}

/* Runs the loop, logging into f->log, until pred holds; fails the test
 * when it does not within max_ms. */
static void
run_until(struct fx *f, bool (*pred)(struct fx *), int max_ms)
{
	uint64_t t;
	int rc;

	fresh_loop(f);
	f->until = pred;
	f->deadline = loop_now_ms() + max_ms;
	t = loop_timer(f->loop, 0, on_tick, f);
	if (f->saved_stderr < 0)
		capture_start(f);
	rc = loop_run(f->loop);
	f->ran = true;
	capture_stop(f);
	loop_cancel(f->loop, t);
	if (rc != 0)
		fprintf(stderr, "--- log of the run ---\n%s---\n", f->log);
	assert_int_equal(rc, 0);
}

static void
wait_done(struct fx *f, int n)
{
	f->n_expected = n;
	run_until(f, all_done, SAFETY_MS);
}

/* Writes dir/name with mode; body gets a #!/bin/sh line unless raw. */
static char *
script(struct fx *f, const char *name, const char *body, mode_t mode,
    bool raw)
{
	char *path = own(f, xasprintf("%s/%s", f->dir, name));
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	if (!raw)
		fputs("#!/bin/sh\n", fp);
	fputs(body, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static char *
file_in(struct fx *f, const char *name)
{
	return own(f, xasprintf("%s/%s", f->dir, name));
}

static pid_t
read_pid(const char *path)
{
	char *s = slurp(path);
	pid_t pid;

	assert_non_null(s);
	pid = (pid_t)atoi(s);
	free(s);
	assert_true(pid > 1);
	return pid;
}

static pid_t watched_group;

static bool
group_gone(struct fx *f)
{
	(void)f;
	return kill(-watched_group, 0) < 0 && errno == ESRCH;
}

static bool
no_hooks(struct fx *f)
{
	(void)f;
	return hook_count() == 0;
}

static bool
group_gone_no_hooks(struct fx *f)
{
	return group_gone(f) && no_hooks(f);
}

/* Waits until the process group is gone: nothing of the hook remains. */
static void
assert_group_gone(struct fx *f, pid_t pgid)
{
	watched_group = pgid;
	run_until(f, group_gone_no_hooks, 5000);
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

/* Asserts that the lines appear in the log in this order. */
static void
assert_in_order(const char *log, const char *const *lines, size_t n)
{
	const char *p = log;

	for (size_t i = 0; i < n; i++) {
		const char *q = strstr(p, lines[i]);

		if (q == NULL)
			fail_msg("missing in order: \"%s\"\nlog:\n%s", lines[i],
			    log);
		p = q + strlen(lines[i]);
	}
}

static int
group_setup(void **state)
{
	char err[256];

	(void)state;
	sigfd = proc_signals_init(err, sizeof(err));
	if (sigfd < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	/* Orphaned grandchildren come back to us, so we can see them go. */
	proc_become_subreaper();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	close(sigfd);
	return 0;
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/zooinit-hooks-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->loop = loop_new();
	f->saved_stderr = -1;
	late_group_kills = 0;
	loop_watch(f->loop, sigfd, LOOP_READ, on_signal, f);
	log_set_level(LOG_DEBUG);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char *cmd;

	capture_stop(f);
	hook_cancel_all();
	sup_free(f->sup);
	assert_int_equal(late_group_kills, 0);
	for (int i = 0; i < MAX_GOT; i++) {
		free(f->got[i].error);
		free(f->got[i].name);
	}
	for (size_t i = 0; i < f->n_owned; i++)
		free(f->owned[i]);
	hook_env_free(f->env);
	free(f->log);
	loop_free(f->loop);
	/* The test wrote the dir; no user input in the path. */
	cmd = xasprintf("rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(cmd);
	free(f);
	return 0;
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

static void
test_timeout_kills_group(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "hang.sh",
	    "echo $$ > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"\n"
	    "echo started\n"
	    "sleep 1000 &\n"
	    "wait\n", 0755, false);
	char *pidf = file_in(f, "hang.pid");
	char *argv[] = { sh, pidf, NULL };
	int64_t t0 = loop_now_ms(), took;
	pid_t pgid;

	run(f, 0, "OnPostStart", argv, NULL, 300);
	wait_done(f, 1);
	took = f->got[0].at - t0;
	assert_true(f->got[0].timed_out);
	assert_null(f->got[0].error);
	assert_true(WIFSIGNALED(f->got[0].status));
	assert_int_equal(WTERMSIG(f->got[0].status), SIGTERM);
	assert_true(took >= 300);
	assert_true(took < 300 + HOOK_KILL_MS);
	assert_non_null(strstr(f->log, "hook OnPostStart: started\n"));
	assert_non_null(strstr(f->log, "did not finish within 300 ms"));
	pgid = read_pid(pidf);
	/* The background sleep went with it. */
	assert_group_gone(f, pgid);
}

static void
test_timeout_term_ignored(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "stubborn.sh",
	    "trap '' TERM\n"
	    "echo $$ > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"\n"
	    "sleep 1000 &\n"
	    "wait\n", 0755, false);
	char *pidf = file_in(f, "stubborn.pid");
	char *argv[] = { sh, pidf, NULL };
	int64_t t0 = loop_now_ms(), took;

	run(f, 0, "OnPreStart", argv, NULL, 200);
	wait_done(f, 1);
	took = f->got[0].at - t0;
	assert_true(f->got[0].timed_out);
	assert_true(WIFSIGNALED(f->got[0].status));
	assert_int_equal(WTERMSIG(f->got[0].status), SIGKILL);
	assert_true(took >= 200 + HOOK_KILL_MS);
	assert_true(took < 200 + HOOK_KILL_MS + 2000);
	assert_non_null(strstr(f->log, "sending SIGKILL"));
	assert_group_gone(f, read_pid(pidf));
}

/* Writes its pid to $1, leaves a helper in its group and exits $2. */
static const char leave_sh[] =
    "echo $$ > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"\n"
    "sleep 1000 &\n"
    "echo bye\n"
    "exit \"$2\"\n";

/* A hook that exits and leaves a helper in its group holding the pipe:
 * the helper is killed and the result comes at once. */
static void
test_leftover_helper_killed(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "leave.sh", leave_sh, 0755, false);
	char *pidf = file_in(f, "leave.pid");
	char *argv[] = { sh, pidf, "0", NULL };
	int64_t t0 = loop_now_ms();

	int kills = group_kills;

	run(f, 0, "OnClusterBooted", argv, NULL, 0);
	wait_done(f, 1);
	assert_int_equal(f->got[0].status, 0);
	assert_false(f->got[0].timed_out);
	assert_true(f->got[0].at - t0 < HOOK_DRAIN_MS);
	assert_non_null(strstr(f->log, "hook OnClusterBooted: bye\n"));
	assert_group_gone(f, read_pid(pidf));
	/* Swept by hook_reaped(), while the leader was a zombie (see kill()
	 * above; the teardown checks that none came late). */
	assert_int_equal(group_kills, kills + 1);
	assert_int_equal(late_group_kills, 0);
}

static bool
sup_done(struct fx *f)
{
	return sup_state(f->sup) == SUP_DONE;
}

/* Records every exit and restart; stops the child at the exit numbered
 * sup_stop_after, from inside the notification, as an owner does. */
static void
on_sup_rec(void *arg, struct sup *s, enum sup_state from, enum sup_state to,
    const struct sup_exit *ex)
{
	struct fx *f = arg;
	int i = f->sup_exits;

	if (to == SUP_RUNNING && from == SUP_BACKOFF && i > 0 && i <= 8)
		f->sup_up_at[i - 1] = loop_now_ms();
	if (to != SUP_BACKOFF)
		return;
	assert_true(i < 8);
	assert_int_not_equal(ex->status, -1);
	f->sup_starts[i] = ex->starts;
	f->sup_exit_at[i] = loop_now_ms();
	f->sup_exits++;
	if (f->sup_exits == f->sup_stop_after)
		sup_stop(s);
}

/* The supervisor's child exits and leaves a helper in its group: the
 * helper is killed when sup_reaped() learns of the exit, while the child
 * is still a zombie, never after. */
static void
test_sup_sweeps_group(void **state)
{
	struct fx *f = *state;
	struct sup_opts o = {
		.label = "child", .stop_timeout_ms = 1000,
		.backoff_min_ms = 60000, .backoff_max_ms = 60000,
		.stable_ms = 60000,
	};
	char *pidf = file_in(f, "svc.pid");
	char *argv[] = { script(f, "svc.sh", leave_sh, 0755, false), pidf, "3",
	    NULL };
	int kills = group_kills;

	capture_start(f);
	/* No restart within the test: stopped at the first exit. */
	f->sup_stop_after = 1;
	f->sup = sup_new(f->loop, &o, argv, on_sup_rec, f);
	assert_int_equal(sup_start(f->sup), 0);
	run_until(f, sup_done, 5000);
	assert_non_null(strstr(f->log, "child exited with status 3"));
	assert_int_equal(f->sup_exits, 1);
	sup_free(f->sup);
	f->sup = NULL;
	assert_group_gone(f, read_pid(pidf));
	assert_int_equal(group_kills, kills + 1);
	assert_int_equal(late_group_kills, 0);
}

/* Finds each of the words in s in order; returns the count found. */
static int
in_order(const char *s, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n && s != NULL; i++) {
		s = strstr(s, words[i]);
		if (s != NULL)
			s += strlen(words[i]);
	}
	return s != NULL ? i : i - 1;
}

/* A child that exits again and again: the first exit restarts it at
 * once, the second after the floor, then twice that up to the ceiling.
 * Each exit reports the start it ended, counted from 1. */
static void
test_sup_first_restart_at_once(void **state)
{
	struct fx *f = *state;
	struct sup_opts o = {
		.label = "child", .stop_timeout_ms = 1000,
		.backoff_min_ms = 200, .backoff_max_ms = 400,
		.stable_ms = 60000,
	};
	char *argv[] = { script(f, "exit.sh", "exit 3\n", 0755, false), NULL };
	static const char *const said[] = {
		"child exited with status 3 after 0 s; restarting at once",
		"restarting in 0.2 s", "restarting in 0.4 s",
		"restarting in 0.4 s",
	};

	capture_start(f);
	f->sup_stop_after = 4;
	f->sup = sup_new(f->loop, &o, argv, on_sup_rec, f);
	assert_int_equal(sup_start(f->sup), 0);
	run_until(f, sup_done, 5000);
	assert_int_equal(f->sup_exits, 4);
	assert_int_equal(in_order(f->log, said, 4), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(f->sup_starts[i], (unsigned)i + 1);
	/* At once: well before the 200 ms floor. Then the floor, then its
	 * double. */
	assert_true(f->sup_up_at[0] - f->sup_exit_at[0] < 190);
	assert_true(f->sup_up_at[1] - f->sup_exit_at[1] >= 200);
	assert_true(f->sup_up_at[2] - f->sup_exit_at[2] >= 400);
	sup_free(f->sup);
	f->sup = NULL;
}

/* A run of stable_ms makes the next exit a first one again: a child that
 * runs long enough before each exit is always restarted at once (the
 * minute-long backoff would otherwise outlast the test). */
static void
test_sup_stable_run_resets(void **state)
{
	struct fx *f = *state;
	struct sup_opts o = {
		.label = "child", .stop_timeout_ms = 1000,
		.backoff_min_ms = 60000, .backoff_max_ms = 60000,
		.stable_ms = 100,
	};
	char *argv[] = { script(f, "nap.sh", "sleep 0.2\nexit 3\n", 0755,
	    false), NULL };
	static const char *const said[] = {
		"restarting at once", "restarting at once", "restarting at once",
	};

	capture_start(f);
	f->sup_stop_after = 3;
	f->sup = sup_new(f->loop, &o, argv, on_sup_rec, f);
	assert_int_equal(sup_start(f->sup), 0);
	run_until(f, sup_done, 5000);
	assert_int_equal(f->sup_exits, 3);
	assert_int_equal(in_order(f->log, said, 3), 3);
	assert_null(strstr(f->log, "restarting in"));
	sup_free(f->sup);
	f->sup = NULL;
}

/* A descendant that left the group keeps the pipe open: the result still
 * comes, after the drain period, with the output read so far. */
static void
test_escaped_holder_drained(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "escape.sh",
	    /* The holder says where it is once it has left the group. */
	    "setsid sh -c 'echo $$ > \"$0\"; exec sleep 30' \"$1\" &\n"
	    "while [ ! -s \"$1\" ]; do sleep 0.01; done\n"
	    "echo parent-done\n", 0755, false);
	char *pidf = file_in(f, "escape.pid");
	char *argv[] = { sh, pidf, NULL };
	int64_t t0 = loop_now_ms(), took;
	pid_t holder;

	run(f, 0, "OnPostRegist", argv, NULL, 0);
	wait_done(f, 1);
	took = f->got[0].at - t0;
	assert_int_equal(f->got[0].status, 0);
	assert_true(took >= HOOK_DRAIN_MS);
	assert_true(took < HOOK_DRAIN_MS + 2000);
	assert_non_null(strstr(f->log, "hook OnPostRegist: parent-done\n"));
	assert_non_null(strstr(f->log, "still holds its output open"));
	holder = read_pid(pidf);
	assert_int_equal(kill(holder, SIGKILL), 0);
	assert_group_gone(f, holder);
}

/* ---- spawn errors ---------------------------------------------------- */

/* Under valgrind a failed exec shows up in a forked copy of the test
 * rather than as posix_spawn's error (valgrind has no real vfork). */
static bool
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

static void
test_spawn_errors(void **state)
{
	struct fx *f = *state;
	char *missing = file_in(f, "nope");
	char *plain = script(f, "plain.sh", "exit 0\n", 0644, false);
	char *noshebang = script(f, "raw", "echo hi\n", 0755, true);
	char *a0[] = { missing, NULL }, *a1[] = { plain, NULL },
	    *a2[] = { f->dir, NULL }, *a3[] = { NULL },
	    *a4[] = { noshebang, NULL };
	int n = under_valgrind() ? 4 : 5;

	run(f, 0, "OnPreRegist", a0, NULL, 1000);
	run(f, 1, "OnPreRegist", a1, NULL, 1000);
	run(f, 2, "OnPreRegist", a2, NULL, 1000);
	run(f, 3, "OnPreRegist", a3, NULL, 1000);
	if (n == 5)
		run(f, 4, "OnPreRegist", a4, NULL, 1000);
	/* Never from inside hook_run(). */
	for (int i = 0; i < n; i++)
		assert_int_equal(f->got[i].calls, 0);
	wait_done(f, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(f->got[i].calls, 1);
		assert_int_equal(f->got[i].status, -1);
		assert_false(f->got[i].timed_out);
		assert_non_null(f->got[i].error);
	}
	assert_non_null(strstr(f->got[0].error, "No such file"));
	assert_non_null(strstr(f->got[0].error, missing));
	assert_non_null(strstr(f->got[1].error, "Permission denied"));
	assert_non_null(strstr(f->got[1].error, "chmod +x"));
	assert_non_null(strstr(f->got[2].error, "not a regular file"));
	assert_non_null(strstr(f->got[3].error, "no hook command"));
	if (n == 5)
		assert_non_null(strstr(f->got[4].error, "Exec format error"));
	assert_int_equal(hook_count(), 0);
	assert_int_equal(f->orphans, 0);
}

/* ---- cancel ---------------------------------------------------------- */

static const char *wait_files[2];

static bool
files_exist(struct fx *f)
{
	(void)f;
	for (size_t i = 0; i < 2; i++) {
		if (wait_files[i] != NULL && access(wait_files[i], F_OK) < 0)
			return false;
	}
	return true;
}

static uint64_t cancel_id;

/* Cancels once the hook has surely started (its pid file is there). */
static void
on_cancel_timer(struct loop *l, void *arg)
{
	struct fx *f = arg;

	if (!files_exist(f)) {
		(void)loop_timer(l, 10, on_cancel_timer, f);
		return;
	}
	hook_cancel(cancel_id);
	hook_cancel(cancel_id);		/* twice is harmless */
}

static void
test_cancel(void **state)
{
	struct fx *f = *state;
	char *sh = script(f, "long.sh",
	    "echo $$ > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"\n"
	    "sleep 1000 &\n"
	    "wait\n", 0755, false);
	char *pidf = file_in(f, "long.pid");
	char *argv[] = { sh, pidf, NULL };
	char *missing = file_in(f, "nope");
	char *a1[] = { missing, NULL };
	uint64_t id;

	wait_files[0] = pidf;
	wait_files[1] = NULL;
	cancel_id = run(f, 0, "OnStop", argv, NULL, 60000);
	(void)loop_timer(f->loop, 50, on_cancel_timer, f);
	/* A pending spawn error is cancelled before it is delivered. */
	id = run(f, 1, "OnStop", a1, NULL, 1000);
	hook_cancel(id);
	hook_cancel(0);
	hook_cancel(987654321);
	assert_int_equal(hook_count(), 1);
	/* Cancelled, killed and reaped: the registry lets go of it. */
	run_until(f, no_hooks, 5000);
	assert_group_gone(f, read_pid(pidf));
	assert_int_equal(f->n_got, 0);
	assert_int_equal(f->got[0].calls, 0);
	assert_int_equal(f->got[1].calls, 0);
}

static void
test_two_at_once(void **state)
{
	struct fx *f = *state;
	char *a = script(f, "a.sh",
	    "echo a-first; sleep 0.3; echo a-second; exit 4\n", 0755, false);
	char *b = script(f, "b.sh",
	    "echo b-first; sleep 0.1; echo b-second\n", 0755, false);
	char *aa[] = { a, NULL }, *ab[] = { b, NULL };
	const char *order_a[] = { "hook A: a-first\n", "hook A: a-second\n" };
	const char *order_b[] = { "hook B: b-first\n", "hook B: b-second\n" };

	run(f, 0, "A", aa, NULL, 5000);
	run(f, 1, "B", ab, NULL, 5000);
	assert_int_equal(hook_count(), 2);
	wait_done(f, 2);
	assert_int_equal(f->got[0].calls, 1);
	assert_int_equal(f->got[1].calls, 1);
	assert_string_equal(f->got[0].name, "A");
	assert_string_equal(f->got[1].name, "B");
	assert_int_equal(WEXITSTATUS(f->got[0].status), 4);
	assert_int_equal(WEXITSTATUS(f->got[1].status), 0);
	/* B is quicker and finishes first. */
	assert_true(f->got[1].at <= f->got[0].at);
	assert_in_order(f->log, order_a, 2);
	assert_in_order(f->log, order_b, 2);
	assert_int_equal(hook_count(), 0);
}

static void
test_cancel_all(void **state)
{
	struct fx *f = *state;
	/* Written aside and renamed: the file appears with the pid in it. */
	char *sh = script(f, "idle.sh", "echo $$ > \"$1.tmp\"; "
	    "mv \"$1.tmp\" \"$1\"; exec sleep 1000\n", 0755, false);
	char *p0 = file_in(f, "i0.pid"), *p1 = file_in(f, "i1.pid");
	char *a0[] = { sh, p0, NULL }, *a1[] = { sh, p1, NULL };

	run(f, 0, "X", a0, NULL, 0);
	run(f, 1, "Y", a1, NULL, 0);
	wait_files[0] = p0;
	wait_files[1] = p1;
	run_until(f, files_exist, 5000);
	hook_cancel_all();
	assert_int_equal(hook_count(), 0);
	/* What the reaper finds now is no hook's. */
	assert_group_gone(f, read_pid(p0));
	assert_group_gone(f, read_pid(p1));
	assert_true(f->orphans >= 2);
	assert_int_equal(f->n_got, 0);
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
		T(test_timeout_kills_group),
		T(test_timeout_term_ignored),
		T(test_leftover_helper_killed),
		T(test_sup_sweeps_group),
		T(test_sup_first_restart_at_once),
		T(test_sup_stable_run_resets),
		T(test_escaped_holder_drained),
		T(test_spawn_errors),
		T(test_cancel),
		T(test_two_at_once),
		T(test_cancel_all),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
