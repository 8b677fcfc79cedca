#include "lib/fmacros.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/plan.h"
#include "agent/plan_impl.h"
#include "lib/str.h"
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "resolver/dnsname.h"

/* The DNS source: a plan from the SRV records of the zone, which every
 * host must turn into the same member map. */

/* Where a record came from, for messages: "_etcd-server._tcp.zl.test". */
static const char *
srvname(const struct dns_result *r, enum dns_service s, char *buf, size_t len)
{
	char *name = dns_service_name(s, r->srv_name, r->domain);

	snprintf(buf, len, "%s", name);
	free(name);
	return buf;
}

/* The member name every host derives from an SRV target. */
static char *
derive_name(const char *target, enum cfg_names how)
{
	if (how == CFG_NAMES_FQDN)
		return xstrdup(target);
	return xstrndup(target, strcspn(target, "."));
}

static bool
any_local(const struct local_addrs *self, const struct dns_target *t)
{
	for (size_t i = 0; i < t->n_addrs; i++)
		if (plan_is_local(self, t->addrs[i]))
			return true;
	return false;
}

/* Checks each record on its own: a valid host name and a usable port. */
static enum plan_result
check_records(const struct dns_result *r, char *msg, size_t msglen)
{
	char sn[320], q[300];

	for (size_t i = 0; i < r->n; i++) {
		const struct dns_target *t = &r->t[i];

		if (!dns_hostname_valid(t->target)) {
			str_seterr(msg, msglen, "SRV %s has target \"%s\", "
			    "which is not a valid host name (letters, digits, "
			    "hyphens and dots only); fix the record",
			    srvname(r, t->svc, sn, sizeof(sn)),
			    str_quote(t->target, q, sizeof(q)));
			return PLAN_FAIL;
		}
		if (t->port == 0) {
			str_seterr(msg, msglen, "SRV %s gives %s port 0; "
			    "publish the member's peer port (usually 2380)",
			    srvname(r, t->svc, sn, sizeof(sn)), t->target);
			return PLAN_FAIL;
		}
	}
	return PLAN_OK;
}

/* Picks one record per member: the same target twice in one set is an
 * error, in the -ssl and a plain set a scheme conflict, and in the two
 * plain spellings the same member (merged) if the ports agree. keep[i]
 * says whether record i stands for a member. */
static enum plan_result
merge_records(const struct dns_result *r, bool *keep, char *msg, size_t msglen)
{
	char s1[320], s2[320];

	for (size_t i = 0; i < r->n; i++)
		keep[i] = true;
	for (size_t i = 0; i < r->n; i++) {
		const struct dns_target *a = &r->t[i];

		for (size_t j = i + 1; j < r->n && keep[i]; j++) {
			const struct dns_target *b = &r->t[j];

			if (!keep[j] || strcasecmp(a->target, b->target) != 0)
				continue;
			srvname(r, a->svc, s1, sizeof(s1));
			srvname(r, b->svc, s2, sizeof(s2));
			if (a->svc == b->svc) {
				str_seterr(msg, msglen, "SRV %s lists %s "
				    "twice (ports %u and %u); each member must "
				    "appear once", s1, a->target, a->port,
				    b->port);
				return PLAN_FAIL;
			}
			if (a->svc == DNS_SRV_SSL || b->svc == DNS_SRV_SSL) {
				str_seterr(msg, msglen, "scheme mismatch: %s "
				    "is published under both %s (%s) and %s "
				    "(%s); publish each member under one "
				    "record set", a->target, s1,
				    dns_service_scheme(a->svc), s2,
				    dns_service_scheme(b->svc));
				return PLAN_FAIL;
			}
			if (a->port != b->port) {
				str_seterr(msg, msglen, "%s has peer port %u "
				    "under %s but %u under %s; make the two "
				    "records agree", a->target, a->port, s1,
				    b->port, s2);
				return PLAN_FAIL;
			}
			keep[j] = false;
		}
	}
	return PLAN_OK;
}

/* One scheme for the whole cluster, and the one configured if any; https
 * only with certificates to serve it. */
