#include "lib/fmacros.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "agent/boot.h"
#include "agent/boot_int.h"
#include "agent/certs.h"
#include "agent/join.h"
#include "agent/localdisc.h"
#include "agent/order.h"
#include "agent/readdress.h"
#include "agent/seed.h"
#include "agent/token.h"
#include "etcd/diag.h"
#include "etcd/http.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "services/hooks.h"
#include "services/services.h"

#define WAITING_LOG_MS 10000	/* how often to say we still wait */

/* ---- etcd's data dir and start ---------------------------------------- */

/* Makes the data dir (and its parents) and keeps it private: etcd 3.4
 * refuses a data dir that others can read. */
static int
make_data_dir(const char *dir)
{
	char err[512], *parent = xstrdup(dir), *slash = strrchr(parent, '/');
	struct stat st;

	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (file_mkdirs(parent, 0755, err, sizeof(err)) < 0) {
			log_error("%s", err);
			free(parent);
			return -1;
		}
	}
	free(parent);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("cannot create data dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_error("data dir %s is not a directory", dir);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		log_warn("data dir %s was mode %03o; setting 0700", dir,
		    (unsigned)(st.st_mode & 0777));
		if (chmod(dir, 0700) < 0) {
			log_error("cannot chmod %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void
on_sup(void *arg, struct sup *s, enum sup_state from, enum sup_state to,
    const struct sup_exit *ex)
{
	struct boot *b = arg;

	(void)s;
	(void)from;
	switch (to) {
	case SUP_RUNNING:
		boot_post(b, EV_ETCD_UP);
		break;
	case SUP_BACKOFF:
		b->exit = *ex;
		boot_post(b, EV_ETCD_EXITED);
		break;
	case SUP_DONE:
		boot_post(b, EV_ETCD_DONE);
		break;
	default:
		break;
	}
}

static void
log_starting(const struct plan *p)
{
	size_t n = 1;

	if (p->proxy) {
		log_info("starting etcd grpc-proxy as %s on %s for the cluster "
		    "%s", plan_me(p)->name, plan_me(p)->client_url,
		    p->initial_cluster);
		return;
	}
	for (const char *c = p->initial_cluster; *c != '\0'; c++)
		n += *c == ',';
	log_info("starting etcd as %s: %s cluster of %zu (%s), token %s",
	    plan_me(p)->name, p->state, n, p->initial_cluster, p->token);
}

/* etcd refused the flags it was started with at once (act_etcd_exited):
 * keep them, to tell whether planning again changed anything. */
static void
remember_refused(struct boot *b)
{
	strv_free(b->refused_argv);
	b->refused_argv = strv_dup(b->plan.argv);
}

/* Planning again after etcd refused its flags gave the same flags: the
 * member list, the address and the sources say what they said, so etcd
 * would refuse them again. Says so; true then. */
static bool
refused_again(struct boot *b)
{
	bool same = b->refused_argv != NULL &&
	    strv_eq(b->refused_argv, b->plan.argv);

	strv_free(b->refused_argv);
	b->refused_argv = NULL;
	if (same)
		log_error("etcd exited at once during its first start, and "
		    "planning again (the sources and the member list asked "
		    "afresh) gave the same flags, which it would refuse again: "
		    "fix what etcd names above, then start zooinit again");
	return same;
}

/* Starts etcd (or its grpc-proxy) with the settled plan's argv; a
 * supervisor that ran before takes the new argv. */
static void
start_etcd(struct boot *b)
{
	struct plan *p = &b->plan;
	char err[512];
	const char *label = p->proxy ? "etcd grpc-proxy" : "etcd";
	struct sup_opts o = {
		.label = label,
		.stop_timeout_ms = b->c->stop_timeout * 1000,
		.backoff_min_ms = 1000,
		.backoff_max_ms = 30000,
		.stable_ms = 60000,
	};

	if (refused_again(b)) {
		boot_finish(b, EXIT_TEMPORARY);
		return;
	}
	if (make_data_dir(p->data_dir) < 0) {
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	/* An extra host keeps no member data, so it has nothing to journal:
	 * a restart asks the discovery service again. */
	if (strcmp(p->source, "journal") != 0 && !p->proxy &&
	    plan_journal_write(p, p->data_dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	log_starting(p);
	care_start(b);
	b->running_proxy = p->proxy;
	if (p->proxy && b->gr.target == 0)
		b->gr.target = (size_t)b->c->size > p->n ? (size_t)b->c->size :
		    p->n;
	if (b->sup == NULL)
		b->sup = sup_new(b->x->loop, &o, p->argv, on_sup, b);
	else
		sup_set_argv(b->sup, label, p->argv);
	if (sup_start(b->sup) < 0)
		boot_finish(b, errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

static bool
etcd_runs(const struct boot *b)
{
	return b->sup != NULL && sup_state(b->sup) != SUP_IDLE &&
	    sup_state(b->sup) != SUP_DONE;
}

/* ---- the seed and the services ---------------------------------------- */

static void
on_seed_grace(struct loop *l, void *arg)
{
	struct boot *b = arg;

	(void)l;
	b->seed_timer = 0;
	log_info("stopping the seed discovery etcd (seed_keep = stop)");
	seed_stop(b->seed);
}

/* The cluster is up: the seed has done its work. */
static void
cluster_up(struct boot *b)
{
	if (b->seed == NULL || b->seed_timer != 0 || seed_stopped(b->seed) ||
	    b->c->seed_keep == CFG_SEED_KEEP)
		return;
	log_info("the seed discovery etcd stops in %d s (seed_grace)",
	    b->c->seed_grace);
	b->seed_timer = loop_timer(b->x->loop, (int64_t)b->c->seed_grace * 1000,
	    on_seed_grace, b);
}

static void
on_services_done(void *arg, int code)
{
	struct boot *b = arg;

	if (code != 0 && b->state != BS_STOPPING)
		log_error("no service runs any more; etcd keeps running");
	boot_post(b, EV_SERVICES_DONE);
}

/* The services of the config, in order, once etcd is healthy: this
 * member's client URL first, then the others', for failover. */
static void
start_services(struct boot *b)
{
	const struct cfg *c = b->c;
	const struct svc_cfg *cfgs[SVC_MAX];
	const struct plan *p = &b->plan;
	char **eps = xcalloc(p->n + 1, sizeof(*eps));
	size_t n = 0;

	b->svcs_begun = true;
	/* etcd 3.4's grpc-proxy does not serve the JSON gateway: an extra
	 * host's services talk to the members. */
	if (!b->running_proxy)
		eps[n++] = plan_me(p)->client_url;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->m[i].self && p->m[i].client_url != NULL)
			eps[n++] = p->m[i].client_url;
	}
	for (size_t i = 0; i < c->n_services; i++)
		cfgs[i] = svc_find(c->svcs, c->n_svcs, c->services[i]);
	/* A member's name is unique in the cluster and keeps its id when its
	 * address changes; a client's (a host name) is not checked to be. */
	b->svcs = services_new(b->x->loop, b->x->http, cfgs, c->n_services,
	    plan_me(p)->addr, p->proxy ? NULL : plan_me(p)->name, eps, n,
	    on_services_done, b);
	free(eps);
	services_set_tls(b->svcs, p->tls.trusted_ca_file,
	    p->tls.client_cert_file, p->tls.client_key_file);
	services_start(b->svcs);
}

/* ---- actions ---------------------------------------------------------- */

static void
act_nothing(struct boot *b)
{
	(void)b;
}

/* A plan was made: check TLS and the binary, then ask the peers whether
 * a cluster runs already (a new member joins that one instead of
 * bootstrapping another). */
static void
act_planned(struct boot *b)
{
	char err[512];
	char *path;
	int rc = -1;

	if (plan_check_tls(&b->plan, b->c, err, sizeof(err)) == PLAN_OK)
		rc = certs_setup(&b->certs, b->x->loop, b->x->http, &b->plan,
		    b->c, b->plan_only, err, sizeof(err));
	if (rc == CERTS_UNRUN) {
		log_error("TLS: cannot make this member's certificates: %s; "
		    "start again later", err);
		boot_finish(b, EXIT_TEMPORARY);
		return;
	}
	if (rc < 0) {
		log_error("%s", err);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	path = proc_find_binary(b->plan.etcd, err, sizeof(err));
	if (path == NULL) {
		log_error("%s", err);
		boot_finish(b, EXIT_NOTFOUND);
		return;
	}
	free(b->plan.etcd);
	b->plan.etcd = path;
	log_set_name(plan_me(&b->plan)->name);
	if (strcmp(b->plan.state, "new") == 0 && !b->plan.proxy) {
		b->join = join_start(b->x->loop, b->x->http, &b->plan,
		    b->plan_only, strcmp(b->plan.source, "token") != 0,
		    boot_on_join, b);
		return;
	}
	boot_post(b, EV_SETTLED);
}

/* etcd holds its member data now (it ran, or a snapshot was restored
 * for it): the discovery service it would start from (agent/localdisc.h)
 * goes, and etcd gets the member map itself, which it ignores then as it
 * would ignore --discovery. */
static void
discovery_done(struct boot *b)
{
	if (b->localdisc == NULL)
		return;
	localdisc_free(b->localdisc);
	b->localdisc = NULL;
	b->plan.discovery = false;
	plan_build_argv(&b->plan);
	if (b->sup != NULL)
		sup_set_argv(b->sup, NULL, b->plan.argv);
}

/* The plan is final: print it, or prepare the data dir (a snapshot to
 * restore) and then start etcd with it. */
static void
act_settled(struct boot *b)
{
	b->plan.etcd_args = b->c->etcd_args;
	b->plan.n_etcd_args = b->c->n_etcd_args;
	plan_build_argv(&b->plan);
	if (restore_plan(b) < 0)
		return;
	if (b->plan.restore_from != NULL)
		discovery_done(b);
	if (b->plan_only) {
		if (b->c->json) {
			char *s = plan_json(&b->plan);
			printf("%s\n", s);
			free(s);
		} else {
			plan_print(&b->plan, stdout);
		}
		fflush(stdout);
		boot_finish(b, EXIT_OK);
		return;
	}
	restore_begin(b);
}

static void
act_restored(struct boot *b)
{
	start_etcd(b);
}

static void
act_finish(struct boot *b)
{
	actx_finish(b->x, b->exit_code);
}

static void
act_etcd_up(struct boot *b)
{
	b->last_wait_log = loop_now_ms();
	boot_health_first(b);
}

/* etcd cannot bind an address that is no longer this host's ("bind:
 * cannot assign requested address"), nor serve there: a configuration
 * problem that no restart cures, so plan again (a journal's member keeps
 * its identity and moves, agent/readdress.c). what: "etcd exited", ...
 * Returns whether it did. */
static bool
replan_addr_gone(struct boot *b, const char *what)
{
	char why[256];

	if (b->state == BS_STOPPING || !readdress_addr_gone(b))
		return false;
	snprintf(why, sizeof(why), "%s and cannot listen on %s (member %s): "
	    "that address is no longer one of this host's", what,
	    plan_me(&b->plan)->addr, plan_me(&b->plan)->name);
	boot_replan(b, why);
	return true;
}

/* etcd exited and restarts after a backoff. An exit at once during the
 * first start of an argv is etcd refusing what it was given, not a crash.
 * A command line it does not take (a flag this release lacks: exit 2)
 * will never work: stop. Anything else (a member list or a
 * membership gone stale while this host planned, an address that is no
 * longer this host's) may be cured by planning again. A plan that gives
 * the same argv is not started again (refused_again): etcd would refuse
 * it the same way. A plan from the journal is this member's
 * identity and is kept (its checks belong to the journal's reader).
 * Every exit of a member also asks the peers whether they still list it
 * (agent/rejoin.c); status 0, a removed member's stop, is left to that
 * answer alone. */
static void
act_etcd_exited(struct boot *b)
{
	char how[96], why[192];

	boot_health_stop(b);
	if (etcd_refused_flags(&b->exit)) {
		log_error("%s (%s) refused the command line zooinit gave it: "
		    "it exited with status 2 (a usage error) at once, after "
		    "printing why (above); use an etcd release zooinit "
		    "supports (3.4 to 3.7)", b->plan.proxy ?
		    "etcd grpc-proxy" : "etcd", b->plan.etcd);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	if (replan_addr_gone(b, "etcd exited"))
		return;
	if (rejoin_on_exit(b) || !etcd_exited_at_once(&b->exit) ||
	    strcmp(b->plan.source, "journal") == 0)
		return;
	snprintf(why, sizeof(why), "etcd %s at once during its first start "
	    "with these flags", proc_status_str(b->exit.status, how,
	    sizeof(how)));
	remember_refused(b);
	boot_replan(b, why);
}

static void
act_etcd_lost(struct boot *b)
{
	log_warn("cluster unhealthy: etcd is not running");
	act_etcd_exited(b);
}

static void
act_healthy(struct boot *b)
{
	const struct etcd_check_result *r = &b->check;

	if (b->state != BS_UP && b->plan.learner && !b->running_proxy)
		log_info("learner healthy: catching up with the cluster");
	else if (b->state != BS_UP && b->running_proxy)
		log_info("proxy healthy: serving clients for the cluster "
		    "of %zu (%s)", b->plan.n, b->plan.initial_cluster);
	else if (b->state != BS_UP)
		log_info("cluster healthy: %zu members, leader %s",
		    r->members, r->leader_name[0] ? r->leader_name : "none");
	if (b->healthy_ms == 0)
		b->healthy_ms = loop_now_ms();
	discovery_done(b);
	cluster_up(b);
	if (!b->svcs_begun && b->c->n_services > 0)
		start_services(b);
	care_healthy(b, r);
	if (b->running_proxy && b->join == NULL)
		grow_extra_check(b);
	boot_health_next(b, true);
}

/* A DNS client whose proxy reaches no member may be pointing at members
 * the zone has replaced: it looks at the zone while it waits, too. */
static void
follow_unhealthy(struct boot *b)
{
	if (b->running_proxy && strcmp(b->plan.source, "dns") == 0)
		follow_check(b);
}

static void
act_waiting(struct boot *b)
{
	int64_t now = loop_now_ms();

	if (replan_addr_gone(b, "etcd is not healthy"))
		return;
	if (now - b->last_wait_log >= WAITING_LOG_MS) {
		log_info("waiting for etcd to become healthy: %s",
		    b->check.error);
		b->last_wait_log = now;
	}
	rejoin_on_unhealthy(b);
	follow_unhealthy(b);
	care_unhealthy(b);
	boot_health_next(b, false);
}

static void
act_lost_health(struct boot *b)
{
	if (replan_addr_gone(b, "etcd is not healthy"))
		return;
	log_warn("cluster unhealthy: %s", b->check.error);
	b->last_wait_log = loop_now_ms();
	rejoin_on_unhealthy(b);
	care_unhealthy(b);
	boot_health_next(b, false);
}

/* While stopping, the checks go on (etcd serves the services' stop) but
 * nothing new begins. */
static void
act_check_again(struct boot *b)
{
	boot_health_next(b, b->check.healthy);
}

/* An extra host joined the cluster while its grpc-proxy ran: the proxy
 * goes first, then etcd starts as a member. */
static void
act_switch(struct boot *b)
{
	log_info("stopping the grpc-proxy to start etcd as a member");
	boot_health_stop(b);
	sup_stop(b->sup);
}

static void
act_replan(struct boot *b)
{
	log_warn("planning again: %s", b->replan_why ? b->replan_why :
	    "asked to");
	boot_health_stop(b);
	if (etcd_runs(b))
		sup_stop(b->sup);	/* EV_ETCD_DONE follows */
	else
		boot_post(b, EV_ETCD_DONE);
}

/* The cluster removed this member (agent/rejoin.c said why): etcd stops,
 * then rejoin_keep_aside() moves its data dir aside and plans again. */
static void
act_removed(struct boot *b)
{
	boot_health_stop(b);
	if (etcd_runs(b))
		sup_stop(b->sup);	/* EV_ETCD_DONE follows */
	else
		boot_post(b, EV_ETCD_DONE);
}

/* etcd is stopped: ask the sources again, as a first start would, but
 * not the journal, which holds the plan that went stale. */
static void
act_resolve_again(struct boot *b)
{
	/* A journal's member whose address went away is still this host's
	 * member: its journal is read again, and the address moved. */
	bool moved = b->plan.source != NULL &&
	    strcmp(b->plan.source, "journal") == 0 && readdress_addr_gone(b);

	join_free(b->join);
	b->join = NULL;
	order_free(b->order);
	b->order = NULL;
	localdisc_free(b->localdisc);
	b->localdisc = NULL;
	/* These hold this host's old URLs; start_etcd makes them again. */
	care_free(b);
	grow_free(b);
	resolve_free(b);
	plan_free(&b->plan);
	memset(&b->plan, 0, sizeof(b->plan));
	b->rs.skip_journal = !moved;
	resolve_begin(b);
}

/* SIGTERM or SIGINT: the services go first, last one first; then etcd
 * and the seed; the machine ends once nothing runs. */
static void
act_stop(struct boot *b)
{
	int sig = b->stop_sig;
	bool first = b->state != BS_STOPPING;

	if (services_active(b->svcs)) {
		if (first)
			log_info("%s received: stopping the services, then etcd",
			    strsignal(sig));
		services_stop(b->svcs);
		return;
	}
	if (etcd_runs(b) || !seed_stopped(b->seed)) {
		if (first)
			log_info("%s received: stopping", strsignal(sig));
		b->exit_code = EXIT_OK;
		loop_cancel(b->x->loop, b->seed_timer);
		b->seed_timer = 0;
		/* Each stop ends the machine once nothing else runs. */
		if (b->sup != NULL) {
			boot_health_stop(b);
			sup_stop(b->sup);
		}
		if (!seed_stopped(b->seed))
			seed_stop(b->seed);
		return;
	}
	log_info("%s received before etcd started: exiting", strsignal(sig));
	boot_finish(b, EXIT_OK);
}

/* A stop while the restore tool runs: it is killed, what it wrote is
 * removed (the next start restores afresh), then the stop goes on. */
static void
act_stop_restoring(struct boot *b)
{
	if (restore_running(b))
		log_info("%s received: stopping the restore of %s",
		    strsignal(b->stop_sig), b->plan.restore_from);
	restore_free(b);
	act_stop(b);
}

static void
act_seed_stopped(struct boot *b)
{
	(void)b;
	log_info("the seed discovery etcd has stopped");
}

/* Stopping: etcd or the seed is done; the machine ends with the other. */
static void
act_part_stopped(struct boot *b)
{
	if (!etcd_runs(b) && seed_stopped(b->seed))
		boot_finish(b, b->exit_code);
}

static void
act_seed_stopped_stopping(struct boot *b)
{
	act_seed_stopped(b);
	act_part_stopped(b);
}

/* ---- the table -------------------------------------------------------- */

typedef void (*boot_action)(struct boot *b);

struct boot_step {
	boot_action act;	/* NULL: the event changes nothing here */
	enum boot_state next;
};

#define FINISH [EV_FINISH] = { act_finish, BS_DONE }
#define STOP [EV_STOP] = { act_stop, BS_STOPPING }
#define STAY(ev, act, st) [ev] = { act, st }
#define REPLAN [EV_REPLAN] = { act_replan, BS_REPLANNING }

/* [state][event] -> { action, next state }. An action that fails posts
 * EV_FINISH, which every state but BS_DONE takes. */
static const struct boot_step table[BS_NSTATES][BS_NEVENTS] = {
	[BS_IDLE] = {
		[EV_BEGIN] = { resolve_begin, BS_RESOLVING },
		FINISH,
	},
	[BS_RESOLVING] = {
		[EV_PLANNED] = { act_planned, BS_SETTLING },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_RESOLVING),
		FINISH, STOP,
	},
	[BS_SETTLING] = {
		[EV_SETTLED] = { act_settled, BS_RESTORING },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_SETTLING),
		FINISH, STOP,
	},
	[BS_RESTORING] = {
		[EV_RESTORED] = { act_restored, BS_STARTING },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_RESTORING),
		[EV_STOP] = { act_stop_restoring, BS_STOPPING },
		FINISH,
	},
	[BS_STARTING] = {
		[EV_ETCD_UP] = { act_etcd_up, BS_STARTING },
		[EV_ETCD_EXITED] = { act_etcd_exited, BS_STARTING },
		[EV_HEALTHY] = { act_healthy, BS_UP },
		[EV_UNHEALTHY] = { act_waiting, BS_STARTING },
		[EV_PROMOTED] = { act_nothing, BS_STARTING },
		[EV_SETTLED] = { act_switch, BS_SWITCHING },
		[EV_REMOVED] = { act_removed, BS_REMOVED },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_STARTING),
		STAY(EV_SERVICES_DONE, act_nothing, BS_STARTING),
		REPLAN, FINISH, STOP,
	},
	[BS_UP] = {
		[EV_ETCD_EXITED] = { act_etcd_lost, BS_STARTING },
		[EV_HEALTHY] = { act_healthy, BS_UP },
		[EV_UNHEALTHY] = { act_lost_health, BS_STARTING },
		/* Say so again with the full check. */
		[EV_PROMOTED] = { act_nothing, BS_STARTING },
		[EV_SETTLED] = { act_switch, BS_SWITCHING },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_UP),
		STAY(EV_SERVICES_DONE, act_nothing, BS_UP),
		REPLAN, FINISH, STOP,
	},
	[BS_SWITCHING] = {
		[EV_ETCD_DONE] = { act_settled, BS_RESTORING },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_SWITCHING),
		STAY(EV_SERVICES_DONE, act_nothing, BS_SWITCHING),
		FINISH, STOP,
	},
	[BS_REPLANNING] = {
		[EV_ETCD_DONE] = { act_resolve_again, BS_RESOLVING },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_REPLANNING),
		STAY(EV_SERVICES_DONE, act_nothing, BS_REPLANNING),
		FINISH, STOP,
	},
	[BS_STOPPING] = {
		[EV_SERVICES_DONE] = { act_stop, BS_STOPPING },
		[EV_ETCD_DONE] = { act_part_stopped, BS_STOPPING },
		[EV_SEED_STOPPED] = { act_seed_stopped_stopping, BS_STOPPING },
		[EV_ETCD_UP] = { act_etcd_up, BS_STOPPING },
		[EV_ETCD_EXITED] = { act_etcd_exited, BS_STOPPING },
		[EV_HEALTHY] = { act_check_again, BS_STOPPING },
		[EV_UNHEALTHY] = { act_check_again, BS_STOPPING },
		FINISH, STOP,
	},
	[BS_REMOVED] = {
		[EV_ETCD_DONE] = { rejoin_keep_aside, BS_REMOVED },
		STAY(EV_SEED_STOPPED, act_seed_stopped, BS_REMOVED),
		STAY(EV_SERVICES_DONE, act_nothing, BS_REMOVED),
		REPLAN, FINISH, STOP,
	},
	[BS_DONE] = { { 0 } },
};

