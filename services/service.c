#include "lib/fmacros.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd/kv.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/sup.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "services/service_int.h"

/* One service's lifecycle: its hooks in order (OnPreRegist ...
 * OnPostStart), its process under a supervisor, health checks, and the
 * stop. The registry half (lease, registration, leader, the sealed set)
 * is service_reg.c; what the process is comes from the backend table
 * (services/backend.h). */

extern char **environ;

#define POST_START_RETRY_MS 2000 /* between OnPostStart attempts */
#define REVOKE_TIMEOUT_MS 2000	/* the lease, on stop */

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

void
service_info(const struct service *s, struct service_info *out)
{
	*out = (struct service_info){
		.name = s->cfg->name,
		.backend = svc_backend_name(s->cfg->backend),
		.role = s->id == 0 ? "" : s->participant ? "participant" :
		    "standby",
		.leader = s->have_view && s->view.leader[0] != '\0' &&
		    strcmp(s->view.leader, s->ip) == 0,
		.healthy = s->phase == PH_RUNNING && !s->unhealthy,
		.restarts = s->sup != NULL ? sup_restarts(s->sup) : 0,
	};
	for (int ev = 0; ev < HOOK_NEVENTS; ev++) {
		/* OnStart is the service's process, not a hook. */
		out->has_hook[ev] = ev != HOOK_START &&
		    s->cfg->hooks[ev] != NULL;
		out->hook_failures[ev] = s->hook_failures[ev];
	}
}

bool
service_hook_ok(struct service *s, enum hook_event ev,
    const struct hook_result *r)
{
	if (hook_succeeded(r))
		return true;
	if ((int)ev >= 0 && ev < HOOK_NEVENTS)
		s->hook_failures[ev]++;
	return false;
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

/* The hook environment for ev over base (NULL: the ZOOINIT_ variables
 * alone); NULL with a logged error if a value from etcd does not pass
 * hook_env()'s checks. */
static char **
make_env(struct service *s, enum hook_event ev, char *const *base)
{
	const char *ips[REG_MAX_NODES];
	char id[16] = "", err[256], *copy[BE_TLS_N] = { 0 };
	struct be_env e = { .cfg = s->cfg, .uid = s->uid, .tls = { s->tls[0],
	    s->tls[1], s->tls[2] } };
	struct hook_env he;
	char **envp;

	/* The program runs as the service's user: it is told of the copies
	 * it can read. Hooks run as the agent. */
	if (ev == HOOK_START && backend_tls_copies(&e))
		backend_tls_use_copies(&e, copy);
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
		.etcd_ca_file = e.tls[BE_TLS_CA],
		.etcd_cert_file = e.tls[BE_TLS_CERT],
		.etcd_key_file = e.tls[BE_TLS_KEY],
	};
	envp = hook_env(&he, base, err, sizeof(err));
	for (int i = 0; i < BE_TLS_N; i++)
		free(copy[i]);
	if (envp == NULL)
		log_error("%s: %s: %s", s->label, hook_event_name(ev), err);
	return envp;
}

void
service_set_tls(struct service *s, const char *ca_file,
    const char *cert_file, const char *key_file)
{
	const char *v[3] = { ca_file, cert_file, key_file };

	for (size_t i = 0; i < 3; i++) {
		free(s->tls[i]);
		s->tls[i] = v[i] != NULL ? xstrdup(v[i]) : NULL;
	}
}

/* Starts the hook for ev with cb; returns its id, or 0 when ev has no
 * hook (cb is then not called). */
uint64_t
service_run_hook(struct service *s, enum hook_event ev, hook_done_cb cb)
{
	char **envp, *name;
	uint64_t id;

	if (s->cfg->hooks[ev] == NULL)
		return 0;
	envp = make_env(s, ev, environ);
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
	if (!service_hook_ok(s, s->seq_event, r)) {
		service_fail(s, "%s %s", hook_event_name(s->seq_event),
		    hook_result_str(r, buf, sizeof(buf)));
		return;
	}
	service_next(s);
}

