#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "agent/plan.h"
#include "lib/xmalloc.h"
#include "lib/str.h"
#include "resolver/dnsname.h"

static void __attribute__((format(printf, 3, 4)))
setmsg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* Where a record came from, for messages: "_etcd-server._tcp.zl.test". */
static const char *
srvname(const struct dns_result *r, enum dns_service s, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s", dns_service_label(s), r->domain);
	return buf;
}

static char *
make_url(const char *scheme, const char *addr, unsigned port)
{
	if (strchr(addr, ':') != NULL)
		return xasprintf("%s://[%s]:%u", scheme, addr, port);
	return xasprintf("%s://%s:%u", scheme, addr, port);
}

int
plan_parse_url(const char *url, char *scheme, size_t schemelen, char *addr,
    size_t addrlen, unsigned *port)
{
	const char *host, *end, *colon;
	char buf[64], norm[64];
	unsigned long v;
	char *ep;

	if (strncmp(url, "http://", 7) == 0) {
		snprintf(scheme, schemelen, "http");
		host = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		snprintf(scheme, schemelen, "https");
		host = url + 8;
	} else {
		return -1;
	}
	/* RFC 3986: brackets around IPv6 literals and only around them. */
	bool v6 = *host == '[';
	if (v6) {
		end = strchr(host, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		host++;
		colon = end + 1;
	} else {
		colon = strchr(host, ':');
		if (colon == NULL)
			return -1;
		end = colon;
	}
	if ((size_t)(end - host) >= sizeof(buf))
		return -1;
	memcpy(buf, host, (size_t)(end - host));
	buf[end - host] = '\0';
	if (addr_normalise(buf, norm, sizeof(norm)) < 0 || strcmp(buf, norm) != 0 ||
	    (strchr(norm, ':') != NULL) != v6)
		return -1;
	errno = 0;
	v = strtoul(colon + 1, &ep, 10);
	if (colon[1] < '0' || colon[1] > '9' || *ep != '\0' || errno != 0 ||
	    v == 0 || v > 65535)
		return -1;
	snprintf(addr, addrlen, "%s", norm);
	*port = (unsigned)v;
	return 0;
}

void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->m[i].name);
		free(p->m[i].host);
		free(p->m[i].addr);
		free(p->m[i].peer_url);
		free(p->m[i].client_url);
	}
	free(p->m);
	free(p->proxy_me.name);
	free(p->proxy_me.addr);
	free(p->proxy_me.client_url);
	for (size_t i = 0; i < p->argc; i++)
		free(p->argv[i]);
	free(p->argv);
	for (size_t i = 0; i < p->n_skipped; i++)
		free(p->skipped[i]);
	free(p->skipped);
	free(p->source_detail);
	free(p->initial_cluster);
	free(p->token);
	free(p->state_reason);
	free(p->data_dir);
	free(p->etcd);
	memset(p, 0, sizeof(*p));
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct plan_member *)a)->name,
	    ((const struct plan_member *)b)->name);
}

/* Sorts the members, finds self again and joins the initial cluster. */
static void
finish(struct plan *p)
{
	struct sbuf b = { 0 };

	qsort(p->m, p->n, sizeof(*p->m), member_cmp);
	for (size_t i = 0; i < p->n; i++) {
		if (p->m[i].self)
			p->self = i;
	}
	for (size_t i = 0; i < p->n; i++)
		sb_printf(&b, "%s%s=%s", i ? "," : "", p->m[i].name, p->m[i].peer_url);
	p->initial_cluster = sb_take(&b);
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
is_local(const struct local_addrs *self, const char *addr)
{
	for (size_t i = 0; i < self->n; i++)
		if (strcmp(self->v[i], addr) == 0)
			return true;
	return false;
}

static bool
any_local(const struct local_addrs *self, const struct dns_target *t)
{
	for (size_t i = 0; i < t->n_addrs; i++)
		if (is_local(self, t->addrs[i]))
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
			setmsg(msg, msglen, "SRV %s has target \"%s\", which is not "
			    "a valid host name (letters, digits, hyphens and dots "
			    "only); fix the record",
			    srvname(r, t->svc, sn, sizeof(sn)),
			    str_quote(t->target, q, sizeof(q)));
			return PLAN_FAIL;
		}
		if (t->port == 0) {
			setmsg(msg, msglen, "SRV %s gives %s port 0; publish the "
			    "member's peer port (usually 2380)",
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
				setmsg(msg, msglen, "SRV %s lists %s twice (ports %u "
				    "and %u); each member must appear once",
				    s1, a->target, a->port, b->port);
				return PLAN_FAIL;
			}
			if (a->svc == DNS_SRV_SSL || b->svc == DNS_SRV_SSL) {
				setmsg(msg, msglen, "scheme mismatch: %s is published "
				    "under both %s (%s) and %s (%s); publish each "
				    "member under one record set", a->target, s1,
				    dns_service_scheme(a->svc), s2,
				    dns_service_scheme(b->svc));
				return PLAN_FAIL;
			}
			if (a->port != b->port) {
				setmsg(msg, msglen, "%s has peer port %u under %s but "
				    "%u under %s; make the two records agree",
				    a->target, a->port, s1, b->port, s2);
				return PLAN_FAIL;
			}
			keep[j] = false;
		}
	}
	return PLAN_OK;
}

