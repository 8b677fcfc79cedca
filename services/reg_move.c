#include "lib/fmacros.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/kv.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/sup.h"
#include "lib/xmalloc.h"
#include "services/registry.h"
#include "services/service_int.h"

/* A host whose address changed (DHCP, a cloud restart) keeps its id and
 * role: the registry's keys are by address, so hosts/<name> remembers
 * which address each etcd member registered from last, and the host
 * that comes back under its name at a new address moves its id there
 * (and its place in the sealed set) in one transaction. The other nodes
 * see the sealed set change and restart with files written from the new
 * one, one node at a time: each holds the lease-bound key "restarting"
 * until its process is healthy again. */

/* The sealed value with from's address replaced by to; a new string. */
static char *
sealed_moved(const struct reg_view *v, const char *from, const char *to)
{
	json_t *o = json_object(), *mem = json_array();
	char *text;

	json_object_set_new(o, "size", json_integer(v->size));
	for (size_t i = 0; i < v->n_sealed; i++) {
		json_t *e = json_object();
		const char *ip = v->nodes[i].ip;

		json_object_set_new(e, "id", json_integer(v->nodes[i].id));
		json_object_set_new(e, "ip", json_string(strcmp(ip, from) == 0 ?
		    to : ip));
		json_array_append_new(mem, e);
	}
	json_object_set_new(o, "members", mem);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		abort();	/* only on allocation failure */
	return text;
}

static void
on_moved(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->move_req = 0;
	if (r->error != NULL) {
		log_warn("%s: moving this host's id to %s: %s", s->label, s->ip,
		    r->error);
		service_retry(s);
		return;
	}
	if (!r->succeeded)
		log_info("%s: the registry changed while this host's id moved "
		    "to %s; reading it again", s->label, s->ip);
	else
		s->host_noted = true;
	service_read_registry(s);
}

/* Owns the keys and values of a transaction being built. */
struct txn {
	struct etcd_kv_cmp cmp[4];
	struct etcd_kv_op op[8];
	char *mem[16];
	size_t n_cmp, n_op, n_mem;
};

static char *
keep(struct txn *t, char *s)
{
	t->mem[t->n_mem++] = s;
	return s;
}

static const char *
key(struct txn *t, const struct service *s, const char *dir, const char *x)
{
	char *rest = xasprintf("%s/%s", dir, x);
	char *k = reg_key(s->cfg->name, rest);

	free(rest);
	return keep(t, k);
}

static void
put(struct txn *t, const char *k, const char *v)
{
	t->op[t->n_op++] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = k,
	    .key_len = strlen(k), .value = v, .value_len = strlen(v) };
}

static void
del(struct txn *t, const char *k)
{
	t->op[t->n_op++] = (struct etcd_kv_op){ .type = ETCD_KV_DELETE,
	    .key = k, .key_len = strlen(k) };
}

static void
cmp(struct txn *t, enum etcd_kv_cmp_target target, const char *k,
    int64_t number, const char *value)
{
	t->cmp[t->n_cmp++] = (struct etcd_kv_cmp){ .target = target,
	    .result = ETCD_KV_EQUAL, .key = k, .key_len = strlen(k),
	    .number = number, .value = value,
	    .value_len = value ? strlen(value) : 0 };
}

bool
service_move(struct service *s)
{
	const struct reg_view *v = &s->view;
	const struct reg_node *old;
	struct txn t = { 0 };
	char *id;

	if (s->move_req != 0)
		return true;
	if (s->name == NULL || !s->have_view)
		return false;
	old = reg_find_name(v, s->name);
	if (old == NULL || strcmp(old->ip, s->ip) == 0 || old->id == 0 ||
	    !old->id_key)
		return false;
	if (old->alive) {
		/* An agent that did not stop cleanly: its lease ends within
		 * its TTL, and the watch brings that. */
		if (!s->move_waiting)
			log_info("%s: this host (member %s) was %s %u at %s, "
			    "which is still registered; waiting for that "
			    "registration to expire", s->label, s->name,
			    old->participant ? "participant" : "standby",
			    old->id, old->ip);
		s->move_waiting = true;
		return true;
	}
	log_info("%s: this host (member %s) was %s %u at %s; moving its id to "
	    "%s", s->label, s->name, old->participant ? "participant" :
	    "standby", old->id, old->ip, s->ip);
	id = keep(&t, xasprintf("%u", old->id));
	/* Nobody moved it first, the old address is not registered again,
	 * and this one has no id of its own. */
	cmp(&t, ETCD_KV_CMP_VALUE, key(&t, s, "ids", old->ip), 0, id);
	cmp(&t, ETCD_KV_CMP_CREATE, key(&t, s, "nodes", old->ip), 0, NULL);
	cmp(&t, ETCD_KV_CMP_CREATE, key(&t, s, "ids", s->ip), 0, NULL);
	put(&t, key(&t, s, "ids", s->ip), id);
	del(&t, key(&t, s, "ids", old->ip));
	put(&t, key(&t, s, "hosts", s->name), s->ip);
	if (old->participant) {
		const char *sk = keep(&t, reg_key(s->cfg->name, "sealed"));

		cmp(&t, ETCD_KV_CMP_MOD, sk, v->sealed_mod, NULL);
		put(&t, sk, keep(&t, sealed_moved(v, old->ip, s->ip)));
	}
	if (old->booted) {
		del(&t, key(&t, s, "booted", old->ip));
		put(&t, key(&t, s, "booted", s->ip), "1");
	}
	s->move_req = etcd_kv_txn(s->kv, t.cmp, t.n_cmp, t.op, t.n_op, NULL, 0,
	    on_moved, s);
	for (size_t i = 0; i < t.n_mem; i++)
		free(t.mem[i]);
	return true;
}

