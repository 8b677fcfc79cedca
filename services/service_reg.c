#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/kv.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "services/service_int.h"

/* A service's side of the registry in etcd: its lease and registration,
 * the leader key, and the member set read, watched and sealed. Every
 * decision ends in service_next() or service_fail(). */

#define RETRY_MS 1000		/* after a failed etcd request */
#define WAITING_LOG_MS 10000	/* how often to say we still wait */

static void evaluate(struct service *s);

/* ---- leader ---------------------------------------------------------- */

static void leader_changed(struct service *s);

static void
on_leader_hook(void *arg, const struct hook_result *r)
{
	struct service *s = arg;
	char buf[256];

	s->leader_hook = 0;
	if (!service_hook_ok(s, HOOK_LEADER_CHANGE, r))
		log_warn("%s: OnLeaderChange %s", s->label,
		    hook_result_str(r, buf, sizeof(buf)));
	if (s->leader_pending)
		leader_changed(s);
}

/* The leader key says someone else than the hooks were told of. */
static void
leader_changed(struct service *s)
{
	const char *now = s->view.leader;

	s->leader_pending = false;
	if (now[0] == '\0' || strcmp(now, s->leader) == 0)
		return;
	if (s->leader_hook != 0) {
		s->leader_pending = true;
		return;
	}
	log_info("%s: leader is %s%s", s->label, now,
	    strcmp(now, s->ip) == 0 ? " (this node)" : "");
	snprintf(s->leader, sizeof(s->leader), "%s", now);
	s->leader_hook = service_run_hook(s, HOOK_LEADER_CHANGE, on_leader_hook);
}

static void
on_campaign(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->leader_req = 0;
	if (r->error != NULL)
		log_debug("%s: campaign: %s", s->label, r->error);
	else if (r->succeeded)
		log_info("%s: this node is the leader", s->label);
	/* The watch brings the new leader key either way. */
}

/* Takes the leader key if it is free: lease-bound, created only when it
 * does not exist (create revision 0). */
void
service_campaign(struct service *s)
{
	char *key;

	if (s->leader_req != 0 || s->lease == 0 || !s->registered)
		return;
	key = reg_key(s->cfg->name, "leader");
	s->leader_req = etcd_kv_txn_create(s->kv, key, strlen(key), s->ip,
	    strlen(s->ip), s->lease, on_campaign, s);
	free(key);
}

/* ---- lease and registration ------------------------------------------ */

static void do_register(struct service *s);

static void
on_retry(struct loop *l, void *arg)
{
	struct service *s = arg;

	(void)l;
	s->retry_timer = 0;
	if (s->lease == 0 && s->lease_req == 0)
		service_grant(s);
	else if (s->lease != 0 && !s->registered && s->reg_req == 0)
		do_register(s);
	else
		service_read_registry(s);
}

static void
retry(struct service *s)
{
	if (s->retry_timer == 0)
		s->retry_timer = loop_timer(s->loop, RETRY_MS, on_retry, s);
}

void
service_retry(struct service *s)
{
	retry(s);
}

static void
on_register(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->reg_req = 0;
	if (r->error != NULL) {
		log_warn("%s: registering: %s", s->label, r->error);
		retry(s);
		return;
	}
	if (r->succeeded)
		log_info("%s: size %d set in etcd (first node)", s->label,
		    s->cfg->size);
	s->registered = true;
	if (s->phase == PH_REGISTER) {
		log_info("%s: registered %s", s->label, s->ip);
		service_next(s);
		return;
	}
	log_info("%s: registered %s again", s->label, s->ip);
	if (s->phase == PH_RUNNING)
		service_put_started(s);
	service_read_registry(s);
}

/* One transaction: size if it is not there yet, and nodes/<ip> with the
 * lease. */
static void
do_register(struct service *s)
{
	char *size_key = reg_key(s->cfg->name, "size");
	char *node_key, *rest = xasprintf("nodes/%s", s->ip);
	char size[16];
	struct etcd_kv_cmp cmp;
	struct etcd_kv_op then[2], other[1];

	node_key = reg_key(s->cfg->name, rest);
	snprintf(size, sizeof(size), "%d", s->cfg->size);
	cmp = (struct etcd_kv_cmp){ .target = ETCD_KV_CMP_CREATE,
	    .result = ETCD_KV_EQUAL, .key = size_key,
	    .key_len = strlen(size_key), .number = 0 };
	then[0] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = size_key,
	    .key_len = strlen(size_key), .value = size,
	    .value_len = strlen(size) };
	then[1] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = node_key,
	    .key_len = strlen(node_key), .value = s->ip,
	    .value_len = strlen(s->ip), .lease = s->lease };
	other[0] = then[1];
	s->reg_req = etcd_kv_txn(s->kv, &cmp, 1, then, 2, other, 1,
	    on_register, s);
	free(size_key);
	free(node_key);
	free(rest);
}