/* Whether c gives etcd what an https plan needs; the peer pair defaults
 * to this one. Otherwise says so in msg, naming what asked for https. */
static bool
tls_configured(const struct cfg *c, const char *what, char *msg,
    size_t msglen)
{
	if (c->cert_file != NULL && c->key_file != NULL)
		return true;
	setmsg(msg, msglen, "%s asks for https peers; set cert_file and "
	    "key_file (and trusted_ca_file) to give etcd its certificates",
	    what);
	return false;
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
		setmsg(msg, msglen, "scheme mismatch: %s (https) lists %s while "
		    "%s (http) lists %s; a cluster uses one scheme, so publish "
		    "every member under one of them",
		    srvname(r, DNS_SRV_SSL, s1, sizeof(s1)), sb_str(&ssl),
		    srvname(r, plain_svc, s2, sizeof(s2)), sb_str(&plain));
		res = PLAN_FAIL;
		goto out;
	}
	*scheme = ssl.len > 0 ? "https" : "http";
	if (c->scheme != CFG_SCHEME_AUTO &&
	    strcmp(cfg_scheme_name(c->scheme), *scheme) != 0) {
		setmsg(msg, msglen, "scheme mismatch: scheme is set to %s but the "
		    "zone publishes its members under %s (%s); publish %s or set "
		    "scheme = \"%s\"", cfg_scheme_name(c->scheme),
		    srvname(r, ssl.len ? DNS_SRV_SSL : plain_svc, s1, sizeof(s1)),
		    *scheme,
		    srvname(r, ssl.len ? DNS_SRV_PLAIN : DNS_SRV_SSL, s2, sizeof(s2)),
		    *scheme);
		res = PLAN_FAIL;
		goto out;
	}
	if (ssl.len > 0 && !tls_configured(c,
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
				setmsg(msg, msglen, "%s and %s both give member name "
				    "%s; set member_names = \"fqdn\" or rename a "
				    "host", r->t[j].target, r->t[i].target,
				    names[i]);
				return PLAN_FAIL;
			}
		}
	}
	return PLAN_OK;
}

