#ifndef ZOOINIT_LOCALADDR_H
#define ZOOINIT_LOCALADDR_H

#include <stddef.h>

#include "config/cfg.h"

/* The addresses this host may be known by, as normalised literals. */
struct local_addrs {
	char **v;
	size_t n;
	char *how;	/* how they were chosen, for messages: "--ip", ... */
};

/* Fills a from the configured method: ip, interface, netmask + hint, or
 * every address of every interface. Returns -1 with err set when the
 * method finds nothing (or, for netmask + hint, more than one). */
int local_addrs_get(const struct cfg *c, struct local_addrs *a, char *err,
    size_t errlen);

/* Returns 0 and writes the normalised form (inet_ntop of inet_pton) of s
 * into out, or -1 if s is not an IPv4 or IPv6 literal. */
int addr_normalise(const char *s, char *out, size_t outlen);

void local_addrs_free(struct local_addrs *a);

#endif
