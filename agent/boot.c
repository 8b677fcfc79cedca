#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/boot.h"
#include "lib/exitcode.h"
#include "services/hooks.h"
#include "agent/join.h"
#include "agent/upkeep.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "agent/plan.h"
#include "lib/proc.h"
#include "agent/seed.h"
#include "services/services.h"
#include "lib/sup.h"
#include "agent/token.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/kv.h"
#include "etcd/v2.h"
#include "resolver/dns.h"
#include "resolver/dnsname.h"
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
	enum mode { MODE_BOOT, MODE_PLAN, MODE_SERVE, MODE_NEW,
	    MODE_CLUSTER } mode;
	bool plan_only;
	int exit_code;
	char *new_token;	/* discovery new/serve: the token made */
	uint64_t new_req;	/* discovery new: the PUT in flight */

	/* Planning. */
	struct dns_resolver *dns;
	struct local_addrs self;
	int64_t deadline;
	int retry_ms;
	uint64_t retry_timer;
	char *candidate;	/* size 0: the member set seen last time */
	bool existing_data;	/* the data dir holds a member already */
	const char *const *sources; /* the order to try them in */
	size_t n_sources, src;	/* src: the one being tried */
	char **skipped;		/* why earlier sources were passed over */
	size_t n_skipped;
	struct plan plan;
	bool planned;

	/* Token discovery and the seed. */
	struct tok *tok;
	char *my_name, *my_addr;	/* this host, for the token */
	bool seed_owner;		/* this host owns the discovery address */
	int seed_port;			/* the discovery URL's port */
	struct seed *seed;
	uint64_t seed_timer;		/* seed_grace after the cluster is up */
	uint64_t reuse_req;		/* token reuse check in flight */
	struct join *join;		/* the new-or-existing probe */
	struct upkeep *upkeep;		/* the leader's membership upkeep */
	size_t target;			/* an extra's idea of the cluster size */
	uint64_t extra_req;		/* an extra's member list request */
	size_t extra_next;		/* the member an extra asks next */
	struct etcd_kv *kv;		/* an extra's lock, to replace a member */
	uint64_t kv_req;
	bool switching;			/* proxy stopping to become a member */
	bool running_proxy;		/* the supervised process is grpc-proxy */
	uint64_t promote_req;		/* a learner's promotion request */
	size_t promote_next;		/* the member to ask next */
	size_t reuse_next;		/* next member to ask */

	/* Running. */
	struct etcd_http *http;
	struct sup *sup;
	uint64_t health_timer;
	uint64_t check_id;
	uint64_t proxy_req;	/* an extra's /health check in flight */
	bool healthy;
	int64_t last_wait_log;
	bool stop_requested;

	/* The services that depend on the cluster (config: services). */
	struct services *svcs;
	bool svcs_begun;
	int stop_sig;		/* the signal a stop waits on services for */
};

static void finish(struct agent *a, int code);
static void lookup(struct agent *a);
static bool later_source(const struct agent *a);
static void skip_source(struct agent *a, const char *why);
static void schedule_health(struct agent *a, int ms);
static void try_promote(struct agent *a);
static void extra_check(struct agent *a);
static void start_services(struct agent *a);

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
static void settled(struct agent *a);
static void on_switch(struct loop *l, void *arg);
static void on_join(void *arg, struct join_result *r);

/* The plan is settled: check the binary, then print it or act on it. */
static void
planned(struct agent *a)
{
	char err[512];
	char *path;

	a->planned = true;
	if (plan_check_tls(&a->plan, a->c, err, sizeof(err)) != PLAN_OK) {
		log_error("%s", err);
		finish(a, EXIT_PERMANENT);
		return;
	}
	path = proc_find_binary(a->plan.etcd, err, sizeof(err));
	if (path == NULL) {
		log_error("%s", err);
		finish(a, EXIT_NOTFOUND);
		return;
	}
	free(a->plan.etcd);
	a->plan.etcd = path;
	log_set_name(plan_me(&a->plan)->name);
	/* A new member first asks its peers whether a cluster already runs:
	 * then it joins that one instead of bootstrapping another. */
	if (strcmp(a->plan.state, "new") == 0 && !a->plan.proxy) {
		a->join = join_start(a->loop, a->http, &a->plan, a->plan_only,
		    strcmp(a->plan.source, "token") != 0, on_join, a);
		return;
	}
	settled(a);
}

static void
on_join(void *arg, struct join_result *r)
{
	struct agent *a = arg;
	struct plan *p = &a->plan;

	switch (r->decision) {
	case JOIN_FAIL:
		log_error("%s", r->reason);
		finish(a, r->exit_code);
		break;
	case JOIN_NEW:
		if (r->cluster_id != 0)
			log_info("%s", r->reason);
		free(p->state_reason);
		p->state_reason = xstrdup(r->reason);
		settled(a);
		break;
	case JOIN_LEARNER:
		log_info("%s", r->reason);
		plan_set_existing(p, r->reason);
		if (r->initial_cluster != NULL) {
			free(p->initial_cluster);
			p->initial_cluster = xstrdup(r->initial_cluster);
		}
		p->learner = true;
		p->member_id = r->member_id;
		if (a->sup != NULL) {
			/* An extra becoming a member: the proxy goes first. */
			log_info("stopping the grpc-proxy to start etcd as a member");
			a->switching = true;
			sup_stop(a->sup);
			break;
		}
		settled(a);
		break;
	}
	join_result_free(r);
}

