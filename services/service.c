#include "lib/fmacros.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/backend.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "services/hooks.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "services/registry.h"
#include "services/service.h"
#include "lib/sup.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/kv.h"

extern char **environ;

#define RETRY_MS 1000		/* after a failed etcd request */
#define POST_START_RETRY_MS 2000 /* between OnPostStart attempts */
#define CHECK_TIMEOUT_MS 3000	/* one backend health check */
#define REVOKE_TIMEOUT_MS 2000	/* the lease, on stop */
#define WAITING_LOG_MS 10000	/* how often to say we still wait */

enum phase {
	PH_IDLE = 0,
	PH_PRE_REGIST,		/* OnPreRegist */
	PH_REGISTER,		/* lease, size, nodes/<ip> */
	PH_POST_REGIST,		/* OnPostRegist */
	PH_WAIT,		/* for size registrations and the seal */
	PH_REACHED,		/* OnReachQurorumNum */
	PH_PRE_START,		/* OnPreStart */
	PH_POST_START,		/* the process runs; OnPostStart until ok */
	PH_RUNNING,		/* started; health checks */
	PH_STOP_PROC,		/* stopping the process */
	PH_STOP_HOOK,		/* OnStop */
	PH_REVOKE,		/* giving the lease back */
	PH_DONE,
};

struct service {
	struct loop *loop;
	struct etcd_http *http;
	struct etcd_kv *kv;
	const struct svc_cfg *cfg;
	char *ip;
	char **endpoints;
	size_t n_endpoints;
	service_cb cb;
	void *arg;
	char *label;		/* "service zk" */
	char *prefix;		/* /zooinit/services/zk/ */

	enum phase phase;
	bool failed;		/* stopping because it failed */
	int code;		/* its exit code; set before fail() or 0 */
	char *fail_why;

	/* The registry. */
	int64_t lease;		/* 0: none */
	uint64_t lease_req, keeper, reg_req, read_req, seal_req, id_req;
	uint64_t leader_req, started_req, booted_req, watch;
	bool reread;		/* read again when the current read ends */
	bool registered;	/* nodes/<ip> written with the current lease */
	struct reg_view view;
	bool have_view;
	unsigned id;		/* this node's id; 0 until known */
	bool participant;
	bool size_warned;
	int64_t last_wait_log;
	uint64_t quorum_timer;	/* quorum_timeout */
	size_t last_alive;
	uint64_t retry_timer;

	/* Hooks: the sequence, the health check and the leader change run
	 * independently of each other. */
	uint64_t seq_hook, health_hook, leader_hook;
	enum hook_event seq_event;
	char leader[REG_IP_MAX];	/* the leader hooks were told of */
	bool leader_pending;
	bool booted_done;	/* OnClusterBooted started (or not needed) */
	bool booted_over;	/* ... and finished: health checks may run */
	int64_t running_since;

	/* The process and its health. */
	struct sup *sup;
	uid_t uid;		/* cfg->user's, or (uid_t)-1 */
	gid_t gid;
	char *bin;		/* the backend's program, found */
	int64_t start_deadline;
	uint64_t post_timer, health_timer;
	uint64_t check_req;	/* an HTTP health check */
	uint64_t check_4lw;	/* a ZooKeeper srvr */
	void (*check_done)(struct service *, bool, const char *);
	unsigned failures;	/* health checks failed in a row */
	bool unhealthy;		/* the last check failed */
	uint64_t revoke_req;
};

