#include "lib/fmacros.h"

#include <stdlib.h>
#include <string.h>

#include "agent/boot_int.h"
#include "agent/join.h"
#include "etcd/http.h"
#include "etcd/kv.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* This host growing into a voting member: a learner asks to be promoted;
 * an extra (etcd's grpc-proxy) takes the place of a member the cluster
 * removed. Both run once per health check. */

static void
on_promote(void *arg, int outcome, const char *why)
{
	struct boot *b = arg;
	char err[512];

	b->gr.promote_req = 0;
	if (outcome == 0) {
		log_debug("not promoted yet: %s", why);
		return;
	}
	if (outcome < 0) {
		log_warn("promoting this learner failed: %s", why);
		return;
	}
	b->plan.learner = false;
	log_info("promoted to a voting member");
	if (plan_journal_write(&b->plan, b->plan.data_dir, err, sizeof(err)) < 0)
		log_warn("%s", err);
	boot_post(b, EV_PROMOTED);
}

/* A learner asks the members, one per health check, to promote it; etcd
 * agrees once the learner has caught up with the leader. */
void
grow_try_promote(struct boot *b)
{
	struct plan *p = &b->plan;

	if (b->gr.promote_req != 0 || p->member_id == 0 || p->n < 2)
		return;
	for (size_t tries = 0; tries < p->n; tries++) {
		const struct plan_member *m = &p->m[b->gr.promote_next++ % p->n];
		if (strcmp(m->peer_url, plan_me(p)->peer_url) == 0)
			continue;
		b->gr.promote_req = join_promote(b->x->http, m->client_url,
		    p->member_id, on_promote, b);
		return;
	}
}

static void
on_lock(void *arg, const struct etcd_kv_result *r)
{
	struct boot *b = arg;

	b->gr.kv_req = 0;
	if (r->error != NULL || !r->succeeded) {
		log_debug("another extra is replacing the member: %s",
		    r->error ? r->error : "lock held");
		return;
	}
	log_info("the cluster has fewer members than %zu: this extra joins it",
	    b->gr.target);
	plan_proxy_to_member(&b->plan, b->c->peer_port ? b->c->peer_port :
	    2380);
	b->join = join_start(b->x->loop, b->x->http, &b->plan, false, false,
	    boot_on_join, b);
}

static void
on_lease(void *arg, const struct etcd_kv_result *r)
{
	struct boot *b = arg;
	const char *key = "/zooinit/etcd/replacing";
	const char *name = plan_me(&b->plan)->name;

	b->gr.kv_req = 0;
	if (r->error != NULL)
		return;
	/* Whoever creates the key first replaces the member; the lease ends
	 * the claim by itself if that host dies on the way. */
	b->gr.kv_req = etcd_kv_txn_create(b->gr.kv, key, strlen(key), name,
	    strlen(name), r->lease_id, on_lock, b);
}

static void
on_extra_list(void *arg, const struct etcd_http_result *r)
{
	struct boot *b = arg;
	struct etcd_members ms;
	char err[200];

	b->gr.list_req = 0;
	if (r->status != 200 ||
	    etcd_parse_members(r->body, r->len, &ms, err, sizeof(err)) < 0)
		return;
	size_t n = ms.n;
	etcd_members_free(&ms);
	if (n >= b->gr.target || b->join != NULL || b->gr.kv_req != 0)
		return;
	if (b->gr.kv == NULL) {
		char **eps = xcalloc(b->plan.n, sizeof(*eps));
		for (size_t i = 0; i < b->plan.n; i++)
			eps[i] = b->plan.m[i].client_url;
		b->gr.kv = etcd_kv_new(b->x->http, eps, b->plan.n);
		free(eps);
	}
	/* A member was removed: take its place. */
	b->gr.kv_req = etcd_kv_lease_grant(b->gr.kv, 60, on_lease, b);
}

/* An extra looks, once per health check, whether the cluster lost a
 * member (removed after remove_after) and should get this host instead. */
void
grow_extra_check(struct boot *b)
{
	struct plan *p = &b->plan;

	/* A DNS client's members are the zone's: it follows them and takes
	 * no member's place itself (publishing it in the zone does). A
	 * static list's client keeps the list it was given. */
	if (strcmp(p->source, "dns") == 0) {
		follow_check(b);
		return;
	}
	if (strcmp(p->source, "token") != 0)
		return;
	if (b->gr.list_req != 0 || b->join != NULL || b->gr.kv_req != 0 ||
	    p->n == 0)
		return;
	char *url = xasprintf("%s/v3/cluster/member/list",
	    p->m[b->gr.list_next++ % p->n].client_url);
	b->gr.list_req = etcd_http_post_json(b->x->http, url, "{}",
	    HEALTH_TIMEOUT_MS, on_extra_list, b);
	free(url);
}

void
grow_free(struct boot *b)
{
	struct grow *g = &b->gr;

	if (g->list_req != 0)
		etcd_http_cancel(b->x->http, g->list_req);
	if (g->kv_req != 0)
		etcd_kv_cancel(g->kv, g->kv_req);
	etcd_kv_free(g->kv);
	if (g->promote_req != 0)
		etcd_http_cancel(b->x->http, g->promote_req);
	*g = (struct grow){ 0 };
	follow_free(b);
}
