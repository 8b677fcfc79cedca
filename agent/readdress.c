#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/boot_int.h"
#include "agent/hostaddr.h"
#include "agent/readdress.h"
#include "etcd/http.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/url.h"
#include "lib/xmalloc.h"

/* A restart from the journal whose address is no longer this host's:
 * find the new one, update the member's peer URL through the others,
 * rewrite the journal, then plan on (EV_PLANNED). Every wait is bounded
 * by resolve_timeout and says what it waits for. */

#define DNS_QUERY_TIMEOUT_MS 2000
#define DNS_QUERY_TRIES 2
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 8000
#define UPDATE_TIMEOUT_MS 5000

enum ra_step {
	RA_FIND,	/* asking the source for this host's new address */
	RA_LIST,	/* asking a member for the member list */
	RA_UPDATE,	/* asking a member to update the peer URL */
};

struct readdress {
	struct boot *b;
	enum ra_step step;
	struct dns_resolver *dns;
	struct local_addrs self;
	int64_t deadline;
	int retry_ms;
	uint64_t timer, req;
	char *old_addr, *old_peer_url;
	uint64_t member_id;	/* this member's ID, from the member list */
	size_t next;		/* the member to ask next */
	size_t asked;		/* index of the member asked now */
	struct sbuf why;	/* what the members said this round */
};

/* ---- pure parts --------------------------------------------------------- */

int
readdress_apply(struct plan *p, const char *addr)
{
	struct plan_member *me = &p->m[p->self];
	char sch[8], a[64];
	unsigned pport, cport;
	struct sbuf ic = { 0 };

	if (p->proxy || plan_parse_url(me->peer_url, sch, sizeof(sch), a,
	    sizeof(a), &pport) < 0 || plan_parse_url(me->client_url, sch,
	    sizeof(sch), a, sizeof(a), &cport) < 0)
		return -1;
	free(me->addr);
	free(me->peer_url);
	free(me->client_url);
	me->addr = xstrdup(addr);
	me->peer_url = url_make(sch, addr, pport);
	me->client_url = url_make(sch, addr, cport);
	for (size_t i = 0; i < p->n; i++)
		sb_printf(&ic, "%s%s=%s", i ? "," : "", p->m[i].name,
		    p->m[i].peer_url);
	free(p->initial_cluster);
	p->initial_cluster = sb_take(&ic);
	return 0;
}

int
readdress_pick(const struct dns_result *r, const char *host,
    const struct local_addrs *self, char *out, size_t outlen)
{
	struct sbuf seen = { 0 };
	bool named = false;

	for (size_t i = 0; i < r->n; i++) {
		const struct dns_target *t = &r->t[i];

		if (strcasecmp(t->target, host) != 0)
			continue;
		named = true;
		for (size_t j = 0; j < t->n_addrs; j++) {
			if (plan_is_local(self, t->addrs[j])) {
				snprintf(out, outlen, "%s", t->addrs[j]);
				sb_free(&seen);
				return 1;
			}
			sb_printf(&seen, "%s%s", seen.len ? ", " : "",
			    t->addrs[j]);
		}
	}
	snprintf(out, outlen, "%s", named ? sb_str(&seen) : "");
	sb_free(&seen);
	return named ? 0 : -1;
}

/* ---- the machine's side ------------------------------------------------- */

static void find(struct readdress *ra);
static void ask_next(struct readdress *ra);

static char *
self_list(const struct local_addrs *self)
{
	struct sbuf s = { 0 };

	for (size_t i = 0; i < self->n && i < 8; i++)
		sb_printf(&s, "%s%s", i ? ", " : "", self->v[i]);
	if (self->n > 8)
		sb_printf(&s, ", ... (%zu in all)", self->n);
	if (self->n == 0)
		sb_puts(&s, "none");
	return sb_take(&s);
}

static void
on_timer(struct loop *l, void *arg)
{
	struct readdress *ra = arg;

	(void)l;
	ra->timer = 0;
	if (ra->step == RA_FIND)
		find(ra);
	else
		ask_next(ra);
}

