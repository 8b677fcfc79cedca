#ifndef ZOOINIT_LOOP_H
#define ZOOINIT_LOOP_H

#include <stdint.h>

/* The one event loop of the process: poll(2) over registered descriptors
 * plus one-shot timers on the monotonic clock. Callbacks run on the loop's
 * stack; they may add or remove descriptors and timers freely. */

struct loop;

#define LOOP_READ 0x1
#define LOOP_WRITE 0x2

typedef void (*loop_fd_cb)(struct loop *l, int fd, int events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, void *arg);

/* Returns a new loop; free with loop_free(). */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watches fd for events (LOOP_READ|LOOP_WRITE); replaces any earlier watch
 * of the same fd. events 0 removes the watch. The loop never closes fd. */
void loop_watch(struct loop *l, int fd, int events, loop_fd_cb cb, void *arg);
void loop_unwatch(struct loop *l, int fd);
/* Leaves a watched fd out of poll(2) until the loop next wakes for
 * something else (a timer, another fd), and at most ms milliseconds; a
 * new watch of the same fd keeps the hold, ms 0 ends it. When a wake ends
 * it, the fd is polled in that wake, before the timers run. An answer
 * that nobody waits for (a lease renewal's) is then read with other work,
 * and one that arrives in pieces meanwhile wakes the loop once. */
void loop_hold(struct loop *l, int fd, int64_t ms);

/* Arms a one-shot timer ms milliseconds from now. Returns an id > 0 for
 * loop_cancel(); a fired timer's id is dead. */
uint64_t loop_timer(struct loop *l, int64_t ms, loop_timer_cb cb, void *arg);
/* The same for a timer that may fire up to ms/20 (at most 250 ms) early
 * or late: the loop waits for it no longer than that after it is due,
 * and fires it with any wakeup from that much before. Timers due close
 * together (the health checks of services started together, a check and
 * a lease renewal) then share one wakeup. */
uint64_t loop_timer_slack(struct loop *l, int64_t ms, loop_timer_cb cb,
    void *arg);
/* Cancels a pending timer; a dead or zero id is ignored. */
void loop_cancel(struct loop *l, uint64_t id);

/* Milliseconds of the monotonic clock. */
int64_t loop_now_ms(void);

/* Runs until loop_stop(); returns the code given to loop_stop(). A
 * stopped loop stays stopped: a later loop_run() returns at once (a
 * callback may stop the loop before it first runs). One run per loop. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l, int code);

#endif
