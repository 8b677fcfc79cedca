#ifndef ZOOINIT_ORDER_H
#define ZOOINIT_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/loop.h"

struct etcd_http;
struct plan;

/* The first start of a new cluster's members, in etcd's order.
 *
 * etcd (3.4 to 3.7) started with --initial-cluster-state new and more
 * than one member first asks the other members' peer URLs, sorted as
 * strings, for /members, 1 s each, and stops at the first that answers
 * (isMemberBootstrapped). A peer whose etcd has bound its port but is
 * still in that same check takes the connection and answers nothing, so
 * members started together wait a second for each such peer. So the
 * member whose peer URL sorts first starts at once, and every other one
 * waits until the first member before it (in that order) whose port is
 * not closed answers: its etcd then asks that member first and is
 * answered at once. A member whose predecessors all keep their ports
 * closed (hosts not there yet, or down) starts after ORDER_STEP_MS per
 * predecessor anyway, and no member waits longer than that plus
 * ORDER_MAX_MS: waiting only changes when etcd starts, never its flags. */

/* A peer as the probes see it. */
enum order_peer {
	ORDER_UNKNOWN = 0,	/* no answer yet, or the port takes the
				   connection and holds it: etcd there is
				   starting */
	ORDER_ABSENT,		/* the port is closed (or unreachable) */
	ORDER_SERVING,		/* the port answers */
};

/* Whether a member may start etcd now: st holds the n members whose peer
 * URLs sort before its own, in that order; past_deadline: it has waited
 * ORDER_STEP_MS per predecessor. Pure. */
bool order_go(const enum order_peer *st, size_t n, bool past_deadline);

/* How many of p's members have a peer URL that sorts before this host's
 * (strcmp, as Go's sort.Strings): etcd's order. Pure. */
size_t order_rank(const struct plan *p);

struct order;

typedef void (*order_cb)(void *arg);

/* Starts waiting for this host's turn under plan p (borrowed until the
 * callback or order_free()); cb runs once, from the loop, when etcd may
 * start. Returns NULL, and never calls cb, when there is nothing to wait
 * for: one member, or this host's peer URL sorts first. */
struct order *order_start(struct loop *l, struct etcd_http *h,
    const struct plan *p, order_cb cb, void *arg);
/* Cancels (no callback) and frees; NULL is ignored. */
void order_free(struct order *o);

#endif