static void next(struct service *s);
static void fail(struct service *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void read_registry(struct service *s);
static void evaluate(struct service *s);

const char *
service_name(const struct service *s)
{
	return s->cfg->name;
}

int
service_exit_code(const struct service *s)
{
	return s->failed ? s->code : EXIT_OK;
}

/* ---- hooks ----------------------------------------------------------- */

/* The participants' addresses in id order, borrowed from the view. */
static size_t
server_ips(const struct service *s, const char **ips)
{
	size_t n = 0;

	for (size_t i = 0; s->have_view && i < s->view.n_sealed; i++)
		ips[n++] = s->view.nodes[i].ip;
	return n;
}

/* The hook environment for ev; NULL with a logged error if a value from
 * etcd does not pass hook_env()'s checks. */
static char **
make_env(struct service *s, enum hook_event ev)
{
	const char *ips[REG_MAX_NODES];
	char id[16] = "", err[256];
	struct hook_env he;
	char **envp;

	if (s->id != 0)
		snprintf(id, sizeof(id), "%u", s->id);
	he = (struct hook_env){
		.backend = svc_backend_name(s->cfg->backend),
		.service = s->cfg->name,
		.event = ev,
		.server_ips = ips,
		.n_server_ips = server_ips(s, ips),
		.local_ip = s->ip,
		.master_ip = s->have_view ? s->view.leader : "",
		.quorum = s->have_view && s->view.size ? s->view.size :
		    (unsigned)s->cfg->size,
		.node_id = id,
		.etcd_endpoints = (const char *const *)s->endpoints,
		.n_etcd_endpoints = s->n_endpoints,
	};
	envp = hook_env(&he, environ, err, sizeof(err));
	if (envp == NULL)
		log_error("%s: %s: %s", s->label, hook_event_name(ev), err);
	return envp;
}

/* Starts the hook for ev with cb; returns its id, or 0 when ev has no
 * hook (cb is then not called). */
static uint64_t
run_hook(struct service *s, enum hook_event ev, hook_done_cb cb)
{
	char **envp, *name;
	uint64_t id;

	if (s->cfg->hooks[ev] == NULL)
		return 0;
	envp = make_env(s, ev);
	if (envp == NULL) {
		/* hook_run reports a hook that cannot start through cb:
		 * do the same for an environment that cannot be made. */
		char *argv[] = { (char *)"/nonexistent/zooinit-bad-env", NULL };
		return hook_run(s->loop, hook_event_name(ev), argv, NULL, 1000,
		    cb, s);
	}
	name = xasprintf("%s %s", s->cfg->name, hook_event_name(ev));
	id = hook_run(s->loop, name, s->cfg->hooks[ev], envp,
	    s->cfg->hook_timeout * 1000, cb, s);
	free(name);
	hook_env_free(envp);
	return id;
}

/* The sequence's hooks: OnPreRegist ... OnPreStart; a failure fails the
 * service. */
static void
on_seq_hook(void *arg, const struct hook_result *r)
{
	struct service *s = arg;
	char buf[256];

	s->seq_hook = 0;
	if (!hook_succeeded(r)) {
		fail(s, "%s %s", hook_event_name(s->seq_event),
		    hook_result_str(r, buf, sizeof(buf)));
		return;
	}
	next(s);
}

/* Runs ev's hook, then next(); without a hook next() comes at once. */
static void
seq(struct service *s, enum hook_event ev)
{
	s->seq_event = ev;
	s->seq_hook = run_hook(s, ev, on_seq_hook);
	if (s->seq_hook == 0)
		next(s);
}

/* ---- leader ---------------------------------------------------------- */

static void leader_changed(struct service *s);

static void
on_leader_hook(void *arg, const struct hook_result *r)
{
	struct service *s = arg;
	char buf[256];

	s->leader_hook = 0;
	if (!hook_succeeded(r))
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
	s->leader_hook = run_hook(s, HOOK_LEADER_CHANGE, on_leader_hook);
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
static void
campaign(struct service *s)
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

static void grant(struct service *s);
static void put_started(struct service *s);
static void do_register(struct service *s);

static void
on_retry(struct loop *l, void *arg)
{
	struct service *s = arg;

	(void)l;
	s->retry_timer = 0;
	if (s->lease == 0 && s->lease_req == 0)
		grant(s);
	else if (s->lease != 0 && !s->registered && s->reg_req == 0)
		do_register(s);
	else
		read_registry(s);
}

static void
retry(struct service *s)
{
	if (s->retry_timer == 0)
		s->retry_timer = loop_timer(s->loop, RETRY_MS, on_retry, s);
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
		next(s);
		return;
	}
	log_info("%s: registered %s again", s->label, s->ip);
	if (s->phase == PH_RUNNING)
		put_started(s);
	read_registry(s);
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
	grant(s);
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
	s->keeper = etcd_kv_lease_keep(s->kv, r->lease_id, r->ttl, on_lost, s);
	do_register(s);
}

static void
grant(struct service *s)
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

static void
put_started(struct service *s)
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

static void
on_watch(void *arg, const struct etcd_kv_watch_update *u)
{
	struct service *s = arg;

	switch (u->kind) {
	case ETCD_KV_WATCH_CREATED:
		break;
	case ETCD_KV_WATCH_EVENTS:
		read_registry(s);
		break;
	case ETCD_KV_WATCH_END:
		s->watch = 0;
		log_debug("%s: watch ended: %s", s->label, u->error);
		/* The read sets up a new watch from its own revision. */
		retry(s);
		break;
	}
}

static void
on_read(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;
	char err[256];
	struct reg_view v;

	s->read_req = 0;
	if (r->error != NULL) {
		log_warn("%s: reading the registry: %s", s->label, r->error);
		retry(s);
		return;
	}
	if (reg_parse(s->cfg->name, r->kvs, r->n_kvs, r->revision, &v, err,
	    sizeof(err)) < 0) {
		fail(s, "the registry in etcd is damaged: %s", err);
		return;
	}
	s->view = v;
	s->have_view = true;
	if (s->watch == 0)
		s->watch = etcd_kv_watch(s->kv, s->prefix, strlen(s->prefix),
		    true, r->revision + 1, on_watch, s);
	if (s->reread) {
		s->reread = false;
		read_registry(s);
	}
	evaluate(s);
}

static void
read_registry(struct service *s)
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
	read_registry(s);
}

