#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "agent/upkeep.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"

#define REQ_TIMEOUT_MS 2000
#define MAX_TRACKED 64

struct seen {
	uint64_t id;
	int64_t down_since;	/* 0: reachable at the last look */
	bool said;		/* "not removed because ..." logged once */
};

struct upkeep {
	struct loop *loop;
	struct etcd_http *http;
	char *self_url;
	int64_t remove_after_ms;
	size_t floor;
	struct seen seen[MAX_TRACKED];
	size_t n_seen;
	struct etcd_members ms;	/* the round's member list */
	bool busy;
	size_t pending;		/* health answers still to come */
	bool *up;		/* per member of ms */
	uint64_t *reqs;
	uint64_t list_req, remove_req;
	/* The member due for removal, asked once more first. */
	uint64_t recheck_req;
	uint64_t cand_id;
	char *cand_name;
	long long cand_down_s;
	size_t cand_left;	/* voters that remain */
};

static struct seen *
track(struct upkeep *u, uint64_t id)
{
	for (size_t i = 0; i < u->n_seen; i++)
		if (u->seen[i].id == id)
			return &u->seen[i];
	if (u->n_seen == MAX_TRACKED)
		return NULL;
	u->seen[u->n_seen] = (struct seen){ .id = id };
	return &u->seen[u->n_seen++];
}

static void
round_end(struct upkeep *u)
{
	etcd_members_free(&u->ms);
	free(u->up);
	free(u->reqs);
	u->up = NULL;
	u->reqs = NULL;
	u->busy = false;
}

static void
on_removed(void *arg, const struct etcd_http_result *r)
{
	struct upkeep *u = arg;
	char why[256];

	u->remove_req = 0;
	if (r->status != 200)
		log_warn("removing a member failed: %s",
		    etcd_http_why(r, why, sizeof(why)));
}

/* Forgets the members no longer in the list (removed ones), so that the
 * table keeps room for the members of today. */
static void
prune(struct upkeep *u)
{
	size_t k = 0;

	for (size_t i = 0; i < u->n_seen; i++) {
		bool listed = false;

		for (size_t j = 0; j < u->ms.n && !listed; j++)
			listed = u->ms.v[j].id == u->seen[i].id;
		if (listed)
			u->seen[k++] = u->seen[i];
	}
	u->n_seen = k;
}

static void
cand_clear(struct upkeep *u)
{
	free(u->cand_name);
	u->cand_name = NULL;
	u->cand_id = 0;
}

static void
send_remove(struct upkeep *u)
{
	char *url = xasprintf("%s/v3/cluster/member/remove", u->self_url);
	char *body = xasprintf("{\"ID\":\"%" PRIu64 "\"}", u->cand_id);

	log_warn("removing member %s (%016" PRIx64 "): unreachable for "
	    "%lld s, past remove_after; %zu voters remain", u->cand_name,
	    u->cand_id, u->cand_down_s, u->cand_left);
	u->remove_req = etcd_http_post_json(u->http, url, body,
	    REQ_TIMEOUT_MS, on_removed, u);
	free(url);
	free(body);
	cand_clear(u);
}

/* The member due for removal was asked once more, right before the
 * removal: one that answers at all (its link is back) is not removed. */
static void
on_recheck(void *arg, const struct etcd_http_result *r)
{
	struct upkeep *u = arg;

	u->recheck_req = 0;
	u->busy = false;
	if (r->status != 0) {
		struct seen *s = track(u, u->cand_id);

		log_info("member %s (%016" PRIx64 ") answers again (HTTP %ld) "
		    "after %lld s unreachable: not removing it", u->cand_name,
		    u->cand_id, r->status, u->cand_down_s);
		if (s != NULL) {
			s->down_since = 0;
			s->said = false;
		}
		cand_clear(u);
		return;
	}
	send_remove(u);
}

static void
recheck(struct upkeep *u, const struct etcd_member *m, long long down_s,
    size_t left)
{
	char *url;

	u->cand_id = m->id;
	u->cand_name = xstrdup(m->name[0] ? m->name : "(unnamed)");
	u->cand_down_s = down_s;
	u->cand_left = left;
	if (m->n_client_urls == 0) {	/* never started: nothing to ask */
		u->busy = false;
		send_remove(u);
		return;
	}
	url = xasprintf("%s/health", m->client_urls[0]);
	u->recheck_req = etcd_http_get(u->http, url, REQ_TIMEOUT_MS,
	    on_recheck, u);
	free(url);
}

