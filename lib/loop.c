#include "lib/fmacros.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"

struct watch {
	int fd;
	int events;
	loop_fd_cb cb;
	void *arg;
	int64_t held_until;	/* loop_hold(): left out of poll until then */
	uint64_t held_at;	/* ... or until the wake after this one */
};

struct timer {
	uint64_t id;
	int64_t due;
	int64_t early;		/* due less its slack: fire from then on */
	int64_t late;		/* due plus its slack: wait no longer */
	loop_timer_cb cb;
	void *arg;
};

/* loop_timer_slack(): a twentieth of the delay, at most this. */
#define TIMER_SLACK_MAX_MS 250

struct loop {
	struct watch *w;
	size_t nw, capw;
	struct timer *t;	/* unsorted; a handful at most */
	size_t nt, capt;
	uint64_t next_id;
	bool stopped;
	int code;
	int64_t nomem_since;	/* poll()'s first ENOMEM in a row, or 0 */
	uint64_t wakes;		/* poll() returns so far */
};

int64_t
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct loop *
loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->next_id = 1;
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	free(l->w);
	free(l->t);
	free(l);
}

void
loop_watch(struct loop *l, int fd, int events, loop_fd_cb cb, void *arg)
{
	if (events == 0) {
		loop_unwatch(l, fd);
		return;
	}
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].fd == fd) {
			l->w[i] = (struct watch){ fd, events, cb, arg,
			    l->w[i].held_until, l->w[i].held_at };
			return;
		}
	}
	if (l->nw == l->capw) {
		l->capw = l->capw ? l->capw * 2 : 8;
		l->w = xreallocarray(l->w, l->capw, sizeof(*l->w));
	}
	l->w[l->nw++] = (struct watch){ fd, events, cb, arg, 0, 0 };
}

void
loop_hold(struct loop *l, int fd, int64_t ms)
{
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].fd == fd) {
			l->w[i].held_until = ms > 0 ? loop_now_ms() + ms : 0;
			l->w[i].held_at = l->wakes;
		}
	}
}

void
loop_unwatch(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].fd == fd) {
			l->w[i] = l->w[--l->nw];
			return;
		}
	}
}

static uint64_t
add_timer(struct loop *l, int64_t ms, int64_t slack, loop_timer_cb cb,
    void *arg)
{
	int64_t due;

	if (l->nt == l->capt) {
		l->capt = l->capt ? l->capt * 2 : 8;
		l->t = xreallocarray(l->t, l->capt, sizeof(*l->t));
	}
	if (ms < 0)
		ms = 0;
	due = loop_now_ms() + ms;
	l->t[l->nt++] = (struct timer){ l->next_id, due, due - slack,
	    due + slack, cb, arg };
	return l->next_id++;
}

uint64_t
loop_timer(struct loop *l, int64_t ms, loop_timer_cb cb, void *arg)
{
	return add_timer(l, ms, 0, cb, arg);
}

uint64_t
loop_timer_slack(struct loop *l, int64_t ms, loop_timer_cb cb, void *arg)
{
	int64_t slack = ms > 0 ? ms / 20 : 0;

	return add_timer(l, ms, slack < TIMER_SLACK_MAX_MS ? slack :
	    TIMER_SLACK_MAX_MS, cb, arg);
}

void
loop_cancel(struct loop *l, uint64_t id)
{
	for (size_t i = 0; id != 0 && i < l->nt; i++) {
		if (l->t[i].id == id) {
			l->t[i] = l->t[--l->nt];
			return;
		}
	}
}

void
loop_stop(struct loop *l, int code)
{
	l->stopped = true;
	l->code = code;
}

/* Fires every timer that is due (or within its slack of it), earliest
 * first; returns the wait in ms until the next one must fire (its due
 * time plus its slack), or -1 when none is pending. */
static int
run_timers(struct loop *l)
{
	for (;;) {
		int64_t now = loop_now_ms();
		int64_t late = INT64_MAX;
		size_t best = l->nt;

		for (size_t i = 0; i < l->nt; i++) {
			if (l->t[i].early <= now &&
			    (best == l->nt || l->t[i].due < l->t[best].due))
				best = i;
			if (l->t[i].late < late)
				late = l->t[i].late;
		}
		if (best == l->nt) {
			int64_t wait = late - now;

			if (l->nt == 0)
				return -1;
			return wait > 60000 ? 60000 : (int)wait;
		}
		struct timer t = l->t[best];
		l->t[best] = l->t[--l->nt];
		t.cb(l, t.arg);
		if (l->stopped)
			return 0;
	}
}

