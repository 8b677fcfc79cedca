#include "lib/fmacros.h"

#include <stdlib.h>
#include <string.h>

#include "agent/boot.h"
#include "agent/boot_int.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "resolver/dns.h"

/* A DNS client follows the zone: when a member is replaced or added, its
 * grpc-proxy must talk to the new set. It looks at the zone again and,
 * when the members differ from its plan, plans again (EV_REPLAN), which
 * restarts the proxy with the new endpoints. A zone caught between two
 * edits is looked at twice by the new plan (size 0), so a half-done edit
 * costs one restart at most. */

#define FOLLOW_MS 5000	/* at most one lookup per this many ms */

static void
on_follow_dns(void *arg, struct dns_result *r)
{
	struct boot *b = arg;
	struct plan q;
	char msg[1024];
	enum plan_result res;

	b->fo.busy = false;
	res = plan_from_dns(b->c, r, &b->rs.self, &q, msg, sizeof(msg));
	dns_result_free(r);
	free(r);
	if (res != PLAN_OK) {
		/* The zone mid-edit or a lookup failing: the proxy keeps the
		 * members it has and the next check looks again. */
		log_debug("following the zone: %s", msg);
		return;
	}
	if (!q.proxy) {
		plan_free(&q);
		boot_replan(b, "the zone now lists this host as a member");
		return;
	}
	if (!plan_members_differ(&b->plan, &q)) {
		plan_free(&q);
		return;
	}
	char *why = xasprintf("the zone's members changed from %s to %s",
	    b->plan.initial_cluster, q.initial_cluster);
	plan_free(&q);
	boot_replan(b, why);
	free(why);
}

void
follow_check(struct boot *b)
{
	int64_t now = loop_now_ms();

	if (b->fo.busy || b->rs.dns == NULL || !b->plan.proxy ||
	    (b->fo.last_ms != 0 && now - b->fo.last_ms < FOLLOW_MS))
		return;
	if (dns_lookup_named(b->rs.dns, b->c->domain, b->c->srv_name,
	    on_follow_dns, b) < 0)
		return;
	b->fo.busy = true;
	b->fo.last_ms = now;
}

void
follow_free(struct boot *b)
{
	b->fo = (struct follow){ 0 };
}
