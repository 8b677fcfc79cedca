/* lib/loop.c: timers, descriptors, and what the loop does when poll()
 * fails. poll() is replaced here (this file's definition is the one the
 * loop links against) so that it can fail with the errors a real kernel
 * gives only under memory pressure or misuse; it otherwise hands the call
 * to ppoll(). */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/loop.h"

static int fail_errno;	/* the error the next fail_left polls give */
static int fail_left;
static int pauses;	/* polls of no table at all: the loop's pauses */

int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000 };

	if (fds == NULL && n == 0)
		pauses++;
	else if (fail_left > 0) {
		fail_left--;
		errno = fail_errno;
		return -1;
	}
	return ppoll(fds, n, timeout < 0 ? NULL : &ts, NULL);
}

static void
on_stop(struct loop *l, void *arg)
{
	loop_stop(l, *(int *)arg);
}

static void
on_mark(struct loop *l, void *arg)
{
	(void)l;
	(*(int *)arg)++;
}

static void
on_read(struct loop *l, int fd, int events, void *arg)
{
	char c;

	assert_true(events & LOOP_READ);
	assert_int_equal(read(fd, &c, 1), 1);
	*(char *)arg = c;
	loop_unwatch(l, fd);
}

static int
setup(void **state)
{
	(void)state;
	fail_errno = 0;
	fail_left = 0;
	pauses = 0;
	return 0;
}

/* Timers fire in order of their due time; loop_stop's code is what
 * loop_run returns; a cancelled timer never fires. */
static void
test_timers(void **state)
{
	struct loop *l = loop_new();
	int code = 7, marks = 0;

	(void)state;
	loop_timer(l, 1, on_mark, &marks);
	loop_cancel(l, loop_timer(l, 2, on_mark, &marks));
	loop_timer(l, 20, on_stop, &code);
	loop_timer(l, 5000, on_mark, &marks);
	assert_int_equal(loop_run(l), 7);
	assert_int_equal(marks, 1);
	loop_free(l);
}

static void
on_when(struct loop *l, void *arg)
{
	(void)l;
	*(int64_t *)arg = loop_now_ms();
}

/* Timers with slack due 40 ms apart fire in one wakeup (the first's
 * slack ends at 1050 ms); a timer without slack fires on time, and a
 * timer with slack due 20 ms after it comes along, early. */
static void
test_slack(void **state)
{
	struct loop *l = loop_new();
	int64_t t0, a = 0, b = 0, c = 0, e = 0;
	int code = 0;

	(void)state;
	t0 = loop_now_ms();
	loop_timer_slack(l, 1000, on_when, &a);	/* may wait until 1050 */
	loop_timer_slack(l, 1040, on_when, &b);
	loop_timer(l, 1100, on_when, &c);
	loop_timer_slack(l, 1120, on_when, &e);	/* may fire from 1064 */
	loop_timer(l, 1600, on_stop, &code);
	assert_int_equal(loop_run(l), 0);
	/* The upper bounds only stop a loaded machine's delays from failing
	 * the test. */
	assert_true(c - t0 >= 1100);
	assert_true(a - t0 >= 1040 && a - t0 < 1500);
	assert_true(b - t0 >= 1040 && b - t0 < 1500);
	assert_true(b - a <= 5);	/* the same wakeup */
	assert_true(e - t0 >= 1064 && e - c <= 5);
	loop_free(l);
}

