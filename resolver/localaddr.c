#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "resolver/localaddr.h"

int
addr_normalise(const char *s, char *out, size_t outlen)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		return inet_ntop(AF_INET, buf, out, (socklen_t)outlen) ? 0 : -1;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return inet_ntop(AF_INET6, buf, out, (socklen_t)outlen) ? 0 : -1;
	return -1;
}

static void
add(struct local_addrs *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], s) == 0)
			return;
	a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
}

void
local_addrs_free(struct local_addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	free(a->how);
	memset(a, 0, sizeof(*a));
}

static int
in_subnet(const struct sockaddr *sa, const char *hint, const char *mask)
{
	struct in_addr h, m;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	if (sa->sa_family != AF_INET)
		return 0;
	if (inet_pton(AF_INET, hint, &h) != 1 || inet_pton(AF_INET, mask, &m) != 1)
		return 0;
	return (sin->sin_addr.s_addr & m.s_addr) == (h.s_addr & m.s_addr);
}

int
local_addrs_get(const struct local_addr_opts *o, struct local_addrs *a,
    char *err, size_t errlen)
{
	struct ifaddrs *ifa, *p;
	char text[INET6_ADDRSTRLEN];

	memset(a, 0, sizeof(*a));
	if (o->ip != NULL) {
		if (addr_normalise(o->ip, text, sizeof(text)) < 0) {
			snprintf(err, errlen, "--ip %s is not an IP address",
			    o->ip);
			return -1;
		}
		add(a, text);
		a->how = xasprintf("--ip %s", text);
		return 0;
	}
	if (getifaddrs(&ifa) < 0) {
		snprintf(err, errlen, "cannot list this host's addresses: %m");
		return -1;
	}
	for (p = ifa; p != NULL; p = p->ifa_next) {
		const struct sockaddr *sa = p->ifa_addr;
		const void *bytes;

		if (sa == NULL || (sa->sa_family != AF_INET &&
		    sa->sa_family != AF_INET6))
			continue;
		if (o->interface != NULL &&
		    strcmp(p->ifa_name, o->interface) != 0)
			continue;
		if (o->netmask != NULL && !in_subnet(sa, o->hint, o->netmask))
			continue;
		if (sa->sa_family == AF_INET)
			bytes = &((const struct sockaddr_in *)sa)->sin_addr;
		else
			bytes = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (inet_ntop(sa->sa_family, bytes, text,
		    sizeof(text)) != NULL)
			add(a, text);
	}
	freeifaddrs(ifa);

	if (o->interface != NULL) {
		a->how = xasprintf("interface %s", o->interface);
		if (a->n == 0) {
			snprintf(err, errlen, "interface %s has no IP address; "
			    "check --interface", o->interface);
			local_addrs_free(a);
			return -1;
		}
	} else if (o->netmask != NULL) {
		a->how = xasprintf("--hint %s --netmask %s", o->hint,
		    o->netmask);
		if (a->n != 1) {
			snprintf(err, errlen, "%s local addresses lie in %s/%s; "
			    "exactly one must, to tell which address is this "
			    "host's: fix --hint/--netmask or use --ip",
			    a->n == 0 ? "no" : "several", o->hint, o->netmask);
			local_addrs_free(a);
			return -1;
		}
	} else {
		a->how = xstrdup("local interface addresses");
		if (a->n == 0) {
			snprintf(err, errlen, "this host has no IP address");
			local_addrs_free(a);
			return -1;
		}
	}
	return 0;
}
