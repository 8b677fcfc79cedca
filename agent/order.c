#include "lib/fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/order.h"
#include "agent/plan.h"
#include "config/cfg.h"
#include "etcd/http.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define ORDER_STEP_MS 500	/* per predecessor whose port stays closed */
#define ORDER_MAX_MS 3000	/* at most this much longer, whatever */
#define POLL_MS 20		/* between the probes of a closed port */
/* A probe open this long met a port that took the connection and holds
 * it (etcd in its own check), or a host that does not answer at all. */
#define SILENT_MS 60

struct order;

struct peer {
	struct order *o;
	const struct plan_member *m;	/* borrowed from the plan */
	enum order_peer st;		/* as the last finished probe saw it */
	uint64_t req, timer;
	int64_t since;			/* when the probe in flight began */
	bool slow;			/* the last probe found no host
					   (no route, no connection in time):
					   the next may take as long */
};

struct order {
	struct loop *loop;
	struct etcd_http *http;
	order_cb cb;
	void *arg;
	bool done;		/* cb has run */
	struct peer *v;		/* the predecessors, in etcd's order */
	size_t n;
	int64_t begun, deadline, cap;
	uint64_t timer;
};

bool
order_go(const enum order_peer *st, size_t n, bool past_deadline)
{
	for (size_t i = 0; i < n; i++) {
		if (st[i] == ORDER_SERVING)
			return true;
		if (st[i] == ORDER_UNKNOWN)
			return false;
	}
	return past_deadline;
}

static bool
before(const struct plan_member *a, const struct plan_member *b)
{
	return strcmp(a->peer_url, b->peer_url) < 0;
}

size_t
order_rank(const struct plan *p)
{
	const struct plan_member *me = plan_me(p);
	size_t r = 0;

	for (size_t i = 0; i < p->n; i++)
		r += !p->m[i].self && before(&p->m[i], me);
	return r;
}

static int
cmp_peer(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->m->peer_url,
	    ((const struct peer *)b)->m->peer_url);
}

static void
stop_probes(struct order *o)
{
	for (size_t i = 0; i < o->n; i++) {
		etcd_http_cancel(o->http, o->v[i].req);
		loop_cancel(o->loop, o->v[i].timer);
		o->v[i].req = o->v[i].timer = 0;
	}
	loop_cancel(o->loop, o->timer);
	o->timer = 0;
}

/* The callback comes last: the caller may free o in it. */
static void
finish(struct order *o, const char *why)
{
	log_info("starting etcd after %lld ms: %s",
	    (long long)(loop_now_ms() - o->begun), why);
	stop_probes(o);
	o->done = true;
	o->cb(o->arg);
}

/* Whether it is this host's turn; if so, says why and calls back. */
static void
decide(struct order *o)
{
	enum order_peer st[CFG_MAX_MEMBERS];
	int64_t now = loop_now_ms();
	char why[320];

	for (size_t i = 0; i < o->n; i++) {
		const struct peer *pe = &o->v[i];

		st[i] = pe->st;
		if (st[i] == ORDER_ABSENT && pe->req != 0 && !pe->slow &&
		    now - pe->since >= SILENT_MS)
			st[i] = ORDER_UNKNOWN;
	}
	if (!order_go(st, o->n, now >= o->deadline) && now < o->cap)
		return;
	for (size_t i = 0; i < o->n; i++) {
		if (st[i] == ORDER_SERVING) {
			snprintf(why, sizeof(why), "member %s (%s) serves its "
			    "peer port, the first one etcd asks that is open",
			    o->v[i].m->name, o->v[i].m->peer_url);
			finish(o, why);
			return;
		}
	}
	snprintf(why, sizeof(why), now < o->cap ? "none of the %zu members "
	    "whose peer URLs sort before this host's runs etcd yet" :
	    "a member whose peer URL sorts before this host's still starts "
	    "its etcd (one of %zu)", o->n);
	finish(o, why);
}

static void
on_timer(struct loop *l, void *arg)
{
	struct order *o = arg;

	(void)l;
	o->timer = 0;
	decide(o);
	if (!o->done)
		o->timer = loop_timer(o->loop, o->cap - loop_now_ms() + 1,
		    on_timer, o);
}

static void probe(struct peer *pe);

static void
on_poll(struct loop *l, void *arg)
{
	struct peer *pe = arg;

	(void)l;
	pe->timer = 0;
	probe(pe);
}

static void
on_probe(void *arg, const struct etcd_http_result *r)
{
	struct peer *pe = arg;
	struct order *o = pe->o;

	pe->req = 0;
	switch (r->fail) {
	case ETCD_HTTP_FAIL_NONE:
	case ETCD_HTTP_FAIL_TLS:
		/* Any answer, even a handshake that failed on a certificate,
		 * comes from an etcd that serves its peer port: it is past
		 * its check (its listener only accepts then). */
		pe->st = ORDER_SERVING;
		break;
	default:
		pe->st = ORDER_ABSENT;
		pe->slow = r->fail == ETCD_HTTP_FAIL_UNREACHABLE;
		pe->timer = loop_timer(o->loop, POLL_MS, on_poll, pe);
		break;
	}
	decide(o);
}

/* GET /version on the peer URL: etcd serves it on its peer port. */
static void
probe(struct peer *pe)
{
	char *url = xasprintf("%s/version", pe->m->peer_url);

	pe->since = loop_now_ms();
	pe->req = etcd_http_get(pe->o->http, url, ETCD_PEER_CHECK_MS, on_probe, pe);
	free(url);
}

struct order *
order_start(struct loop *l, struct etcd_http *h, const struct plan *p,
    order_cb cb, void *arg)
{
	size_t rank = order_rank(p);
	struct order *o;
	size_t k = 0;

	if (p->n < 2 || rank == 0 || rank > CFG_MAX_MEMBERS)
		return NULL;
	o = xcalloc(1, sizeof(*o));
	*o = (struct order){ .loop = l, .http = h, .cb = cb, .arg = arg,
		.n = rank, .begun = loop_now_ms() };
	o->v = xcalloc(rank, sizeof(*o->v));
	for (size_t i = 0; i < p->n; i++) {
		if (!p->m[i].self && before(&p->m[i], plan_me(p)))
			o->v[k++] = (struct peer){ .o = o, .m = &p->m[i] };
	}
	qsort(o->v, o->n, sizeof(*o->v), cmp_peer);
	o->deadline = o->begun + (int64_t)rank * ORDER_STEP_MS;
	o->cap = o->deadline + ORDER_MAX_MS;
	log_info("waiting for this host's turn to start etcd: its startup "
	    "check asks the %zu member(s) whose peer URLs sort before this "
	    "host's first (at most %lld ms)", rank,
	    (long long)(o->cap - o->begun));
	for (size_t i = 0; i < o->n; i++)
		probe(&o->v[i]);
	o->timer = loop_timer(l, o->deadline - o->begun, on_timer, o);
	return o;
}

void
order_free(struct order *o)
{
	if (o == NULL)
		return;
	if (!o->done)
		stop_probes(o);
	free(o->v);
	free(o);
}
