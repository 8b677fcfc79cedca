#ifndef ZOOINIT_ACTX_H
#define ZOOINIT_ACTX_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/cfg.h"
#include "etcd/http.h"
#include "lib/loop.h"

/* What every long-running command shares: the loop, the HTTP client, the
 * signals (read through a signalfd) and the reaping of children. A
 * command fills in the hooks, runs the loop and leaves through
 * actx_finish(). */
struct actx {
	const struct cfg *c;
	struct loop *loop;
	struct etcd_http *http;
	int sigfd;
	int exit_code;

	/* SIGTERM or SIGINT arrived. */
	void (*stop)(void *arg, int sig);
	/* Any other signal the agent takes (SIGHUP, SIGQUIT, SIGUSR1, ...);
	 * may be NULL. */
	void (*other)(void *arg, int sig);
	/* Returns true when pid was the command's child (status taken);
	 * may be NULL. Hooks and orphans are dealt with here. */
	bool (*reaped)(void *arg, pid_t pid, int status);
	void *arg;
};

/* Sets up x for c (borrowed; must outlive x): signals blocked and read
 * through a signalfd, libcurl, the loop and the HTTP client. subreaper:
 * orphans of the children come to this process. Returns 0, or
 * EXIT_INTERNAL with the reason logged. */
int actx_open(struct actx *x, const struct cfg *c, bool subreaper);
/* Runs the loop until actx_finish(); returns the exit code given. */
int actx_run(struct actx *x);
/* Ends the loop with exit code code. */
void actx_finish(struct actx *x, int code);
/* Reaps every child that has exited. */
void actx_reap(struct actx *x);
/* Cancels the hooks still running, reaps, and frees what actx_open made;
 * the command has freed its own things first. */
void actx_close(struct actx *x);

#endif