/* Every peer and client endpoint (address, port) must be distinct. */
static enum plan_result
check_endpoints(const struct plan *p, char *msg, size_t msglen)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_member *a = &p->m[i];

		if (strcmp(a->peer_url + strcspn(a->peer_url, ":"),
		    a->client_url + strcspn(a->client_url, ":")) == 0) {
			setmsg(msg, msglen, "member %s would use %s for both peer "
			    "and client traffic; give client_port a value other "
			    "than %u", a->name, a->peer_url, a->peer_port);
			return PLAN_FAIL;
		}
		for (size_t j = 0; j < i; j++) {
			const struct plan_member *b = &p->m[j];
			const char *what = NULL;

			if (strcmp(a->peer_url, b->peer_url) == 0)
				what = a->peer_url;
			else if (strcmp(a->client_url, b->client_url) == 0)
				what = a->client_url;
			if (what != NULL) {
				setmsg(msg, msglen, "%s and %s both resolve to %s; "
				    "each member needs its own address or port",
				    b->host ? b->host : b->name,
				    a->host ? a->host : a->name, what);
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
	setmsg(msg, msglen, "%zu/%zu resolved (%s)%s%s", *resolved, need,
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

/* Finds the one record that is this host. */
static enum plan_result
find_self(const struct dns_result *r, const bool *keep,
    const struct local_addrs *self, const char *srv, size_t *out,
    char *msg, size_t msglen)
{
	size_t found = r->n;
	struct sbuf b;

	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i] || !any_local(self, &r->t[i]))
			continue;
		if (found != r->n) {
			setmsg(msg, msglen, "this host matches two targets, %s and "
			    "%s (by %s); set --ip or --interface to say which one "
			    "it is", r->t[found].target, r->t[i].target,
			    self->how);
			return PLAN_FAIL;
		}
		found = i;
	}
	if (found == r->n) {
		b = (struct sbuf){ .max = 640 };
		describe_targets(r, keep, &b);
		struct sbuf mine = { .max = 256 };
		for (size_t i = 0; i < self->n; i++)
			sb_printf(&mine, "%s%s", i ? ", " : "", self->v[i]);
		setmsg(msg, msglen, "this host (%s, by %s) is not among the "
		    "targets of %s (%s); publish a record for it or set --ip",
		    sb_str(&mine), self->how, srv, sb_str(&b));
		sb_free(&mine);
		sb_free(&b);
		return PLAN_FAIL;
	}
	/* Every host builds URLs from a target's first address; if that
	 * one is not ours, our etcd could not listen where the others call. */
	if (!is_local(self, r->t[found].addrs[0])) {
		setmsg(msg, msglen, "%s resolves to %s first, which is not this "
		    "host's address; every host uses a target's first address, "
		    "so publish one address per member",
		    r->t[found].target, r->t[found].addrs[0]);
		return PLAN_FAIL;
	}
	*out = found;
	return PLAN_OK;
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
			setmsg(msg, msglen, "DNS lookup failed: %s", r->error[s]);
			return PLAN_WAIT;
		}
		if (r->status[s] == DNS_OK && used < 0)
			used = s;
	}
	if (r->n == 0) {
		setmsg(msg, msglen, "no SRV records for %s: %s.%s, %s.%s and %s.%s "
		    "do not exist", r->domain,
		    dns_service_label(DNS_SRV_SSL), r->domain,
		    dns_service_label(DNS_SRV_PLAIN), r->domain,
		    dns_service_label(DNS_SRV_UNDERSCORE), r->domain);
		return PLAN_WAIT;
	}
	res = check_records(r, msg, msglen);
	if (res != PLAN_OK)
		return res;
	keep = xcalloc(r->n, sizeof(*keep));
	res = merge_records(r, keep, msg, msglen);
	if (res != PLAN_OK)
		goto out;
	for (size_t i = 0; i < r->n; i++)
		n += keep[i];
	if (n > CFG_MAX_MEMBERS || (c->size > 0 && n > (size_t)c->size)) {
		setmsg(msg, msglen, "the zone publishes %zu members but %s %d; "
		    "remove the extra SRV records or raise size", n,
		    c->size > 0 ? "size is" : "at most",
		    c->size > 0 ? c->size : CFG_MAX_MEMBERS);
		res = PLAN_FAIL;
		goto out;
	}
	res = check_scheme(c, r, keep, &scheme, msg, msglen);
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
	srvname(r, (enum dns_service)(strcmp(scheme, "https") ? used : DNS_SRV_SSL),
	    sn, sizeof(sn));
	res = find_self(r, keep, self, sn, &me, msg, msglen);
	if (res != PLAN_OK)
		goto out;
	if (c->name != NULL && strcmp(c->name, names[me]) != 0) {
		setmsg(msg, msglen, "name is set to %s, but every other host "
		    "derives the name %s from SRV target %s; drop the name setting "
		    "or rename the target", c->name, names[me], r->t[me].target);
		res = PLAN_FAIL;
		goto out;
	}
	if (c->peer_port != 0 && (unsigned)c->peer_port != r->t[me].port) {
		setmsg(msg, msglen, "port mismatch: SRV %s gives %s peer port %u "
		    "but peer_port is set to %d; fix the record or the setting",
		    srvname(r, r->t[me].svc, sn, sizeof(sn)), r->t[me].target,
		    r->t[me].port, c->peer_port);
		res = PLAN_FAIL;
		goto out;
	}

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
		m->peer_url = make_url(scheme, m->addr, t->port);
		m->client_url = make_url(scheme, m->addr, (unsigned)c->client_port);
		m->self = i == me;
	}
	finish(p);
	res = check_endpoints(p, msg, msglen);
	if (res != PLAN_OK) {
		plan_free(p);
		goto out;
	}
	p->token = c->token ? xstrdup(c->token) :
	    xasprintf("zooinit-etcd-%s", r->domain);
	p->state = "new";
	p->state_reason = xstrdup("the data dir holds no member yet");
	p->data_dir = xstrdup(c->data_dir);
	p->etcd = xstrdup(c->etcd);
	setmsg(msg, msglen, "%zu members from %s", p->n, sn);
out:
	for (size_t i = 0; names != NULL && i < r->n; i++)
		free(names[i]);
	free(names);
	free(keep);
	return res;
}

