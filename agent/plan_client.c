#include "lib/fmacros.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/hostaddr.h"
#include "agent/plan.h"
#include "agent/plan_impl.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "resolver/dnsname.h"

/* A client: a host the zone does not list, serving this host's clients
 * through etcd's grpc-proxy towards the members. plan_from_dns() gives
 * its members; here it gets its own name and address. */

/* name, else the short host name; NULL with msg when neither works. */
static char *
client_name(const struct cfg *c, char *msg, size_t msglen)
{
	char host[256];

	if (c->name != NULL)
		return xstrdup(c->name);
	if (gethostname(host, sizeof(host)) < 0) {
		str_seterr(msg, msglen, "this host is a client and needs a "
		    "name, but its host name cannot be read: %s; set --name",
		    strerror(errno));
		return NULL;
	}
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	if (!dns_member_name_valid(host, false) ||
	    strcmp(host, "localhost") == 0) {
		char q[80];

		str_seterr(msg, msglen, "this host is a client and needs a "
		    "name, but its host name \"%s\" cannot be one; set --name",
		    str_quote(host, q, sizeof(q)));
		return NULL;
	}
	return xstrdup(host);
}

/* The only address of self, else the one this host reaches the first
 * member from, when it is one of self. */
static int
client_addr(const struct plan *p, const struct local_addrs *self, char *out,
    size_t outlen, char *msg, size_t msglen)
{
	char from[64];

	if (self->n == 1) {
		snprintf(out, outlen, "%s", self->v[0]);
		return 0;
	}
	if (p->n > 0 && hostaddr_toward(p->m[0].addr, from,
	    sizeof(from)) == 0 && addr_normalise(from, out, outlen) == 0 &&
	    plan_is_local(self, out))
		return 0;
	str_seterr(msg, msglen, "this host is a client and its grpc-proxy "
	    "needs one address to listen on, but %s gives %zu and none is "
	    "the route to %s; set --ip, --interface or --netmask with --hint",
	    self->how, self->n, p->n > 0 ? p->m[0].addr : "the members");
	return -1;
}

enum plan_result
plan_client_me(struct plan *p, const struct cfg *c,
    const struct local_addrs *self, char *msg, size_t msglen)
{
	char addr[64];
	char *name = client_name(c, msg, msglen);

	if (name == NULL || client_addr(p, self, addr, sizeof(addr), msg,
	    msglen) < 0) {
		free(name);
		return PLAN_FAIL;
	}
	plan_make_proxy(p, c, name, addr);
	free(name);
	free(p->state_reason);
	p->state_reason = xstrdup("a client keeps no member data");
	return PLAN_OK;
}

bool
plan_members_differ(const struct plan *a, const struct plan *b)
{
	if (a->n != b->n || strcmp(a->scheme, b->scheme) != 0)
		return true;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->m[i].name, b->m[i].name) != 0 ||
		    strcmp(a->m[i].peer_url, b->m[i].peer_url) != 0 ||
		    strcmp(a->m[i].client_url, b->m[i].client_url) != 0)
			return true;
	}
	return false;
}