static enum plan_result
check_scheme(const struct cfg *c, const struct dns_result *r, const bool *keep,
    const char **scheme, char *msg, size_t msglen)
{
	struct sbuf ssl = { .max = 256 };
	struct sbuf plain = { .max = 256 };
	enum dns_service plain_svc = DNS_SRV_PLAIN;
	enum plan_result res = PLAN_OK;
	char s1[320], s2[320];

	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i])
			continue;
		struct sbuf *b = r->t[i].svc == DNS_SRV_SSL ? &ssl : &plain;
		if (r->t[i].svc != DNS_SRV_SSL)
			plain_svc = r->t[i].svc;
		sb_printf(b, "%s%s", b->len ? ", " : "", r->t[i].target);
	}
	if (ssl.len > 0 && plain.len > 0) {
		str_seterr(msg, msglen, "scheme mismatch: %s (https) lists %s "
		    "while %s (http) lists %s; a cluster uses one scheme, so "
		    "publish every member under one of them",
		    srvname(r, DNS_SRV_SSL, s1, sizeof(s1)), sb_str(&ssl),
		    srvname(r, plain_svc, s2, sizeof(s2)), sb_str(&plain));
		res = PLAN_FAIL;
		goto out;
	}
	*scheme = ssl.len > 0 ? "https" : "http";
	if (c->scheme != CFG_SCHEME_AUTO &&
	    strcmp(cfg_scheme_name(c->scheme), *scheme) != 0) {
		str_seterr(msg, msglen, "scheme mismatch: scheme is set to %s but the "
		    "zone publishes its members under %s (%s); publish %s or set "
		    "scheme = \"%s\"", cfg_scheme_name(c->scheme),
		    srvname(r, ssl.len ? DNS_SRV_SSL : plain_svc, s1, sizeof(s1)),
		    *scheme,
		    srvname(r, ssl.len ? DNS_SRV_PLAIN : DNS_SRV_SSL, s2, sizeof(s2)),
		    *scheme);
		res = PLAN_FAIL;
		goto out;
	}
	if (ssl.len > 0 && !plan_tls_configured(c,
	    srvname(r, DNS_SRV_SSL, s1, sizeof(s1)), msg, msglen))
		res = PLAN_FAIL;
out:
	sb_free(&ssl);
	sb_free(&plain);
	return res;
}

/* Member names must be unique (the configured name is checked against
 * the derived one once this host is known). */
static enum plan_result
check_names(const struct dns_result *r, const bool *keep, char **names,
    char *msg, size_t msglen)
{
	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i])
			continue;
		for (size_t j = 0; j < i; j++) {
			if (keep[j] && strcmp(names[i], names[j]) == 0) {
				str_seterr(msg, msglen, "%s and %s both give "
				    "member name %s; set member_names = "
				    "\"fqdn\" or rename a host", r->t[j].target,
				    r->t[i].target, names[i]);
				return PLAN_FAIL;
			}
		}
	}
	return PLAN_OK;
}

/* Says which members resolved and why the others did not. */
static void
progress(const struct dns_result *r, const bool *keep, char **names,
    size_t need, char *msg, size_t msglen, size_t *resolved)
{
	struct sbuf ok = { .max = 512 };
	struct sbuf bad = { .max = 512 };

	*resolved = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i])
			continue;
		if (r->t[i].n_addrs > 0) {
			(*resolved)++;
			sb_printf(&ok, "%s%s", ok.len ? ", " : "", names[i]);
		} else {
			sb_printf(&bad, "%s%s: %s", bad.len ? "; " : "", r->t[i].target,
			    r->t[i].why ? r->t[i].why : "no A/AAAA record");
		}
	}
	str_seterr(msg, msglen, "%zu/%zu resolved (%s)%s%s", *resolved, need,
	    ok.len ? sb_str(&ok) : "none", bad.len ? "; " : "", sb_str(&bad));
	sb_free(&ok);
	sb_free(&bad);
}

static void
describe_targets(const struct dns_result *r, const bool *keep, struct sbuf *b)
{
	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i])
			continue;
		sb_printf(b, "%s%s=", b->len ? ", " : "", r->t[i].target);
		for (size_t j = 0; j < r->t[i].n_addrs; j++)
			sb_printf(b, "%s%s", j ? "/" : "", r->t[i].addrs[j]);
	}
}

/* Writes "this host (ADDRS, by HOW) is not among the targets of SRV
 * (TARGET=ADDR, ...)" into b. */
static void
describe_absent(const struct dns_result *r, const bool *keep,
    const struct local_addrs *self, const char *srv, struct sbuf *b)
{
	struct sbuf t = { .max = 640 };
	struct sbuf mine = { .max = 256 };

	describe_targets(r, keep, &t);
	for (size_t i = 0; i < self->n; i++)
		sb_printf(&mine, "%s%s", i ? ", " : "", self->v[i]);
	sb_printf(b, "this host (%s, by %s) is not among the targets of %s "
	    "(%s)", sb_str(&mine), self->how, srv, sb_str(&t));
	sb_free(&mine);
	sb_free(&t);
}

/* Finds the one record that is this host; *out = r->n when none is and
 * the role lets this host be a client. */
