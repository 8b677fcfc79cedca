#ifndef ZOOINIT_LOCALDISC_H
#define ZOOINIT_LOCALDISC_H

#include <stddef.h>

#include "lib/loop.h"

struct plan;

/* etcd's v2 discovery, served by the agent itself on loopback, for the
 * first start of a new cluster whose members every agent knows already
 * (from DNS, a static list or a v2 token).
 *
 * etcd started with --initial-cluster-state new and the whole member map
 * first asks its peers, one by one, whether it was bootstrapped already
 * (agent/order.h): members started together hold each other's question
 * for a second, so they must start in turn. etcd started with
 * --discovery instead begins with itself alone and skips that check,
 * then reads the whole map from the discovery service. So the agent
 * serves the map (etcd/v2_serve.h) at PLAN_DISCOVERY_URL/TOKEN and
 * every member starts its etcd at once. etcd takes the discovery URL as
 * its initial cluster token, so the plan's token is that URL
 * (plan_set_new()) whichever way a member starts, and members started
 * either way form one cluster. The URL is the same on every host (the
 * agent listens on its own loopback); where the port is taken, or etcd
 * has no v2 discovery (3.7), the member starts in turn as before. */

struct localdisc;

/* Serves etcd's v2 discovery of plan p, whose token must be a
 * plan_discovery_url() (p borrowed until localdisc_free()). Returns
 * NULL with err set when it cannot listen (errno says why). */
struct localdisc *localdisc_start(struct loop *l, const struct plan *p,
    char *err, size_t errlen);
/* Stops serving; NULL is ignored. */
void localdisc_free(struct localdisc *d);

#endif