/* Waits retry_ms, saying why, or gives up past the deadline. */
static void
wait_again(struct readdress *ra, const char *what)
{
	struct boot *b = ra->b;

	if (loop_now_ms() + ra->retry_ms > ra->deadline) {
		log_error("gave up after %d s (resolve_timeout): %s; member %s "
		    "keeps its data in %s and is retried at the next start",
		    b->c->resolve_timeout, what, plan_me(&b->plan)->name,
		    b->c->data_dir);
		boot_finish(b, EXIT_TEMPORARY);
		return;
	}
	log_info("%s; trying again in %d s", what, ra->retry_ms / 1000);
	ra->timer = loop_timer(b->x->loop, ra->retry_ms, on_timer, ra);
	ra->retry_ms = ra->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    ra->retry_ms * 2;
}

static void
done(struct readdress *ra)
{
	struct boot *b = ra->b;
	char err[512];

	if (plan_journal_write(&b->plan, b->c->data_dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	log_info("journal rewritten: member %s is at %s (was %s)",
	    plan_me(&b->plan)->name, plan_me(&b->plan)->addr, ra->old_addr);
	boot_post(b, EV_PLANNED);
}

/* The new address is known: move the plan there, then update the member
 * through the others (zooinit plan stops here). */
static void
found(struct readdress *ra, const char *addr, const char *how)
{
	struct boot *b = ra->b;
	struct plan *p = &b->plan;
	const struct plan_member *me;
	char *reason;

	if (readdress_apply(p, addr) < 0) {
		log_error("the journal's URLs of member %s do not parse; move "
		    "%s away to plan from the sources again",
		    plan_me(p)->name, p->source_detail);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	me = plan_me(p);
	log_info("member %s moves from %s to %s (%s): peer URL %s -> %s, "
	    "client URL follows (%s)", me->name, ra->old_addr, addr, how,
	    ra->old_peer_url, me->peer_url, me->client_url);
	reason = xasprintf("restarting the member this host bootstrapped "
	    "(zooinit's journal) at its new address %s (the journal has %s, "
	    "no longer this host's); its peer URL is updated to %s through "
	    "the other members first", addr, ra->old_addr, me->peer_url);
	plan_set_existing(p, reason);
	free(reason);
	if (b->plan_only) {
		boot_post(b, EV_PLANNED);
		return;
	}
	if (p->n < 2) {
		/* No other member to ask: etcd, restarted from its data,
		 * listens on the new URLs; its stored peer URL matters to
		 * nobody else. */
		log_warn("member %s is the only member: its stored peer URL "
		    "stays %s", me->name, ra->old_peer_url);
		done(ra);
		return;
	}
	/* The update gets its own resolve_timeout, however long DNS took. */
	ra->step = RA_LIST;
	ra->retry_ms = RETRY_MIN_MS;
	ra->deadline = loop_now_ms() + (int64_t)b->c->resolve_timeout * 1000;
	ask_next(ra);
}

/* Without DNS (a token, a static list): the one address --ip,
 * --interface or --hint gives, else the only one this host has. */
static void
find_local(struct readdress *ra)
{
	char addr[64], err[512];

	if (hostaddr_for_token(&ra->self, NULL, addr, sizeof(addr), err,
	    sizeof(err)) < 0) {
		log_error("the journal's address %s of member %s is no longer "
		    "this host's, and the new one is not clear: %s",
		    ra->old_addr, plan_me(&ra->b->plan)->name, err);
		boot_finish(ra->b, EXIT_USAGE);
		return;
	}
	found(ra, addr, ra->self.how ? ra->self.how : "this host's address");
}

static void
on_dns(void *arg, struct dns_result *r)
{
	struct readdress *ra = arg;
	const struct plan_member *me = plan_me(&ra->b->plan);
	char addr[512], *mine, *what, failed[256] = "";
	int rc = readdress_pick(r, me->host, &ra->self, addr, sizeof(addr));

	for (int i = 0; i < DNS_SRV_N && rc < 0 && failed[0] == '\0'; i++)
		if (r->status[i] == DNS_FAILED)
			snprintf(failed, sizeof(failed), "%s",
			    r->error[i] ? r->error[i] : "no answer");
	dns_result_free(r);
	free(r);
	if (rc == 1) {
		char *how = xasprintf("DNS: %s", me->host);
		found(ra, addr, how);
		free(how);
		return;
	}
	mine = self_list(&ra->self);
	if (rc < 0 && failed[0] != '\0')
		what = xasprintf("looking up the SRV records of %s to find the "
		    "new address of %s (member %s) failed: %s", ra->b->c->domain,
		    me->host, me->name, failed);
	else if (rc < 0)
		what = xasprintf("no SRV record under %s names %s (member %s) "
		    "any more; this host has %s", ra->b->c->domain, me->host,
		    me->name, mine);
	else if (addr[0] == '\0')
		what = xasprintf("DNS has no A/AAAA record of %s yet (member "
		    "%s); this host has %s", me->host, me->name, mine);
	else
		what = xasprintf("DNS still publishes %s at %s, not one of this "
		    "host's addresses (%s); waiting for the zone to follow the "
		    "host", me->host, addr, mine);
	wait_again(ra, what);
	free(what);
	free(mine);
}

/* Asks the source again; this host's addresses are read again too (the
 * old one may come back, a new one may take a while to appear). */
static void
find(struct readdress *ra)
{
	struct boot *b = ra->b;
	char err[512];

	local_addrs_free(&ra->self);
	if (hostaddr_local(b->c, &ra->self, err, sizeof(err)) < 0) {
		wait_again(ra, err);
		return;
	}
	if (plan_is_local(&ra->self, ra->old_addr)) {
		log_info("address %s is this host's again: restarting member %s "
		    "there", ra->old_addr, plan_me(&b->plan)->name);
		boot_post(b, EV_PLANNED);
		return;
	}
	if (plan_me(&b->plan)->host == NULL || b->c->domain == NULL) {
		find_local(ra);
		return;
	}
	if (ra->dns == NULL) {
		ra->dns = dns_resolver_new(b->x->loop, b->c->dns_servers,
		    b->c->n_dns_servers, DNS_QUERY_TIMEOUT_MS, DNS_QUERY_TRIES,
		    err, sizeof(err));
		if (ra->dns == NULL) {
			log_error("%s", err);
			boot_finish(b, EXIT_USAGE);
			return;
		}
	}
	if (dns_lookup(ra->dns, b->c->domain, on_dns, ra) < 0) {
		log_error("internal: a DNS lookup is already running");
		boot_finish(b, EXIT_INTERNAL);
	}
}

/* ---- the member update -------------------------------------------------- */

static void on_list(void *arg, const struct etcd_http_result *r);
static void on_update(void *arg, const struct etcd_http_result *r);

/* One member said no (or nothing): note it and ask the next. */
static void
member_failed(struct readdress *ra, const char *what)
{
	const struct plan_member *m = &ra->b->plan.m[ra->asked];

	sb_printf(&ra->why, "%s%s: %s", ra->why.len ? "; " : "", m->name, what);
	ra->step = RA_LIST;
	ask_next(ra);
}

static void
post(struct readdress *ra, const char *path, const char *body,
    etcd_http_cb cb)
{
	char *url = xasprintf("%s%s", ra->b->plan.m[ra->asked].client_url, path);

	ra->req = etcd_http_post_json(ra->b->x->http, url, body,
	    UPDATE_TIMEOUT_MS, cb, ra);
	free(url);
}

/* The next other member, in turn; after a round through all of them,
 * waits and says what each answered. */
static void
ask_next(struct readdress *ra)
{
	struct plan *p = &ra->b->plan;

	while (ra->next < p->n && p->m[ra->next].self)
		ra->next++;
	if (ra->next >= p->n) {
		char *what = xasprintf("cannot update the peer URL of member %s "
		    "yet (the other members must have a quorum): %s",
		    plan_me(p)->name, ra->why.len ? sb_str(&ra->why) :
		    "no member asked");
		ra->next = 0;
		sb_free(&ra->why);
		wait_again(ra, what);
		free(what);
		return;
	}
	ra->asked = ra->next++;
	post(ra, "/v3/cluster/member/list", "{}", on_list);
}

static void
on_list(void *arg, const struct etcd_http_result *r)
{
	struct readdress *ra = arg;
	const struct plan_member *me = plan_me(&ra->b->plan);
	struct etcd_members ms;
	char err[256];
	const struct etcd_member *found_m = NULL;
	bool current = false;

	ra->req = 0;
	if (r->status != 200 ||
	    etcd_parse_members(r->body, r->len, &ms, err, sizeof(err)) < 0) {
		member_failed(ra, r->status != 200 ? etcd_http_why(r, err,
		    sizeof(err)) : err);
		return;
	}
	for (size_t i = 0; i < ms.n && found_m == NULL; i++) {
		for (size_t j = 0; j < ms.v[i].n_peer_urls; j++) {
			const char *u = ms.v[i].peer_urls[j];
			if (strcmp(u, ra->old_peer_url) == 0 ||
			    strcmp(u, me->peer_url) == 0) {
				found_m = &ms.v[i];
				current = strcmp(u, me->peer_url) == 0 &&
				    ms.v[i].n_peer_urls == 1;
			}
		}
	}
	for (size_t i = 0; i < ms.n && found_m == NULL; i++)
		if (strcmp(ms.v[i].name, me->name) == 0)
			found_m = &ms.v[i];
	if (found_m == NULL) {
		log_error("the cluster %016" PRIx64 " (asked through %s) has no "
		    "member %s at %s: it was removed while this host was away; "
		    "move %s away to join again as a new member",
		    ms.cluster_id, ra->b->plan.m[ra->asked].name, me->name,
		    ra->old_peer_url, ra->b->plan.source_detail);
		etcd_members_free(&ms);
		boot_finish(ra->b, EXIT_PERMANENT);
		return;
	}
	ra->member_id = found_m->id;
	etcd_members_free(&ms);
	if (current) {
		log_info("member %s (%016" PRIx64 ") already has peer URL %s",
		    me->name, ra->member_id, me->peer_url);
		done(ra);
		return;
	}
	char *body = xasprintf("{\"ID\":\"%" PRIu64 "\",\"peerURLs\":[\"%s\"]}",
	    ra->member_id, me->peer_url);
	ra->step = RA_UPDATE;
	post(ra, "/v3/cluster/member/update", body, on_update);
	free(body);
}

static void
on_update(void *arg, const struct etcd_http_result *r)
{
	struct readdress *ra = arg;
	const struct plan_member *me = plan_me(&ra->b->plan);
	char buf[256];

	ra->req = 0;
	if (r->status != 200) {
		member_failed(ra, etcd_http_why(r, buf, sizeof(buf)));
		return;
	}
	log_info("updated member %s (%016" PRIx64 ") through %s: peer URL %s "
	    "(was %s)", me->name, ra->member_id,
	    ra->b->plan.m[ra->asked].name, me->peer_url, ra->old_peer_url);
	done(ra);
}

/* ---- entry points ------------------------------------------------------- */

void
readdress_check(struct boot *b)
{
	const struct plan_member *me = plan_me(&b->plan);
	struct readdress *ra;
	struct local_addrs self = { 0 };
	char err[512];
	char *mine;

	if (b->plan.proxy)
		goto planned;
	if (hostaddr_local(b->c, &self, err, sizeof(err)) < 0) {
		/* The first start needs it; a restart from the journal kept
		 * working without it, and still does. */
		log_warn("%s; restarting member %s at the journal's address %s",
		    err, me->name, me->addr);
		goto planned;
	}
	if (plan_is_local(&self, me->addr)) {
		local_addrs_free(&self);
		goto planned;
	}
	mine = self_list(&self);
	log_warn("the journal's address of member %s, %s, is not one of this "
	    "host's addresses (%s: %s); finding its new address from %s",
	    me->name, me->addr, self.how ? self.how : "every interface", mine,
	    me->host != NULL && b->c->domain != NULL ? "DNS" :
	    "this host's configuration");
	free(mine);
	ra = xcalloc(1, sizeof(*ra));
	*ra = (struct readdress){ .b = b, .self = self, .step = RA_FIND,
	    .retry_ms = RETRY_MIN_MS, .old_addr = xstrdup(me->addr),
	    .old_peer_url = xstrdup(me->peer_url),
	    .deadline = loop_now_ms() + (int64_t)b->c->resolve_timeout * 1000 };
	readdress_free(b->rs.ra);
	b->rs.ra = ra;
	find(ra);
	return;
planned:
	boot_post(b, EV_PLANNED);
}

bool
readdress_addr_gone(const struct boot *b)
{
	struct local_addrs self = { 0 };
	char err[512];
	bool gone;

	if (b->plan.proxy || b->plan.m == NULL ||
	    hostaddr_local(b->c, &self, err, sizeof(err)) < 0)
		return false;
	gone = !plan_is_local(&self, plan_me(&b->plan)->addr);
	local_addrs_free(&self);
	return gone;
}

void
readdress_free(struct readdress *ra)
{
	if (ra == NULL)
		return;
	if (ra->req != 0)
		etcd_http_cancel(ra->b->x->http, ra->req);
	loop_cancel(ra->b->x->loop, ra->timer);
	dns_resolver_free(ra->dns);
	local_addrs_free(&ra->self);
	free(ra->old_addr);
	free(ra->old_peer_url);
	sb_free(&ra->why);
	free(ra);
}
