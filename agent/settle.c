#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent/boot_int.h"
#include "agent/localdisc.h"
#include "agent/order.h"
#include "etcd/version.h"
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

/* Whether etcd can learn the members from this host's discovery service
 * (agent/localdisc.h) and so start at once; serves it then. */
static bool
serve_discovery(struct boot *b)
{
	struct plan *p = &b->plan;
	char err[256];

	if (p->n < 2 || p->proxy || !plan_token_is_url(p))
		return false;
	if (!etcd_binary_has_v2_discovery(p->etcd)) {
		log_info("%s has no v2 discovery (etcd 3.7+): this member "
		    "starts in turn", p->etcd);
		return false;
	}
	b->localdisc = localdisc_start(b->x->loop, p, err, sizeof(err));
	if (b->localdisc == NULL) {
		log_info("cannot serve etcd's discovery on this host (%s): "
		    "this member starts in turn", err);
		return false;
	}
	p->discovery = true;
	log_info("this member starts at once: its etcd learns the %zu members "
	    "from this host's discovery service at %s, which spares it the "
	    "startup check", p->n, p->token);
	return true;
}

/* A new cluster, no peer in one yet: all members may be starting their
 * etcds now, so this one starts through discovery, else waits for its
 * turn (agent/order.h), unless it restarts from its own data (etcd then
 * skips its startup check). */
static void
settle_in_order(struct boot *b, bool cluster_runs)
{
	order_free(b->order);
	b->order = NULL;
	localdisc_free(b->localdisc);
	b->localdisc = NULL;
	b->plan.discovery = false;
	if (!cluster_runs && !b->plan_only && !b->rs.existing_data &&
	    strcmp(b->plan.source, "journal") != 0 && !serve_discovery(b))
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
		if (r->token != NULL) {
			log_info("cluster %016" PRIx64 " was formed with token "
			    "%s, not %s: starting this member with it",
			    r->cluster_id, r->token, p->token);
			free(p->token);
			p->token = xstrdup(r->token);
		}
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
