#ifndef ZOOINIT_HOSTADDR_H
#define ZOOINIT_HOSTADDR_H

#include <stddef.h>

#include "config/cfg.h"
#include "resolver/localaddr.h"

/* This host's addresses, found the way c says (--ip, --interface,
 * --netmask + --hint, or every interface). Returns 0, or -1 with err set. */
int hostaddr_local(const struct cfg *c, struct local_addrs *a, char *err,
    size_t errlen);

/* Writes the address this host would send from to reach ip (an IP
 * literal) into out: a UDP connect picks the route and sends nothing.
 * Returns 0, or -1 with errno set (EINVAL: ip is not an IP literal). */
int hostaddr_toward(const char *ip, char *out, size_t outlen);

/* This host's one address for a discovery token: the only one of self,
 * else the one toward disc_addr (may be NULL; an IP literal), else its
 * only address that is not loopback or link-local. Returns 0, or -1 with
 * err set to what to configure. */
int hostaddr_for_token(const struct local_addrs *self, const char *disc_addr,
    char *out, size_t outlen, char *err, size_t errlen);

#endif
