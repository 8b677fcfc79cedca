#ifndef ZOOINIT_BOOT_H
#define ZOOINIT_BOOT_H

#include <stdbool.h>

#include "agent/actx.h"

/* The bootstrap machine: plans (journal, DNS SRV, token, static), asks
 * the peers whether a cluster runs, starts etcd under a supervisor, checks
 * its health, runs the dependent services, and can go back and plan again
 * while it runs, giving the supervisor a new argv. Its states and events
 * are one table in agent/boot.c. */

struct boot;

/* A machine on x (borrowed; it takes x's signal and reaping hooks).
 * plan_only: stop once the plan is settled and print it (zooinit plan). */
struct boot *boot_new(struct actx *x, bool plan_only);
/* Begins planning; the loop then runs the machine. */
void boot_start(struct boot *b);
/* Plans again from the sources (not the journal) and restarts etcd with
 * the new argv: this host's membership, address or flags went stale. why
 * is copied, for the log. */
void boot_replan(struct boot *b, const char *why);
/* The metrics page of b (agent/boot_metrics.c), for lib/httpd.h: a new
 * string. */
char *boot_metrics_page(void *b);
/* Stops what still runs (etcd, the seed: at once), reaps and frees b. */
void boot_free(struct boot *b);

#endif
