#ifndef ZOOINIT_JOIN_H
#define ZOOINIT_JOIN_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/loop.h"

struct etcd_http;
struct plan;

/* Before a member starts as "new", ask the peers whether a cluster already
 * runs (as Consul's bootstrap-expect does) and act on the answer:
 *
 *   no peer is in a cluster with a leader    -> bootstrap (new)
 *   a cluster runs and lists this member,
 *     never started                          -> start late (new, same map)
 *     started, but this host has no data     -> lost data dir: remove the
 *                                               stale member (only if that
 *                                               keeps quorum), then join
 *   a cluster runs without this member       -> add it as a learner, start
 *                                               as existing; promote later
 *
 * With dry_run (zooinit plan) it only looks and says what it would do. */

enum join_decision {
	JOIN_NEW,	/* start as planned */
	JOIN_LEARNER,	/* added as a learner: start existing, then promote */
	JOIN_FAIL,	/* see exit_code and reason */
};

struct join_result {
	enum join_decision decision;
	char *initial_cluster;	/* JOIN_LEARNER: the cluster etcd must see */
	uint64_t member_id;	/* JOIN_LEARNER: this member's new ID (0 in a
				   dry run) */
	uint64_t cluster_id;	/* of the running cluster, 0 if none */
	char *token;		/* JOIN_NEW into a running cluster formed
				   with the bare token, not the plan's URL
				   (by a zooinit before agent/localdisc.h):
				   that token, else NULL */
	int exit_code;		/* JOIN_FAIL: EXIT_PERMANENT or EXIT_TEMPORARY */
	char reason[768];	/* why, for the plan's state_reason or the log */
};

struct join;

/* r is the callee's; free with join_result_free(). */
typedef void (*join_cb)(void *arg, struct join_result *r);

/* Starts the probe for plan p (borrowed until the callback). allow_replace
 * permits removing this host's stale member (not for token clusters, whose
 * reuse is an error). */
struct join *join_start(struct loop *l, struct etcd_http *h,
    const struct plan *p, bool dry_run, bool allow_replace, join_cb cb,
    void *arg);
/* Cancels (no callback) and frees. */
void join_free(struct join *j);
void join_result_free(struct join_result *r);

/* Asks a voter to promote learner id; cb gets 1 promoted (or no longer a
 * learner), 0 not yet (not caught up, no answer), -1 with a reason. */
typedef void (*join_promote_cb)(void *arg, int outcome, const char *why);
uint64_t join_promote(struct etcd_http *h, const char *client_url,
    uint64_t id, join_promote_cb cb, void *arg);

#endif
