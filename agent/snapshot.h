#ifndef ZOOINIT_SNAPSHOT_H
#define ZOOINIT_SNAPSHOT_H

#include "config/cfg.h"
#include "lib/loop.h"

/* Periodic snapshots, taken by the agent whose etcd is the leader: every
 * snapshot_interval seconds each member's agent asks its own etcd
 * (maintenance/status) whether it leads; only the leader's agent goes on
 * and streams a snapshot (etcd/snap_save.h) into a temporary file in
 * snapshot_dir, renamed <cluster ID>-<revision>-<UTC time>.db once its
 * sha256 matched and it is synced. Then the snapshots of this cluster
 * beyond snapshot_keep are removed, oldest first, and snapshot_hook runs
 * with the new file's path.
 *
 * A leader change mid-snapshot: the stream from the old leader's member
 * goes on while that member knows a leader (the new one) and completes;
 * it is a consistent db of that member, kept like any other. Should the
 * member lose every leader, etcd ends the stream (the request asks it
 * to), and a stream that ends early, fails or stalls for 20 s counts as
 * failed with its temporary file removed. Either way the next tick finds
 * the new leader's agent taking the next one, and the old one's agent
 * skipping. Temporary files (.zooinit-snapshot-*) a killed agent left
 * are removed when the module starts. */

struct etcd_http;
struct snap_stats;
struct snapshot;

/* Returns a module that ticks every c->snapshot_interval seconds, or NULL
 * when that is 0. c and st are borrowed and must outlive it (st only
 * ever grows); self_client_url (this host's member) is copied. */
struct snapshot *snapshot_new(struct loop *l, struct etcd_http *h,
    const struct cfg *c, const char *self_client_url,
    struct snap_stats *st);
/* Stops the timer, a snapshot in flight (its temporary file removed) and
 * the hook; NULL is ignored. */
void snapshot_free(struct snapshot *s);

#endif