/* Seals the first size registrants: one transaction that only succeeds
 * while no sealed key exists, writing it, every participant's id and the
 * next id for standbys. */
static void
seal(struct service *s)
{
	const char *ips[REG_MAX_NODES];
	struct etcd_kv_op ops[REG_MAX_NODES + 2];
	char *keys[REG_MAX_NODES + 2], vals[REG_MAX_NODES + 1][24];
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
	for (size_t i = 0; i < n; i++, k++) {
		char *rest = xasprintf("ids/%s", ips[i]);
		keys[k] = reg_key(s->cfg->name, rest);
		free(rest);
		snprintf(vals[i], sizeof(vals[i]), "%zu", i + 1);
		ops[k] = (struct etcd_kv_op){ .type = ETCD_KV_PUT,
		    .key = keys[k], .key_len = strlen(keys[k]),
		    .value = vals[i], .value_len = strlen(vals[i]) };
	}
	keys[k] = reg_key(s->cfg->name, "next_id");
	snprintf(vals[n], sizeof(vals[n]), "%zu", n + 1);
	ops[k] = (struct etcd_kv_op){ .type = ETCD_KV_PUT, .key = keys[k],
	    .key_len = strlen(keys[k]), .value = vals[n],
	    .value_len = strlen(vals[n]) };
	k++;
	s->seal_req = etcd_kv_txn(s->kv, &cmp, 1, ops, k, NULL, 0, on_seal, s);
	for (size_t i = 0; i < k; i++)
		free(keys[i]);
out:
	free(value);
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
	read_registry(s);	/* won or lost, the view says */
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
		fail(s, "no ids left: all %d are given out", REG_ID_MAX);
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
	if (!hook_succeeded(r)) {
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
	if (s->view.leader[0] == '\0')
		campaign(s);
	if (s->phase >= PH_RUNNING && s->phase < PH_STOP_PROC)
		leader_changed(s);
	if (s->phase == PH_RUNNING && s->participant && me != NULL &&
	    !me->started && s->started_req == 0)
		put_started(s);
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
			s->seq_hook = run_hook(s, HOOK_CLUSTER_BOOTED,
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
	next(s);
}

/* ---- the backend ----------------------------------------------------- */

/* The set the backend writes: the participants, plus this node when it
 * is a standby. */
static size_t
backend_set(const struct service *s, struct be_member *m, struct be_set *set)
{
	size_t n = 0;

	for (size_t i = 0; i < s->view.n_sealed; i++)
		m[n++] = (struct be_member){ .id = s->view.nodes[i].id,
		    .ip = s->view.nodes[i].ip };
	if (!s->participant)
		m[n++] = (struct be_member){ .id = s->id, .ip = s->ip,
		    .standby = true };
	*set = (struct be_set){ .m = m, .n = n, .self_id = s->id };
	return n;
}

static int
port_or(int port, int dflt)
{
	return port != 0 ? port : dflt;
}

/* Hands path to the service's user, if it has one. */
static int
give(const struct service *s, const char *path, char *err, size_t errlen)
{
	if (s->uid == (uid_t)-1 || chown(path, s->uid, s->gid) == 0)
		return 0;
	snprintf(err, errlen, "chown %s to %s: %s", path, s->cfg->user,
	    strerror(errno));
	return -1;
}

/* The data dir (and parents), 0700, owned by the service's user. */
static int
make_dir(struct service *s, const char *dir, char *err, size_t errlen)
{
	char *p = xstrdup(dir);

	for (char *q = p + 1; *q != '\0'; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			goto bad;
		*q = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		goto bad;
	free(p);
	return give(s, dir, err, errlen);
bad:
	snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
	free(p);
	return -1;
}

/* Looks the service's user up. Returns 0, or -1 with err set. */
static int
find_user(struct service *s, char *err, size_t errlen)
{
	struct passwd *pw;

	s->uid = (uid_t)-1;
	s->gid = (gid_t)-1;
	if (s->cfg->user == NULL)
		return 0;
	errno = 0;
	pw = getpwnam(s->cfg->user);
	if (pw == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist%s%s",
		    s->cfg->user, errno ? ": " : "", errno ? strerror(errno) :
		    "");
		return -1;
	}
	s->uid = pw->pw_uid;
	s->gid = pw->pw_gid;
	return 0;
}

/* Writes the backend's files and returns the argv to run, or NULL with
 * err set; *none is set when the node runs no process. */
static char **
backend_prepare(struct service *s, bool *none, char *err, size_t errlen)
{
	const struct svc_cfg *c = s->cfg;
	struct be_member m[REG_MAX_NODES + 1];
	struct be_set set;
	char **argv = NULL;

	*none = false;
	if (find_user(s, err, errlen) < 0)
		return NULL;
	backend_set(s, m, &set);
	if (c->backend == SVC_CUSTOM) {
		char *const *h = c->hooks[HOOK_START];
		size_t n = 0;
		if (h == NULL) {
			*none = true;
			return NULL;
		}
		while (h[n] != NULL)
			n++;
		argv = xcalloc(n + 1, sizeof(*argv));
		for (size_t i = 0; i < n; i++)
			argv[i] = xstrdup(h[i]);
		return argv;
	}
	if (c->backend == SVC_ETCD && !s->participant) {
		log_info("%s: a standby runs no etcd (the etcd backend has no "
		    "non-voting members)", s->label);
		*none = true;
		return NULL;
	}
	if (make_dir(s, c->data_dir, err, errlen) < 0)
		return NULL;
	free(s->bin);
	s->bin = proc_find_binary(c->bin, err, errlen);
	if (s->bin == NULL) {
		/* proc_find_binary() speaks of etcd; say what this is. */
		static const char *const pkg[SVC_NBACKENDS] = {
			[SVC_ZOOKEEPER] = "zookeeper and a JRE",
			[SVC_ETCD] = "etcd-server", [SVC_CONSUL] = NULL,
			[SVC_PATRONI] = "patroni",
		};
		s->code = EXIT_NOTFOUND;
		snprintf(err, errlen, "the %s program \"%s\" is not an "
		    "executable file or not in PATH; install it%s%s%s or set "
		    "bin in service %s", svc_backend_name(c->backend), c->bin,
		    pkg[c->backend] ? " (Debian: " : "",
		    pkg[c->backend] ? pkg[c->backend] : "",
		    pkg[c->backend] ? ")" : "", c->name);
		return NULL;
	}
	switch (c->backend) {
	case SVC_ZOOKEEPER: {
		struct be_zk_opts o = { .data_dir = c->data_dir,
		    .client_port = c->client_port, .quorum_port = c->peer_port,
		    .election_port = c->election_port };
		char *cp;
		char *myid = xasprintf("%s/myid", c->data_dir);
		char *zcfg = xasprintf("%s/zoo.cfg", c->data_dir);
		int rc = be_zk_write(c->data_dir, &set, &o, err, errlen) < 0 ||
		    give(s, myid, err, errlen) < 0 ||
		    give(s, zcfg, err, errlen) < 0 ? -1 : 0;
		free(myid);
		free(zcfg);
		if (rc < 0)
			return NULL;
		cp = be_zk_classpath(NULL, err, errlen);
		if (cp == NULL)
			return NULL;
		argv = be_zk_argv(s->bin, c->data_dir, cp);
		free(cp);
		break;
	}
	case SVC_ETCD: {
		struct be_etcd_opts o = { .data_dir = c->data_dir,
		    .client_port = c->client_port, .peer_port = c->peer_port,
		    .token = c->token };
		argv = be_etcd_argv(s->bin, &set, &o, err, errlen);
		break;
	}
	case SVC_CONSUL: {
		struct be_consul_opts o = { .data_dir = c->data_dir,
		    .datacenter = c->datacenter };
		argv = be_consul_argv(s->bin, &set, &o, err, errlen);
		break;
	}
	case SVC_PATRONI: {
		const char **urls = xcalloc(s->n_endpoints + 1, sizeof(*urls));
		char *yml, *path, *pgdata, *pgpass;
		struct be_patroni_opts o = { .scope = c->scope,
		    .bin_dir = c->pg_bin_dir, .pg_port = c->client_port,
		    .rest_port = c->rest_port, .socket_dir = c->data_dir,
		    .repl_password = c->repl_password,
		    .su_password = c->su_password };
		for (size_t i = 0; i < s->n_endpoints; i++)
			urls[i] = s->endpoints[i];
		pgdata = xasprintf("%s/data", c->data_dir);
		pgpass = xasprintf("%s/pgpass", c->data_dir);
		o.etcd_urls = urls;
		o.data_dir = pgdata;
		o.pgpass = pgpass;
		yml = be_patroni_render(&set, &o, err, errlen);
		free(urls);
		free(pgdata);
		free(pgpass);
		if (yml == NULL)
			return NULL;
		path = xasprintf("%s/patroni.yml", c->data_dir);
		if (file_write_atomic(path, yml, 0600, err, errlen) < 0 ||
		    give(s, path, err, errlen) < 0) {
			free(yml);
			free(path);
			return NULL;
		}
		free(yml);
		argv = xcalloc(3, sizeof(*argv));
		argv[0] = xstrdup(s->bin);
		argv[1] = path;
		break;
	}
	default:
		snprintf(err, errlen, "unknown backend");
		break;
	}
	return argv;
}

static void
on_4lw(struct loop *l, const struct be_4lw_result *r, void *arg)
{
	struct service *s = arg;
	struct be_zk_srvr st;
	bool ok;

	(void)l;
	s->check_4lw = 0;
	ok = r->ok && be_zk_parse_srvr(r->text, &st) == 0 &&
	    st.mode != BE_ZK_NOT_SERVING && st.mode != BE_ZK_UNKNOWN;
	s->check_done(s, ok, !r->ok ? r->error : ok ? NULL :
	    "ZooKeeper is not serving (no quorum)");
}

static void
on_http_check(void *arg, const struct etcd_http_result *r)
{
	struct service *s = arg;
	bool healthy = false;
	char err[160];

	s->check_req = 0;
	if (r->status == 0) {
		s->check_done(s, false, r->error);
		return;
	}
	if (s->cfg->backend == SVC_ETCD) {
		if (r->status != 200 || etcd_parse_health(r->body, r->len,
		    &healthy, err, sizeof(err)) < 0 || !healthy) {
			s->check_done(s, false, "etcd /health: not healthy");
			return;
		}
	} else if (r->status != 200) {
		snprintf(err, sizeof(err), "GET /health: HTTP %ld", r->status);
		s->check_done(s, false, err);
		return;
	}
	s->check_done(s, true, NULL);
}

/* The backend's own check: srvr for ZooKeeper, /health for etcd and
 * Patroni's REST API. Backends without one (consul, custom) and nodes
 * that run nothing pass at once. */
static void
check_backend(struct service *s, void (*done)(struct service *, bool,
    const char *))
{
	const struct svc_cfg *c = s->cfg;
	char host[REG_IP_MAX + 2], *url;

	s->check_done = done;
	if (s->sup == NULL || c->backend == SVC_CUSTOM ||
	    c->backend == SVC_CONSUL) {
		done(s, true, NULL);
		return;
	}
	if (c->backend == SVC_ZOOKEEPER) {
		s->check_4lw = be_4lw(s->loop, s->ip,
		    port_or(c->client_port, 2181), "srvr", CHECK_TIMEOUT_MS,
		    on_4lw, s);
		return;
	}
	snprintf(host, sizeof(host), strchr(s->ip, ':') ? "[%s]" : "%s",
	    s->ip);
	url = xasprintf("http://%s:%d/health", host, c->backend == SVC_ETCD ?
	    port_or(c->client_port, 22379) : port_or(c->rest_port, 8008));
	s->check_req = etcd_http_get(s->http, url, CHECK_TIMEOUT_MS,
	    on_http_check, s);
	free(url);
}

/* ---- starting, OnPostStart, health ----------------------------------- */

static void post_start_try(struct service *s);
static void schedule_health(struct service *s);

static void
on_post_timer(struct loop *l, void *arg)
{
	struct service *s = arg;

	(void)l;
	s->post_timer = 0;
	post_start_try(s);
}

static void
post_start_again(struct service *s, const char *why)
{
	if (loop_now_ms() >= s->start_deadline) {
		s->code = EXIT_TEMPORARY;
		fail(s, "not started within start_timeout (%d s): %s",
		    s->cfg->start_timeout, why);
		return;
	}
	log_debug("%s: not started yet: %s", s->label, why);
	s->post_timer = loop_timer(s->loop, POST_START_RETRY_MS, on_post_timer,
	    s);
}

static void
on_post_hook(void *arg, const struct hook_result *r)
{
	struct service *s = arg;
	char buf[256];

	s->seq_hook = 0;
	if (!hook_succeeded(r)) {
		post_start_again(s, hook_result_str(r, buf, sizeof(buf)));
		return;
	}
	next(s);
}

static void
post_backend_done(struct service *s, bool ok, const char *why)
{
	if (!ok) {
		post_start_again(s, why);
		return;
	}
	s->seq_event = HOOK_POST_START;
	s->seq_hook = run_hook(s, HOOK_POST_START, on_post_hook);
	if (s->seq_hook == 0)
		next(s);
}

static void
post_start_try(struct service *s)
{
	check_backend(s, post_backend_done);
}

/* One health check's verdict: the backend's, then OnHealthCheck's. */
static void
health_result(struct service *s, bool ok, const char *what, const char *why)
{
	if (ok) {
		if (s->unhealthy)
			log_info("%s: healthy again", s->label);
		s->unhealthy = false;
		s->failures = 0;
		schedule_health(s);
		return;
	}
	s->unhealthy = true;
	s->failures++;
	log_warn("%s: %s %s (%u of %d)", s->label, what, why, s->failures,
	    s->cfg->health_failures);
	if (s->failures >= (unsigned)s->cfg->health_failures) {
		s->failures = 0;
		if (s->sup != NULL && sup_state(s->sup) == SUP_RUNNING) {
			log_warn("%s: unhealthy %d times in a row: restarting "
			    "it", s->label, s->cfg->health_failures);
			sup_signal(s->sup, SIGTERM);
		}
	}
	schedule_health(s);
}

static void
on_health_hook(void *arg, const struct hook_result *r)
{
	struct service *s = arg;
	char buf[256];

	s->health_hook = 0;
	health_result(s, hook_succeeded(r), "OnHealthCheck",
	    hook_result_str(r, buf, sizeof(buf)));
}

static void
health_backend_done(struct service *s, bool ok, const char *why)
{
	if (!ok) {
		health_result(s, false, "health check:", why);
		return;
	}
	s->health_hook = run_hook(s, HOOK_HEALTH_CHECK, on_health_hook);
	if (s->health_hook == 0)
		health_result(s, true, NULL, NULL);
}

static void
on_health_timer(struct loop *l, void *arg)
{
	struct service *s = arg;

	(void)l;
	s->health_timer = 0;
	if (s->phase != PH_RUNNING)
		return;
	/* OnClusterBooted comes before the first OnHealthCheck, unless the
	 * other participants take longer than start_timeout to start: a
	 * node's own health must not wait for them for ever. */
	if (!s->booted_over && loop_now_ms() - s->running_since <
	    (int64_t)s->cfg->start_timeout * 1000) {
		schedule_health(s);
		return;
	}
	if (s->sup != NULL && sup_state(s->sup) != SUP_RUNNING) {
		schedule_health(s);	/* restarting: nothing to ask */
		return;
	}
	check_backend(s, health_backend_done);
}

static void
schedule_health(struct service *s)
{
	loop_cancel(s->loop, s->health_timer);
	s->health_timer = loop_timer(s->loop,
	    (int64_t)s->cfg->health_interval * 1000, on_health_timer, s);
}

static void stop_hook(struct service *s);

static void
on_sup(void *arg, struct sup *sp, enum sup_state from, enum sup_state to,
    const struct sup_exit *ex)
{
	struct service *s = arg;

	(void)sp;
	(void)from;
	(void)ex;	/* the supervisor logs exits and restarts */
	if (to == SUP_DONE && s->phase == PH_STOP_PROC)
		stop_hook(s);
}

/* Starts the service's process, if it has one. */
static void
start_process(struct service *s)
{
	char err[512] = "", **argv, **envp, *label;
	bool none;
	struct sup_opts o;

	argv = backend_prepare(s, &none, err, sizeof(err));
	if (argv == NULL && !none) {
		fail(s, "%s", err);
		return;
	}
	if (none) {
		next(s);
		return;
	}
	envp = make_env(s, HOOK_START);
	if (envp == NULL) {
		strv_free(argv);
		fail(s, "cannot make OnStart's environment");
		return;
	}
	label = xasprintf("%s (%s)", s->cfg->name,
	    svc_backend_name(s->cfg->backend));
	o = (struct sup_opts){ .label = label,
	    .stop_timeout_ms = s->cfg->stop_timeout * 1000,
	    .backoff_min_ms = 1000, .backoff_max_ms = 30000,
	    .stable_ms = 60000 };
	s->sup = sup_new(s->loop, &o, argv, on_sup, s);
	sup_set_env(s->sup, envp);
	sup_set_user(s->sup, s->uid, s->gid);
	free(label);
	hook_env_free(envp);
	strv_free(argv);
	if (sup_start(s->sup) < 0) {
		s->code = errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
		fail(s, "cannot start %s: %s", s->cfg->name, strerror(errno));
		return;
	}
	next(s);
}

/* ---- the sequence ---------------------------------------------------- */

static void
notify(struct service *s, enum service_event ev, const char *why)
{
	if (s->cb != NULL)
		s->cb(s->arg, s, ev, why);
}

static void
on_quorum_timeout(struct loop *l, void *arg)
{
	struct service *s = arg;

	(void)l;
	s->quorum_timer = 0;
	s->code = EXIT_TEMPORARY;
	fail(s, "only %zu of %u nodes registered within quorum_timeout "
	    "(%d s)", reg_alive(&s->view), s->view.size,
	    s->cfg->quorum_timeout);
}

/* Moves to the next phase and starts it. */
static void
next(struct service *s)
{
	switch (s->phase) {
	case PH_IDLE:
		s->phase = PH_PRE_REGIST;
		seq(s, HOOK_PRE_REGIST);
		break;
	case PH_PRE_REGIST:
		s->phase = PH_REGISTER;
		grant(s);
		break;
	case PH_REGISTER:
		s->phase = PH_POST_REGIST;
		campaign(s);
		seq(s, HOOK_POST_REGIST);
		break;
	case PH_POST_REGIST:
		s->phase = PH_WAIT;
		if (s->cfg->quorum_timeout > 0)
			s->quorum_timer = loop_timer(s->loop,
			    (int64_t)s->cfg->quorum_timeout * 1000,
			    on_quorum_timeout, s);
		read_registry(s);
		break;
	case PH_WAIT:
		loop_cancel(s->loop, s->quorum_timer);
		s->quorum_timer = 0;
		s->phase = PH_REACHED;
		snprintf(s->leader, sizeof(s->leader), "%s", s->view.leader);
		seq(s, HOOK_REACH_QURORUM_NUM);
		break;
	case PH_REACHED:
		s->phase = PH_PRE_START;
		seq(s, HOOK_PRE_START);
		break;
	case PH_PRE_START:
		s->phase = PH_POST_START;
		s->start_deadline = loop_now_ms() +
		    (int64_t)s->cfg->start_timeout * 1000;
		start_process(s);
		break;
	case PH_POST_START:
		/* start_process() done: try OnPostStart until it passes. */
		if (s->seq_event != HOOK_POST_START) {
			s->seq_event = HOOK_POST_START;
			post_start_try(s);
			break;
		}
		s->phase = PH_RUNNING;
		log_info("%s: started (%s %u)", s->label, s->participant ?
		    "participant" : "standby", s->id);
		if (s->participant)
			put_started(s);
		s->running_since = loop_now_ms();
		schedule_health(s);
		read_registry(s);
		notify(s, SERVICE_RUNNING, NULL);
		break;
	default:
		break;
	}
}

static void
on_revoke(void *arg, const struct etcd_kv_result *r)
{
	struct service *s = arg;

	s->revoke_req = 0;
	if (r->error != NULL)
		log_warn("%s: revoking the lease: %s", s->label, r->error);
	s->phase = PH_DONE;
	if (s->failed)
		notify(s, SERVICE_FAILED, s->fail_why);
	else
		notify(s, SERVICE_STOPPED, NULL);
}

static void
give_back_lease(struct service *s)
{
	s->phase = PH_REVOKE;
	if (s->keeper != 0)
		etcd_kv_cancel(s->kv, s->keeper);
	s->keeper = 0;
	if (s->lease == 0) {
		struct etcd_kv_result r = { 0 };
		on_revoke(s, &r);
		return;
	}
	etcd_kv_set_timeout(s->kv, REVOKE_TIMEOUT_MS);
	s->revoke_req = etcd_kv_lease_revoke(s->kv, s->lease, on_revoke, s);
	s->lease = 0;
}

static void
on_stop_hook(void *arg, const struct hook_result *r)
{
	struct service *s = arg;
	char buf[256];

	s->seq_hook = 0;
	if (!hook_succeeded(r))
		log_warn("%s: OnStop %s", s->label,
		    hook_result_str(r, buf, sizeof(buf)));
	give_back_lease(s);
}

/* After the process is gone: OnStop, if the service got as far as
 * starting. */
static void
stop_hook(struct service *s)
{
	s->phase = PH_STOP_HOOK;
	s->seq_hook = 0;
	if (s->start_deadline != 0)
		s->seq_hook = run_hook(s, HOOK_STOP, on_stop_hook);
	if (s->seq_hook == 0)
		give_back_lease(s);
}

/* Cancels everything that belongs to running. */
static void
quiesce(struct service *s)
{
	uint64_t *reqs[] = { &s->lease_req, &s->reg_req, &s->read_req,
	    &s->seal_req, &s->id_req, &s->leader_req, &s->started_req,
	    &s->booted_req, &s->watch };

	for (size_t i = 0; i < sizeof(reqs) / sizeof(*reqs); i++) {
		if (*reqs[i] != 0)
			etcd_kv_cancel(s->kv, *reqs[i]);
		*reqs[i] = 0;
	}
	hook_cancel(s->seq_hook);
	hook_cancel(s->health_hook);
	hook_cancel(s->leader_hook);
	s->seq_hook = s->health_hook = s->leader_hook = 0;
	loop_cancel(s->loop, s->retry_timer);
	loop_cancel(s->loop, s->post_timer);
	loop_cancel(s->loop, s->health_timer);
	loop_cancel(s->loop, s->quorum_timer);
	s->retry_timer = s->post_timer = s->health_timer = 0;
	s->quorum_timer = 0;
	if (s->check_req != 0)
		etcd_http_cancel(s->http, s->check_req);
	s->check_req = 0;
	be_4lw_cancel(s->loop, s->check_4lw);
	s->check_4lw = 0;
}

static void
begin_stop(struct service *s)
{
	quiesce(s);
	s->phase = PH_STOP_PROC;
	if (s->sup != NULL && sup_state(s->sup) != SUP_IDLE &&
	    sup_state(s->sup) != SUP_DONE) {
		sup_stop(s->sup);
		return;
	}
	stop_hook(s);
}

static void
fail(struct service *s, const char *fmt, ...)
{
	va_list ap;

	if (s->phase >= PH_STOP_PROC)
		return;
	free(s->fail_why);
	va_start(ap, fmt);
	if (vasprintf(&s->fail_why, fmt, ap) < 0)
		abort();
	va_end(ap);
	log_error("%s: %s", s->label, s->fail_why);
	s->failed = true;
	if (s->code == 0)
		s->code = EXIT_PERMANENT;
	begin_stop(s);
}

/* ---- the interface --------------------------------------------------- */

struct service *
service_new(struct loop *l, struct etcd_http *h, const struct service_opts *o,
    service_cb cb, void *arg)
{
	struct service *s = xcalloc(1, sizeof(*s));

	s->loop = l;
	s->http = h;
	s->cfg = o->cfg;
	s->ip = xstrdup(o->ip);
	s->n_endpoints = o->n_endpoints;
	s->endpoints = xcalloc(o->n_endpoints + 1, sizeof(*s->endpoints));
	for (size_t i = 0; i < o->n_endpoints; i++)
		s->endpoints[i] = xstrdup(o->endpoints[i]);
	s->kv = etcd_kv_new(h, s->endpoints, s->n_endpoints);
	s->cb = cb;
	s->arg = arg;
	s->label = xasprintf("service %s", o->cfg->name);
	s->prefix = reg_key(o->cfg->name, "");
	return s;
}

void
service_start(struct service *s)
{
	if (s->phase != PH_IDLE)
		return;
	log_info("%s: starting (backend %s, size %d, node %s)", s->label,
	    svc_backend_name(s->cfg->backend), s->cfg->size, s->ip);
	next(s);
}

void
service_stop(struct service *s)
{
	if (s->phase == PH_STOP_PROC && s->sup != NULL) {
		sup_stop(s->sup);	/* the second time: SIGKILL */
		return;
	}
	if (s->phase >= PH_STOP_PROC)
		return;
	if (s->phase == PH_IDLE) {
		s->phase = PH_DONE;
		notify(s, SERVICE_STOPPED, NULL);
		return;
	}
	log_info("%s: stopping", s->label);
	begin_stop(s);
}

bool
service_reaped(struct service *s, pid_t pid, int status)
{
	return s->sup != NULL && sup_reaped(s->sup, pid, status);
}

void
service_signal(struct service *s, int sig)
{
	if (s->sup != NULL)
		sup_signal(s->sup, sig);
}

void
service_free(struct service *s)
{
	if (s == NULL)
		return;
	quiesce(s);
	if (s->revoke_req != 0)
		etcd_kv_cancel(s->kv, s->revoke_req);
	if (s->keeper != 0)
		etcd_kv_cancel(s->kv, s->keeper);
	if (s->sup != NULL) {
		pid_t pid = sup_pid(s->sup);
		if (pid > 0) {
			sup_stop(s->sup);
			sup_stop(s->sup);
		}
		sup_free(s->sup);
	}
	etcd_kv_free(s->kv);
	for (size_t i = 0; i < s->n_endpoints; i++)
		free(s->endpoints[i]);
	free(s->endpoints);
	free(s->ip);
	free(s->bin);
	free(s->label);
	free(s->prefix);
	free(s->fail_why);
	free(s);
}
