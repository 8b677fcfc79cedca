#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/proc.h"

/* How lib/proc.c starts a child (with vfork(), sharing the agent's memory
 * until exec): what the child gets, what the agent keeps, and the errors
 * that come back. The children are /bin/sh and id, run for real. */

/* Runs argv as uid/gid ((uid_t)-1: as this process) with stdout and
 * stderr on a pipe; returns what it printed (in a static buffer) and sets
 * *status to its wait status. */
static char *
run(char *const argv[], uid_t uid, gid_t gid, int *status)
{
	static char out[4096];
	int fds[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = proc_spawn_as(argv, NULL, fds[1], fds[1], uid, gid);
	assert_true(pid > 0);
	close(fds[1]);
	while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, status, 0), pid);
	out[len] = '\0';
	return out;
}

/* The child starts with no signal blocked or ignored, stdin on /dev/null
 * and none of the agent's other descriptors, whatever the agent had. */
static void
test_spawn_child_state(void **state)
{
	/* The masks are grep's own, read last through exec: the shell
	 * blocks signals for moments of its own while it waits for a
	 * command, and grep reading the shell's would catch one of them. */
	char *const argv[] = {
		"/bin/sh", "-c",
		"readlink /proc/$$/fd/0; "
		"for f in /proc/$$/fd/*; do echo \"fd ${f##*/}\"; done; "
		"exec grep -E '^Sig(Blk|Ign):' /proc/self/status",
		NULL,
	};
	sigset_t block, was, now;
	struct sigaction sa;
	int fd, keep, st;
	char *out, want[32];

	(void)state;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGCHLD);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &was), 0);
	signal(SIGUSR2, SIG_IGN);
	/* Not close-on-exec, and above the shell's own descriptors (its
	 * glob opens the directory it lists). */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	keep = fcntl(fd, F_DUPFD, 40);
	assert_true(keep >= 40);
	close(fd);

	out = run(argv, (uid_t)-1, (gid_t)-1, &st);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "SigBlk:\t0000000000000000\n"));
	assert_non_null(strstr(out, "SigIgn:\t0000000000000000\n"));
	assert_non_null(strstr(out, "/dev/null\n"));
	assert_non_null(strstr(out, "fd 0\nfd 1\nfd 2\n"));
	snprintf(want, sizeof(want), "fd %d\n", keep);
	assert_null(strstr(out, want));

	/* The agent's own mask and dispositions are as they were. */
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	assert_true(sigismember(&now, SIGUSR1));
	assert_true(sigismember(&now, SIGCHLD));
	assert_false(sigismember(&now, SIGTERM));
	assert_int_equal(sigaction(SIGUSR2, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);

	close(keep);
	signal(SIGUSR2, SIG_DFL);
	assert_int_equal(sigprocmask(SIG_SETMASK, &was, NULL), 0);
}

/* A program that is not there, or not executable: -1 and exec's errno,
 * and no child left behind. */
static void
test_spawn_errors(void **state)
{
	char *const missing[] = { "/nonexistent/zooinit-test", NULL };
	char *const notexec[] = { "/dev/null", NULL };

	(void)state;
	errno = 0;
	assert_int_equal(proc_spawn(missing), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(proc_spawn(notexec), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* A thread of the agent's (libcurl's resolver has some): it sends its
 * thread id through tid_fds, then waits until stop_fds has a byte. */
static int tid_fds[2], stop_fds[2];

static void *
waiter(void *arg)
{
	pid_t tid = gettid();
	char c;

	(void)arg;
	assert_int_equal(write(tid_fds[1], &tid, sizeof(tid)), sizeof(tid));
	assert_int_equal(read(stop_fds[0], &c, 1), 1);
	return NULL;
}

/* The "Uid:" line of thread tid of this process. */
static void
thread_uid(pid_t tid, char *line, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	assert_non_null(f);
	line[0] = '\0';
	while (fgets(line, (int)len, f) != NULL &&
	    strncmp(line, "Uid:", 4) != 0)
		;
	fclose(f);
}

/* A child run as another user has that user's identity and only its
 * group, and the agent, which has another thread here, keeps its own in
 * every thread (the child shares the agent's memory until exec). Needs
 * root. */
static void
test_spawn_as_user(void **state)
{
	char *const argv[] = { "/bin/sh", "-c", "id -u; id -g; id -G", NULL };
	pthread_t t;
	pid_t tid;
	char line[256];
	int st;
	char *out;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe(tid_fds), 0);
	assert_int_equal(pipe(stop_fds), 0);
	assert_int_equal(pthread_create(&t, NULL, waiter, NULL), 0);
	assert_int_equal(read(tid_fds[0], &tid, sizeof(tid)), sizeof(tid));

	out = run(argv, 65534, 65534, &st);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(out, "65534\n65534\n65534\n");
	assert_int_equal(geteuid(), 0);
	assert_int_equal(getegid(), 0);
	thread_uid(tid, line, sizeof(line));
	assert_string_equal(line, "Uid:\t0\t0\t0\t0\n");

	assert_int_equal(write(stop_fds[1], "x", 1), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	for (int i = 0; i < 2; i++) {
		close(tid_fds[i]);
		close(stop_fds[i]);
	}
}

static int isolated_global;

static int
isolated_ok(void *arg, char *out, size_t outlen)
{
	isolated_global = *(int *)arg;
	snprintf(out, outlen, "%d", isolated_global * 2);
	return 0;
}

static int
isolated_fail(void *arg, char *out, size_t outlen)
{
	(void)arg;
	snprintf(out, outlen, "%s", "the CA's key is readable by others");
	return -1;
}

static int
isolated_crash(void *arg, char *out, size_t outlen)
{
	(void)arg;
	snprintf(out, outlen, "%s", "never sent");
	raise(SIGKILL);
	return 0;
}

/* proc_isolate(): the work's result or error comes back, what it changed
 * stays in the child, a child that dies says how, and none is left to
 * reap. */
static void
test_isolate(void **state)
{
	char out[64], small[4];
	int v = 21;

	(void)state;
	assert_int_equal(proc_isolate(isolated_ok, &v, out, sizeof(out)), 0);
	assert_string_equal(out, "42");
	assert_int_equal(isolated_global, 0);

	assert_int_equal(proc_isolate(isolated_fail, NULL, out, sizeof(out)),
	    -1);
	assert_string_equal(out, "the CA's key is readable by others");
	/* Cut to what fits. */
	assert_int_equal(proc_isolate(isolated_fail, NULL, small,
	    sizeof(small)), -1);
	assert_string_equal(small, "the");

	assert_int_equal(proc_isolate(isolated_crash, NULL, out, sizeof(out)),
	    PROC_ISOLATE_UNRUN);
	assert_non_null(strstr(out, "killed by signal 9"));

	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: in a child forked after test_spawn_as_user made a
		 * thread, valgrind counts what glibc keeps of it as lost. */
		cmocka_unit_test(test_isolate),
		cmocka_unit_test(test_spawn_child_state),
		cmocka_unit_test(test_spawn_errors),
		cmocka_unit_test(test_spawn_as_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