/* The plan is final: print it, or start etcd with it. */
static void
settled(struct agent *a)
{
	plan_build_argv(&a->plan);
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

	bool empty = r->n == 0;
	for (int i = 0; i < DNS_SRV_N; i++)
		empty = empty || r->status[i] == DNS_FAILED;
	res = plan_from_dns(a->c, r, &a->self, &a->plan, msg, sizeof(msg));
	dns_result_free(r);
	free(r);
	/* No records at all (or a failed lookup) passes on to the next source
	 * if one is configured; a zone that has some members is waited for. */
	if (res == PLAN_WAIT && empty && later_source(a)) {
		skip_source(a, msg);
		return;
	}

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
		for (size_t i = 0; i < a->n_skipped; i++)
			plan_add_skipped(&a->plan, a->skipped[i]);
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

static const char *const default_sources[] = { "dns", "token", "static" };

/* Why a source cannot be tried at all, or NULL when it is configured. */
static const char *
unconfigured(const struct cfg *c, const char *src)
{
	if (strcmp(src, "dns") == 0)
		return c->domain ? NULL : "no domain set";
	if (strcmp(src, "token") == 0)
		return c->discovery || c->discovery_endpoints ? NULL :
		    "no discovery URL set";
	return c->initial_cluster ? NULL : "no initial_cluster set";
}

static bool
later_source(const struct agent *a)
{
	for (size_t i = a->src + 1; i < a->n_sources; i++)
		if (unconfigured(a->c, a->sources[i]) == NULL)
			return true;
	return false;
}

static void next_source(struct agent *a);
static void start_token(struct agent *a);

/* Passes over the current source, saying why, and tries the next. */
static void
skip_source(struct agent *a, const char *why)
{
	char *line = xasprintf("%s: %s", a->sources[a->src], why);

	log_info("skipping %s", line);
	a->skipped = xreallocarray(a->skipped, a->n_skipped + 1,
	    sizeof(*a->skipped));
	a->skipped[a->n_skipped++] = line;
	a->src++;
	next_source(a);
}

static void
start_dns(struct agent *a)
{
	char err[512];

	if (a->dns == NULL) {
		a->dns = dns_resolver_new(a->loop, a->c->dns_servers,
		    a->c->n_dns_servers, DNS_QUERY_TIMEOUT_MS, DNS_QUERY_TRIES,
		    err, sizeof(err));
		if (a->dns == NULL) {
			log_error("%s", err);
			finish(a, EXIT_USAGE);
			return;
		}
	}
	a->retry_ms = RETRY_MIN_MS;
	log_info("looking up SRV records of %s", a->c->domain);
	lookup(a);
}

static void
start_static(struct agent *a)
{
	char msg[1024];

	if (plan_from_static(a->c, &a->self, &a->plan, msg, sizeof(msg)) !=
	    PLAN_OK) {
		log_error("%s", msg);
		finish(a, EXIT_PERMANENT);
		return;
	}
	log_info("plan: %s", msg);
	for (size_t i = 0; i < a->n_skipped; i++)
		plan_add_skipped(&a->plan, a->skipped[i]);
	if (a->existing_data)
		plan_set_existing(&a->plan, "the data dir holds a member "
		    "(member/) but no zooinit journal; etcd restarts it from its "
		    "own data");
	planned(a);
}

/* ---- token discovery ------------------------------------------------- */

/* This host's addresses, found the way c says (resolver/ knows no
 * struct cfg). */
static int
self_addrs(const struct cfg *c, struct local_addrs *a, char *err,
    size_t errlen)
{
	const struct local_addr_opts o = { .ip = c->ip,
	    .interface = c->interface, .netmask = c->netmask, .hint = c->hint };

	return local_addrs_get(&o, a, err, errlen);
}

/* The token, for messages and the derived cluster token. */
static const char *
token_label(const struct cfg *c)
{
	return c->discovery ? tok_name(c->discovery) : c->discovery_token;
}

/* This host's address for the token: the one configured address, else the
 * address this host would use to reach the discovery service (a UDP
 * connect sends nothing), else its only non-loopback address. */
static int
token_addr(struct agent *a, const char *disc_addr, char *out, size_t outlen,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char cand[64] = "";
	size_t n = 0;

	if (a->self.n == 1) {
		snprintf(out, outlen, "%s", a->self.v[0]);
		return 0;
	}
	if (disc_addr != NULL) {
		struct addrinfo hints = { .ai_flags = AI_NUMERICHOST,
		    .ai_socktype = SOCK_DGRAM }, *ai = NULL;
		if (getaddrinfo(disc_addr, "9", &hints, &ai) == 0) {
			int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
				char host[64];
				if (getnameinfo((struct sockaddr *)&ss, len, host,
				    sizeof(host), NULL, 0, NI_NUMERICHOST) == 0 &&
				    addr_normalise(host, out, outlen) == 0 &&
				    strncmp(out, "127.", 4) != 0 &&
				    strcmp(out, "::1") != 0) {
					close(fd);
					freeaddrinfo(ai);
					return 0;
				}
			}
			if (fd >= 0)
				close(fd);
			freeaddrinfo(ai);
		}
	}
	for (size_t i = 0; i < a->self.n; i++) {
		const char *v = a->self.v[i];
		if (strncmp(v, "127.", 4) == 0 || strcmp(v, "::1") == 0 ||
		    strncmp(v, "fe80:", 5) == 0)
			continue;
		snprintf(cand, sizeof(cand), "%s", v);
		n++;
	}
	if (n == 1) {
		snprintf(out, outlen, "%s", cand);
		return 0;
	}
	snprintf(err, errlen, "token discovery needs this host's address, and "
	    "%s; set --ip, --interface or --netmask with --hint", n == 0 ?
	    "it has none but loopback" : "it has several");
	return -1;
}

/* The member name for the token: name, else the short host name. */
static char *
token_member_name(const struct cfg *c, char *err, size_t errlen)
{
	char host[256];

	if (c->name != NULL)
		return xstrdup(c->name);
	if (gethostname(host, sizeof(host)) < 0) {
		snprintf(err, errlen, "cannot read the host name: %s; set --name",
		    strerror(errno));
		return NULL;
	}
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	if (!dns_member_name_valid(host, false) || strcmp(host, "localhost") == 0) {
		snprintf(err, errlen, "the host name \"%.64s\" cannot be a member "
		    "name; set --name", host);
		return NULL;
	}
	return xstrdup(host);
}