static void
on_lost(void *arg, int64_t lease_id, const char *reason)
{
	struct service *s = arg;

	s->keeper = 0;
	if (lease_id != s->lease)
		return;
	log_warn("%s: lease %" PRId64 " lost (%s): registering again",
	    s->label, lease_id, reason);
	s->lease = 0;
	s->registered = false;
	service_grant(s);
}

static void
on_grant(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->lease_req = 0;
	if (r->error != NULL) {
		log_warn("%s: lease: %s", s->label, r->error);
		retry(s);
		return;
	}
	s->lease = r->lease_id;
	s->keeper = etcd_kv_lease_keep(s->keep_kv, r->lease_id, r->ttl,
	    on_lost, s);
	do_register(s);
}

void
service_grant(struct service *s)
{
	if (s->lease_req == 0)
		s->lease_req = etcd_kv_lease_grant(s->kv, s->cfg->lease_ttl,
		    on_grant, s);
}

static void
on_started_put(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->started_req = 0;
	if (r->error != NULL) {
		log_warn("%s: started/%s: %s", s->label, s->ip, r->error);
		retry(s);
	}
}

void
service_put_started(struct service *s)
{
	char *rest = xasprintf("started/%s", s->ip);
	char *key = reg_key(s->cfg->name, rest);
	char id[16];

	snprintf(id, sizeof(id), "%u", s->id);
	if (s->started_req != 0)
		etcd_kv_cancel(s->kv, s->started_req);
	s->started_req = etcd_kv_put(s->kv, key, strlen(key), id, strlen(id),
	    s->lease, on_started_put, s);
	free(key);
	free(rest);
}

/* ---- the registry: read, watch, decide ------------------------------- */

/* A change under this service's prefix, or one that may have been
 * missed: the registry's watch (services/reg_watch.h) says so. */
static void
on_change(void *arg)
{
	service_read_registry(arg);
}

static void
on_read(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;
	char err[256];
	struct reg_view v = { 0 };

	s->read_req = 0;
	if (r->error != NULL) {
		log_warn("%s: reading the registry: %s", s->label, r->error);
		retry(s);
		return;
	}
	if (reg_parse(s->cfg->name, r->kvs, r->n_kvs, r->revision, &v, err,
	    sizeof(err)) < 0) {
		service_fail(s, "the registry in etcd is damaged: %s", err);
		return;
	}
	reg_view_free(&s->view);
	s->view = v;
	s->have_view = true;
	if (s->sub == 0)
		s->sub = reg_watch_sub(s->rw, s->prefix, on_change, s);
	reg_watch_from(s->rw, s->sub, r->revision);
	if (s->reread) {
		s->reread = false;
		service_read_registry(s);
	}
	evaluate(s);
}

void
service_read_registry(struct service *s)
{
	if (s->phase >= PH_STOP_PROC)
		return;
	if (s->read_req != 0) {
		s->reread = true;
		return;
	}
	s->read_req = etcd_kv_get(s->kv, s->prefix, strlen(s->prefix), true,
	    0, on_read, s);
}

static void
on_seal(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->seal_req = 0;
	if (r->error != NULL) {
		log_warn("%s: sealing: %s", s->label, r->error);
		retry(s);
		return;
	}
	if (r->succeeded)
		log_info("%s: sealed the member set", s->label);
	service_read_registry(s);
}

/* Puts for one transaction: etcd takes at most 128 operations in a
 * branch and as many compares by default (--max-txn-ops), and so does
 * etcd/kv.c; stay clear of that. */
#define TXN_OPS 100

/* ops[k] puts ids/<ip> = id; *key is a new string for the caller to free,
 * val (16 bytes) holds the value. */
static void
id_op(const struct service *s, const char *ip, unsigned id, char **key,
    char *val, struct etcd_kv_op *op)
{
	char *rest = xasprintf("ids/%s", ip);

	*key = reg_key(s->cfg->name, rest);
	free(rest);
	snprintf(val, 16, "%u", id);
	*op = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = *key,
	    .key_len = strlen(*key), .value = val, .value_len = strlen(val) };
}

/* Seals the first size registrants: one transaction that only succeeds
 * while no sealed key exists, writing it (which holds every participant's
 * id), the next id for standbys, and as many participants' ids/<ip> as
 * one transaction takes; fill_ids() writes the rest. */
