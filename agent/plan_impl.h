#ifndef ZOOINIT_PLAN_IMPL_H
#define ZOOINIT_PLAN_IMPL_H

/* What the plan_*.c files share among themselves; not for callers of the
 * plan module, who include agent/plan.h only. */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "agent/plan.h"
#include "config/cfg.h"
#include "resolver/localaddr.h"


/* Sorts the members by name, finds self again and joins the initial
 * cluster (p->initial_cluster must be NULL). */
void plan_finish(struct plan *p);

/* Gives a plan of new members its token (plan_discovery_url() of
 * c->token, else of token; as it is for a v3 discovery token: p->source
 * must be set), state "new", data dir and etcd binary. */
void plan_set_new(struct plan *p, const struct cfg *c, const char *token);

/* Every peer and client endpoint (address, port) must be distinct.
 * Returns PLAN_OK, or PLAN_FAIL with one sentence in msg. */
enum plan_result plan_check_endpoints(const struct plan *p, char *msg,
    size_t msglen);

/* Whether c gives etcd what an https plan needs; the peer pair defaults
 * to this one. Otherwise says so in msg, naming what asked for https. */
bool plan_tls_configured(const struct cfg *c, const char *what, char *msg,
    size_t msglen);

/* Returns p as a new JSON object; with_argv adds what only the command's
 * output shows (skipped sources, etcd's argv), not the journal. */
json_t *plan_to_json(const struct plan *p, bool with_argv);

#endif
