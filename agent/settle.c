#include "lib/fmacros.h"

#include <stdlib.h>
#include <string.h>

#include "agent/boot_int.h"
#include "agent/order.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* The join probe's answer: a new cluster (started in this host's turn,
 * agent/order.h), a learner of a running one, or a failure. */

static void
on_turn(void *arg)
{
	struct boot *b = arg;

	boot_post(b, EV_SETTLED);
}

/* A new cluster, no peer in one yet: all members may be starting their
 * etcds now, so this one waits for its turn (agent/order.h) unless it
 * restarts from its own data (etcd then skips its startup check). */
static void
settle_in_order(struct boot *b, bool cluster_runs)
{
	order_free(b->order);
	b->order = NULL;
	if (!cluster_runs && !b->plan_only && !b->rs.existing_data &&
	    strcmp(b->plan.source, "journal") != 0)
		b->order = order_start(b->x->loop, b->x->http, &b->plan,
		    on_turn, b);
	if (b->order == NULL)
		boot_post(b, EV_SETTLED);
}

void
boot_on_join(void *arg, struct join_result *r)
{
	struct boot *b = arg;
	struct plan *p = &b->plan;

	switch (r->decision) {
	case JOIN_FAIL:
		log_error("%s", r->reason);
		boot_finish(b, r->exit_code);
		break;
	case JOIN_NEW:
		if (r->cluster_id != 0)
			log_info("%s", r->reason);
		free(p->state_reason);
		p->state_reason = xstrdup(r->reason);
		settle_in_order(b, r->cluster_id != 0);
		break;
	case JOIN_LEARNER:
		log_info("%s", r->reason);
		plan_set_existing(p, r->reason);
		if (r->initial_cluster != NULL) {
			free(p->initial_cluster);
			p->initial_cluster = xstrdup(r->initial_cluster);
		}
		p->learner = true;
		p->member_id = r->member_id;
		boot_post(b, EV_SETTLED);
		break;
	}
	join_result_free(r);
}