static const char *const state_names[BS_NSTATES] = {
	"idle", "resolving", "settling", "restoring", "starting", "up",
	"switching", "replanning", "stopping", "removed", "done",
};

static const char *const event_names[BS_NEVENTS] = {
	"begin", "planned", "settled", "finish", "etcd up", "etcd exited",
	"etcd done", "healthy", "unhealthy", "promoted", "replan", "stop",
	"services done", "seed stopped", "removed", "restored",
};

/* Runs the queue: each event's action, then its next state. Events that
 * actions (or the callbacks they cause) post wait for their turn, so an
 * action always sees the state it was written for. */
void
boot_post(struct boot *b, enum boot_event ev)
{
	size_t cap = sizeof(b->queue) / sizeof(*b->queue);

	if (b->q_len == cap) {
		log_error("internal: the bootstrap event queue is full");
		abort();
	}
	b->queue[(b->q_head + b->q_len++) % cap] = ev;
	if (b->dispatching)
		return;
	b->dispatching = true;
	while (b->q_len > 0) {
		enum boot_event e = b->queue[b->q_head];
		const struct boot_step *st = &table[b->state][e];

		b->q_head = (b->q_head + 1) % cap;
		b->q_len--;
		if (st->act == NULL)
			continue;
		st->act(b);
		if (st->next != b->state)
			log_debug("bootstrap: %s -> %s (%s)",
			    state_names[b->state], state_names[st->next],
			    event_names[e]);
		b->state = st->next;
	}
	b->dispatching = false;
}