static void
on_noted(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->host_req = 0;
	if (r->error != NULL) {
		log_warn("%s: hosts/%s: %s", s->label, s->name, r->error);
		return;
	}
	s->host_noted = true;
}

void
service_note_host(struct service *s)
{
	const struct reg_node *me;
	char *k, *rest;

	if (s->name == NULL || s->host_noted || s->host_req != 0 ||
	    s->move_req != 0 || !s->have_view)
		return;
	me = reg_find(&s->view, s->ip);
	if (me == NULL || me->id == 0)
		return;
	if (reg_find_name(&s->view, s->name) == me) {
		s->host_noted = true;
		return;
	}
	rest = xasprintf("hosts/%s", s->name);
	k = reg_key(s->cfg->name, rest);
	s->host_req = etcd_kv_put(s->kv, k, strlen(k), s->ip, strlen(s->ip), 0,
	    on_noted, s);
	free(k);
	free(rest);
}

/* ---- the others follow, one node at a time ----------------------------- */

/* The sealed set as "id=ip,...": what this node's files were written
 * from. A new string. */
char *
service_set_sig(const struct service *s)
{
	struct sbuf b = { 0 };

	for (size_t i = 0; i < s->view.n_sealed; i++)
		sb_printf(&b, "%s%u=%s", i ? "," : "", s->view.nodes[i].id,
		    s->view.nodes[i].ip);
	return sb_take(&b);
}

static void roll_release(struct service *s);

static void
on_roll_lock(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;
	char err[512];

	s->roll_req = 0;
	if (r->error != NULL) {
		log_warn("%s: taking the restart key: %s", s->label, r->error);
		service_retry(s);
		return;
	}
	if (!r->succeeded) {
		/* The watch brings its deletion: then it is our turn. */
		if (r->n_kvs > 0 && !s->roll_waiting)
			log_info("%s: the member set changed; waiting for %.*s "
			    "to restart first (one node at a time)", s->label,
			    (int)(r->kvs[0].value_len < 64 ?
			    r->kvs[0].value_len : 64), r->kvs[0].value);
		s->roll_waiting = true;
		return;
	}
	s->roll_waiting = false;
	char *cur = service_set_sig(s);
	if (service_rewrite(s, err, sizeof(err)) < 0) {
		log_warn("%s: the member set changed, but its files cannot be "
		    "written again: %s; it keeps running as it is", s->label,
		    err);
		free(s->set_sig);
		s->set_sig = cur;
		roll_release(s);
		return;
	}
	log_info("%s: the member set changed (now %s, was %s): restarting it "
	    "with the new configuration, one node at a time", s->label, cur,
	    s->set_sig);
	free(s->set_sig);
	s->set_sig = cur;
	s->rolling = true;
	s->roll_pid = sup_pid(s->sup);
	sup_signal(s->sup, SIGTERM);
}

void
service_follow_set(struct service *s)
{
	char *cur, *k;

	/* Not before every participant runs (the one that moved too):
	 * a restart while another is down could leave no quorum. */
	if (s->set_sig == NULL || s->roll_req != 0 || s->rolling ||
	    !s->view.sealed || !reg_all_started(&s->view) || s->lease == 0 ||
	    s->sup == NULL || sup_state(s->sup) != SUP_RUNNING)
		return;
	cur = service_set_sig(s);
	if (strcmp(cur, s->set_sig) == 0) {
		free(cur);
		return;
	}
	free(cur);
	k = reg_key(s->cfg->name, "restarting");
	s->roll_req = etcd_kv_txn_create(s->kv, k, strlen(k), s->ip,
	    strlen(s->ip), s->lease, on_roll_lock, s);
	free(k);
}

static void
on_roll_done(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->roll_req = 0;
	if (r->error != NULL)
		log_warn("%s: giving the restart key back: %s (it goes with "
		    "the lease)", s->label, r->error);
}

/* Gives the restart key back, if it is still ours. */
static void
roll_release(struct service *s)
{
	struct txn t = { 0 };
	const char *k = keep(&t, reg_key(s->cfg->name, "restarting"));

	cmp(&t, ETCD_KV_CMP_VALUE, k, 0, s->ip);
	del(&t, k);
	s->roll_req = etcd_kv_txn(s->kv, t.cmp, t.n_cmp, t.op, t.n_op, NULL, 0,
	    on_roll_done, s);
	for (size_t i = 0; i < t.n_mem; i++)
		free(t.mem[i]);
}

void
service_roll_healthy(struct service *s)
{
	pid_t pid = s->sup != NULL ? sup_pid(s->sup) : 0;

	/* Healthy with the old process (a check that began before the
	 * restart) is no news. */
	if (!s->rolling || s->roll_req != 0 || pid <= 0 || pid == s->roll_pid)
		return;
	log_info("%s: healthy again with the new member set", s->label);
	s->rolling = false;
	s->roll_pid = 0;
	roll_release(s);
}
