#include "lib/fmacros.h"

#include <stdlib.h>
#include <string.h>

#include "agent/plan.h"
#include "agent/plan_impl.h"
#include "lib/str.h"
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "resolver/dnsname.h"

/* The token and static sources: a plan from (name, peer URL) pairs. */

enum plan_result
plan_from_pairs(const struct cfg *c, const char *source, const char *detail,
    const char *token, char *const *names, char *const *urls, size_t n,
    const char *self_name, struct plan *p, char *msg, size_t msglen)
{
	const char *scheme = NULL;
	char q[128];

	memset(p, 0, sizeof(*p));
	if (n == 0 || n > CFG_MAX_MEMBERS) {
		str_seterr(msg, msglen, "%s lists %zu members; between 1 and "
		    "%d are needed", detail, n, CFG_MAX_MEMBERS);
		return PLAN_FAIL;
	}
	p->m = xcalloc(n, sizeof(*p->m));
	for (size_t i = 0; i < n; i++) {
		char sch[8], addr[64];
		unsigned port;
		struct plan_member *m;

		if (!dns_member_name_valid(names[i], true)) {
			str_seterr(msg, msglen, "%s has member name \"%s\", "
			    "which is not valid (letters, digits, hyphens and "
			    "dots)", detail, str_quote(names[i], q, sizeof(q)));
			goto fail;
		}
		if (plan_parse_url(urls[i], sch, sizeof(sch), addr, sizeof(addr),
		    &port) < 0) {
			str_seterr(msg, msglen, "%s gives %s the peer URL "
			    "\"%s\"; expected http://ADDR:PORT with an IP "
			    "address (IPv6 in brackets)", detail, names[i],
			    str_quote(urls[i], q, sizeof(q)));
			goto fail;
		}
		if (scheme != NULL && strcmp(scheme, sch) != 0) {
			str_seterr(msg, msglen, "scheme mismatch: %s mixes "
			    "http and https peer URLs (%s is %s); a cluster "
			    "uses one scheme", detail, names[i], sch);
			goto fail;
		}
		scheme = strcmp(sch, "https") == 0 ? "https" : "http";
		for (size_t j = 0; j < p->n; j++) {
			if (strcmp(p->m[j].name, names[i]) == 0) {
				str_seterr(msg, msglen, "%s lists member %s "
				    "twice; member names must be unique",
				    detail, names[i]);
				goto fail;
			}
		}
		m = &p->m[p->n++];
		m->name = xstrdup(names[i]);
		m->addr = xstrdup(addr);
		m->peer_port = port;
		m->peer_url = xstrdup(urls[i]);
		m->client_url = url_make(scheme, addr, (unsigned)c->client_port);
		m->self = self_name != NULL && strcmp(names[i], self_name) == 0;
	}
	if (c->scheme != CFG_SCHEME_AUTO &&
	    strcmp(cfg_scheme_name(c->scheme), scheme) != 0) {
		str_seterr(msg, msglen, "scheme mismatch: scheme is set to %s "
		    "but %s gives %s peer URLs; use %s URLs or set scheme = "
		    "\"%s\"", cfg_scheme_name(c->scheme), detail, scheme,
		    cfg_scheme_name(c->scheme), scheme);
		goto fail;
	}
	if (strcmp(scheme, "https") == 0 &&
	    !plan_tls_configured(c, detail, msg, msglen))
		goto fail;
	size_t me = p->n;
	for (size_t i = 0; i < p->n; i++)
		if (p->m[i].self)
			me = i;
	if (self_name == NULL)
		goto checked;
	if (me == p->n) {
		str_seterr(msg, msglen, "this host (%s) is not among the "
		    "members of %s; add it or set --name to its member name",
		    self_name ? self_name : "no name", detail);
		goto fail;
	}
	if (c->peer_port != 0 && (unsigned)c->peer_port != p->m[me].peer_port) {
		str_seterr(msg, msglen, "port mismatch: %s gives %s peer port "
		    "%u but peer_port is set to %d; fix one of them", detail,
		    p->m[me].name, p->m[me].peer_port, c->peer_port);
		goto fail;
	}
checked:
	if (plan_check_endpoints(p, msg, msglen) != PLAN_OK)
		goto fail;
	p->source = source;
	p->source_detail = xstrdup(detail);
	p->scheme = scheme;
	plan_finish(p);
	plan_set_new(p, c, token);
	if (self_name != NULL)
		p->role_reason = xasprintf("%s lists this host as %s", detail,
		    self_name);
	str_seterr(msg, msglen, "%zu members from %s", p->n, detail);
	return PLAN_OK;
fail:
	plan_free(p);
	return PLAN_FAIL;
}

