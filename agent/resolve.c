#include "lib/fmacros.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/boot_int.h"
#include "agent/hostaddr.h"
#include "agent/readdress.h"
#include "agent/seed.h"
#include "agent/token.h"
#include "etcd/http.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "resolver/dns.h"
#include "resolver/dnsname.h"

/* Planning for the bootstrap machine: the journal, else the sources in
 * order (DNS SRV, a discovery token, a static list), each passed over
 * with its reason when it has nothing; ends in EV_PLANNED or EV_FINISH. */

#define DNS_QUERY_TIMEOUT_MS 2000
#define DNS_QUERY_TRIES 2
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 8000
#define CONFIRM_MS 1000		/* size 0: the second look at the zone */

/* etcd writes a member's log (member/wal) at its first start that gets
 * past the checks of its flags; a member/ without it is what a refused
 * first start leaves (etcd makes member/snap before those checks), and
 * such a member is planned afresh, its membership asked again. */
static bool
data_dir_has_member(const char *dir)
{
	char *p = xasprintf("%s/member/wal", dir);
	bool yes = file_dir_has_entries(p);

	free(p);
	return yes;
}

static void lookup(struct boot *b);
static bool later_source(const struct boot *b);
static void skip_source(struct boot *b, const char *why);

/* A source gave a plan: say which were passed over, and whether the
 * data dir already holds a member (an extra keeps none). */
static void
source_planned(struct boot *b)
{
	for (size_t i = 0; i < b->rs.n_skipped; i++)
		plan_add_skipped(&b->plan, b->rs.skipped[i]);
	if (b->rs.existing_data && !b->plan.proxy)
		plan_set_existing(&b->plan, b->rs.skip_journal ?
		    "the data dir holds a member (member/); planning again "
		    "without the journal, etcd restarts it from its own data" :
		    "the data dir holds a member (member/) but no zooinit "
		    "journal; etcd restarts it from its own data");
	boot_post(b, EV_PLANNED);
}

static void
on_retry(struct loop *l, void *arg)
{
	struct boot *b = arg;

	(void)l;
	b->rs.retry_timer = 0;
	lookup(b);
}

static void
retry_in(struct boot *b, int ms)
{
	b->rs.retry_timer = loop_timer(b->x->loop, ms, on_retry, b);
}

