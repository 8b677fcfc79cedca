#include "lib/fmacros.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agent/plan.h"
#include "agent/plan_impl.h"
#include "config/cfg_valid.h"
#include "lib/str.h"
#include "lib/url.h"
#include "lib/xmalloc.h"

/* The plan itself: its members, their URLs and its lifetime. The sources
 * live in plan_dns.c and plan_pairs.c, etcd's flags in plan_argv.c, the
 * output in plan_json.c and the journal in plan_journal.c. */



/* libcurl splits the URL; what it accepts beyond what every host writes
 * itself is refused by the round trip at the end: member URLs end up
 * byte for byte in --initial-cluster, which must be the same string on
 * every host. */
int
plan_parse_url(const char *url, char *scheme, size_t schemelen, char *addr,
    size_t addrlen, unsigned *port)
{
	struct url_parts u;
	char err[128], norm[64], *again;
	int same;

	if (url_split(url, &u, err, sizeof(err)) < 0 || u.port == 0 ||
	    u.port > 65535)
		return -1;
	/* An IP literal, written the one way addr_normalise() writes it. */
	if (addr_normalise(u.host, norm, sizeof(norm)) < 0 ||
	    strcmp(u.host, norm) != 0)
		return -1;
	/* No user, path, query, fragment, leading zero or IPv4 in brackets:
	 * the URL is exactly the one url_make() gives for its parts. */
	again = url_make(u.scheme, norm, u.port);
	same = strcmp(again, url) == 0;
	free(again);
	if (!same)
		return -1;
	snprintf(scheme, schemelen, "%s", u.scheme);
	snprintf(addr, addrlen, "%s", norm);
	*port = u.port;
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
	/* proxy_me has no host or peer URL: an extra host has neither. */
	free(p->proxy_me.name);
	free(p->proxy_me.addr);
	free(p->proxy_me.client_url);
	strv_free(p->argv);
	for (size_t i = 0; i < p->n_skipped; i++)
		free(p->skipped[i]);
	free(p->skipped);
	free(p->source_detail);
	free(p->initial_cluster);
	free(p->token);
	free(p->state_reason);
	free(p->role_reason);
	free(p->data_dir);
	for (size_t i = 0; i < PLAN_TLS_NFILES; i++)
		free(p->tls_made[i]);
	free(p->etcd);
	free(p->restore_from);
	strv_free(p->restore_argv);
	free(p->restore_reason);
	memset(p, 0, sizeof(*p));
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct plan_member *)a)->name,
	    ((const struct plan_member *)b)->name);
}

void
plan_finish(struct plan *p)
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

bool
plan_is_local(const struct local_addrs *self, const char *addr)
{
	for (size_t i = 0; i < self->n; i++)
		if (strcmp(self->v[i], addr) == 0)
			return true;
	return false;
}

bool
plan_tls_configured(const struct cfg *c, const char *what, char *msg,
    size_t msglen)
{
	if (c->cert_file != NULL && c->key_file != NULL)
		return true;
	if (c->ca_file != NULL && c->ca_key_file != NULL)
		return true;
	str_seterr(msg, msglen, "%s asks for https peers; set cert_file and "
	    "key_file (and trusted_ca_file) to give etcd its certificates, "
	    "or ca_file and ca_key_file to have zooinit make them", what);
	return false;
}

const char *
plan_token_scheme(const struct cfg *c)
{
	if (c->scheme == CFG_SCHEME_HTTPS)
		return "https";
	if (c->scheme == CFG_SCHEME_AUTO && c->cert_file == NULL &&
	    c->ca_file != NULL && c->ca_key_file != NULL)
		return "https";
	return "http";
}

enum plan_result
plan_check_endpoints(const struct plan *p, char *msg, size_t msglen)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_member *a = &p->m[i];

		if (strcmp(a->peer_url + strcspn(a->peer_url, ":"),
		    a->client_url + strcspn(a->client_url, ":")) == 0) {
			str_seterr(msg, msglen, "member %s would use %s for "
			    "both peer and client traffic; give client_port a "
			    "value other than %u", a->name, a->peer_url,
			    a->peer_port);
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
				str_seterr(msg, msglen, "%s and %s both "
				    "resolve to %s; each member needs its own "
				    "address or port",
				    b->host ? b->host : b->name,
				    a->host ? a->host : a->name, what);
				return PLAN_FAIL;
			}
		}
	}
	return PLAN_OK;
}

void
plan_make_proxy(struct plan *p, const struct cfg *c, const char *name,
    const char *addr)
{
	p->proxy = true;
	p->proxy_me.name = xstrdup(name);
	p->proxy_me.addr = xstrdup(addr);
	p->proxy_me.client_url = url_make(p->scheme, addr,
	    (unsigned)c->client_port);
	p->proxy_me.self = true;
	free(p->state_reason);
	p->state_reason = xasprintf("the cluster is full: %zu members "
	    "registered before this host, which serves clients through etcd's "
	    "grpc-proxy", p->n);
	if (p->role_reason == NULL)
		p->role_reason = xstrdup(p->state_reason);
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
	m->peer_url = url_make(p->scheme, m->addr, (unsigned)peer_port);
	m->self = true;
	p->proxy = false;
	free(p->role_reason);
	p->role_reason = xstrdup("this extra joined the cluster in place of "
	    "a removed member");
	free(p->initial_cluster);
	p->initial_cluster = NULL;
	plan_finish(p);
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

char *
plan_discovery_url(const char *token)
{
	if (!cfg_valid_url_token(token))
		return xstrdup(token);
	return xasprintf("http://%s/%s", PLAN_DISCOVERY_ADDR, token);
}

static const char url_pre[] = "http://" PLAN_DISCOVERY_ADDR "/";

bool
plan_token_is_url(const struct plan *p)
{
	return p->token != NULL &&
	    strncmp(p->token, url_pre, sizeof(url_pre) - 1) == 0;
}

const char *
plan_token_bare(const struct plan *p)
{
	return p->token + sizeof(url_pre) - 1;
}

void
plan_set_new(struct plan *p, const struct cfg *c, const char *token)
{
	const char *t = c->token ? c->token : token;

	/* A v3 discovery token is etcd's initial cluster token as it is:
	 * plain etcd members of the token derive their IDs from it. */
	if (strcmp(p->source, "token") == 0 && c->discovery == NULL)
		p->token = xstrdup(t);
	else
		p->token = plan_discovery_url(t);
	p->state = "new";
	p->state_reason = xstrdup("the data dir holds no member yet");
	p->data_dir = xstrdup(c->data_dir);
	p->etcd = xstrdup(c->etcd);
}

void
plan_set_existing(struct plan *p, const char *reason)
{
	p->state = "existing";
	free(p->state_reason);
	p->state_reason = xstrdup(reason);
}