enum plan_result
plan_from_pairs(const struct cfg *c, const char *source, const char *detail,
    const char *token, char *const *names, char *const *urls, size_t n,
    const char *self_name, struct plan *p, char *msg, size_t msglen)
{
	const char *scheme = NULL;
	char q[128];

	memset(p, 0, sizeof(*p));
	if (n == 0 || n > CFG_MAX_MEMBERS) {
		setmsg(msg, msglen, "%s lists %zu members; between 1 and %d are "
		    "needed", detail, n, CFG_MAX_MEMBERS);
		return PLAN_FAIL;
	}
	p->m = xcalloc(n, sizeof(*p->m));
	for (size_t i = 0; i < n; i++) {
		char sch[8], addr[64];
		unsigned port;
		struct plan_member *m;

		if (!dns_member_name_valid(names[i], true)) {
			setmsg(msg, msglen, "%s has member name \"%s\", which is "
			    "not valid (letters, digits, hyphens and dots)",
			    detail, str_quote(names[i], q, sizeof(q)));
			goto fail;
		}
		if (plan_parse_url(urls[i], sch, sizeof(sch), addr, sizeof(addr),
		    &port) < 0) {
			setmsg(msg, msglen, "%s gives %s the peer URL \"%s\"; "
			    "expected http://ADDR:PORT with an IP address "
			    "(IPv6 in brackets)", detail, names[i],
			    str_quote(urls[i], q, sizeof(q)));
			goto fail;
		}
		if (scheme != NULL && strcmp(scheme, sch) != 0) {
			setmsg(msg, msglen, "scheme mismatch: %s mixes http and "
			    "https peer URLs (%s is %s); a cluster uses one "
			    "scheme", detail, names[i], sch);
			goto fail;
		}
		scheme = strcmp(sch, "https") == 0 ? "https" : "http";
		for (size_t j = 0; j < p->n; j++) {
			if (strcmp(p->m[j].name, names[i]) == 0) {
				setmsg(msg, msglen, "%s lists member %s twice; "
				    "member names must be unique", detail,
				    names[i]);
				goto fail;
			}
		}
		m = &p->m[p->n++];
		m->name = xstrdup(names[i]);
		m->addr = xstrdup(addr);
		m->peer_port = port;
		m->peer_url = xstrdup(urls[i]);
		m->client_url = make_url(scheme, addr, (unsigned)c->client_port);
		m->self = self_name != NULL && strcmp(names[i], self_name) == 0;
	}
	if (c->scheme != CFG_SCHEME_AUTO &&
	    strcmp(cfg_scheme_name(c->scheme), scheme) != 0) {
		setmsg(msg, msglen, "scheme mismatch: scheme is set to %s but %s "
		    "gives %s peer URLs; use %s URLs or set scheme = \"%s\"",
		    cfg_scheme_name(c->scheme), detail, scheme,
		    cfg_scheme_name(c->scheme), scheme);
		goto fail;
	}
	if (strcmp(scheme, "https") == 0 &&
	    !tls_configured(c, detail, msg, msglen))
		goto fail;
	size_t me = p->n;
	for (size_t i = 0; i < p->n; i++)
		if (p->m[i].self)
			me = i;
	if (self_name == NULL)
		goto checked;
	if (me == p->n) {
		setmsg(msg, msglen, "this host (%s) is not among the members of "
		    "%s; add it or set --name to its member name",
		    self_name ? self_name : "no name", detail);
		goto fail;
	}
	if (c->peer_port != 0 && (unsigned)c->peer_port != p->m[me].peer_port) {
		setmsg(msg, msglen, "port mismatch: %s gives %s peer port %u but "
		    "peer_port is set to %d; fix one of them", detail,
		    p->m[me].name, p->m[me].peer_port, c->peer_port);
		goto fail;
	}
checked:
	if (check_endpoints(p, msg, msglen) != PLAN_OK)
		goto fail;
	p->source = source;
	p->source_detail = xstrdup(detail);
	p->scheme = scheme;
	finish(p);
	p->token = xstrdup(c->token ? c->token : token);
	p->state = "new";
	p->state_reason = xstrdup("the data dir holds no member yet");
	p->data_dir = xstrdup(c->data_dir);
	p->etcd = xstrdup(c->etcd);
	setmsg(msg, msglen, "%zu members from %s", p->n, detail);
	return PLAN_OK;
fail:
	plan_free(p);
	return PLAN_FAIL;
}

enum plan_result
plan_from_static(const struct cfg *c, const struct local_addrs *self,
    struct plan *p, char *msg, size_t msglen)
{
	char *list = xstrdup(c->initial_cluster), *save = NULL;
	char *names[CFG_MAX_MEMBERS + 1], *urls[CFG_MAX_MEMBERS + 1];
	const char *self_name = c->name;
	size_t n = 0;
	enum plan_result res = PLAN_FAIL;
	char *token;