static void
on_dns(void *arg, struct dns_result *r)
{
	struct boot *b = arg;
	char msg[1024];
	enum plan_result res;
	int64_t now = loop_now_ms();

	bool empty = r->n == 0;
	for (int i = 0; i < DNS_SRV_N; i++)
		empty = empty || r->status[i] == DNS_FAILED;
	res = plan_from_dns(b->c, r, &b->rs.self, &b->plan, msg, sizeof(msg));
	dns_result_free(r);
	free(r);
	/* No records at all (or a failed lookup) passes on to the next source
	 * if one is configured; a zone that has some members is waited for. */
	if (res == PLAN_WAIT && empty && later_source(b)) {
		skip_source(b, msg);
		return;
	}

	if (res == PLAN_FAIL) {
		log_error("%s", msg);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	if (res == PLAN_OK && b->c->size == 0) {
		/* With no expected size, a zone caught half-published would
		 * give a smaller cluster: take the set only once two lookups
		 * agree on it. */
		bool same = b->rs.candidate != NULL &&
		    strcmp(b->rs.candidate, b->plan.initial_cluster) == 0;
		if (!same) {
			free(b->rs.candidate);
			b->rs.candidate = xstrdup(b->plan.initial_cluster);
			log_info("DNS publishes %zu members (%s); looking again to "
			    "confirm", b->plan.n, b->plan.initial_cluster);
			plan_free(&b->plan);
			retry_in(b, CONFIRM_MS);
			return;
		}
	}
	if (res == PLAN_OK && b->plan.proxy &&
	    plan_client_me(&b->plan, b->c, &b->rs.self, msg, sizeof(msg)) !=
	    PLAN_OK) {
		log_error("%s", msg);
		boot_finish(b, EXIT_USAGE);
		return;
	}
	if (res == PLAN_OK) {
		log_info("plan: %s", msg);
		if (b->plan.proxy)
			log_info("%s", b->plan.role_reason);
		source_planned(b);
		return;
	}
	/* PLAN_WAIT */
	if (now + b->rs.retry_ms > b->rs.deadline) {
		if (b->plan.need > 0)
			log_error("only %zu of %zu peers resolved within %d s: %s",
			    b->plan.resolved, b->plan.need,
			    b->c->resolve_timeout, msg);
		else
			log_error("gave up after %d s: %s", b->c->resolve_timeout,
			    msg);
		boot_finish(b, EXIT_TEMPORARY);
		return;
	}
	if (b->plan.need > 0)
		log_info("peers %s; waiting %d s", msg, b->rs.retry_ms / 1000);
	else
		log_info("%s; waiting %d s", msg, b->rs.retry_ms / 1000);
	retry_in(b, b->rs.retry_ms);
	b->rs.retry_ms = b->rs.retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    b->rs.retry_ms * 2;
}

static void
lookup(struct boot *b)
{
	if (dns_lookup_named(b->rs.dns, b->c->domain, b->c->srv_name, on_dns,
	    b) < 0) {
		log_error("internal: a DNS lookup is already running");
		boot_finish(b, EXIT_INTERNAL);
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
later_source(const struct boot *b)
{
	for (size_t i = b->rs.src + 1; i < b->rs.n_sources; i++)
		if (unconfigured(b->c, b->rs.sources[i]) == NULL)
			return true;
	return false;
}

static void next_source(struct boot *b);
static void start_token(struct boot *b);

/* Keeps "src: why" for the plan; returns it (borrowed). */
static const char *
add_skipped(struct boot *b, const char *src, const char *why)
{
	char *line = xasprintf("%s: %s", src, why);

	b->rs.skipped = xreallocarray(b->rs.skipped, b->rs.n_skipped + 1,
	    sizeof(*b->rs.skipped));
	b->rs.skipped[b->rs.n_skipped++] = line;
	return line;
}

/* Passes over the current source, saying why, and tries the next. */
static void
skip_source(struct boot *b, const char *why)
{
	log_info("skipping %s", add_skipped(b, b->rs.sources[b->rs.src], why));
	b->rs.src++;
	next_source(b);
}

static void
start_dns(struct boot *b)
{
	char err[512];

	if (b->rs.dns == NULL) {
		b->rs.dns = dns_resolver_new(b->x->loop, b->c->dns_servers,
		    b->c->n_dns_servers, DNS_QUERY_TIMEOUT_MS, DNS_QUERY_TRIES,
		    err, sizeof(err));
		if (b->rs.dns == NULL) {
			log_error("%s", err);
			boot_finish(b, EXIT_USAGE);
			return;
		}
	}
	b->rs.retry_ms = RETRY_MIN_MS;
	log_info("looking up SRV records of %s", b->c->domain);
	lookup(b);
}

static void
start_static(struct boot *b)
{
	char msg[1024];

	if (plan_from_static(b->c, &b->rs.self, &b->plan, msg, sizeof(msg)) !=
	    PLAN_OK) {
		log_error("%s", msg);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	if (b->plan.proxy && plan_client_me(&b->plan, b->c, &b->rs.self, msg,
	    sizeof(msg)) != PLAN_OK) {
		log_error("%s", msg);
		boot_finish(b, EXIT_USAGE);
		return;
	}
	log_info("plan: %s", msg);
	if (b->plan.proxy)
		log_info("%s", b->plan.role_reason);
	source_planned(b);
}

/* ---- token discovery ------------------------------------------------- */

/* The token, for messages and the derived cluster token. */
static const char *
token_label(const struct cfg *c)
{
	return c->discovery ? tok_name(c->discovery) : c->discovery_token;
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
	struct boot *b = arg;

	switch (ev) {
	case SEED_READY:
		break;
	case SEED_FAILED:
		log_error("%s", msg);
		boot_finish(b, EXIT_PERMANENT);
		break;
	case SEED_STOPPED:
		boot_post(b, EV_SEED_STOPPED);
		break;
	}
}

/* Nobody answers at the discovery address: if it is this host's, start
 * the seed there (the original tool's behaviour). */
static void
on_tok_unreachable(void *arg, const char *why)
{
	struct boot *b = arg;
	int code;

	(void)why;
	if (!b->rs.seed_owner || b->seed != NULL || b->plan_only)
		return;
	if (b->c->size == 0) {
		log_error("this host owns the discovery address %s but size is "
		    "0; the seed needs size to create the token",
		    b->rs.my_addr);
		boot_finish(b, EXIT_USAGE);
		return;
	}
	log_info("no discovery service answers at %s, which is this host's "
	    "address: starting the seed", b->c->discovery ? b->c->discovery :
	    b->c->discovery_endpoints[0]);
	/* A v2 URL needs a seed with the v2 API; v3 works on any etcd. */
	code = seed_start_cfg(b->x->loop, b->x->http, b->c, b->rs.my_addr,
	    b->rs.seed_port, token_label(b->c),
	    b->c->discovery ? SEED_V2 : SEED_V3, on_seed, b, &b->seed);
	if (code != 0) {
		boot_finish(b, code);
		return;
	}
	tok_size_may_appear(b->rs.tok);
}

static void reuse_ask(struct boot *b);

/* A member list from one of the others: did this host's member start
 * there before (it published client URLs)? Then the token belongs to a
 * cluster whose data this host no longer has. */
static void
on_reuse_reply(void *arg, const struct etcd_http_result *r)
{
	struct boot *b = arg;
	const struct plan_member *me = plan_me(&b->plan);
	struct etcd_members ms;
	char err[256];

	b->rs.reuse_req = 0;
	if (r->status != 200 ||
	    etcd_parse_members(r->body, r->len, &ms, err, sizeof(err)) < 0) {
		reuse_ask(b);
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
			    token_label(b->c),
			    (unsigned long long)ms.cluster_id, me->name,
			    b->c->data_dir);
			etcd_members_free(&ms);
			boot_finish(b, EXIT_PERMANENT);
			return;
		}
	}
	etcd_members_free(&ms);
	source_planned(b);
}

static void
reuse_ask(struct boot *b)
{
	struct plan *p = &b->plan;

	while (b->rs.reuse_next < p->n && p->m[b->rs.reuse_next].self)
		b->rs.reuse_next++;
	if (b->rs.reuse_next >= p->n) {
		/* Nobody answers: no cluster runs yet, so none can hold us. */
		source_planned(b);
		return;
	}
	char *url = xasprintf("%s/v3/cluster/member/list",
	    p->m[b->rs.reuse_next++].client_url);
	b->rs.reuse_req = etcd_http_post_json(b->x->http, url, "{}",
	    HEALTH_TIMEOUT_MS, on_reuse_reply, b);
	free(url);
}

static void
on_tok_done(void *arg, struct tok_result *r)
{
	struct boot *b = arg;
	char msg[1024];
	char *token = tok_cluster_token(b->c);
	char *detail = b->c->discovery ? xstrdup(b->c->discovery) :
	    xasprintf("token %s at %s", b->c->discovery_token,
	    b->c->discovery_endpoints[0]);
	enum plan_result res;

	if (r->outcome == TOK_FAIL) {
		log_error("%s", r->msg);
		boot_finish(b, r->exit_code);
		goto out;
	}
	if (r->outcome == TOK_WAITING) {	/* plan, the token not full */
		struct plan_waiting w = { .detail = detail, .names = r->names,
		    .urls = r->urls, .n = r->n, .size = r->size,
		    .name = b->rs.my_name, .peer_url = r->peer_url };

		boot_finish(b, plan_waiting_report(&w, b->c->json));
		goto out;
	}
	res = plan_from_pairs(b->c, "token", detail, token, r->names,
	    r->urls, r->n, r->outcome == TOK_MEMBER ? b->rs.my_name : NULL,
	    &b->plan, msg, sizeof(msg));
	if (res != PLAN_OK) {
		log_error("%s", msg);
		boot_finish(b, EXIT_PERMANENT);
		goto out;
	}
	log_info("plan: %s", r->msg);
	if (r->outcome == TOK_EXTRA && b->c->role == CFG_ROLE_MEMBER) {
		log_error("the cluster of token %s is full without this host "
		    "(%zu members registered first) and role is member; "
		    "create a larger token or set role = auto to run this host "
		    "as a client", token_label(b->c), r->n);
		boot_finish(b, EXIT_PERMANENT);
		goto out;
	}
	if (r->outcome == TOK_EXTRA) {
		log_info("the cluster is full without this host (%zu members "
		    "registered first): serving clients through etcd's grpc-proxy",
		    r->n);
		plan_make_proxy(&b->plan, b->c, b->rs.my_name, b->rs.my_addr);
		source_planned(b);
		goto out;
	}
	if (r->was_registered && !b->rs.existing_data) {
		/* Registered by an earlier run, and no data here: fine if the
		 * cluster never started us, fatal if it did. */
		reuse_ask(b);
		goto out;
	}
	source_planned(b);
out:
	/* b->rs.tok is done but is still on the stack: freed later. */
	free(detail);
	free(token);
	tok_result_free(r);
}

/* The discovery URL's host when it is an IP address with a port: to tell
 * whether this host owns the discovery address, and which address
 * reaches it. Else "" and 0. */
static void
discovery_host(const char *url, char *addr, size_t addrlen, unsigned *port)
{
	struct url_parts u;
	char err[256], norm[64];

	addr[0] = '\0';
	*port = 0;
	if (url_split(url, &u, err, sizeof(err)) < 0 || u.port == 0 ||
	    addr_normalise(u.host, norm, sizeof(norm)) < 0 ||
	    strcmp(norm, u.host) != 0)
		return;
	snprintf(addr, addrlen, "%s", norm);
	*port = u.port;
}

static void
start_token(struct boot *b)
{
	const struct cfg *c = b->c;
	char err[512], addr[64], disc_addr[64];
	unsigned disc_port = 0;
	struct tok_opts o;

	if (c->role == CFG_ROLE_CLIENT) {
		log_error("role is client, but a discovery token registers "
		    "every host that asks as a member; set role = auto (an "
		    "extra host serves clients once the token is full) or "
		    "publish the members in DNS");
		boot_finish(b, EXIT_USAGE);
		return;
	}
	discovery_host(c->discovery ? c->discovery : c->discovery_endpoints[0],
	    disc_addr, sizeof(disc_addr), &disc_port);
	b->rs.my_name = token_member_name(c, err, sizeof(err));
	if (b->rs.my_name == NULL || !tok_cluster_token_check(c, err,
	    sizeof(err)) || hostaddr_for_token(&b->rs.self, disc_addr[0] ? disc_addr : NULL,
	    addr, sizeof(addr), err, sizeof(err)) < 0) {
		log_error("%s", err);
		boot_finish(b, EXIT_USAGE);
		return;
	}
	b->rs.my_addr = xstrdup(addr);
	/* This host's own seed serves a v2 token URL or, with v3 discovery,
	 * the first endpoint. */
	b->rs.seed_owner = disc_addr[0] != '\0' && strcmp(disc_addr, addr) == 0;
	b->rs.seed_port = (int)disc_port;
	if (b->rs.seed_owner && ((int)disc_port == c->client_port ||
	    (int)disc_port == (c->peer_port ? c->peer_port : 2380) ||
	    (int)disc_port == c->seed_peer_port)) {
		log_error("the discovery address %s:%u is this host's, where the "
		    "seed would run, but port %u is also this member's client or "
		    "peer port or seed_peer_port; give the seed its own port",
		    addr, disc_port, disc_port);
		boot_finish(b, EXIT_USAGE);
		return;
	}
	if (!b->rs.seed_owner || c->discovery == NULL) {
		/* Someone else owns the service, or v3: any token works. */
	} else if (strstr(c->discovery, "/v2/keys/_etcd/registry/") == NULL) {
		log_error("this host owns the discovery address of %s, but the "
		    "seed keeps tokens under /v2/keys/_etcd/registry/; use such a "
		    "URL", c->discovery);
		boot_finish(b, EXIT_USAGE);
		return;
	}
	const char *psch = plan_token_scheme(c);
	int pport = c->peer_port ? c->peer_port : 2380;
	char *peer = url_make(psch, addr, (unsigned)pport);
	char *url = c->discovery ? xstrdup(c->discovery) : NULL;
	while (url != NULL && strlen(url) > 8 && url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = '\0';
	o = (struct tok_opts){
		.url = url, .endpoints = c->discovery_endpoints,
		.n_endpoints = c->n_discovery_endpoints,
		.token = c->discovery_token,
		.name = b->rs.my_name, .peer_url = peer, .size = c->size,
		.deadline = b->rs.deadline, .dry_run = b->plan_only,
	};
	log_info("discovery token %s (%s): %s %s=%s", token_label(c),
	    url ? "v2" : "v3", b->plan_only ? "looking up, as" : "registering",
	    b->rs.my_name, peer);
	b->rs.tok = tok_start(b->x->loop, b->x->http, &o, on_tok_done,
	    on_tok_unreachable, b);
	free(peer);
	free(url);
}

/* Tries the sources in order from b->rs.src; unconfigured ones are passed
 * over with their reason. */
static void
next_source(struct boot *b)
{
	for (; b->rs.src < b->rs.n_sources; b->rs.src++) {
		const char *src = b->rs.sources[b->rs.src];
		const char *why = unconfigured(b->c, src);

		if (why != NULL) {
			add_skipped(b, src, why);
			continue;
		}
		if (strcmp(src, "dns") == 0)
			start_dns(b);
		else if (strcmp(src, "token") == 0)
			start_token(b);
		else
			start_static(b);
		return;
	}
	log_error("no source of peers to try: set domain (DNS SRV), "
	    "discovery (a token URL) or initial_cluster (static)");
	boot_finish(b, EXIT_USAGE);
}

/* Starts planning: from the journal when this host bootstrapped before
 * (so a restart needs no DNS), else from the sources in order. */
void
resolve_begin(struct boot *b)
{
	char err[512];
	int rc = 1;

	if (!b->rs.skip_journal)
		rc = plan_journal_read(b->c, &b->plan, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	/* The journal lives beside the data dir, so it can outlive it (a
	 * lost volume, a wiped directory): without etcd's member data it is
	 * no member to restart, and this host plans as a new one. */
	if (rc == 0 && !data_dir_has_member(b->c->data_dir)) {
		log_warn("journal %s found, but the data dir %s holds no etcd "
		    "member (member/wal): its data is lost, or etcd never "
		    "started it; planning again from the sources",
		    b->plan.source_detail, b->c->data_dir);
		plan_free(&b->plan);
		rc = 1;
	}
	if (rc == 0) {
		log_info("journal found: restarting member %s",
		    plan_me(&b->plan)->name);
		readdress_check(b);
		return;
	}
	b->rs.existing_data = data_dir_has_member(b->c->data_dir);
	if (hostaddr_local(b->c, &b->rs.self, err, sizeof(err)) < 0) {
		log_error("%s", err);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	if (b->c->n_sources > 0) {
		b->rs.sources = (const char *const *)b->c->sources;
		b->rs.n_sources = b->c->n_sources;
	} else {
		b->rs.sources = default_sources;
		b->rs.n_sources = 3;
	}
	b->rs.deadline = loop_now_ms() + (int64_t)b->c->resolve_timeout * 1000;
	next_source(b);
}

void
resolve_free(struct boot *b)
{
	struct resolve *rs = &b->rs;

	if (rs->reuse_req != 0)
		etcd_http_cancel(b->x->http, rs->reuse_req);
	loop_cancel(b->x->loop, rs->retry_timer);
	tok_free(rs->tok);
	readdress_free(rs->ra);
	free(rs->my_name);
	free(rs->my_addr);
	dns_resolver_free(rs->dns);
	local_addrs_free(&rs->self);
	free(rs->candidate);
	for (size_t i = 0; i < rs->n_skipped; i++)
		free(rs->skipped[i]);
	free(rs->skipped);
	*rs = (struct resolve){ 0 };
}