static void
on_seed(void *arg, enum seed_event ev, const char *msg)
{
	struct agent *a = arg;

	switch (ev) {
	case SEED_READY:
		break;
	case SEED_FAILED:
		log_error("%s", msg);
		finish(a, EXIT_PERMANENT);
		break;
	case SEED_STOPPED:
		log_info("the seed discovery etcd has stopped");
		if (a->stop_requested && (a->sup == NULL ||
		    sup_state(a->sup) == SUP_DONE || sup_state(a->sup) == SUP_IDLE))
			finish(a, a->exit_code);
		break;
	}
}

/* Nobody answers at the discovery address: if it is this host's, start
 * the seed there (the original tool's behaviour). */
static void
on_tok_unreachable(void *arg, const char *why)
{
	struct agent *a = arg;
	char err[512], *etcd;
	struct seed_opts o;

	(void)why;
	if (!a->seed_owner || a->seed != NULL || a->plan_only)
		return;
	if (a->c->size == 0) {
		log_error("this host owns the discovery address %s but size is "
		    "0; the seed needs size to create the token", a->my_addr);
		finish(a, EXIT_USAGE);
		return;
	}
	etcd = proc_find_binary(a->c->etcd, err, sizeof(err));
	if (etcd == NULL) {
		log_error("%s", err);
		finish(a, EXIT_NOTFOUND);
		return;
	}
	o = (struct seed_opts){
		.etcd = etcd, .addr = a->my_addr, .client_port = a->seed_port,
		.peer_port = a->c->seed_peer_port, .data_dir = a->c->seed_data_dir,
		.token = token_label(a->c), .size = a->c->size,
		.stop_timeout_ms = a->c->stop_timeout * 1000,
	};
	log_info("no discovery service answers at %s, which is this host's "
	    "address: starting the seed", a->c->discovery);
	a->seed = seed_start(a->loop, a->http, &o, on_seed, a, err, sizeof(err));
	free(etcd);
	if (a->seed == NULL) {
		log_error("%s", err);
		finish(a, EXIT_NOEXEC);
		return;
	}
	tok_size_may_appear(a->tok);
}

static void
token_planned(struct agent *a)
{
	for (size_t i = 0; i < a->n_skipped; i++)
		plan_add_skipped(&a->plan, a->skipped[i]);
	if (a->existing_data && !a->plan.proxy)
		plan_set_existing(&a->plan, "the data dir holds a member "
		    "(member/) but no zooinit journal; etcd restarts it from its "
		    "own data");
	planned(a);
}

static void reuse_ask(struct agent *a);

/* A member list from one of the others: did this host's member start
 * there before (it published client URLs)? Then the token belongs to a
 * cluster whose data this host no longer has. */
static void
on_reuse_reply(void *arg, const struct etcd_http_result *r)
{
	struct agent *a = arg;
	const struct plan_member *me = plan_me(&a->plan);
	struct etcd_members ms;
	char err[256];

	a->reuse_req = 0;
	if (r->status != 200 ||
	    etcd_parse_members(r->body, r->len, &ms, err, sizeof(err)) < 0) {
		reuse_ask(a);
		return;
	}
	for (size_t i = 0; i < ms.n; i++) {
		for (size_t j = 0; j < ms.v[i].n_peer_urls; j++) {
			if (strcmp(ms.v[i].peer_urls[j], me->peer_url) != 0 ||
			    ms.v[i].n_client_urls == 0)
				continue;
			log_error("token %s was used to bootstrap cluster %016llx, "
			    "where member %s already started, but %s holds none of "
			    "its data; create a new token (zooinit discovery new)",
			    token_label(a->c),
			    (unsigned long long)ms.cluster_id, me->name,
			    a->c->data_dir);
			etcd_members_free(&ms);
			finish(a, EXIT_PERMANENT);
			return;
		}
	}
	etcd_members_free(&ms);
	token_planned(a);
}

static void
reuse_ask(struct agent *a)
{
	struct plan *p = &a->plan;

	while (a->reuse_next < p->n && p->m[a->reuse_next].self)
		a->reuse_next++;
	if (a->reuse_next >= p->n) {
		/* Nobody answers: no cluster runs yet, so none can hold us. */
		token_planned(a);
		return;
	}
	char *url = xasprintf("%s/v3/cluster/member/list",
	    p->m[a->reuse_next++].client_url);
	a->reuse_req = etcd_http_post_json(a->http, url, "{}", HEALTH_TIMEOUT_MS,
	    on_reuse_reply, a);
	free(url);
}

static void
on_tok_done(void *arg, struct tok_result *r)
{
	struct agent *a = arg;
	char msg[1024];
	char *token = xasprintf("zooinit-etcd-%s", token_label(a->c));
	char *detail = a->c->discovery ? xstrdup(a->c->discovery) :
	    xasprintf("token %s at %s", a->c->discovery_token,
	    a->c->discovery_endpoints[0]);
	enum plan_result res;

	if (r->outcome == TOK_FAIL) {
		log_error("%s", r->msg);
		finish(a, r->exit_code);
		goto out;
	}
	if (r->outcome == TOK_WAITING) {	/* plan, the token not full */
		struct plan_waiting w = { .detail = detail, .names = r->names,
		    .urls = r->urls, .n = r->n, .size = r->size,
		    .name = a->my_name, .peer_url = r->peer_url };
		finish(a, plan_waiting_report(&w, a->c->json));
		goto out;
	}
	res = plan_from_pairs(a->c, "token", detail, token, r->names,
	    r->urls, r->n, r->outcome == TOK_MEMBER ? a->my_name : NULL,
	    &a->plan, msg, sizeof(msg));
	if (res != PLAN_OK) {
		log_error("%s", msg);
		finish(a, EXIT_PERMANENT);
		goto out;
	}
	log_info("plan: %s", r->msg);
	if (r->outcome == TOK_EXTRA) {
		log_info("the cluster is full without this host (%zu members "
		    "registered first): serving clients through etcd's grpc-proxy",
		    r->n);
		plan_make_proxy(&a->plan, a->c, a->my_name, a->my_addr);
		token_planned(a);
		goto out;
	}
	if (r->was_registered && !a->existing_data) {
		/* Registered by an earlier run, and no data here: fine if the
		 * cluster never started us, fatal if it did. */
		reuse_ask(a);
		goto out;
	}
	token_planned(a);
out:
	/* a->tok is done but is still on the stack: freed at exit. */
	free(detail);
	free(token);
	tok_result_free(r);
}