/* A readable descriptor reaches its callback. */
static void
test_fd(void **state)
{
	struct loop *l = loop_new();
	int p[2], code = 0;
	char got = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	loop_watch(l, p[0], LOOP_READ, on_read, &got);
	loop_timer(l, 50, on_stop, &code);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(got, 'x');
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

struct pieces {
	int fd[2];
	int64_t t0, at;		/* when the reader ran */
	int calls;
	char got[2];
	int order;		/* the reader's call, counted with the timers' */
	uint64_t timer_ran;	/* which call the timer was */
	struct pieces *next;	/* held by the reader in its own wake */
};

static int calls_so_far;

static void
on_pieces(struct loop *l, int fd, int events, void *arg)
{
	struct pieces *p = arg;

	assert_true(events & LOOP_READ);
	p->calls++;
	p->order = ++calls_so_far;
	p->at = loop_now_ms();
	assert_int_equal(read(fd, p->got, 2), 2);
	if (p->next != NULL) {
		loop_watch(l, p->next->fd[0], LOOP_READ, on_pieces, p->next);
		loop_hold(l, p->next->fd[0], 5000);
	}
}

static void
on_counted(struct loop *l, void *arg)
{
	struct pieces *p = arg;

	(void)l;
	p->timer_ran = (uint64_t)++calls_so_far;
}

/* A held descriptor is left out of poll until its hold ends when nothing
 * else wakes the loop; a new watch of it keeps the hold; two pieces
 * written 40 ms apart (by a child, so that the loop has no other wake)
 * reach the callback in one call. */
static void
test_hold(void **state)
{
	struct loop *l;
	struct pieces p = { .calls = 0 };
	int code = 0;
	pid_t child;

	(void)state;
	assert_int_equal(pipe(p.fd), 0);
	p.t0 = loop_now_ms();
	/* Forked before the loop exists: under valgrind the child, which
	 * exits without freeing, then has nothing to leak. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		const struct timespec gap = { 0, 40 * 1000000L };

		nanosleep(&gap, NULL);
		if (write(p.fd[1], "a", 1) != 1)
			_exit(1);
		nanosleep(&gap, NULL);
		_exit(write(p.fd[1], "b", 1) == 1 ? 0 : 1);
	}
	l = loop_new();
	loop_watch(l, p.fd[0], LOOP_READ, on_pieces, &p);
	loop_hold(l, p.fd[0], 300);
	loop_watch(l, p.fd[0], LOOP_READ, on_pieces, &p);
	loop_timer(l, 600, on_stop, &code);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(waitpid(child, &code, 0), child);
	assert_int_equal(code, 0);
	assert_int_equal(p.calls, 1);
	assert_true(p.at - p.t0 >= 300);
	assert_memory_equal(p.got, "ab", 2);
	close(p.fd[0]);
	close(p.fd[1]);
	loop_free(l);
}

/* A wake ends the holds made before it, and the held descriptor is served
 * in that wake before its timers run (a renewal's answer read as the
 * next renewal goes out); a hold made during a wake lasts until the next
 * one. */
static void
test_hold_wake(void **state)
{
	struct loop *l = loop_new();
	struct pieces p = { .calls = 0 }, q = { .calls = 0 };
	int code = 0;

	(void)state;
	calls_so_far = 0;
	assert_int_equal(pipe(p.fd), 0);
	assert_int_equal(pipe(q.fd), 0);
	assert_int_equal(write(p.fd[1], "ab", 2), 2);
	assert_int_equal(write(q.fd[1], "cd", 2), 2);
	p.next = &q;
	p.t0 = loop_now_ms();
	loop_watch(l, p.fd[0], LOOP_READ, on_pieces, &p);
	loop_hold(l, p.fd[0], 5000);
	loop_timer(l, 50, on_counted, &p);
	loop_timer(l, 150, on_counted, &q);
	loop_timer(l, 300, on_stop, &code);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(p.calls, 1);
	assert_true(p.at - p.t0 >= 50 && p.at - p.t0 < 150);
	assert_int_equal(p.order, 1);
	assert_int_equal(p.timer_ran, 2);
	assert_memory_equal(p.got, "ab", 2);
	/* q, held in p's wake, waited for the next one. */
	assert_int_equal(q.calls, 1);
	assert_true(q.at - p.t0 >= 150);
	assert_int_equal(q.order, 3);
	assert_int_equal(q.timer_ran, 4);
	loop_free(l);

	/* Ended with ms 0, a hold is over at once. */
	l = loop_new();
	p.next = NULL;
	p.t0 = loop_now_ms();
	assert_int_equal(write(p.fd[1], "ef", 2), 2);
	loop_watch(l, p.fd[0], LOOP_READ, on_pieces, &p);
	loop_hold(l, p.fd[0], 5000);
	loop_hold(l, p.fd[0], 0);
	loop_timer(l, 100, on_stop, &code);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(p.calls, 2);
	assert_true(p.at - p.t0 < 100);
	assert_memory_equal(p.got, "ef", 2);
	close(p.fd[0]);
	close(p.fd[1]);
	close(q.fd[0]);
	close(q.fd[1]);
	loop_free(l);
}

/* poll() without kernel memory: the loop waits and tries again, and its
 * descriptors and timers work once poll() does. */
static void
test_poll_nomem(void **state)
{
	struct loop *l = loop_new();
	int p[2], code = 0;
	char got = 0;

	(void)state;
	fail_errno = ENOMEM;
	fail_left = 3;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	loop_watch(l, p[0], LOOP_READ, on_read, &got);
	loop_timer(l, 600, on_stop, &code);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(pauses, 3);
	assert_int_equal(fail_left, 0);
	assert_int_equal(got, 'y');
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* Any other poll() error (here EINVAL: more descriptors than the limit)
 * is a bug the loop cannot wait out: loop_run returns -1 at once. */
static void
test_poll_fatal(void **state)
{
	struct loop *l = loop_new();
	int p[2], code = 0;

	(void)state;
	fail_errno = EINVAL;
	fail_left = 1;
	assert_int_equal(pipe(p), 0);
	loop_watch(l, p[0], LOOP_READ, on_read, NULL);
	loop_timer(l, 5000, on_stop, &code);
	assert_int_equal(loop_run(l), -1);
	assert_int_equal(pauses, 0);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_timers, setup),
		cmocka_unit_test_setup(test_slack, setup),
		cmocka_unit_test_setup(test_fd, setup),
		cmocka_unit_test_setup(test_hold, setup),
		cmocka_unit_test_setup(test_hold_wake, setup),
		cmocka_unit_test_setup(test_poll_nomem, setup),
		cmocka_unit_test_setup(test_poll_fatal, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
