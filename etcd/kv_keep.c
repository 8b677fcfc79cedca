#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/str.h"
#include "etcd/http.h"
#include "etcd/json.h"
#include "etcd/kv.h"
#include "etcd/kv_int.h"

/* The lease keeper: a keepalive every TTL/3 until the lease is lost or
 * the keeper cancelled.
 *
 * The keepers of one client renew together: when one is due, every other
 * keeper due within half its own period comes along, and one request
 * (a round, an op of its own) carries all their keepalives. etcd's
 * gateway reads the keepalive stream's requests from the body one JSON
 * object after another and answers each on a line of its own (3.4 to
 * 3.7 alike). A few services' leases then cost one request per period,
 * not one each; keepers that start out of step fall into step at their
 * first round, since joining early only renews early. */

/* After a failed keepalive, the next try comes this much later; a lease
 * with less than KEEP_LAST_MS left that we could not renew is lost. */
#define KEEP_RETRY_MS 1000
#define KEEP_LAST_MS 200

static void keep_schedule(struct op *o, int64_t ms);

void
ekv_keep_lost(struct op *o)
{
	ekv_op_retire(o);
	if (o->lost != NULL)
		o->lost(o->arg, o->lease, ekv_msg(o));
	ekv_cb_end(o);
}

/* A keepalive's answer for o, parsed (r->error set on failure, and then
 * ekv_msg(o) holds it). */
static void
keep_answer(struct op *o, const struct etcd_kv_result *r, long status)
{
	int64_t now = loop_now_ms();

	if (r->error == NULL) {
		/* etcd's own limit on TTLs (MaxLeaseTTL) bounds hostile
		 * answers. */
		int64_t ttl = r->ttl < 9000000000 ? r->ttl : 9000000000;

		/* The next round was set when this one went out; a TTL
		 * etcd changed moves it. */
		if (ttl * 1000 != o->ttl_ms) {
			o->ttl_ms = ttl * 1000;
			keep_schedule(o, o->sent + o->ttl_ms / 3 - now);
		}
		o->deadline = o->sent + o->ttl_ms;
		return;
	}
	if (status != 0 && r->grpc_code == 5) {
		/* ekv_msg(o) says it already: the lease is gone. */
		ekv_keep_lost(o);
		return;
	}
	/* The lease lives until the deadline whatever we heard, so try
	 * again while a try has time to get through. */
	if (o->deadline - now > KEEP_LAST_MS) {
		int64_t wait = o->deadline - now - KEEP_LAST_MS;

		log_warn("lease %" PRId64 ": %s; retrying", o->lease,
		    ekv_msg(o));
		keep_schedule(o, wait < KEEP_RETRY_MS ? wait : KEEP_RETRY_MS);
		return;
	}
	{
		char why[OP_MSG_MAX];

		snprintf(why, sizeof(why), "%s", ekv_msg(o));
		snprintf(ekv_msg(o), OP_MSG_MAX, "lease %" PRId64 ": no "
		    "keepalive got through for %" PRId64 " ms of its %" PRId64
		    " s TTL, so it is taken as expired; the last attempt: "
		    "%.400s", o->lease, now - (o->deadline - o->ttl_ms),
		    o->ttl_ms / 1000, why);
	}
	ekv_keep_lost(o);
}

/* Whether keeper o, waiting on its timer, comes along with a round
 * starting now: its keepalive is due within half its period. */
static bool
joins(const struct op *o, int64_t now)
{
	return o->kind == OP_KEEP && o->round == 0 && o->timer != 0 &&
	    o->early == NULL && o->due - now <= o->ttl_ms / 6;
}

/* Starts a round for first, whose timer fired, and every keeper that
 * joins it. */
static void
round_start(struct op *first)
{
	struct etcd_kv *kv = first->kv;
	struct op *r = ekv_op_new(kv, OP_ROUND, NULL);
	int64_t now = loop_now_ms();
	struct sbuf body = { 0 };

	r->ans = ETCD_KV_ANS_LEASE_KEEPALIVE;
	r->path = "/v3/lease/keepalive";
	r->deadline = INT64_MAX;
	for (struct op *o = kv->ops; o != NULL; o = o->next) {
		if (o != first && !joins(o, now))
			continue;
		o->round = r->id;
		o->sent = now;
		/* The next round is set now, not when this one's answer
		 * comes: the answer can wait for it (etcd_http_lazy). */
		keep_schedule(o, o->ttl_ms / 3);
		if (o->deadline < r->deadline)
			r->deadline = o->deadline;
		sb_puts(&body, o->body);
		sb_puts(&body, "\n");
	}
	r->body = sb_take(&body);
	ekv_op_send(r);
}

