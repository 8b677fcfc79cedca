#ifndef ZOOINIT_MAINT_H
#define ZOOINIT_MAINT_H

#include <stdint.h>

#include "agent/day2_stats.h"
#include "config/cfg.h"

struct etcd_http;
struct etcd_status;

/* The database's upkeep, done by the agent whose etcd is the leader (so
 * one agent acts at a time), one step at a time, one request in flight:
 *  - a NOSPACE alarm (etcd refuses writes: the backend reached its quota)
 *    is handled first: compact at the current revision, defragment every
 *    member, followers first and the leader last, then disarm each
 *    NOSPACE alarm. When the leader's database is still over the quota
 *    after that, or the alarm comes back soon after, it says so and tries
 *    again later, waiting longer each time (30 s doubling to 10 min);
 *  - compact_retention: compact at (current revision - N), or at the
 *    revision that was current that long ago (a bounded ring of
 *    (time, revision) samples that every agent keeps, leader or not);
 *    at most once a minute;
 *  - defrag_interval: defragment one member at a time, followers first,
 *    the leader last, and only when every member's /health is true.
 * Every step is logged; counts go to *stats. */

struct maint;

/* self_client_url is copied; c and stats are borrowed and must outlive
 * the maint. */
struct maint *maint_new(struct etcd_http *h, const char *self_client_url,
    const struct cfg *c, struct maint_stats *stats);
/* One round: a no-op while a round is in flight. Cheap when there is
 * nothing to do (one status request; on the leader, an alarm list only
 * when the status lists errors). maint_round_status() starts from a
 * status of this member just received (a health check's); one without a
 * revision is asked again. */
void maint_round(struct maint *m);
void maint_round_status(struct maint *m, const struct etcd_status *st);
void maint_free(struct maint *m);

/* Pure helpers, for the unit tests. */

/* The backend quota etcd runs with, from etcd_args (--quota-backend-bytes
 * N or =N); etcd's default 2 GiB when not given or not positive. */
int64_t maint_quota_from_args(char *const *args, size_t n);

#define MAINT_RING 256

struct maint_ring {
	int64_t t_ms[MAINT_RING];
	int64_t rev[MAINT_RING];
	size_t head, n;		/* n samples end before head */
	int64_t min_gap_ms;	/* samples closer than this are skipped */
};

/* Records that rev was current at t_ms (times increasing). */
void maint_ring_add(struct maint_ring *r, int64_t t_ms, int64_t rev);
/* The revision of the newest sample at or before t_ms, or 0 for none. */
int64_t maint_ring_at(const struct maint_ring *r, int64_t t_ms);

#endif
