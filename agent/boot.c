#include "agent/fmacros.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/boot.h"
#include "agent/exitcode.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/plan.h"
#include "agent/proc.h"
#include "agent/sup.h"
#include "agent/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "resolver/dns.h"
#include "resolver/localaddr.h"

#define DNS_QUERY_TIMEOUT_MS 2000
#define DNS_QUERY_TRIES 2
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 8000
#define CONFIRM_MS 1000		/* size 0: the second look at the zone */
#define HEALTH_TIMEOUT_MS 3000
#define STARTING_CHECK_MS 1000	/* health checks while not yet healthy */
#define WAITING_LOG_MS 10000	/* how often to say we still wait */

struct agent {
	const struct cfg *c;
	struct loop *loop;
	int sigfd;
	bool plan_only;
	int exit_code;

	/* Planning. */
	struct dns_resolver *dns;
	struct local_addrs self;
	int64_t deadline;
	int retry_ms;
	uint64_t retry_timer;
	char *candidate;	/* size 0: the member set seen last time */
	bool existing_data;	/* the data dir holds a member already */
	struct plan plan;
	bool planned;

	/* Running. */
	struct etcd_http *http;
	struct sup *sup;
	uint64_t health_timer;
	uint64_t check_id;
	bool healthy;
	int64_t last_wait_log;
	bool stop_requested;
};

static void finish(struct agent *a, int code);
static void lookup(struct agent *a);
static void schedule_health(struct agent *a, int ms);

/* ---- planning -------------------------------------------------------- */

static bool
data_dir_has_member(const char *dir)
{
	char *p = xasprintf("%s/member", dir);
	struct stat st;
	bool yes = stat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	return yes;
}

/* Makes the data dir (and its parents) and keeps it private: etcd 3.4
 * refuses a data dir that others can read. */