void
boot_finish(struct boot *b, int code)
{
	b->exit_code = code;
	boot_post(b, EV_FINISH);
}

/* ---- the command's hooks ---------------------------------------------- */

static void
on_stop(void *arg, int sig)
{
	struct boot *b = arg;

	b->stop_sig = sig;
	boot_post(b, EV_STOP);
}

/* SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 belong to etcd. */
static void
on_other(void *arg, int sig)
{
	struct boot *b = arg;

	if (b->sup != NULL)
		sup_signal(b->sup, sig);
}

static bool
on_reaped(void *arg, pid_t pid, int status)
{
	struct boot *b = arg;

	return (b->sup != NULL && sup_reaped(b->sup, pid, status)) ||
	    restore_reaped(b, pid, status) ||
	    seed_reaped(b->seed, pid, status) ||
	    services_reaped(b->svcs, pid, status);
}

struct boot *
boot_new(struct actx *x, bool plan_only)
{
	struct boot *b = xmalloc(sizeof(*b));

	*b = (struct boot){ .x = x, .c = x->c, .plan_only = plan_only,
	    .started_ms = loop_now_ms(), .start_unix = (int64_t)time(NULL) };
	x->stop = on_stop;
	x->other = on_other;
	x->reaped = on_reaped;
	x->arg = b;
	return b;
}

