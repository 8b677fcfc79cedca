#ifndef ZOOINIT_LOCALADDR_H
#define ZOOINIT_LOCALADDR_H

#include <stddef.h>

/* The addresses this host may be known by, as normalised literals. */
struct local_addrs {
	char **v;
	size_t n;
	char *how;	/* how they were chosen, for messages: "--ip", ... */
};

/* How to find this host's address; the caller fills it from its
 * configuration (at most one way set). Every string is borrowed, NULL
 * when unset. */
struct local_addr_opts {
	const char *ip;		/* this literal */
	const char *interface;	/* the addresses of this interface */
	const char *netmask;	/* with hint: the one address inside */
	const char *hint;	/*   hint/netmask */
};

/* Fills a from the method o sets: ip, interface, netmask + hint, or
 * (none set) every address of every interface. Returns -1 with err set
 * when the method finds nothing (or, for netmask + hint, more than one).
 * Free a with local_addrs_free(). */
int local_addrs_get(const struct local_addr_opts *o, struct local_addrs *a,
    char *err, size_t errlen);

/* Returns 0 and writes the normalised form (inet_ntop of inet_pton) of s
 * into out, or -1 if s is not an IPv4 or IPv6 literal. */
int addr_normalise(const char *s, char *out, size_t outlen);

void local_addrs_free(struct local_addrs *a);

#endif