/* Runs ev's hook, then service_next(); without a hook service_next() comes at once. */
static void
seq(struct service *s, enum hook_event ev)
{
	s->seq_event = ev;
	s->seq_hook = service_run_hook(s, ev, on_seq_hook);
	if (s->seq_hook == 0)
		service_next(s);
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

/* Writes the backend's files and sets *argv to what to run (NULL: this
 * node runs nothing). Returns 0, or -1 with err set. */
static int
prepare(struct service *s, char ***argv, char *err, size_t errlen)
{
	struct be_member m[REG_MAX_NODES + 1];
	struct be_set set;
	struct be_env e;

	*argv = NULL;
	if (find_user(s, err, errlen) < 0)
		return -1;
	backend_set(s, m, &set);
	e = (struct be_env){ .cfg = s->cfg, .set = &set,
	    .etcd_urls = (const char *const *)s->endpoints, .uid = s->uid,
	    .gid = s->gid, .tls = { s->tls[0], s->tls[1], s->tls[2] } };
	return backend_prepare(&e, !s->participant, argv, &s->code, err,
	    errlen);
}

static void
on_check(void *arg, bool ok, const char *why)
{
	struct service *s = arg;

	s->check_done(s, ok, why);
}

/* The backend's own check (backend_ops.check); nodes that run nothing
 * pass at once. */
static void
check_backend(struct service *s, void (*done)(struct service *, bool,
    const char *))
{
	s->check_done = done;
	if (s->sup == NULL) {
		done(s, true, NULL);
		return;
	}
	s->check = (struct be_check){ .loop = s->loop, .http = s->http,
	    .cfg = s->cfg, .ip = s->ip, .done = on_check, .arg = s };
	backend_check(&s->check);
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
		service_fail(s, "not started within start_timeout (%d s): %s",
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
	if (!service_hook_ok(s, HOOK_POST_START, r)) {
		post_start_again(s, hook_result_str(r, buf, sizeof(buf)));
		return;
	}
	service_next(s);
}

static void
post_backend_done(struct service *s, bool ok, const char *why)
{
	if (!ok) {
		post_start_again(s, why);
		return;
	}
	s->seq_event = HOOK_POST_START;
	s->seq_hook = service_run_hook(s, HOOK_POST_START, on_post_hook);
	if (s->seq_hook == 0)
		service_next(s);
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
		service_roll_healthy(s);
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
	health_result(s, service_hook_ok(s, HOOK_HEALTH_CHECK, r),
	    "OnHealthCheck",
	    hook_result_str(r, buf, sizeof(buf)));
}

static void
health_backend_done(struct service *s, bool ok, const char *why)
{
	if (!ok) {
		health_result(s, false, "health check:", why);
		return;
	}
	s->health_hook = service_run_hook(s, HOOK_HEALTH_CHECK, on_health_hook);
	if (s->health_hook == 0)
		health_result(s, true, NULL, NULL);
}

/* The agent renews its client certificate in place (agent/certs.c): a
 * service whose user reads copies gets them again when the sources
 * change. The program reads the files on its next connections. */
static void
sync_tls(struct service *s)
{
	struct be_env e = { .cfg = s->cfg, .uid = s->uid, .gid = s->gid,
	    .tls = { s->tls[0], s->tls[1], s->tls[2] } };
	char err[512];
	int n = 0;

	if (s->sup == NULL || !backend_tls_copies(&e))
		return;
	if (backend_tls_sync(&e, &n, err, sizeof(err)) < 0)
		log_warn("%s: cannot renew the copies of etcd's TLS files in "
		    "%s: %s; trying again on the next health check", s->label,
		    s->cfg->data_dir, err);
	else if (n > 0)
		log_info("%s: copied %d renewed etcd TLS file%s to %s for "
		    "user %s", s->label, n, n == 1 ? "" : "s",
		    s->cfg->data_dir, s->cfg->user);
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
	sync_tls(s);
	check_backend(s, health_backend_done);
}

static void
schedule_health(struct service *s)
{
	loop_cancel(s->loop, s->health_timer);
	s->health_timer = loop_timer_slack(s->loop,
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

int
service_rewrite(struct service *s, char *err, size_t errlen)
{
	char **argv;

	if (prepare(s, &argv, err, errlen) < 0)
		return -1;
	strv_free(argv);
	return 0;
}

/* Starts the service's process, if it has one. */
static void
start_process(struct service *s)
{
	char err[512] = "", **argv, **envp, *label;
	struct sup_opts o;

	if (prepare(s, &argv, err, sizeof(err)) < 0) {
		service_fail(s, "%s", err);
		return;
	}
	free(s->set_sig);
	s->set_sig = service_set_sig(s);
	if (argv == NULL) {
		service_next(s);
		return;
	}
	/* Its supervisor sets them over the agent's environment at each
	 * start: no copy of that per service. */
	envp = make_env(s, HOOK_START, NULL);
	if (envp == NULL) {
		strv_free(argv);
		service_fail(s, "cannot make OnStart's environment");
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
		service_fail(s, "cannot start %s: %s", s->cfg->name, strerror(errno));
		return;
	}
	service_next(s);
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
	service_fail(s, "only %zu of %u nodes registered within quorum_timeout "
	    "(%d s)", reg_alive(&s->view), s->view.size,
	    s->cfg->quorum_timeout);
}

/* Moves to the next phase and starts it. */
void
service_next(struct service *s)
{
	switch (s->phase) {
	case PH_IDLE:
		s->phase = PH_PRE_REGIST;
		seq(s, HOOK_PRE_REGIST);
		break;
	case PH_PRE_REGIST:
		s->phase = PH_REGISTER;
		service_grant(s);
		break;
	case PH_REGISTER:
		s->phase = PH_POST_REGIST;
		service_campaign(s);
		seq(s, HOOK_POST_REGIST);
		break;
	case PH_POST_REGIST:
		s->phase = PH_WAIT;
		if (s->cfg->quorum_timeout > 0)
			s->quorum_timer = loop_timer(s->loop,
			    (int64_t)s->cfg->quorum_timeout * 1000,
			    on_quorum_timeout, s);
		service_read_registry(s);
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
			service_put_started(s);
		s->running_since = loop_now_ms();
		schedule_health(s);
		service_read_registry(s);
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
		etcd_kv_cancel(s->keep_kv, s->keeper);
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
	if (!service_hook_ok(s, HOOK_STOP, r))
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
		s->seq_hook = service_run_hook(s, HOOK_STOP, on_stop_hook);
	if (s->seq_hook == 0)
		give_back_lease(s);
}

/* Cancels everything that belongs to running. */
static void
quiesce(struct service *s)
{
	uint64_t *reqs[] = { &s->lease_req, &s->reg_req, &s->read_req,
	    &s->seal_req, &s->id_req, &s->leader_req, &s->started_req,
	    &s->booted_req, &s->fill_req, &s->move_req, &s->host_req,
	    &s->roll_req };

	for (size_t i = 0; i < sizeof(reqs) / sizeof(*reqs); i++) {
		if (*reqs[i] != 0)
			etcd_kv_cancel(s->kv, *reqs[i]);
		*reqs[i] = 0;
	}
	reg_watch_unsub(s->rw, s->sub);
	s->sub = 0;
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
	backend_check_cancel(&s->check);
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

void
service_fail(struct service *s, const char *fmt, ...)
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
	s->name = o->name ? xstrdup(o->name) : NULL;
	s->n_endpoints = o->n_endpoints;
	s->endpoints = xcalloc(o->n_endpoints + 1, sizeof(*s->endpoints));
	for (size_t i = 0; i < o->n_endpoints; i++)
		s->endpoints[i] = xstrdup(o->endpoints[i]);
	s->kv = etcd_kv_new(h, s->endpoints, s->n_endpoints);
	s->keep_kv = o->keep_kv != NULL ? o->keep_kv : s->kv;
	s->rw = o->watch;
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
	service_next(s);
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
service_free(struct service *s)
{
	if (s == NULL)
		return;
	quiesce(s);
	if (s->revoke_req != 0)
		etcd_kv_cancel(s->kv, s->revoke_req);
	if (s->keeper != 0)
		etcd_kv_cancel(s->keep_kv, s->keeper);
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
	for (size_t i = 0; i < 3; i++)
		free(s->tls[i]);
	free(s->ip);
	free(s->name);
	free(s->set_sig);
	free(s->label);
	free(s->prefix);
	free(s->fail_why);
	reg_view_free(&s->view);
	free(s);
}