void
boot_start(struct boot *b)
{
	boot_post(b, EV_BEGIN);
}

void
boot_replan(struct boot *b, const char *why)
{
	free(b->replan_why);
	b->replan_why = xstrdup(why);
	boot_post(b, EV_REPLAN);
}

void
boot_free(struct boot *b)
{
	/* Leaving for another reason than a stop: take etcd along. */
	b->state = BS_DONE;
	if (etcd_runs(b)) {
		pid_t pid = sup_pid(b->sup);
		sup_stop(b->sup);
		sup_stop(b->sup);
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
	}
	if (b->seed != NULL && !seed_stopped(b->seed)) {
		seed_stop(b->seed);
		seed_stop(b->seed);
	}
	restore_free(b);
	services_free(b->svcs);
	b->svcs = NULL;
	hook_cancel_all();
	actx_reap(b->x);
	boot_health_stop(b);
	resolve_free(b);
	join_free(b->join);
	order_free(b->order);
	localdisc_free(b->localdisc);
	care_free(b);
	grow_free(b);
	rejoin_free(b);
	loop_cancel(b->x->loop, b->seed_timer);
	seed_free(b->seed);
	sup_free(b->sup);
	certs_free(b->certs);
	plan_free(&b->plan);
	free(b->replan_why);
	strv_free(b->refused_argv);
	b->x->reaped = NULL;
	free(b);
}