static enum plan_result
find_self(const struct cfg *c, const struct dns_result *r, const bool *keep,
    const struct local_addrs *self, const char *srv, size_t *out,
    char *msg, size_t msglen)
{
	size_t found = r->n;

	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i] || !any_local(self, &r->t[i]))
			continue;
		if (found != r->n) {
			str_seterr(msg, msglen, "this host matches two "
			    "targets, %s and %s (by %s); set --ip or "
			    "--interface to say which one it is",
			    r->t[found].target, r->t[i].target, self->how);
			return PLAN_FAIL;
		}
		found = i;
	}
	if (found == r->n) {
		struct sbuf b = { .max = 1024 };

		*out = r->n;
		if (c->role != CFG_ROLE_MEMBER)
			return PLAN_OK;
		describe_absent(r, keep, self, srv, &b);
		str_seterr(msg, msglen, "%s, and role is member; publish a "
		    "record for it, set --ip, or set role = auto to run it as "
		    "a client", sb_str(&b));
		sb_free(&b);
		return PLAN_FAIL;
	}
	if (c->role == CFG_ROLE_CLIENT) {
		str_seterr(msg, msglen, "role is client, but %s lists this "
		    "host as member %s; the cluster would wait for a member "
		    "that never starts, so remove the record or set role = "
		    "auto", srv, r->t[found].target);
		return PLAN_FAIL;
	}
	/* Every host builds URLs from a target's first address; if that
	 * one is not ours, our etcd could not listen where the others call. */
	if (!plan_is_local(self, r->t[found].addrs[0])) {
		str_seterr(msg, msglen, "%s resolves to %s first, which is "
		    "not this host's address; every host uses a target's first "
		    "address, so publish one address per member",
		    r->t[found].target, r->t[found].addrs[0]);
		return PLAN_FAIL;
	}
	*out = found;
	return PLAN_OK;
}

/* The checks on the record set as a whole, before names: each record,
 * one record per member, not too many members, one scheme. Sets keep
 * (r->n entries), *n (members) and *scheme. */
static enum plan_result
check_set(const struct cfg *c, const struct dns_result *r, bool *keep,
    size_t *n, const char **scheme, char *msg, size_t msglen)
{
	enum plan_result res;

	res = check_records(r, msg, msglen);
	if (res != PLAN_OK)
		return res;
	res = merge_records(r, keep, msg, msglen);
	if (res != PLAN_OK)
		return res;
	*n = 0;
	for (size_t i = 0; i < r->n; i++)
		*n += keep[i];
	if (*n > CFG_MAX_MEMBERS || (c->size > 0 && *n > (size_t)c->size)) {
		str_seterr(msg, msglen, "the zone publishes %zu members but "
		    "%s %d; remove the extra SRV records or raise size", *n,
		    c->size > 0 ? "size is" : "at most",
		    c->size > 0 ? c->size : CFG_MAX_MEMBERS);
		return PLAN_FAIL;
	}
	return check_scheme(c, r, keep, scheme, msg, msglen);
}

/* This host's record against what is configured for it. */
static enum plan_result
check_me(const struct cfg *c, const struct dns_result *r, char **names,
    size_t me, char *msg, size_t msglen)
{
	char sn[320];

	if (c->name != NULL && strcmp(c->name, names[me]) != 0) {
		str_seterr(msg, msglen, "name is set to %s, but every other "
		    "host derives the name %s from SRV target %s; drop the name "
		    "setting or rename the target", c->name, names[me],
		    r->t[me].target);
		return PLAN_FAIL;
	}
	if (c->peer_port != 0 && (unsigned)c->peer_port != r->t[me].port) {
		str_seterr(msg, msglen, "port mismatch: SRV %s gives %s peer "
		    "port %u but peer_port is set to %d; fix the record or the "
		    "setting", srvname(r, r->t[me].svc, sn, sizeof(sn)),
		    r->t[me].target, r->t[me].port, c->peer_port);
		return PLAN_FAIL;
	}
	return PLAN_OK;
}

/* Fills p with the n kept records, record me being this host; takes the
 * names it uses out of names. */
static enum plan_result
fill(const struct cfg *c, const struct dns_result *r, const bool *keep,
    char **names, size_t n, size_t me, const char *scheme, const char *sn,
    struct plan *p, char *msg, size_t msglen)
{
	char *token;