static void
start_token(struct agent *a)
{
	const struct cfg *c = a->c;
	char err[512], addr[64], sch[8], disc_addr[64], *base, *slash;
	unsigned disc_port = 0;
	struct tok_opts o;

	/* The URL's scheme://host:port part: to tell whether this host owns
	 * the discovery address, and which address reaches it. */
	base = xstrdup(c->discovery ? c->discovery : c->discovery_endpoints[0]);
	slash = strchr(base + strlen("https://"), '/');
	if (slash != NULL)
		*slash = '\0';
	if (plan_parse_url(base, sch, sizeof(sch), disc_addr, sizeof(disc_addr),
	    &disc_port) < 0)
		disc_addr[0] = '\0';
	free(base);
	a->my_name = token_member_name(c, err, sizeof(err));
	if (a->my_name == NULL ||
	    token_addr(a, disc_addr[0] ? disc_addr : NULL, addr, sizeof(addr),
	    err, sizeof(err)) < 0) {
		log_error("%s", err);
		finish(a, EXIT_USAGE);
		return;
	}
	a->my_addr = xstrdup(addr);
	/* Only a v2 token URL can be served by this host's own seed. */
	a->seed_owner = c->discovery != NULL && disc_addr[0] != '\0' &&
	    strcmp(disc_addr, addr) == 0;
	a->seed_port = (int)disc_port;
	if (a->seed_owner && ((int)disc_port == c->client_port ||
	    (int)disc_port == (c->peer_port ? c->peer_port : 2380) ||
	    (int)disc_port == c->seed_peer_port)) {
		log_error("the discovery address %s:%u is this host's, where the "
		    "seed would run, but port %u is also this member's client or "
		    "peer port or seed_peer_port; give the seed its own port",
		    addr, disc_port, disc_port);
		finish(a, EXIT_USAGE);
		return;
	}
	if (!a->seed_owner) {
		/* Nothing to do here: someone else owns the service. */
	} else if (strstr(c->discovery, "/v2/keys/_etcd/registry/") == NULL) {
		log_error("this host owns the discovery address of %s, but the "
		    "seed keeps tokens under /v2/keys/_etcd/registry/; use such a "
		    "URL", c->discovery);
		finish(a, EXIT_USAGE);
		return;
	}
	/* The token carries no scheme: scheme = "https" asks for TLS. */
	const char *psch = c->scheme == CFG_SCHEME_HTTPS ? "https" : "http";
	int pport = c->peer_port ? c->peer_port : 2380;
	char *peer = strchr(addr, ':') ?
	    xasprintf("%s://[%s]:%d", psch, addr, pport) :
	    xasprintf("%s://%s:%d", psch, addr, pport);
	char *url = c->discovery ? xstrdup(c->discovery) : NULL;
	while (url != NULL && strlen(url) > 8 && url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = '\0';
	o = (struct tok_opts){
		.url = url, .endpoints = c->discovery_endpoints,
		.n_endpoints = c->n_discovery_endpoints, .token = c->discovery_token,
		.name = a->my_name, .peer_url = peer, .size = c->size,
		.deadline = a->deadline, .dry_run = a->plan_only,
	};
	log_info("discovery token %s (%s): %s %s=%s", token_label(c),
	    url ? "v2" : "v3", a->plan_only ? "looking up, as" : "registering",
	    a->my_name, peer);
	a->tok = tok_start(a->loop, a->http, &o, on_tok_done, on_tok_unreachable,
	    a);
	free(peer);
	free(url);
}

/* Tries the sources in order from a->src; unconfigured ones are passed
 * over with their reason. */
static void
next_source(struct agent *a)
{
	for (; a->src < a->n_sources; a->src++) {
		const char *src = a->sources[a->src], *why = unconfigured(a->c, src);

		if (why != NULL) {
			char *line = xasprintf("%s: %s", src, why);
			a->skipped = xreallocarray(a->skipped, a->n_skipped + 1,
			    sizeof(*a->skipped));
			a->skipped[a->n_skipped++] = line;
			continue;
		}
		if (strcmp(src, "dns") == 0)
			start_dns(a);
		else if (strcmp(src, "token") == 0)
			start_token(a);
		else
			start_static(a);
		return;
	}
	log_error("no source of peers to try: set domain (DNS SRV), "
	    "discovery (a token URL) or initial_cluster (static)");
	finish(a, EXIT_USAGE);
}

/* Starts planning: from the journal when this host bootstrapped before
 * (so a restart needs no DNS), else from the sources in order. */
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
		    plan_me(&a->plan)->name);
		planned(a);
		return -1;
	}
	a->existing_data = data_dir_has_member(a->c->data_dir);
	if (self_addrs(a->c, &a->self, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_PERMANENT;
	}
	if (a->c->n_sources > 0) {
		a->sources = (const char *const *)a->c->sources;
		a->n_sources = a->c->n_sources;
	} else {
		a->sources = default_sources;
		a->n_sources = 3;
	}
	a->deadline = loop_now_ms() + (int64_t)a->c->resolve_timeout * 1000;
	next_source(a);
	return -1;
}

