#include "lib/fmacros.h"

#include "agent/boot_int.h"
#include "agent/maint.h"
#include "agent/snapshot.h"
#include "agent/upkeep.h"
#include "lib/xmalloc.h"

#define TRIM_MS 10000	/* between heap trims */

/* The cluster's care over its life, each job done by the agent whose
 * etcd leads (snapshots and maintenance check that themselves; upkeep
 * runs here only after a health check that saw this member lead):
 * membership upkeep, snapshots, compaction, defragmentation and the
 * NOSPACE alarm; and, on any agent, giving freed heap back every
 * TRIM_MS. Each
 * holds this member's client URL, so a new plan makes them again. */

void
care_start(struct boot *b)
{
	const struct plan *p = &b->plan;
	const char *url;

	if (p->proxy)
		return;
	url = plan_me(p)->client_url;
	if (b->upkeep == NULL)
		b->upkeep = upkeep_new(b->x->loop, b->x->http, url,
		    b->c->remove_after, b->c->quorum_floor);
	if (b->snap == NULL)
		b->snap = snapshot_new(b->x->loop, b->x->http, b->c, url,
		    &b->day2.snap);
	if (b->maint == NULL)
		b->maint = maint_new(b->x->http, url, b->c, &b->day2.maint);
}

void
care_healthy(struct boot *b, const struct etcd_check_result *r)
{
	if (b->upkeep != NULL && r->leader_id != 0 &&
	    r->leader_id == r->member_id)
		upkeep_round(b->upkeep);
	/* The check asked this member's status already. */
	maint_round_status(b->maint, &r->status);
	if (loop_now_ms() - b->trimmed_ms >= TRIM_MS) {
		b->trimmed_ms = loop_now_ms();
		xmalloc_trim();
	}
}

void
care_unhealthy(struct boot *b)
{
	/* etcd 3.4's /health is false under a NOSPACE alarm: the leader's
	 * agent must still see and cure it. */
	maint_round(b->maint);
}

void
care_free(struct boot *b)
{
	upkeep_free(b->upkeep);
	b->upkeep = NULL;
	snapshot_free(b->snap);
	b->snap = NULL;
	maint_free(b->maint);
	b->maint = NULL;
}