	p->source = "dns";
	p->source_detail = xstrdup(sn);
	p->scheme = scheme;
	p->m = xcalloc(n, sizeof(*p->m));
	for (size_t i = 0; i < r->n; i++) {
		const struct dns_target *t = &r->t[i];
		struct plan_member *m;

		if (!keep[i])
			continue;
		m = &p->m[p->n++];
		m->name = names[i];
		names[i] = NULL;
		m->host = xstrdup(t->target);
		m->addr = xstrdup(t->addrs[0]);
		m->peer_port = t->port;
		m->peer_url = url_make(scheme, m->addr, t->port);
		m->client_url = url_make(scheme, m->addr,
		    (unsigned)c->client_port);
		m->self = i == me;
	}
	plan_finish(p);
	if (plan_check_endpoints(p, msg, msglen) != PLAN_OK) {
		plan_free(p);
		return PLAN_FAIL;
	}
	/* Clusters told apart by srv_name get tokens of their own. */
	token = r->srv_name ? xasprintf("zooinit-etcd-%s-%s", r->srv_name,
	    r->domain) : xasprintf("zooinit-etcd-%s", r->domain);
	plan_set_new(p, c, token);
	free(token);
	str_seterr(msg, msglen, "%zu members from %s", p->n, sn);
	return PLAN_OK;
}

/* Says why this host is a member or a client; a client's plan has no
 * self yet (plan_client_me() gives it one). */
static void
set_role(const struct cfg *c, const struct dns_result *r, const bool *keep,
    const struct local_addrs *self, size_t me, const char *srv,
    struct plan *p, char *msg, size_t msglen)
{
	struct sbuf b = { .max = 1024 };

	if (me < r->n) {
		p->role_reason = xasprintf("%s lists this host as %s", srv,
		    r->t[me].target);
		return;
	}
	p->proxy = true;
	if (c->role == CFG_ROLE_CLIENT) {
		sb_printf(&b, "role is client: this host serves clients "
		    "through etcd's grpc-proxy and never becomes a member");
	} else {
		describe_absent(r, keep, self, srv, &b);
		sb_printf(&b, ", so with role auto it serves clients through "
		    "etcd's grpc-proxy");
	}
	p->role_reason = sb_take(&b);
	str_seterr(msg, msglen, "%zu members from %s; this host is a client",
	    p->n, srv);
}

enum plan_result
plan_from_dns(const struct cfg *c, const struct dns_result *r,
    const struct local_addrs *self, struct plan *p, char *msg, size_t msglen)
{
	enum plan_result res;
	const char *scheme = "http";
	char **names = NULL;
	bool *keep = NULL;
	size_t n = 0, need, resolved, me = 0;
	int used = -1;
	char sn[320];

	memset(p, 0, sizeof(*p));

	/* A set that failed (timeout, SERVFAIL) may hold members we would
	 * otherwise leave out: ask again rather than plan without it. */
	for (int s = 0; s < DNS_SRV_N; s++) {
		if (r->status[s] == DNS_FAILED) {
			str_seterr(msg, msglen, "DNS lookup failed: %s",
			    r->error[s]);
			return PLAN_WAIT;
		}
		if (r->status[s] == DNS_OK && used < 0)
			used = s;
	}
	if (r->n == 0) {
		char s1[320], s2[320], s3[320];

		str_seterr(msg, msglen, "no SRV records for %s: %s, %s "
		    "and %s do not exist", r->domain,
		    srvname(r, DNS_SRV_SSL, s1, sizeof(s1)),
		    srvname(r, DNS_SRV_PLAIN, s2, sizeof(s2)),
		    srvname(r, DNS_SRV_UNDERSCORE, s3, sizeof(s3)));
		return PLAN_WAIT;
	}
	keep = xcalloc(r->n, sizeof(*keep));
	res = check_set(c, r, keep, &n, &scheme, msg, msglen);
	if (res != PLAN_OK)
		goto out;
	names = xcalloc(r->n, sizeof(*names));
	for (size_t i = 0; i < r->n; i++)
		names[i] = derive_name(r->t[i].target, c->member_names);
	res = check_names(r, keep, names, msg, msglen);
	if (res != PLAN_OK)
		goto out;

	need = c->size > 0 ? (size_t)c->size : n;
	progress(r, keep, names, need, msg, msglen, &resolved);
	if (resolved < need) {
		p->resolved = resolved;
		p->need = need;
		res = PLAN_WAIT;
		goto out;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (keep[i] && r->t[i].svc != DNS_SRV_SSL) {
			used = (int)r->t[i].svc;
			break;
		}
	}
	srvname(r, (enum dns_service)(strcmp(scheme, "https") ? used :
	    DNS_SRV_SSL), sn, sizeof(sn));
	res = find_self(c, r, keep, self, sn, &me, msg, msglen);
	if (res == PLAN_OK && me < r->n)
		res = check_me(c, r, names, me, msg, msglen);
	if (res == PLAN_OK)
		res = fill(c, r, keep, names, n, me, scheme, sn, p, msg,
		    msglen);
	if (res == PLAN_OK)
		set_role(c, r, keep, self, me, sn, p, msg, msglen);
out:
	for (size_t i = 0; names != NULL && i < r->n; i++)
		free(names[i]);
	free(names);
	free(keep);
	return res;
}
