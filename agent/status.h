#ifndef ZOOINIT_STATUS_H
#define ZOOINIT_STATUS_H

#include "config/cfg.h"

/* zooinit status: asks a running cluster for its members, then every
 * member for its health and status and the cluster for the service
 * registry (services/registry.h), and prints one table per cluster and
 * service (or, with --json, one object). See README, "Commands". */

/* Exit code of a cluster that answers but is not healthy: a voting member
 * is down or unstarted, or no leader is known. It shares the number 1
 * with EXIT_INTERNAL (lib/exitcode.h) because scripts expect
 * "0 healthy, 1 not" from a status command; the other codes keep their
 * usual meaning: EXIT_OK (healthy), EXIT_USAGE (no endpoint to ask, bad
 * journal) and EXIT_TEMPORARY (no endpoint answered at all). */
#define STATUS_UNHEALTHY 1

/* Runs the command with c (borrowed): endpoints from c->endpoints, else
 * this host's client URL from the journal in c->data_dir. Prints the
 * result on stdout, one error sentence on stderr, and returns the exit
 * code. Sets up its own loop, signals and libcurl like bootstrap does;
 * every wait is bounded (about 10 s in all). */
int status_run(const struct cfg *c);

#endif