/* ---- running --------------------------------------------------------- */

static void
on_seed_grace(struct loop *l, void *arg)
{
	struct agent *a = arg;

	(void)l;
	a->seed_timer = 0;
	log_info("stopping the seed discovery etcd (seed_keep = stop)");
	seed_stop(a->seed);
}

/* The cluster is up: the seed has done its work. */
static void
cluster_up(struct agent *a)
{
	if (a->seed == NULL || a->seed_timer != 0 || seed_stopped(a->seed) ||
	    a->c->seed_keep == CFG_SEED_KEEP)
		return;
	log_info("the seed discovery etcd stops in %d s (seed_grace)",
	    a->c->seed_grace);
	a->seed_timer = loop_timer(a->loop, (int64_t)a->c->seed_grace * 1000,
	    on_seed_grace, a);
}

static void
on_check(void *arg, const struct etcd_check_result *r)
{
	struct agent *a = arg;
	int64_t now = loop_now_ms();

	a->check_id = 0;
	if (r->healthy) {
		if (!a->healthy && a->plan.learner && !a->running_proxy)
			log_info("learner healthy: catching up with the cluster");
		else if (!a->healthy && a->running_proxy)
			log_info("proxy healthy: serving clients for the cluster "
			    "of %zu (%s)", a->plan.n, a->plan.initial_cluster);
		else if (!a->healthy)
			log_info("cluster healthy: %zu members, leader %s",
			    r->members, r->leader_name[0] ? r->leader_name : "none");
		a->healthy = true;
		cluster_up(a);
		if (!a->svcs_begun && a->c->n_services > 0 && !a->stop_requested)
			start_services(a);
		if (a->upkeep != NULL && r->leader_id != 0 &&
		    r->leader_id == r->member_id)
			upkeep_round(a->upkeep);
		if (a->running_proxy && a->join == NULL)
			extra_check(a);
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
on_proxy_health(void *arg, const struct etcd_http_result *r)
{
	struct agent *a = arg;
	struct etcd_check_result res;
	bool healthy = false;
	char err[128] = "";

	a->proxy_req = 0;
	if (!a->running_proxy && !a->plan.learner) {
		/* Promoted while this check ran: the full check says more. */
		schedule_health(a, STARTING_CHECK_MS);
		return;
	}
	memset(&res, 0, sizeof(res));
	if (r->status != 200 ||
	    etcd_parse_health(r->body, r->len, &healthy, err, sizeof(err)) < 0)
		snprintf(res.error, sizeof(res.error), "GET %s/health: %s",
		    plan_me(&a->plan)->client_url, r->error ? r->error :
		    err[0] ? err : "not healthy");
	else if (!healthy)
		snprintf(res.error, sizeof(res.error), "the proxy reports no "
		    "healthy endpoint");
	res.healthy = healthy;
	on_check(a, &res);
}

static void
on_promote(void *arg, int outcome, const char *why)
{
	struct agent *a = arg;
	char err[512];

	a->promote_req = 0;
	if (outcome == 0) {
		log_debug("not promoted yet: %s", why);
		return;
	}
	if (outcome < 0) {
		log_warn("promoting this learner failed: %s", why);
		return;
	}
	a->plan.learner = false;
	log_info("promoted to a voting member");
	if (plan_journal_write(&a->plan, a->plan.data_dir, err, sizeof(err)) < 0)
		log_warn("%s", err);
	a->healthy = false;	/* say so again with the full check */
}

/* A learner asks the members, one per health check, to promote it; etcd
 * agrees once the learner has caught up with the leader. */
static void
try_promote(struct agent *a)
{
	struct plan *p = &a->plan;

	if (a->promote_req != 0 || p->member_id == 0 || p->n < 2)
		return;
	for (size_t tries = 0; tries < p->n; tries++) {
		const struct plan_member *m = &p->m[a->promote_next++ % p->n];
		if (strcmp(m->peer_url, plan_me(p)->peer_url) == 0)
			continue;
		a->promote_req = join_promote(a->http, m->client_url,
		    p->member_id, on_promote, a);
		return;
	}
}

static void
on_health_timer(struct loop *l, void *arg)
{
	struct agent *a = arg;

	(void)l;
	a->health_timer = 0;
	if (sup_state(a->sup) != SUP_RUNNING)
		return;
	if (a->plan.learner)
		try_promote(a);
	if (a->running_proxy || a->plan.learner) {
		/* etcd 3.4's grpc-proxy answers /health but not the JSON
		 * gateway that the full check uses; a learner refuses the
		 * member list. */
		char *url = xasprintf("%s/health", plan_me(&a->plan)->client_url);
		a->proxy_req = etcd_http_get(a->http, url, HEALTH_TIMEOUT_MS,
		    on_proxy_health, a);
		free(url);
		return;
	}
	a->check_id = etcd_check(a->http, plan_me(&a->plan)->client_url,
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
	if (a->proxy_req != 0)
		etcd_http_cancel(a->http, a->proxy_req);
	a->proxy_req = 0;
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
		if (a->switching && !a->stop_requested) {
			/* The supervisor is on the stack: replace it later. */
			loop_timer(a->loop, 0, on_switch, a);
			break;
		}
		if (seed_stopped(a->seed))
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
	/* An extra host keeps no member data, so it has nothing to journal:
	 * a restart asks the discovery service again. */
	if (strcmp(p->source, "journal") != 0 && !p->proxy &&
	    plan_journal_write(p, p->data_dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		finish(a, EXIT_PERMANENT);
		return;
	}
	if (p->proxy) {
		o.label = "etcd grpc-proxy";
		log_info("starting etcd grpc-proxy as %s on %s for the cluster "
		    "%s", plan_me(p)->name, plan_me(p)->client_url,
		    p->initial_cluster);
	} else {
		size_t n = 1;
		for (const char *c = p->initial_cluster; *c != '\0'; c++)
			n += *c == ',';
		log_info("starting etcd as %s: %s cluster of %zu (%s), token %s",
		    plan_me(p)->name, p->state, n, p->initial_cluster, p->token);
	}
	if (!p->proxy && a->upkeep == NULL)
		a->upkeep = upkeep_new(a->loop, a->http, plan_me(p)->client_url,
		    a->c->remove_after, a->c->quorum_floor);
	a->running_proxy = p->proxy;
	if (p->proxy && a->target == 0)
		a->target = (size_t)a->c->size > p->n ? (size_t)a->c->size : p->n;
	a->sup = sup_new(a->loop, &o, p->argv, on_sup, a);
	if (sup_start(a->sup) < 0)
		finish(a, errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

/* ---- an extra host replacing a removed member ------------------------ */

static void
on_switch(struct loop *l, void *arg)
{
	struct agent *a = arg;

	(void)l;
	sup_free(a->sup);
	a->sup = NULL;
	a->switching = false;
	a->healthy = false;
	settled(a);
}

static void
on_lock(void *arg, const struct etcd_kv_result *r)
{
	struct agent *a = arg;

	a->kv_req = 0;
	if (r->error != NULL || !r->succeeded) {
		log_debug("another extra is replacing the member: %s",
		    r->error ? r->error : "lock held");
		return;
	}
	log_info("the cluster has fewer members than %zu: this extra joins it",
	    a->target);
	plan_proxy_to_member(&a->plan, a->c->peer_port ? a->c->peer_port : 2380);
	a->join = join_start(a->loop, a->http, &a->plan, false, false, on_join,
	    a);
}

static void
on_lease(void *arg, const struct etcd_kv_result *r)
{
	struct agent *a = arg;
	const char *key = "/zooinit/etcd/replacing";

	a->kv_req = 0;
	if (r->error != NULL)
		return;
	/* Whoever creates the key first replaces the member; the lease ends
	 * the claim by itself if that host dies on the way. */
	a->kv_req = etcd_kv_txn_create(a->kv, key, strlen(key),
	    plan_me(&a->plan)->name, strlen(plan_me(&a->plan)->name),
	    r->lease_id, on_lock, a);
}

static void
on_extra_list(void *arg, const struct etcd_http_result *r)
{
	struct agent *a = arg;
	struct etcd_members ms;
	char err[200];

	a->extra_req = 0;
	if (r->status != 200 ||
	    etcd_parse_members(r->body, r->len, &ms, err, sizeof(err)) < 0)
		return;
	size_t n = ms.n;
	etcd_members_free(&ms);
	if (n >= a->target || a->join != NULL || a->kv_req != 0)
		return;
	if (a->kv == NULL) {
		char **eps = xcalloc(a->plan.n, sizeof(*eps));
		for (size_t i = 0; i < a->plan.n; i++)
			eps[i] = a->plan.m[i].client_url;
		a->kv = etcd_kv_new(a->http, eps, a->plan.n);
		free(eps);
	}
	/* A member was removed: take its place. */
	a->kv_req = etcd_kv_lease_grant(a->kv, 60, on_lease, a);
}

/* An extra looks, once per health check, whether the cluster lost a
 * member (removed after remove_after) and should get this host instead. */
static void
extra_check(struct agent *a)
{
	struct plan *p = &a->plan;

	if (a->extra_req != 0 || a->join != NULL || a->kv_req != 0 || p->n == 0)
		return;
	char *url = xasprintf("%s/v3/cluster/member/list",
	    p->m[a->extra_next++ % p->n].client_url);
	a->extra_req = etcd_http_post_json(a->http, url, "{}", HEALTH_TIMEOUT_MS,
	    on_extra_list, a);
	free(url);
}

/* ---- services -------------------------------------------------------- */

static void on_services_done(void *arg, int code);

/* The services of the config, in order, once etcd is healthy: this
 * member's client URL first, then the others', for failover. */
static void
start_services(struct agent *a)
{
	const struct cfg *c = a->c;
	const struct svc_cfg *cfgs[SVC_MAX];
	const struct plan *p = &a->plan;
	char **eps = xcalloc(p->n + 1, sizeof(*eps));
	size_t n = 0;

	a->svcs_begun = true;
	/* etcd 3.4's grpc-proxy does not serve the JSON gateway: an extra
	 * host's services talk to the members. */
	if (!a->running_proxy)
		eps[n++] = plan_me(p)->client_url;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->m[i].self && p->m[i].client_url != NULL)
			eps[n++] = p->m[i].client_url;
	}
	for (size_t i = 0; i < c->n_services; i++)
		cfgs[i] = svc_find(c->svcs, c->n_svcs, c->services[i]);
	a->svcs = services_new(a->loop, a->http, cfgs, c->n_services,
	    plan_me(p)->addr, eps, n, on_services_done, a);
	free(eps);
	services_start(a->svcs);
}

/* The address this host reaches url's host from (a UDP connect sends
 * nothing). Returns 0, or -1 with err set. */
static int
addr_toward(const char *url, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *h = strstr(url, "://");
	char host[64];
	size_t n;
	struct sockaddr_storage ss = { 0 }, me;
	socklen_t len = sizeof(me);
	int fd, rc = -1;

	h = h != NULL ? h + 3 : url;
	if (*h == '[') {
		n = strcspn(++h, "]");
	} else {
		n = strcspn(h, ":/");
	}
	snprintf(host, sizeof(host), "%.*s", (int)n, h);
	if (inet_pton(AF_INET, host,
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(9);
	} else if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(9);
	} else {
		snprintf(err, errlen, "cannot tell this host's address from "
		    "%s (not an IP address): set ip or interface", url);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sizeof(ss)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&me, len, out, (socklen_t)outlen,
	    NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(err, errlen, "cannot tell this host's address toward "
		    "%s: %s: set ip or interface", url, strerror(errno));
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* zooinit cluster -f FILE SERVICE: one service through an etcd that runs
 * already. */
static int
begin_cluster(struct agent *a)
{
	const struct cfg *c = a->c;
	const struct svc_cfg *svc = svc_find(c->svcs, c->n_svcs,
	    c->args[0]);
	char *const dflt[] = { (char *)"http://127.0.0.1:2379" };
	char *const *eps = c->n_endpoints > 0 ? c->endpoints : dflt;
	size_t n_eps = c->n_endpoints > 0 ? c->n_endpoints : 1;
	char err[512], ip[64];

	if (svc == NULL) {
		char *v[SVC_MAX], *names;
		for (size_t i = 0; i < c->n_svcs; i++)
			v[i] = c->svcs[i].name;
		names = xjoin(v, c->n_svcs, ", ");
		log_error("cluster: no service \"%s\" in %s (%s)", c->args[0],
		    c->config_file ? c->config_file : "the config (no -f FILE)",
		    c->n_svcs ? names : "it defines none");
		free(names);
		return EXIT_USAGE;
	}
	if (c->ip != NULL || c->interface != NULL || c->hint != NULL) {
		if (self_addrs(c, &a->self, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return EXIT_USAGE;
		}
		snprintf(ip, sizeof(ip), "%s", a->self.v[0]);
	} else if (addr_toward(eps[0], ip, sizeof(ip), err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	log_set_name(svc->name);
	a->svcs = services_new(a->loop, a->http, &svc, 1, ip, eps, n_eps,
	    on_services_done, a);
	a->svcs_begun = true;
	services_start(a->svcs);
	return -1;
}

/* ---- signals and children -------------------------------------------- */

/* Runs while pid is still a zombie (see proc_reap()), so its owner may
 * still kill the process group it led. */
static void
on_exited(void *arg, pid_t pid, int status)
{
	struct agent *a = arg;

	if (a->sup != NULL && sup_reaped(a->sup, pid, status))
		return;
	if (seed_reaped(a->seed, pid, status))
		return;
	if (hook_reaped(pid, status) ||
	    services_reaped(a->svcs, pid, status))
		return;
	log_debug("reaped orphan pid %d", (int)pid);
}

static void
reap(struct agent *a)
{
	proc_reap(on_exited, a);
}

static void request_stop(struct agent *a, int sig);

static void
on_services_done(void *arg, int code)
{
	struct agent *a = arg;

	if (a->mode == MODE_CLUSTER) {
		finish(a, a->stop_requested ? EXIT_OK : code);
		return;
	}
	if (a->stop_requested) {
		request_stop(a, a->stop_sig);	/* now etcd */
		return;
	}
	if (code != 0)
		log_error("no service runs any more; etcd keeps running");
}

static void
request_stop(struct agent *a, int sig)
{
	bool etcd_runs = a->sup != NULL && sup_state(a->sup) != SUP_IDLE &&
	    sup_state(a->sup) != SUP_DONE;

	if (services_active(a->svcs)) {
		/* The services go first, last one first; etcd after them. */
		if (!a->stop_requested)
			log_info("%s received: stopping the service%s",
			    strsignal(sig), a->mode == MODE_CLUSTER ? "" :
			    "s, then etcd");
		a->stop_requested = true;
		a->stop_sig = sig;
		services_stop(a->svcs);
		return;
	}
	if (a->mode == MODE_CLUSTER) {
		log_info("%s received: exiting", strsignal(sig));
		finish(a, EXIT_OK);
		return;
	}
	if (etcd_runs || !seed_stopped(a->seed)) {
		if (!a->stop_requested)
			log_info("%s received: stopping", strsignal(sig));
		a->stop_requested = true;
		a->exit_code = EXIT_OK;
		loop_cancel(a->loop, a->seed_timer);
		a->seed_timer = 0;
		/* Each stop finishes the loop once nothing else runs. */
		if (a->sup != NULL)
			sup_stop(a->sup);
		if (!seed_stopped(a->seed))
			seed_stop(a->seed);
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

/* ---- discovery serve / new ------------------------------------------ */

/* A fresh token: 128 random bits in hex. Returns a new string. */
static char *
random_token(void)
{
	unsigned char b[16];
	char *s = xmalloc(sizeof(b) * 2 + 1);

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		log_error("getrandom: %s", strerror(errno));
		abort();
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return s;
}

static void
on_serve_seed(void *arg, enum seed_event ev, const char *msg)
{
	struct agent *a = arg;

	switch (ev) {
	case SEED_READY:
		printf("%s\n", msg);
		fflush(stdout);
		break;
	case SEED_FAILED:
		log_error("%s", msg);
		a->stop_requested = true;
		a->exit_code = EXIT_PERMANENT;
		seed_stop(a->seed);
		break;
	case SEED_STOPPED:
		finish(a, a->exit_code);
		break;
	}
}

/* zooinit discovery serve: a seed on this host until SIGTERM. */
static int
begin_serve(struct agent *a)
{
	const struct cfg *c = a->c;
	char err[512], addr[64], *etcd;
	struct seed_opts o;

	if (c->size < 1) {
		log_error("discovery serve needs --size N (the members the token "
		    "is for)");
		return EXIT_USAGE;
	}
	if (self_addrs(c, &a->self, err, sizeof(err)) < 0 ||
	    token_addr(a, NULL, addr, sizeof(addr), err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	etcd = proc_find_binary(c->etcd, err, sizeof(err));
	if (etcd == NULL) {
		log_error("%s", err);
		return EXIT_NOTFOUND;
	}
	a->new_token = c->discovery_token ? xstrdup(c->discovery_token) :
	    random_token();
	o = (struct seed_opts){
		.etcd = etcd, .addr = addr, .client_port = c->seed_client_port,
		.peer_port = c->seed_peer_port, .data_dir = c->seed_data_dir,
		.token = a->new_token, .size = c->size,
		.stop_timeout_ms = c->stop_timeout * 1000,
	};
	a->seed = seed_start(a->loop, a->http, &o, on_serve_seed, a, err,
	    sizeof(err));
	free(etcd);
	if (a->seed == NULL) {
		log_error("%s", err);
		return EXIT_NOEXEC;
	}
	return -1;
}

static void
on_new(void *arg, const struct etcd_http_result *r)
{
	struct agent *a = arg;
	struct etcd_v2_reply v;
	char err[256];

	a->new_req = 0;
	if (r->status == 0) {
		log_error("cannot reach %s: %s", a->c->endpoint, r->error);
		finish(a, EXIT_TEMPORARY);
		return;
	}
	if (r->status == 404 && (r->len == 0 || r->body[0] != '{')) {
		log_error("%s does not serve etcd's v2 keys API; start that etcd "
		    "with --enable-v2 (or use zooinit discovery serve)",
		    a->c->endpoint);
		finish(a, EXIT_PERMANENT);
		return;
	}
	if (etcd_v2_parse(r->body, r->len, &v, err, sizeof(err)) < 0 ||
	    v.error_code != 0) {
		log_error("creating the token at %s: %s", a->c->endpoint,
		    v.message ? v.message : err);
		etcd_v2_reply_free(&v);
		finish(a, r->status >= 500 ? EXIT_TEMPORARY : EXIT_PERMANENT);
		return;
	}
	etcd_v2_reply_free(&v);
	printf("%s/v2/keys/_etcd/registry/%s\n", a->c->endpoint, a->new_token);
	fflush(stdout);
	finish(a, EXIT_OK);
}

/* zooinit discovery new: a token in an existing etcd, like the public
 * discovery service's /new. */
static int
begin_new(struct agent *a)
{
	const struct cfg *c = a->c;
	char *url, *base;

	if (c->size < 1 || c->endpoint == NULL) {
		log_error("discovery new needs --size N and --endpoint URL (an "
		    "etcd with the v2 keys API)");
		return EXIT_USAGE;
	}
	base = xstrdup(c->endpoint);
	while (strlen(base) > 8 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	a->new_token = c->discovery_token ? xstrdup(c->discovery_token) :
	    random_token();
	url = xasprintf("%s/v2/keys/_etcd/registry/%s/_config/size?prevExist="
	    "false&value=%d", base, a->new_token, c->size);
	a->new_req = etcd_http_put(a->http, url, HEALTH_TIMEOUT_MS, on_new, a);
	free(url);
	free(base);
	return -1;
}

static int
run(const struct cfg *c, enum mode mode)
{
	struct agent a = { .c = c, .mode = mode, .plan_only = mode == MODE_PLAN,
	    .sigfd = -1 };
	bool plan_only = a.plan_only;
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
	a.http = etcd_http_new(a.loop);
	etcd_http_set_tls(a.http, c->trusted_ca_file,
	    c->client_cert_auth == CFG_ON ? c->cert_file : NULL,
	    c->client_cert_auth == CFG_ON ? c->key_file : NULL);
	loop_watch(a.loop, a.sigfd, LOOP_READ, on_signal, &a);
	if (mode == MODE_SERVE)
		code = begin_serve(&a);
	else if (mode == MODE_CLUSTER)
		code = begin_cluster(&a);
	else if (mode == MODE_NEW)
		code = begin_new(&a);
	else
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
	if (a.seed != NULL && !seed_stopped(a.seed)) {
		seed_stop(a.seed);
		seed_stop(a.seed);
	}
	services_free(a.svcs);
	hook_cancel_all();
	reap(&a);
	stop_health(&a);
	tok_free(a.tok);
	join_free(a.join);
	upkeep_free(a.upkeep);
	if (a.extra_req != 0)
		etcd_http_cancel(a.http, a.extra_req);
	if (a.kv_req != 0)
		etcd_kv_cancel(a.kv, a.kv_req);
	etcd_kv_free(a.kv);
	if (a.promote_req != 0)
		etcd_http_cancel(a.http, a.promote_req);
	if (a.reuse_req != 0)
		etcd_http_cancel(a.http, a.reuse_req);
	loop_cancel(a.loop, a.seed_timer);
	seed_free(a.seed);
	free(a.my_name);
	free(a.my_addr);
	free(a.new_token);
	if (a.new_req != 0)
		etcd_http_cancel(a.http, a.new_req);
	sup_free(a.sup);
	etcd_http_free(a.http);
	dns_resolver_free(a.dns);
	local_addrs_free(&a.self);
	plan_free(&a.plan);
	free(a.candidate);
	for (size_t i = 0; i < a.n_skipped; i++)
		free(a.skipped[i]);
	free(a.skipped);
	loop_cancel(a.loop, a.retry_timer);
	loop_free(a.loop);
	close(a.sigfd);
	curl_global_cleanup();
	return code;
}

int
boot_plan(const struct cfg *c)
{
	return run(c, MODE_PLAN);
}

int
boot_run(const struct cfg *c)
{
	return run(c, MODE_BOOT);
}

int
boot_discovery_serve(const struct cfg *c)
{
	return run(c, MODE_SERVE);
}

int
boot_cluster(const struct cfg *c)
{
	return run(c, MODE_CLUSTER);
}

int
boot_discovery_new(const struct cfg *c)
{
	return run(c, MODE_NEW);
}