	for (char *tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (n == CFG_MAX_MEMBERS + 1)
			break;
		if (eq == NULL || eq == tok) {
			setmsg(msg, msglen, "initial_cluster entry \"%s\" is not "
			    "NAME=URL", tok);
			goto out;
		}
		*eq = '\0';
		names[n] = tok;
		urls[n++] = eq + 1;
	}
	if (c->size > 0 && n != (size_t)c->size) {
		setmsg(msg, msglen, "initial_cluster lists %zu members but size "
		    "is %d; make them agree", n, c->size);
		goto out;
	}
	/* Without a name, this host is the member on one of its addresses. */
	for (size_t i = 0; self_name == NULL && i < n; i++) {
		char sch[8], addr[64];
		unsigned port;

		if (plan_parse_url(urls[i], sch, sizeof(sch), addr, sizeof(addr),
		    &port) == 0 && is_local(self, addr)) {
			for (size_t j = i + 1; j < n; j++) {
				char a2[64];
				if (plan_parse_url(urls[j], sch, sizeof(sch), a2,
				    sizeof(a2), &port) == 0 && is_local(self, a2)) {
					setmsg(msg, msglen, "this host matches two "
					    "members of initial_cluster, %s and %s; "
					    "set --name or --ip to say which one it "
					    "is", names[i], names[j]);
					goto out;
				}
			}
			self_name = names[i];
		}
	}
	token = c->domain ? xasprintf("zooinit-etcd-%s", c->domain) :
	    xstrdup("zooinit-etcd");
	res = plan_from_pairs(c, "static", "initial_cluster", token, names, urls,
	    n, self_name, p, msg, msglen);
	free(token);
	/* Checked after the entries, whose errors say more. */
	if (res == PLAN_OK && self_name == NULL) {
		struct sbuf mine = { .max = 256 };
		for (size_t i = 0; i < self->n; i++)
			sb_printf(&mine, "%s%s", i ? ", " : "", self->v[i]);
		setmsg(msg, msglen, "this host (%s, by %s) is not among the "
		    "members of initial_cluster; add it or set --name to its "
		    "member name", sb_str(&mine), self->how ? self->how : "addresses");
		sb_free(&mine);
		plan_free(p);
		res = PLAN_FAIL;
	}
out:
	free(list);
	return res;
}

void
plan_make_proxy(struct plan *p, const struct cfg *c, const char *name,
    const char *addr)
{
	p->proxy = true;
	p->proxy_me.name = xstrdup(name);
	p->proxy_me.addr = xstrdup(addr);
	p->proxy_me.client_url = make_url(p->scheme, addr,
	    (unsigned)c->client_port);
	p->proxy_me.self = true;
	free(p->state_reason);
	p->state_reason = xasprintf("the cluster is full: %zu members "
	    "registered before this host, which serves clients through etcd's "
	    "grpc-proxy", p->n);
}

void
plan_proxy_to_member(struct plan *p, int peer_port)
{
	struct plan_member *m;

	p->m = xreallocarray(p->m, p->n + 1, sizeof(*p->m));
	m = &p->m[p->n++];
	*m = p->proxy_me;
	memset(&p->proxy_me, 0, sizeof(p->proxy_me));
	m->peer_port = (unsigned)peer_port;
	m->peer_url = make_url(p->scheme, m->addr, (unsigned)peer_port);
	m->self = true;
	p->proxy = false;
	free(p->initial_cluster);
	p->initial_cluster = NULL;
	finish(p);
}

const struct plan_member *
plan_me(const struct plan *p)
{
	return p->proxy ? &p->proxy_me : &p->m[p->self];
}

void
plan_add_skipped(struct plan *p, const char *why)
{
	p->skipped = xreallocarray(p->skipped, p->n_skipped + 1,
	    sizeof(*p->skipped));
	p->skipped[p->n_skipped++] = xstrdup(why);
}

void
plan_set_existing(struct plan *p, const char *reason)
{
	p->state = "existing";
	free(p->state_reason);
	p->state_reason = xstrdup(reason);
}

/* A file etcd or zooinit will open must be a readable regular file now:
 * etcd would otherwise fail later, in its own words, after the plan. */
