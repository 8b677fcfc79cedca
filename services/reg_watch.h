#ifndef ZOOINIT_REG_WATCH_H
#define ZOOINIT_REG_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/loop.h"

/* One etcd watch on the whole registry (REG_ROOT) for all the services of
 * an agent. A watch is a stream that holds a connection of its own (with
 * TLS, an OpenSSL context too) and a gRPC stream in etcd: one per service
 * cost each about 60 KB more in the agent with TLS.
 *
 * A service subscribes with its prefix (REG_ROOT "<name>/"); after each
 * read of its keys it says from which revision it needs news
 * (reg_watch_from()). Its callback then runs for every change under its
 * prefix after that revision, and also when a change may have been
 * missed (the stream began after its read, or etcd compacted the history
 * the stream needed): in every case the answer is to read the keys
 * again. A stream that breaks goes on from where it stopped, on the next
 * endpoint, 1 s later, for as long as anyone subscribes. */

struct etcd_kv;
struct reg_watch;

typedef void (*reg_watch_cb)(void *arg);

/* A hub that watches through kv (borrowed; outlives the hub). */
struct reg_watch *reg_watch_new(struct loop *l, struct etcd_kv *kv);
/* Cancels the stream and frees every subscription: no callbacks. */
void reg_watch_free(struct reg_watch *w);

/* Subscribes prefix (copied); returns an id (never 0). Nothing is
 * watched for it before reg_watch_from(). */
uint64_t reg_watch_sub(struct reg_watch *w, const char *prefix,
    reg_watch_cb cb, void *arg);
/* Subscriber id read its keys at revision rev: its callback runs for
 * every later change (from the loop, never inside this call). */
void reg_watch_from(struct reg_watch *w, uint64_t id, int64_t rev);
/* Ends a subscription (no callback after this; 0, unknown ids and a NULL
 * w are ignored). The stream ends with the last one. */
void reg_watch_unsub(struct reg_watch *w, uint64_t id);

/* Pure: whether a subscriber that read at rev may have missed a change
 * that the hub knows of: the last change seen under its prefix came
 * after rev, or the hub's news begin after rev + 1 (from: the first
 * revision the stream has delivered without a gap since; 0: no stream). */
bool reg_watch_missed(int64_t rev, int64_t last_change, int64_t from);

#endif