/* The role against the static list: a client (role client, or role auto
 * with a name the list lacks) plans with no self, so *self_name becomes
 * NULL; role client on a listed host is an error (-1 with msg). */
static int
static_role(const struct cfg *c, char **names, size_t n,
    const char **self_name, char *msg, size_t msglen)
{
	bool listed = false;

	if (*self_name == NULL || c->role == CFG_ROLE_MEMBER)
		return 0;
	for (size_t i = 0; i < n; i++)
		listed = listed || strcmp(names[i], *self_name) == 0;
	if (listed && c->role == CFG_ROLE_CLIENT) {
		str_seterr(msg, msglen, "role is client, but initial_cluster "
		    "lists this host as member %s; the cluster would wait for "
		    "a member that never starts, so remove it or set role = "
		    "auto", *self_name);
		return -1;
	}
	if (!listed || c->role == CFG_ROLE_CLIENT)
		*self_name = NULL;
	return 0;
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
			str_seterr(msg, msglen, "initial_cluster entry \"%s\" "
			    "is not NAME=URL", tok);
			goto out;
		}
		*eq = '\0';
		names[n] = tok;
		urls[n++] = eq + 1;
	}
	if (c->size > 0 && n != (size_t)c->size) {
		str_seterr(msg, msglen, "initial_cluster lists %zu members "
		    "but size is %d; make them agree", n, c->size);
		goto out;
	}
	/* Without a name, this host is the member on one of its addresses. */
	for (size_t i = 0; self_name == NULL && i < n; i++) {
		char sch[8], addr[64];
		unsigned port;

		if (plan_parse_url(urls[i], sch, sizeof(sch), addr, sizeof(addr),
		    &port) == 0 && plan_is_local(self, addr)) {
			for (size_t j = i + 1; j < n; j++) {
				char a2[64];
				if (plan_parse_url(urls[j], sch, sizeof(sch), a2,
				    sizeof(a2), &port) == 0 && plan_is_local(self, a2)) {
					str_seterr(msg, msglen, "this host "
					    "matches two members of "
					    "initial_cluster, %s and %s; set "
					    "--name or --ip to say which one "
					    "it is", names[i], names[j]);
					goto out;
				}
			}
			self_name = names[i];
		}
	}
	if (static_role(c, names, n, &self_name, msg, msglen) < 0)
		goto out;
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
		if (c->role != CFG_ROLE_MEMBER) {
			p->proxy = true;
			p->role_reason = c->role == CFG_ROLE_CLIENT ?
			    xstrdup("role is client: this host serves clients "
			    "through etcd's grpc-proxy and never becomes a "
			    "member") :
			    xasprintf("this host (%s, by %s) is not among the "
			    "members of initial_cluster, so with role auto it "
			    "serves clients through etcd's grpc-proxy",
			    sb_str(&mine), self->how ? self->how : "addresses");
			str_seterr(msg, msglen, "%zu members from "
			    "initial_cluster; this host is a client", p->n);
		} else {
			str_seterr(msg, msglen, "this host (%s, by %s) is not "
			    "among the members of initial_cluster, and role is "
			    "member; add it, set --name to its member name, or "
			    "set role = auto to run it as a client",
			    sb_str(&mine), self->how ? self->how : "addresses");
			plan_free(p);
			res = PLAN_FAIL;
		}
		sb_free(&mine);
	}
out:
	free(list);
	return res;
}