static bool
tls_file_ok(const char *key, const char *path, char *msg, size_t msglen)
{
	char q[256];
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		err = errno;
	else if (fstat(fd, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (fd >= 0)
		close(fd);
	if (err == 0)
		return true;
	setmsg(msg, msglen, "%s is set to \"%s\", which cannot be read: %s; "
	    "point %s at a readable PEM file", key,
	    str_quote(path, q, sizeof(q)),
	    err == EINVAL ? "not a regular file" : strerror(err), key);
	return false;
}

enum plan_result
plan_check_tls(struct plan *p, const struct cfg *c, char *msg,
    size_t msglen)
{
	struct plan_tls t = { 0 };
	/* Defaults are the same files, checked once under their own key. */
	const struct {
		const char *key, *path;
	} files[] = {
		{ "cert_file", c->cert_file },
		{ "key_file", c->key_file },
		{ "trusted_ca_file", c->trusted_ca_file },
		{ "peer_cert_file", c->peer_cert_file },
		{ "peer_key_file", c->peer_key_file },
		{ "peer_trusted_ca_file", c->peer_trusted_ca_file },
	};

	memset(&p->tls, 0, sizeof(p->tls));
	if (p->scheme == NULL || strcmp(p->scheme, "https") != 0)
		return PLAN_OK;
	if (!tls_configured(c, p->source_detail, msg, msglen))
		return PLAN_FAIL;
	if (c->client_cert_auth == CFG_ON && c->trusted_ca_file == NULL) {
		setmsg(msg, msglen, "client_cert_auth is on but trusted_ca_file "
		    "is not set; etcd checks client certificates against that "
		    "CA, so set it");
		return PLAN_FAIL;
	}
	t.cert_file = c->cert_file;
	t.key_file = c->key_file;
	t.trusted_ca_file = c->trusted_ca_file;
	t.peer_cert_file = c->peer_cert_file ? c->peer_cert_file : c->cert_file;
	t.peer_key_file = c->peer_key_file ? c->peer_key_file : c->key_file;
	t.peer_trusted_ca_file = c->peer_trusted_ca_file ?
	    c->peer_trusted_ca_file : c->trusted_ca_file;
	t.client_cert_auth = c->client_cert_auth == CFG_ON;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i].path != NULL &&
		    !tls_file_ok(files[i].key, files[i].path, msg, msglen))
			return PLAN_FAIL;
	p->tls = t;
	return PLAN_OK;
}

static void
argv_add(struct plan *p, const char *flag, const char *value)
{
	size_t add = value ? 2 : 1;

	p->argv = xreallocarray(p->argv, p->argc + add + 1, sizeof(*p->argv));
	p->argv[p->argc++] = xstrdup(flag);
	if (value != NULL)
		p->argv[p->argc++] = xstrdup(value);
	p->argv[p->argc] = NULL;
}

void
plan_build_argv(struct plan *p)
{
	const struct plan_member *me = plan_me(p);

	for (size_t i = 0; i < p->argc; i++)
		free(p->argv[i]);
	free(p->argv);
	p->argv = NULL;
	p->argc = 0;
	argv_add(p, p->etcd, NULL);
	if (p->proxy) {
		struct sbuf b = { .max = 4096 };
		/* grpc-proxy takes host:port without a scheme. */
		const char *hostport = me->client_url + strlen(p->scheme) + 3;
		char *dir = xasprintf("%s/proxy", p->data_dir);

		for (size_t i = 0; i < p->n; i++)
			sb_printf(&b, "%s%s", i ? "," : "", p->m[i].client_url);
		argv_add(p, "grpc-proxy", NULL);
		argv_add(p, "start", NULL);
		argv_add(p, "--endpoints", sb_str(&b));
		argv_add(p, "--listen-addr", hostport);
		argv_add(p, "--advertise-client-url", hostport);
		argv_add(p, "--data-dir", dir);
		if (p->tls.cert_file != NULL) {
			/* The proxy is a client of the members and a server
			 * for this host's clients, like a member. */
			if (p->tls.trusted_ca_file != NULL)
				argv_add(p, "--cacert", p->tls.trusted_ca_file);
			if (p->tls.client_cert_auth) {
				argv_add(p, "--cert", p->tls.cert_file);
				argv_add(p, "--key", p->tls.key_file);
			}
			argv_add(p, "--cert-file", p->tls.cert_file);
			argv_add(p, "--key-file", p->tls.key_file);
			if (p->tls.client_cert_auth)
				argv_add(p, "--trusted-ca-file",
				    p->tls.trusted_ca_file);
		}
		free(dir);
		sb_free(&b);
		return;
	}
	argv_add(p, "--name", me->name);
	argv_add(p, "--data-dir", p->data_dir);
	argv_add(p, "--listen-peer-urls", me->peer_url);
	argv_add(p, "--initial-advertise-peer-urls", me->peer_url);
	argv_add(p, "--listen-client-urls", me->client_url);
	argv_add(p, "--advertise-client-urls", me->client_url);
	argv_add(p, "--initial-cluster", p->initial_cluster);
	argv_add(p, "--initial-cluster-token", p->token);
	argv_add(p, "--initial-cluster-state", p->state);
	if (p->tls.cert_file == NULL)
		return;
	argv_add(p, "--cert-file", p->tls.cert_file);
	argv_add(p, "--key-file", p->tls.key_file);
	/* etcd 3.4 demands a client certificate from every client once it
	 * has --trusted-ca-file, whatever --client-cert-auth says; so the
	 * client CA goes to etcd only when client_cert_auth is on. Peers
	 * always present theirs, so the peer CA can always be given. */
	if (p->tls.client_cert_auth)
		argv_add(p, "--trusted-ca-file", p->tls.trusted_ca_file);
	argv_add(p, "--peer-cert-file", p->tls.peer_cert_file);
	argv_add(p, "--peer-key-file", p->tls.peer_key_file);
	if (p->tls.peer_trusted_ca_file != NULL)
		argv_add(p, "--peer-trusted-ca-file", p->tls.peer_trusted_ca_file);
	if (p->tls.client_cert_auth) {
		argv_add(p, "--client-cert-auth", NULL);
		argv_add(p, "--peer-client-cert-auth", NULL);
	}
}

