#ifndef ZOOINIT_SUP_H
#define ZOOINIT_SUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/loop.h"

/* Supervises one long-running child: starts it, restarts it when it
 * exits (at once the first time, and after a stable run; from the second
 * exit in a row with a backoff that starts at the floor and doubles up to
 * a ceiling), and stops it with SIGTERM, a deadline, then SIGKILL. The
 * child runs in its own process group; signals go to the whole group.
 * The owner reaps (one proc_reap() for the process) and hands each exit
 * to sup_reaped() before the child is reaped. */

enum sup_state {
	SUP_IDLE = 0,	/* not started */
	SUP_RUNNING,	/* the child is alive */
	SUP_BACKOFF,	/* it exited; a restart is scheduled */
	SUP_STOPPING,	/* asked to stop; waiting for it to exit */
	SUP_DONE,	/* stopped for good */
	SUP_NSTATES
};

struct sup;

/* What the owner needs to judge an exit: a crash after a long run is
 * not the same as a child that refused its flags at once. */
struct sup_exit {
	int status;		/* wait status of the exit, or -1: no exit */
	int64_t ran_ms;		/* how long that run lasted */
	unsigned starts;	/* starts since the argv was last set, this one
				 * included: 1 is the first start */
};

/* Told of every state change; ex describes the exit that caused it (its
 * status is -1 when no exit did). ex is borrowed for the call. */
typedef void (*sup_notify_cb)(void *arg, struct sup *s, enum sup_state from,
    enum sup_state to, const struct sup_exit *ex);

struct sup_opts {
	const char *label;	/* for logs: "etcd" */
	int stop_timeout_ms;	/* SIGTERM to SIGKILL */
	int backoff_min_ms;	/* restart delay after the second exit in a
				 * row (the first restarts at once) */
	int backoff_max_ms;	/* ceiling */
	int stable_ms;		/* a run this long makes the next exit a
				 * first one again */
};

/* Returns a new supervisor for argv (copied; argv[0] a path). */
struct sup *sup_new(struct loop *l, const struct sup_opts *o,
    char *const *argv, sup_notify_cb cb, void *arg);
/* Frees s; the child, if any, is left alone (call sup_stop() first). */
void sup_free(struct sup *s);

/* The argv (copied) and, unless label is NULL, the log label (copied) of
 * every later start, restarts included: a plan made again gives the child
 * new flags. A different argv counts starts afresh (struct sup_exit);
 * the same argv again does not. */
void sup_set_argv(struct sup *s, const char *label, char *const *argv);

/* NAME=VALUE entries set over the agent's environment at every later
 * start (copied; NULL: the agent's environment as it is). */
void sup_set_env(struct sup *s, char *const *envp);

/* Runs every later start as uid/gid ((uid_t)-1: as the agent). */
void sup_set_user(struct sup *s, uid_t uid, gid_t gid);

/* Starts the child, from SUP_IDLE or again from SUP_DONE (keeping the
 * backoff delay reached). Returns -1 with
 * errno set when it cannot be spawned at all (ENOENT, EACCES); the state
 * is then SUP_IDLE. */
int sup_start(struct sup *s);
/* Stops the child (and cancels restarts); a second call while stopping
 * sends SIGKILL at once. Ends in SUP_DONE. */
void sup_stop(struct sup *s);
/* Sends sig to the child's process group if it is running. */
void sup_signal(struct sup *s, int sig);
/* Returns true if pid was this supervisor's child and takes its status. */
bool sup_reaped(struct sup *s, pid_t pid, int status);

enum sup_state sup_state(const struct sup *s);
pid_t sup_pid(const struct sup *s);
/* How long the running child has run, in ms; -1 when none runs. */
int64_t sup_ran_ms(const struct sup *s);
/* How often the child was started again after it exited, over s's
 * life (a stop and a later sup_start() is not counted). */
uint64_t sup_restarts(const struct sup *s);

#endif
