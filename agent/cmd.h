#ifndef ZOOINIT_CMD_H
#define ZOOINIT_CMD_H

#include "config/cfg.h"

/* The commands, each a small driver; every one returns an exit code
 * (lib/exitcode.h). */

/* `zooinit bootstrap`: plans, starts etcd, supervises it until SIGTERM or
 * SIGINT. */
int cmd_bootstrap(const struct cfg *c);

/* `zooinit plan`: resolves and validates exactly as bootstrap does, prints
 * the plan (JSON with c->json) and starts nothing. */
int cmd_plan(const struct cfg *c);

/* `zooinit cluster -f FILE SERVICE`: brings up the service c->args[0]
 * through the etcd at c->endpoints (default http://127.0.0.1:2379) and
 * runs it until SIGTERM or SIGINT, or until it fails. */
int cmd_cluster(const struct cfg *c);

/* `zooinit discovery serve`: runs a seed discovery etcd on this host,
 * creates a token of c->size (c->discovery_token, else random), prints its
 * URL and serves until SIGTERM or SIGINT. */
int cmd_discovery_serve(const struct cfg *c);

/* `zooinit discovery new`: creates a token of c->size in the v2 keys API of
 * c->endpoint and prints its URL. */
int cmd_discovery_new(const struct cfg *c);

/* `zooinit snapshot save FILE`: takes a snapshot through the first of
 * c->endpoints that answers (default: this host's member from the
 * journal) into c->args[0], written only once whole and checked, and
 * prints what it wrote. 0, EXIT_USAGE (no FILE, no endpoint),
 * EXIT_TEMPORARY (no endpoint gave a snapshot: unreachable, an etcd
 * error, the stream cut short) or EXIT_PERMANENT (a stream that came
 * whole but is malformed or fails its sha256; FILE cannot be written). */
int cmd_snapshot_save(const struct cfg *c);

/* `zooinit ca init DIR`: makes a CA in DIR (c->args[0]): ca.crt and
 * ca.key (0600), DIR created 0700; never overwrites. Exit 100 on any
 * failure. */
int cmd_ca_init(const struct cfg *c);

#endif