/* A JSON string of s; text that is not UTF-8 (which the configuration
 * refuses already) is written quoted rather than dropped. */
static json_t *
jstr_of(const char *s)
{
	json_t *v = json_string(s);
	char q[1024];

	return v != NULL ? v : json_string(str_quote(s, q, sizeof(q)));
}

static json_t *
plan_to_json(const struct plan *p, bool with_argv)
{
	json_t *o = json_object(), *members = json_array();

	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "name", jstr_of(plan_me(p)->name));
	json_object_set_new(o, "role", jstr_of(p->proxy ? "proxy" :
	    "member"));
	json_object_set_new(o, "source", jstr_of(p->source));
	json_object_set_new(o, "source_detail", jstr_of(p->source_detail));
	if (with_argv) {
		json_t *sk = json_array();
		for (size_t i = 0; i < p->n_skipped; i++)
			json_array_append_new(sk, jstr_of(p->skipped[i]));
		json_object_set_new(o, "skipped", sk);
	}
	json_object_set_new(o, "scheme", jstr_of(p->scheme));
	json_object_set_new(o, "state", jstr_of(p->state));
	json_object_set_new(o, "state_reason", jstr_of(p->state_reason));
	json_object_set_new(o, "data_dir", jstr_of(p->data_dir));
	json_object_set_new(o, "token", jstr_of(p->token));
	json_object_set_new(o, "initial_cluster", jstr_of(p->initial_cluster));
	json_object_set_new(o, "learner", json_boolean(p->learner));
	if (p->member_id != 0) {
		char id[24];
		snprintf(id, sizeof(id), "%llu", (unsigned long long)p->member_id);
		json_object_set_new(o, "member_id", jstr_of(id));
	}
	for (size_t i = 0; i < p->n; i++) {
		json_t *m = json_object();
		json_object_set_new(m, "name", jstr_of(p->m[i].name));
		if (p->m[i].host != NULL)
			json_object_set_new(m, "host", jstr_of(p->m[i].host));
		json_object_set_new(m, "peer_url", jstr_of(p->m[i].peer_url));
		json_object_set_new(m, "client_url", jstr_of(p->m[i].client_url));
		json_object_set_new(m, "self", json_boolean(p->m[i].self));
		json_array_append_new(members, m);
	}
	json_object_set_new(o, "members", members);
	if (with_argv) {
		json_t *a = json_array();
		for (size_t i = 0; i < p->argc; i++)
			json_array_append_new(a, jstr_of(p->argv[i]));
		json_object_set_new(o, "etcd_argv", a);
	}
	return o;
}

char *
plan_json(const struct plan *p)
{
	json_t *o = plan_to_json(p, true);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (s == NULL)
		abort();	/* only on allocation failure */
	return s;
}

void
plan_print(const struct plan *p, FILE *out)
{
	size_t w = 4;

	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->m[i].name) > w)
			w = strlen(p->m[i].name);
	fprintf(out, "this host:   %s (%s)%s\n", plan_me(p)->name,
	    plan_me(p)->addr, p->proxy ? ", an extra: grpc-proxy" : "");
	fprintf(out, "source:      %s (%s)\n", p->source, p->source_detail);
	for (size_t i = 0; i < p->n_skipped; i++)
		fprintf(out, "skipped:     %s\n", p->skipped[i]);
	fprintf(out, "state:       %s (%s)\n", p->state, p->state_reason);
	fprintf(out, "data dir:    %s\n", p->data_dir);
	fprintf(out, "token:       %s\n", p->token);
	fprintf(out, "members:     %zu\n", p->n);
	for (size_t i = 0; i < p->n; i++)
		fprintf(out, "  %-*s  peer %-28s client %s%s\n", (int)w,
		    p->m[i].name, p->m[i].peer_url, p->m[i].client_url,
		    p->m[i].self ? "  (this host)" : "");
	fprintf(out, "initial cluster: %s\n", p->initial_cluster);
	fprintf(out, "etcd:");
	for (size_t i = 0; i < p->argc; i++)
		fprintf(out, " %s", p->argv[i]);
	fprintf(out, "\n");
}