/* The keeper of lease in round, or NULL (cancelled since). */
static struct op *
member(struct etcd_kv *kv, uint64_t round, int64_t lease)
{
	for (struct op *o = kv->ops; o != NULL; o = o->next)
		if (o->kind == OP_KEEP && o->round == round &&
		    (lease == 0 || o->lease == lease))
			return o;
	return NULL;
}

/* Hands one answer line to its keeper. A line that names no lease (an
 * error for the whole stream) sets why instead. */
static void
round_line(struct op *r, const char *line, size_t len, char *why,
    size_t whylen)
{
	struct etcd_kv_result res;
	char err[400] = "an answer without a lease ID";
	struct op *o;

	memset(&res, 0, sizeof(res));
	if (etcd_kv_parse(r->ans, line, len, &res, err, sizeof(err)) < 0 ||
	    res.lease_id == 0) {
		snprintf(why, whylen, "POST %s: %s", r->url, err);
		etcd_kv_result_free(&res);
		return;
	}
	o = member(r->kv, r->id, res.lease_id);
	if (o != NULL) {
		o->round = 0;
		ekv_lease_gone(&res, r->url, o);
		res.http_status = 200;
		keep_answer(o, &res, 200);
	}
	etcd_kv_result_free(&res);
}

/* A round's answer (kv.c's on_answer, once failover is done with it).
 * Keepers left without an answer line get the round's error. */
void
ekv_round_answer(struct op *r, const struct etcd_http_result *hr)
{
	struct etcd_kv *kv = r->kv;
	struct etcd_kv_result res;
	char why[OP_MSG_MAX] = "";
	int code = 0;
	struct op *o;

	/* Retired, r is in its callback until ekv_cb_end(): kv stays even
	 * if a keeper's lost callback frees it. */
	ekv_op_retire(r);
	if (hr->status != 200) {
		code = ekv_describe(r, hr);
		snprintf(why, sizeof(why), "%s", ekv_msg(r));
	} else if (hr->body != NULL) {
		const char *p = hr->body, *end = hr->body + hr->len;

		while (p < end && !kv->doomed && why[0] == '\0') {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

			if (n > 0)
				round_line(r, p, n, why, sizeof(why));
			p += n + 1;
		}
	}
	while (!kv->doomed && (o = member(kv, r->id, 0)) != NULL) {
		o->round = 0;
		if (why[0] == '\0')
			snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: no answer "
			    "for lease %" PRId64, r->url, o->lease);
		else
			snprintf(ekv_msg(o), OP_MSG_MAX, "%s", why);
		memset(&res, 0, sizeof(res));
		res.error = ekv_msg(o);
		res.grpc_code = code;
		res.http_status = hr->status;
		keep_answer(o, &res, hr->status);
	}
	ekv_cb_end(r);
}

static void
on_keep_timer(struct loop *l, void *arg)
{
	struct op *o = arg;

	(void)l;
	o->timer = 0;
	round_start(o);
}

/* Sets o's next round ms from now, in place of any set before. */
static void
keep_schedule(struct op *o, int64_t ms)
{
	loop_cancel(o->kv->loop, o->timer);
	if (ms < 1)
		ms = 1;
	o->due = loop_now_ms() + ms;
	o->timer = loop_timer(o->kv->loop, ms, on_keep_timer, o);
}

uint64_t
etcd_kv_lease_keep(struct etcd_kv *kv, int64_t lease_id, int64_t ttl,
    etcd_kv_lost_cb lost, void *arg)
{
	struct op *o = ekv_op_new(kv, OP_KEEP, arg);
	json_t *root;

	o->lost = lost;
	o->lease = lease_id;
	if (lease_id <= 0)
		return ekv_op_reject(o, "lease %" PRId64 ": not a lease ID",
		    lease_id);
	if (ttl <= 0 || ttl > INT64_MAX / 1000)
		return ekv_op_reject(o, "lease %" PRId64 ": TTL %" PRId64 " s is "
		    "out of range", lease_id, ttl);
	root = ej_obj();
	ej_set(root, "ID", ekv_int(lease_id));
	o->body = ej_dump(root);
	o->ttl_ms = ttl * 1000;
	o->deadline = loop_now_ms() + o->ttl_ms;
	keep_schedule(o, o->ttl_ms / 3);
	return o->id;
}