/* All answers are in: decide. */
static void
decide(struct upkeep *u)
{
	int64_t now = loop_now_ms();
	size_t voters = 0, healthy = 0;
	bool asking = false;

	prune(u);

	for (size_t i = 0; i < u->ms.n; i++) {
		if (u->ms.v[i].learner)
			continue;
		voters++;
		healthy += u->up[i];
	}
	for (size_t i = 0; i < u->ms.n; i++) {
		const struct etcd_member *m = &u->ms.v[i];
		struct seen *s = track(u, m->id);

		if (s == NULL || m->learner)
			continue;
		if (u->up[i]) {
			s->down_since = 0;
			s->said = false;
			continue;
		}
		if (s->down_since == 0)
			s->down_since = now;
		if (u->remove_after_ms <= 0 ||
		    now - s->down_since < u->remove_after_ms)
			continue;
		const char *name = m->name[0] ? m->name : "(unnamed)";
		/* The remaining voters must stay at or above the floor and
		 * their healthy part must be a quorum of them. */
		if (voters - 1 < u->floor || healthy < (voters - 1) / 2 + 1) {
			if (!s->said)
				log_warn("member %s (%016" PRIx64 ") unreachable for "
				    "%lld s, past remove_after, but removing it "
				    "would leave %zu voters (quorum_floor %zu, %zu "
				    "healthy): keeping it", name, m->id,
				    (long long)(now - s->down_since) / 1000,
				    voters - 1, u->floor, healthy);
			s->said = true;
			continue;
		}
		recheck(u, m, (long long)(now - s->down_since) / 1000,
		    voters - 1);
		s->down_since = 0;
		asking = u->recheck_req != 0;
		break;		/* one change per round */
	}
	round_end(u);
	u->busy = asking;	/* until the member is asked once more */
}

/* One health request: which member it asks about. */
struct ask {
	struct upkeep *u;
	size_t i;
};

static void
drop_ask(void *arg)
{
	free(arg);
}

static void
on_health(void *arg, const struct etcd_http_result *r)
{
	struct ask *q = arg;
	struct upkeep *u = q->u;
	bool ok = false;
	char err[64];

	if (r->status == 200 &&
	    etcd_parse_health(r->body, r->len, &ok, err, sizeof(err)) < 0)
		ok = false;
	u->up[q->i] = ok;
	u->reqs[q->i] = 0;
	free(q);
	if (--u->pending == 0)
		decide(u);
}

static void
on_list(void *arg, const struct etcd_http_result *r)
{
	struct upkeep *u = arg;
	char err[200];

	u->list_req = 0;
	if (r->status != 200 ||
	    etcd_parse_members(r->body, r->len, &u->ms, err, sizeof(err)) < 0) {
		u->busy = false;
		return;
	}
	u->up = xcalloc(u->ms.n + 1, sizeof(*u->up));
	u->reqs = xcalloc(u->ms.n + 1, sizeof(*u->reqs));
	u->pending = 1;		/* held while sending */
	for (size_t i = 0; i < u->ms.n; i++) {
		const struct etcd_member *m = &u->ms.v[i];

		if (m->id == u->ms.member_id) {
			u->up[i] = true;	/* this host's etcd answered */
			continue;
		}
		if (m->learner || m->n_client_urls == 0)
			continue;
		char *url = xasprintf("%s/health", m->client_urls[0]);
		struct ask *q = xcalloc(1, sizeof(*q));
		q->u = u;
		q->i = i;
		u->pending++;
		u->reqs[i] = etcd_http_request_ex(u->http, url, NULL,
		    REQ_TIMEOUT_MS, on_health, drop_ask, q);
		free(url);
	}
	if (--u->pending == 0)
		decide(u);
}

struct upkeep *
upkeep_new(struct loop *l, struct etcd_http *h, const char *self_client_url,
    int remove_after_s, int floor)
{
	struct upkeep *u = xcalloc(1, sizeof(*u));

	u->loop = l;
	u->http = h;
	u->self_url = xstrdup(self_client_url);
	u->remove_after_ms = (int64_t)remove_after_s * 1000;
	u->floor = (size_t)floor;
	return u;
}

void
upkeep_round(struct upkeep *u)
{
	/* A removal in flight is not committed yet: the next round would
	 * still list that member. */
	if (u->busy || u->remove_after_ms <= 0 || u->remove_req != 0)
		return;
	u->busy = true;
	char *url = xasprintf("%s/v3/cluster/member/list", u->self_url);
	u->list_req = etcd_http_post_json(u->http, url, "{}", REQ_TIMEOUT_MS,
	    on_list, u);
	free(url);
}

void
upkeep_free(struct upkeep *u)
{
	if (u == NULL)
		return;
	if (u->list_req != 0)
		etcd_http_cancel(u->http, u->list_req);
	if (u->remove_req != 0)
		etcd_http_cancel(u->http, u->remove_req);
	if (u->recheck_req != 0)
		etcd_http_cancel(u->http, u->recheck_req);
	cand_clear(u);
	for (size_t i = 0; u->reqs != NULL && i < u->ms.n; i++)
		if (u->reqs[i] != 0)
			etcd_http_cancel(u->http, u->reqs[i]);
	round_end(u);
	free(u->self_url);
	free(u);
}