static void
seal(struct service *s)
{
	const char *ips[REG_MAX_NODES];
	struct etcd_kv_op ops[TXN_OPS];
	char *keys[TXN_OPS], vals[TXN_OPS][16];
	size_t n = 0, k = 0;
	char *value = reg_seal_value(&s->view, ips, &n);
	struct etcd_kv_cmp cmp;

	if (value == NULL || s->seal_req != 0)
		goto out;
	keys[k] = reg_key(s->cfg->name, "sealed");
	cmp = (struct etcd_kv_cmp){ .target = ETCD_KV_CMP_CREATE,
	    .result = ETCD_KV_EQUAL, .key = keys[0],
	    .key_len = strlen(keys[0]) };
	ops[k] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = keys[k],
	    .key_len = strlen(keys[k]), .value = value,
	    .value_len = strlen(value) };
	k++;
	keys[k] = reg_key(s->cfg->name, "next_id");
	snprintf(vals[k], sizeof(vals[k]), "%zu", n + 1);
	ops[k] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = keys[k],
	    .key_len = strlen(keys[k]), .value = vals[k],
	    .value_len = strlen(vals[k]) };
	k++;
	for (size_t i = 0; i < n && k < TXN_OPS; i++, k++)
		id_op(s, ips[i], (unsigned)i + 1, &keys[k], vals[k], &ops[k]);
	s->seal_req = etcd_kv_txn(s->kv, &cmp, 1, ops, k, NULL, 0, on_seal, s);
	for (size_t i = 0; i < k; i++)
		free(keys[i]);
out:
	free(value);
}

static void
on_fill(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->fill_req = 0;
	if (r->error != NULL)
		log_warn("%s: writing the sealed ids: %s", s->label, r->error);
	/* Written: the read says what is left. Someone else was first: a
	 * compare that failed wrote nothing, so no watch event comes, and
	 * reading again at once could spin on a view that is behind. */
	if (r->error == NULL && r->succeeded)
		service_read_registry(s);
	else
		retry(s);
}

/* The ids/<ip> of participants that the seal's transaction had no room
 * for (or that its writer did not live to write): any node that sees
 * them missing writes them from the sealed value, a batch per
 * transaction, each key only if it does not exist. */
static void
fill_ids(struct service *s)
{
	struct etcd_kv_cmp cmp[TXN_OPS];
	struct etcd_kv_op ops[TXN_OPS];
	char *keys[TXN_OPS], vals[TXN_OPS][16];
	size_t k = 0;

	if (s->fill_req != 0 || !s->view.sealed)
		return;
	for (size_t i = 0; i < s->view.n_sealed && k < TXN_OPS; i++) {
		const struct reg_node *nd = &s->view.nodes[i];

		if (nd->id_key)
			continue;
		id_op(s, nd->ip, nd->id, &keys[k], vals[k], &ops[k]);
		cmp[k] = (struct etcd_kv_cmp){ .target = ETCD_KV_CMP_CREATE,
		    .result = ETCD_KV_EQUAL, .key = keys[k],
		    .key_len = strlen(keys[k]) };
		k++;
	}
	if (k == 0)
		return;
	log_debug("%s: writing %zu ids of the sealed set", s->label, k);
	s->fill_req = etcd_kv_txn(s->kv, cmp, k, ops, k, NULL, 0, on_fill, s);
	for (size_t i = 0; i < k; i++)
		free(keys[i]);
}

static void
on_id(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->id_req = 0;
	if (r->error != NULL) {
		log_warn("%s: taking a standby id: %s", s->label, r->error);
		retry(s);
		return;
	}
	service_read_registry(s);	/* won or lost, the view says */
}

/* A standby's id: next_id, taken by a transaction that only succeeds if
 * next_id did not move since the read, and moves it on. */
static void
take_id(struct service *s)
{
	unsigned nid = s->view.next_id ? s->view.next_id : s->view.size + 1;
	char *nkey = reg_key(s->cfg->name, "next_id");
	char *rest = xasprintf("ids/%s", s->ip);
	char *ikey = reg_key(s->cfg->name, rest);
	char idv[16], nextv[16];
	struct etcd_kv_cmp cmp;
	struct etcd_kv_op ops[2];

	if (nid > REG_ID_MAX) {
		service_fail(s, "no ids left: all %d are given out", REG_ID_MAX);
		goto out;
	}
	snprintf(idv, sizeof(idv), "%u", nid);
	snprintf(nextv, sizeof(nextv), "%u", nid + 1);
	cmp = (struct etcd_kv_cmp){ .target = ETCD_KV_CMP_MOD,
	    .result = ETCD_KV_EQUAL, .key = nkey, .key_len = strlen(nkey),
	    .number = s->view.next_id_mod };
	ops[0] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = nkey,
	    .key_len = strlen(nkey), .value = nextv,
	    .value_len = strlen(nextv) };
	ops[1] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = ikey,
	    .key_len = strlen(ikey), .value = idv, .value_len = strlen(idv) };
	s->id_req = etcd_kv_txn(s->kv, &cmp, 1, ops, 2, NULL, 0, on_id, s);
