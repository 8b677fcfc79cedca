/* Fixture and plumbing shared by the services/hooks.c tests
 * (tests/unit/test_hooks_io.c and test_hooks_proc.c). Header-only:
 * include it after lib/fmacros.h, as both do.
 *
 * Real executables in a temp dir, run by the real loop. The test process
 * blocks SIGCHLD, reads it from a signalfd and reaps like the agent does
 * (proc_reap()), handing each pid to hook_reaped(). The hooks are /bin/sh
 * scripts the test writes; zooinit itself never runs a shell.
 *
 * It holds the fixture (struct fx; the group and per-test setups and
 * teardowns), starting hooks and running the loop until a condition
 * holds (run(), run_until(), wait_done()), stderr captured into f->log,
 * scripts and files in the test's dir (script(), file_in(), slurp()),
 * assert_in_order(), and a kill() that counts signals sent to a group
 * whose leader was already reaped. That kill() is the one function here
 * that is neither static nor inline: it takes the place of libc's for the
 * whole test binary, and each binary is one test file, so it is defined
 * once in each. The signalfd and kill()'s counters are file-scope, as
 * the signal plumbing and kill() cannot reach a fixture. */
#ifndef ZOOINIT_TESTS_HOOKS_FIX_H
#define ZOOINIT_TESTS_HOOKS_FIX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
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

static inline char *
own(struct fx *f, char *p)
{
	assert_true(f->n_owned < sizeof(f->owned) / sizeof(f->owned[0]));
	f->owned[f->n_owned++] = p;
	return p;
}

/* ---- plumbing -------------------------------------------------------- */

static inline void capture_start(struct fx *f);

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

static inline void
on_exited(void *arg, pid_t pid, int status)
{
	struct fx *f = arg;

	if (f->sup != NULL && sup_reaped(f->sup, pid, status))
		return;
	if (!hook_reaped(pid, status))
		f->orphans++;
}

static inline void
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

static inline void
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
static inline void
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
static inline uint64_t
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

static inline bool
all_done(struct fx *f)
{
	return f->n_got >= f->n_expected;
}

static inline void
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

static inline void
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

static inline char *
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

static inline void
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
static inline void
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

static inline void
wait_done(struct fx *f, int n)
{
	f->n_expected = n;
	run_until(f, all_done, SAFETY_MS);
}

/* Writes dir/name with mode; body gets a #!/bin/sh line unless raw. */
static inline char *
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

static inline char *
file_in(struct fx *f, const char *name)
{
	return own(f, xasprintf("%s/%s", f->dir, name));
}

/* Asserts that the lines appear in the log in this order. */
static inline void
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

static inline int
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

static inline int
group_teardown(void **state)
{
	(void)state;
	close(sigfd);
	return 0;
}

static inline int
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

static inline int
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

#endif
