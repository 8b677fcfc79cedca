#ifndef ZOOINIT_DAY2_STATS_H
#define ZOOINIT_DAY2_STATS_H

#include <stdint.h>

/* What the cluster's upkeep over its life did, counted for the metrics
 * page (agent/metrics.c) and "zooinit status". The bootstrap machine
 * owns one (struct boot); the snapshot and maintenance modules are given
 * a pointer to it and only ever add to it. Times are Unix seconds, 0 for
 * "never". */

struct snap_stats {
	uint64_t taken_total;	/* snapshots written and checked */
	uint64_t failed_total;	/* attempts that ended without a file */
	int64_t last_unix;	/* when the last good one was renamed */
	uint64_t last_bytes;	/* its size */
	int64_t last_revision;	/* the revision it holds */
	double last_seconds;	/* how long it took */
	uint64_t hook_failed_total; /* snapshot_hook runs that failed */
};

struct maint_stats {
	uint64_t compactions_total;
	int64_t last_compact_revision;
	uint64_t defrags_total;		/* one per member defragmented */
	uint64_t defrag_failures_total;
	uint64_t nospace_alarms_total;	/* NOSPACE alarms seen */
	uint64_t alarms_disarmed_total;
};

struct day2_stats {
	struct snap_stats snap;
	struct maint_stats maint;
};

#endif