out:
	free(nkey);
	free(ikey);
	free(rest);
}

static void
log_waiting(struct service *s)
{
	size_t alive = reg_alive(&s->view);
	int64_t now = loop_now_ms();
	char *names;
	const char *ips[REG_MAX_NODES];
	size_t n = 0;

	if (alive == s->last_alive && now - s->last_wait_log < WAITING_LOG_MS)
		return;
	s->last_alive = alive;
	s->last_wait_log = now;
	for (size_t i = 0; i < s->view.n_nodes; i++) {
		if (s->view.nodes[i].alive)
			ips[n++] = s->view.nodes[i].ip;
	}
	names = xjoin((char *const *)ips, n, ", ");
	log_info("%s: %zu/%u nodes registered (%s); waiting", s->label,
	    alive, s->view.size, names);
	free(names);
}

static void
on_booted_put(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->booted_req = 0;
	if (r->error != NULL)
		log_warn("%s: booted/%s: %s", s->label, s->ip, r->error);
}

/* Records that OnClusterBooted ran here (or that there is none). */
static void
put_booted(struct service *s)
{
	char *rest, *key;

	rest = xasprintf("booted/%s", s->ip);
	key = reg_key(s->cfg->name, rest);
	s->booted_req = etcd_kv_put(s->kv, key, strlen(key), "1", 1, 0,
	    on_booted_put, s);
	free(key);
	free(rest);
}

static void
on_booted_hook(void *arg, const struct hook_result *r)
{
	struct service *s = arg;
	char buf[256];

	s->seq_hook = 0;
	s->booted_over = true;
	if (!service_hook_ok(s, HOOK_CLUSTER_BOOTED, r)) {
		log_warn("%s: OnClusterBooted %s", s->label,
		    hook_result_str(r, buf, sizeof(buf)));
		return;
	}
	put_booted(s);
}

/* Everything that follows from a fresh view of the registry. */
static void
evaluate(struct service *s)
{
	const struct reg_node *me = reg_find(&s->view, s->ip);

	if (s->lease != 0 && s->registered && s->reg_req == 0 &&
	    (me == NULL || !me->alive)) {
		/* Our registration vanished (deleted by hand?): put it back. */
		do_register(s);
		return;
	}
	fill_ids(s);
	service_note_host(s);
	if (s->view.leader[0] == '\0')
		service_campaign(s);
	if (s->phase >= PH_RUNNING && s->phase < PH_STOP_PROC)
		leader_changed(s);
	if (s->phase == PH_RUNNING)
		service_follow_set(s);
	if (s->phase == PH_RUNNING && s->participant && me != NULL &&
	    !me->started && s->started_req == 0)
		service_put_started(s);
	if (s->phase == PH_RUNNING && !s->booted_done &&
	    reg_all_started(&s->view) && s->seq_hook == 0) {
		s->booted_done = true;
		s->booted_over = true;	/* unless a hook runs now */
		if (me != NULL && me->booted)
			log_info("%s: cluster booted (OnClusterBooted ran "
			    "here before)", s->label);
		else {
			log_info("%s: cluster booted: every participant "
			    "started", s->label);
			s->seq_event = HOOK_CLUSTER_BOOTED;
			s->seq_hook = service_run_hook(s, HOOK_CLUSTER_BOOTED,
			    on_booted_hook);
			s->booted_over = s->seq_hook == 0;
			if (s->seq_hook == 0)
				put_booted(s);
		}
	}
	if (s->phase != PH_WAIT)
		return;
	if (s->view.size != 0 && s->view.size != (unsigned)s->cfg->size &&
	    !s->size_warned) {
		s->size_warned = true;
		log_warn("%s: etcd says size %u (set by the first node), this "
		    "config says %d: using %u", s->label, s->view.size,
		    s->cfg->size, s->view.size);
	}
	if (!s->view.sealed) {
		if (reg_alive(&s->view) >= s->view.size && s->view.size > 0)
			seal(s);
		else
			log_waiting(s);
		return;
	}
	if ((me == NULL || me->id == 0) && service_move(s))
		return;
	if (me != NULL && me->participant) {
		s->id = me->id;
		s->participant = true;
	} else if (me != NULL && me->id != 0) {
		s->id = me->id;
	} else {
		if (s->id_req == 0)
			take_id(s);
		return;
	}
	/* Sealed before this registration was written (its key may be older:
	 * a lease that outlived its agent): a participant coming back. */
	log_info("%s: member set sealed; this node is %s %u of %zu%s",
	    s->label, s->participant ? "participant" : "standby", s->id,
	    s->view.n_sealed, !s->participant ? " (beyond the sealed set)" :
	    s->view.sealed_revision < me->mod_revision ?
	    " (rejoining: no wait)" : "");
	service_next(s);
}

