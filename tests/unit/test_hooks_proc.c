/* services/hooks.c and the supervisor's part in it (lib/sup.c): a hook's
 * processes. A timeout kills the hook's whole process group, SIGKILL
 * following an ignored SIGTERM; a helper left in the group is killed at
 * once, while the leader is still a zombie, as is one the supervisor's
 * child leaves; the supervisor restarts at once, then backs off; a
 * descendant that left the group holds the output only until the drain
 * period ends; spawn errors come from the loop; cancelled hooks leave
 * nothing behind. Real executables in a temp dir, run by the real loop;
 * the fixture and the plumbing are in hooks_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services/hooks.h"
#include "lib/loop.h"
#include "lib/sup.h"
#include "tests/unit/hooks_fix.h"

/* ---- process groups -------------------------------------------------- */

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

/* ---- results --------------------------------------------------------- */

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

/* As on_sup_rec; at the first exit the agent's own environment changes,
 * which the next start must see. */
static void
on_sup_env(void *arg, struct sup *s, enum sup_state from, enum sup_state to,
    const struct sup_exit *ex)
{
	struct fx *f = arg;

	if (to == SUP_BACKOFF && f->sup_exits == 0)
		assert_int_equal(setenv("ZI_TEST_BASE", "later", 1), 0);
	on_sup_rec(arg, s, from, to, ex);
}

/* A service's process gets the agent's environment as it is at each
 * start, with the entries given to sup_set_env() set over it: the same
 * name from the agent's environment is replaced, not repeated. */
static void
test_sup_env_over_agent(void **state)
{
	struct fx *f = *state;
	struct sup_opts o = {
		.label = "child", .stop_timeout_ms = 1000,
		.backoff_min_ms = 60000, .backoff_max_ms = 60000,
		.stable_ms = 60000,
	};
	char *out = file_in(f, "env.out");
	char *argv[] = { script(f, "env.sh",
	    "printf '%s %s %s\\n' \"$ZI_TEST_BASE\" \"$ZI_TEST_OVER\" "
	    "\"$(env | grep -c '^ZI_TEST_OVER=')\" >>\"$1\"\nexit 3\n", 0755,
	    false), out, NULL };
	char *over[] = { "ZI_TEST_OVER=service", NULL };
	char *got;

	assert_int_equal(setenv("ZI_TEST_BASE", "agent", 1), 0);
	assert_int_equal(setenv("ZI_TEST_OVER", "agent", 1), 0);
	capture_start(f);
	f->sup_stop_after = 2;
	f->sup = sup_new(f->loop, &o, argv, on_sup_env, f);
	sup_set_env(f->sup, over);
	over[0] = "ZI_TEST_OVER=changed";	/* sup_set_env copies */
	assert_int_equal(sup_start(f->sup), 0);
	run_until(f, sup_done, 5000);
	assert_int_equal(f->sup_exits, 2);
	got = slurp(out);
	assert_non_null(got);
	assert_string_equal(got, "agent service 1\nlater service 1\n");
	free(got);
	sup_free(f->sup);
	f->sup = NULL;
	unsetenv("ZI_TEST_BASE");
	unsetenv("ZI_TEST_OVER");
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
		T(test_timeout_kills_group),
		T(test_timeout_term_ignored),
		T(test_leftover_helper_killed),
		T(test_sup_sweeps_group),
		T(test_sup_first_restart_at_once),
		T(test_sup_stable_run_resets),
		T(test_sup_env_over_agent),
		T(test_escaped_holder_drained),
		T(test_spawn_errors),
		T(test_cancel),
		T(test_two_at_once),
		T(test_cancel_all),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