int
plan_journal_write(const struct plan *p, const char *dir, char *err,
    size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, PLAN_JOURNAL);
	json_t *o = plan_to_json(p, false);
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *line;
	int rc;

	json_decref(o);
	if (text == NULL)
		abort();	/* only on allocation failure */
	line = xasprintf("%s\n", text);
	free(text);
	rc = file_write_atomic(path, line, 0600, err, errlen);
	free(line);
	free(path);
	return rc;
}

/* Returns a borrowed string member of o, or NULL if missing or not one. */
static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int
plan_journal_read(const struct cfg *c, struct plan *p, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", c->data_dir, PLAN_JOURNAL);
	json_error_t je;
	json_t *o, *members, *m;
	const char *name, *token, *scheme_s = "http", *bad = NULL;
	size_t i;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			free(path);
			return 1;
		}
		snprintf(err, errlen, "%s:%d: %s; move the file away to plan "
		    "from DNS again", path, je.line, je.text);
		free(path);
		return -1;
	}
	name = jstr(o, "name");
	token = jstr(o, "token");
	members = json_object_get(o, "members");
	if (name == NULL || !dns_member_name_valid(name, true))
		bad = "name";
	else if (token == NULL || token[0] == '\0')
		bad = "token";
	else if (!json_is_array(members) || json_array_size(members) == 0 ||
	    json_array_size(members) > CFG_MAX_MEMBERS)
		bad = "members";
	p->m = xcalloc(json_array_size(members) + 1, sizeof(*p->m));
	json_array_foreach(members, i, m) {
		const char *mn = jstr(m, "name"), *pu = jstr(m, "peer_url"),
		    *cu = jstr(m, "client_url"), *host = jstr(m, "host");
		char sch[8], sch2[8], addr[64], addr2[64];
		unsigned port, port2;

		if (bad != NULL)
			break;
		if (mn == NULL || !dns_member_name_valid(mn, true) ||
		    pu == NULL || cu == NULL ||
		    plan_parse_url(pu, sch, sizeof(sch), addr, sizeof(addr), &port) < 0 ||
		    plan_parse_url(cu, sch2, sizeof(sch2), addr2, sizeof(addr2), &port2) < 0 ||
		    (host != NULL && !dns_hostname_valid(host))) {
			bad = "members";
			break;
		}
		const char *ms = strcmp(sch, "https") == 0 ? "https" : "http";
		/* One scheme for all URLs, and unique names. */
		bool clash = strcmp(sch, sch2) != 0 ||
		    (p->n > 0 && strcmp(ms, scheme_s) != 0);
		for (size_t k = 0; k < p->n && !clash; k++)
			clash = strcmp(p->m[k].name, mn) == 0;
		if (clash) {
			bad = "members";
			break;
		}
		scheme_s = ms;
		struct plan_member *pm = &p->m[p->n++];
		pm->name = xstrdup(mn);
		pm->host = host ? xstrdup(host) : NULL;
		pm->addr = xstrdup(addr);
		pm->peer_port = port;
		pm->peer_url = xstrdup(pu);
		pm->client_url = xstrdup(cu);
		pm->self = strcmp(mn, name) == 0;
	}
	if (bad == NULL) {
		bad = "name";
		for (i = 0; i < p->n; i++)
			if (p->m[i].self)
				bad = NULL;
	}
	if (bad == NULL && check_endpoints(p, err, errlen) != PLAN_OK)
		bad = "members";
	if (bad != NULL) {
		snprintf(err, errlen, "%s: field \"%s\" is missing or invalid; "
		    "move the file away to plan from DNS again", path, bad);
		plan_free(p);
		goto out;
	}
	p->learner = json_is_true(json_object_get(o, "learner"));
	const char *mid = jstr(o, "member_id");
	if (mid != NULL && mid[0] >= '0' && mid[0] <= '9')
		p->member_id = strtoull(mid, NULL, 10);
	p->source = "journal";
	p->source_detail = xstrdup(path);
	p->scheme = scheme_s;
	p->token = xstrdup(token);
	p->data_dir = xstrdup(c->data_dir);
	p->etcd = xstrdup(c->etcd);
	finish(p);
	plan_set_existing(p, "restarting the member this host bootstrapped "
	    "(journal in the data dir)");
	rc = 0;
out:
	json_decref(o);
	free(path);
	return rc;
}