static int
make_data_dir(const char *dir)
{
	char *p = xstrdup(dir);
	struct stat st;

	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			log_error("cannot create %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
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

static void start_etcd(struct agent *a);

/* The plan is settled: check the binary, then print it or act on it. */
static void
planned(struct agent *a)
{
	char err[512];
	char *path;

	a->planned = true;
	path = proc_find_binary(a->plan.etcd, err, sizeof(err));
	if (path == NULL) {
		log_error("%s", err);
		finish(a, EXIT_NOTFOUND);
		return;
	}
	free(a->plan.etcd);
	a->plan.etcd = path;
	plan_build_argv(&a->plan);
	log_set_name(a->plan.m[a->plan.self].name);

	if (a->plan_only) {
		if (a->c->json) {
			char *s = plan_json(&a->plan);
			printf("%s\n", s);
			free(s);
		} else {
			plan_print(&a->plan, stdout);
		}
		fflush(stdout);
		finish(a, EXIT_OK);
		return;
	}
	start_etcd(a);
}

static void
on_retry(struct loop *l, void *arg)
{
	struct agent *a = arg;

	(void)l;
	a->retry_timer = 0;
	lookup(a);
}

static void
retry_in(struct agent *a, int ms)
{
	a->retry_timer = loop_timer(a->loop, ms, on_retry, a);
}

static void
on_dns(void *arg, struct dns_result *r)
{
	struct agent *a = arg;
	char msg[1024];
	enum plan_result res;
	int64_t now = loop_now_ms();

	res = plan_from_dns(a->c, r, &a->self, &a->plan, msg, sizeof(msg));
	dns_result_free(r);
	free(r);

	if (res == PLAN_FAIL) {
		log_error("%s", msg);
		finish(a, EXIT_PERMANENT);
		return;
	}
	if (res == PLAN_OK && a->c->size == 0) {
		/* With no expected size, a zone caught half-published would
		 * give a smaller cluster: take the set only once two lookups
		 * agree on it. */
		bool same = a->candidate != NULL &&
		    strcmp(a->candidate, a->plan.initial_cluster) == 0;
		if (!same) {
			free(a->candidate);
			a->candidate = xstrdup(a->plan.initial_cluster);
			log_info("DNS publishes %zu members (%s); looking again to "
			    "confirm", a->plan.n, a->plan.initial_cluster);
			plan_free(&a->plan);
			retry_in(a, CONFIRM_MS);
			return;
		}
	}
	if (res == PLAN_OK) {
		log_info("plan: %s", msg);
		if (a->existing_data)
			plan_set_existing(&a->plan, "the data dir holds a member "
			    "(member/) but no zooinit journal; etcd restarts it "
			    "from its own data");
		planned(a);
		return;
	}
	/* PLAN_WAIT */
	if (now + a->retry_ms > a->deadline) {
		if (a->plan.need > 0)
			log_error("only %zu of %zu peers resolved within %d s: %s",
			    a->plan.resolved, a->plan.need,
			    a->c->resolve_timeout, msg);
		else
			log_error("gave up after %d s: %s", a->c->resolve_timeout,
			    msg);
		finish(a, EXIT_TEMPORARY);
		return;
	}
	if (a->plan.need > 0)
		log_info("peers %s; waiting %d s", msg, a->retry_ms / 1000);
	else
		log_info("%s; waiting %d s", msg, a->retry_ms / 1000);
	retry_in(a, a->retry_ms);
	a->retry_ms = a->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    a->retry_ms * 2;
}

static void
lookup(struct agent *a)
{
	if (dns_lookup(a->dns, a->c->domain, on_dns, a) < 0) {
		log_error("internal: a DNS lookup is already running");
		finish(a, EXIT_INTERNAL);
	}
}

/* Starts planning: from the journal when this host bootstrapped before
 * (so a restart needs no DNS), else from DNS. */
static int
begin(struct agent *a)
{
	char err[512];
	int rc;

	rc = plan_journal_read(a->c, &a->plan, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return EXIT_PERMANENT;
	}
	if (rc == 0) {
		log_info("journal found: restarting member %s",
		    a->plan.m[a->plan.self].name);
		planned(a);
		return -1;
	}
	a->existing_data = data_dir_has_member(a->c->data_dir);
	if (a->c->domain == NULL) {
		log_error("no domain set: give --domain (or ZOOINIT_DOMAIN, or "
		    "domain in the config file) to find the peers' SRV records");
		return EXIT_USAGE;
	}
	if (local_addrs_get(a->c, &a->self, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_PERMANENT;
	}
	a->dns = dns_resolver_new(a->loop, a->c->dns_servers,
	    a->c->n_dns_servers, DNS_QUERY_TIMEOUT_MS, DNS_QUERY_TRIES, err,
	    sizeof(err));
	if (a->dns == NULL) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	a->deadline = loop_now_ms() + (int64_t)a->c->resolve_timeout * 1000;
	a->retry_ms = RETRY_MIN_MS;
	log_info("looking up SRV records of %s", a->c->domain);
	lookup(a);
	return -1;
}

/* ---- running --------------------------------------------------------- */

static void
on_check(void *arg, const struct etcd_check_result *r)
{
	struct agent *a = arg;
	int64_t now = loop_now_ms();

	a->check_id = 0;
	if (r->healthy) {
		if (!a->healthy)
			log_info("cluster healthy: %zu members, leader %s",
			    r->members, r->leader_name[0] ? r->leader_name : "none");
		a->healthy = true;
		schedule_health(a, a->c->health_interval * 1000);
		return;
	}
	if (a->healthy) {
		log_warn("cluster unhealthy: %s", r->error);
		a->last_wait_log = now;
	} else if (now - a->last_wait_log >= WAITING_LOG_MS) {
		log_info("waiting for etcd to become healthy: %s", r->error);
		a->last_wait_log = now;
	}
	a->healthy = false;
	schedule_health(a, a->c->health_interval * 1000 < STARTING_CHECK_MS ?
	    a->c->health_interval * 1000 : STARTING_CHECK_MS);
}

static void
on_health_timer(struct loop *l, void *arg)
{
	struct agent *a = arg;

	(void)l;
	a->health_timer = 0;
	if (sup_state(a->sup) != SUP_RUNNING)
		return;
	a->check_id = etcd_check(a->http, a->plan.m[a->plan.self].client_url,
	    HEALTH_TIMEOUT_MS, on_check, a);
}

static void
schedule_health(struct agent *a, int ms)
{
	loop_cancel(a->loop, a->health_timer);
	a->health_timer = loop_timer(a->loop, ms, on_health_timer, a);
}

static void
stop_health(struct agent *a)
{
	loop_cancel(a->loop, a->health_timer);
	a->health_timer = 0;
	if (a->check_id != 0)
		etcd_check_cancel(a->http, a->check_id);
	a->check_id = 0;
}

static void
on_sup(void *arg, struct sup *s, enum sup_state from, enum sup_state to,
    int status)
{
	struct agent *a = arg;

	(void)s;
	(void)from;
	(void)status;
	switch (to) {
	case SUP_RUNNING:
		a->last_wait_log = loop_now_ms();
		schedule_health(a, STARTING_CHECK_MS);
		break;
	case SUP_BACKOFF:
	case SUP_STOPPING:
		stop_health(a);
		if (a->healthy && to == SUP_BACKOFF)
			log_warn("cluster unhealthy: etcd is not running");
		a->healthy = false;
		break;
	case SUP_DONE:
		stop_health(a);
		finish(a, a->exit_code);
		break;
	default:
		break;
	}
}

static void
start_etcd(struct agent *a)
{
	struct plan *p = &a->plan;
	char err[512];
	struct sup_opts o = {
		.label = "etcd",
		.stop_timeout_ms = a->c->stop_timeout * 1000,
		.backoff_min_ms = 1000,
		.backoff_max_ms = 30000,
		.stable_ms = 60000,
	};

	if (make_data_dir(p->data_dir) < 0) {
		finish(a, EXIT_PERMANENT);
		return;
	}
	if (strcmp(p->source, "journal") != 0 &&
	    plan_journal_write(p, p->data_dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		finish(a, EXIT_PERMANENT);
		return;
	}
	log_info("starting etcd as %s: %s cluster of %zu (%s), token %s",
	    p->m[p->self].name, p->state, p->n, p->initial_cluster, p->token);
	a->http = etcd_http_new(a->loop);
	a->sup = sup_new(a->loop, &o, p->argv, on_sup, a);
	if (sup_start(a->sup) < 0)
		finish(a, errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

/* ---- signals and children -------------------------------------------- */

static void
reap(struct agent *a)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			break;
		if (a->sup != NULL && sup_reaped(a->sup, pid, status))
			continue;
		log_debug("reaped orphan pid %d", (int)pid);
	}
}

static void
request_stop(struct agent *a, int sig)
{
	if (a->sup != NULL && sup_state(a->sup) != SUP_IDLE) {
		if (!a->stop_requested)
			log_info("%s received: stopping", strsignal(sig));
		a->stop_requested = true;
		a->exit_code = EXIT_OK;
		sup_stop(a->sup);
		return;
	}
	log_info("%s received before etcd started: exiting", strsignal(sig));
	finish(a, EXIT_OK);
}

static void
on_signal(struct loop *l, int fd, int events, void *arg)
{
	struct agent *a = arg;
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		switch (sig) {
		case SIGCHLD:
			reap(a);
			break;
		case SIGTERM:
		case SIGINT:
			request_stop(a, sig);
			break;
		default:
			/* SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 belong to etcd. */
			if (a->sup != NULL)
				sup_signal(a->sup, sig);
			break;
		}
	}
}

static void
finish(struct agent *a, int code)
{
	a->exit_code = code;
	loop_stop(a->loop, code);
}

static int
run(const struct cfg *c, bool plan_only)
{
	struct agent a = { .c = c, .plan_only = plan_only, .sigfd = -1 };
	char err[256];
	int code;

	log_set_level(c->log_level);
	a.sigfd = proc_signals_init(err, sizeof(err));
	if (a.sigfd < 0) {
		log_error("%s", err);
		return EXIT_INTERNAL;
	}
	/* Signals are blocked first so that any thread libcurl starts (its
	 * threaded resolver) inherits the mask and never takes them. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!plan_only)
		proc_become_subreaper();
	a.loop = loop_new();
	loop_watch(a.loop, a.sigfd, LOOP_READ, on_signal, &a);
	code = begin(&a);
	if (code < 0) {
		loop_run(a.loop);
		code = a.exit_code;
	}
	if (a.sup != NULL && sup_state(a.sup) != SUP_DONE &&
	    sup_state(a.sup) != SUP_IDLE) {
		/* Leaving for another reason than a stop: take etcd along. */
		pid_t pid = sup_pid(a.sup);
		sup_stop(a.sup);
		sup_stop(a.sup);
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
	}
	reap(&a);
	stop_health(&a);
	sup_free(a.sup);
	etcd_http_free(a.http);
	dns_resolver_free(a.dns);
	local_addrs_free(&a.self);
	plan_free(&a.plan);
	free(a.candidate);
	loop_cancel(a.loop, a.retry_timer);
	loop_free(a.loop);
	close(a.sigfd);
	curl_global_cleanup();
	return code;
}

int
boot_plan(const struct cfg *c)
{
	return run(c, true);
}

int
boot_run(const struct cfg *c)
{
	return run(c, false);
}