/* poll() found no kernel memory for its tables: a passing state on a
 * host under pressure, and an agent that gave up would leave etcd
 * unsupervised. Says so once, then waits NOMEM_PAUSE_MS (a poll of no
 * descriptors needs no tables) before the timers run and it tries again. */
#define NOMEM_PAUSE_MS 100

static void
nomem_pause(struct loop *l)
{
	if (l->nomem_since == 0) {
		l->nomem_since = loop_now_ms();
		log_warn("poll: %s; trying again every %d ms",
		    strerror(ENOMEM), NOMEM_PAUSE_MS);
	}
	(void)poll(NULL, 0, NOMEM_PAUSE_MS);
}

/* Ends the holds that are over; returns timeout, shortened to the
 * earliest end of those that are not. */
static int
hold_wait(struct loop *l, int timeout)
{
	int64_t now = loop_now_ms();

	for (size_t i = 0; i < l->nw; i++) {
		int64_t left = l->w[i].held_until - now;

		if (l->w[i].held_until == 0)
			continue;
		if (left <= 0)
			l->w[i].held_until = 0;
		else if (timeout < 0 || left < timeout)
			timeout = (int)left;
	}
	return timeout;
}

/* Ends the holds made before the wake that poll() just returned from;
 * returns whether it ended any. */
static bool
hold_wake(struct loop *l)
{
	bool any = false;

	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].held_until != 0 && l->w[i].held_at < l->wakes) {
			l->w[i].held_until = 0;
			any = true;
		}
	}
	return any;
}

/* One poll(2) of the descriptors not held, and their callbacks. Returns
 * 1 after a wake, 0 when poll() was interrupted or found no memory (try
 * again), -1 on any other error (l->code is set). */
static int
poll_once(struct loop *l, struct pollfd **pfd, size_t *cap, int timeout)
{
	size_t n = l->nw;

	if (*cap < n) {
		*cap = n;
		*pfd = xreallocarray(*pfd, *cap, sizeof(**pfd));
	}
	for (size_t i = 0; i < n; i++) {
		struct pollfd *p = &(*pfd)[i];

		/* poll() skips a negative fd: a held one. */
		p->fd = l->w[i].held_until == 0 ? l->w[i].fd : -1;
		p->events = (short)(((l->w[i].events & LOOP_READ) ? POLLIN : 0) |
		    ((l->w[i].events & LOOP_WRITE) ? POLLOUT : 0));
		p->revents = 0;
	}
	int r = poll(*pfd, n, timeout);
	if (r < 0) {
		if (errno == EINTR)
			return 0;
		if (errno == ENOMEM) {
			nomem_pause(l);
			return 0;
		}
		log_error("poll: %s", strerror(errno));
		l->code = -1;
		return -1;
	}
	l->wakes++;
	if (l->nomem_since != 0) {
		log_info("poll works again after %" PRId64 " ms "
		    "without kernel memory", loop_now_ms() - l->nomem_since);
		l->nomem_since = 0;
	}
	for (size_t i = 0; i < n && r > 0 && !l->stopped; i++) {
		const struct pollfd *p = &(*pfd)[i];

		if (p->revents == 0)
			continue;
		r--;
		/* A callback may have removed or replaced this fd; look it
		 * up again rather than trusting index i. */
		for (size_t j = 0; j < l->nw; j++) {
			if (l->w[j].fd != p->fd)
				continue;
			int ev = 0;
			if (p->revents & (POLLIN | POLLHUP | POLLERR))
				ev |= LOOP_READ;
			if (p->revents & (POLLOUT | POLLERR))
				ev |= LOOP_WRITE;
			struct watch w = l->w[j];
			w.cb(l, w.fd, ev & (w.events | LOOP_READ), w.arg);
			break;
		}
	}
	return 1;
}

int
loop_run(struct loop *l)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	int r = 1;

	/* A callback may have called loop_stop() before the loop ran. */
	while (!l->stopped && r >= 0) {
		int timeout = run_timers(l);

		if (l->stopped)
			break;
		if (l->nw == 0 && timeout < 0) {
			log_error("event loop has nothing left to wait for");
			l->code = -1;
			break;
		}
		r = poll_once(l, &pfd, &cap, hold_wait(l, timeout));
		/* The wake ends the holds made before it: what came for them
		 * meanwhile is read now, before the timers run, without
		 * waiting (a renewal's answer read as its next one goes out). */
		if (r > 0 && !l->stopped && hold_wake(l))
			r = poll_once(l, &pfd, &cap, 0);
	}
	free(pfd);
	return l->code;
}
