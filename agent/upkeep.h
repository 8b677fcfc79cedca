#ifndef ZOOINIT_UPKEEP_H
#define ZOOINIT_UPKEEP_H

#include <stdint.h>

#include "lib/loop.h"

struct etcd_http;

/* Membership upkeep, done by the agent whose etcd is the leader (so one
 * agent acts at a time): a voter that stays unreachable for remove_after
 * seconds is removed, unless that would leave fewer than floor voters or
 * the remaining healthy voters would not be a quorum. Right before the
 * removal the member is asked once more: one that answers at all (its
 * link came back) is kept. A removed member's own agent notices and
 * joins again as a new member (agent/rejoin.h). Its replacement is
 * an extra host's business (it joins as a learner when there are fewer
 * members than the target size). Removal comes first because etcd 3.4
 * refuses to add any member, even a learner, while a voter is down. */

struct upkeep;

/* self_client_url is copied. remove_after_s 0 disables removals. */
struct upkeep *upkeep_new(struct loop *l, struct etcd_http *h,
    const char *self_client_url, int remove_after_s, int floor);
/* One round: list the members through this host's etcd, ask every other
 * voter's /health, remove what is due. A round in flight makes this a
 * no-op. */
void upkeep_round(struct upkeep *u);
void upkeep_free(struct upkeep *u);

#endif
