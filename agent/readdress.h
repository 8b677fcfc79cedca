#ifndef ZOOINIT_READDRESS_H
#define ZOOINIT_READDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/plan.h"
#include "resolver/dns.h"
#include "resolver/localaddr.h"

/* A restart from the journal on a host whose address changed (DHCP, a
 * cloud restart): the member keeps its name, ID and data; its address is
 * found again the way the first start found it (DNS, or --ip,
 * --interface, --hint), its peer URL is updated through the other
 * members, and the journal is rewritten before etcd starts. */

struct boot;
struct readdress;

/* Called by the journal path of planning with b->plan read from the
 * journal: posts EV_PLANNED at once when the journal's address is still
 * this host's, else once the member is re-addressed (zooinit plan: once
 * the new address is known, changing nothing), or ends the machine with
 * the reason. */
void readdress_check(struct boot *b);

/* Cancels what a re-address has in flight and frees ra; NULL is ignored. */
void readdress_free(struct readdress *ra);

/* Whether the plan etcd runs with names an address that is no longer
 * this host's (etcd then fails with "bind: cannot assign requested
 * address"). Always false for an extra host's grpc-proxy plan. */
bool readdress_addr_gone(const struct boot *b);

/* Moves this host's member in p to addr (a normalised IP literal): its
 * peer and client URLs keep their scheme and ports, and the initial
 * cluster follows. Returns 0, or -1 when this host's URLs do not parse. */
int readdress_apply(struct plan *p, const char *addr);

/* What the SRV set r says about host (this member's SRV target): 1 with
 * the first of its addresses that is in self written to out; 0 with the
 * addresses it publishes, ", "-joined, in out (none is this host's, or it
 * has none: out is ""); -1 when no SRV record names host. */
int readdress_pick(const struct dns_result *r, const char *host,
    const struct local_addrs *self, char *out, size_t outlen);

#endif
