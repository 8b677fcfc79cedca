#ifndef ZOOINIT_DNS_H
#define ZOOINIT_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/loop.h"

/* The three SRV record sets an etcd zone may publish, in lookup order. */
enum dns_service { DNS_SRV_SSL = 0, DNS_SRV_PLAIN, DNS_SRV_UNDERSCORE, DNS_SRV_N };

/* What one SRV set's lookup came to. A missing set (NXDOMAIN or NODATA) is
 * not an error while another set answers. */
enum dns_status { DNS_OK = 0, DNS_MISSING, DNS_FAILED };

#define DNS_MAX_RECORDS 256	/* per SRV set; larger answers are rejected */
#define DNS_MAX_ADDRS 16	/* per target and family */

/* One SRV record and what its target resolved to. */
struct dns_target {
	enum dns_service svc;
	char *target;		/* as received, without trailing dot; untrusted */
	unsigned port, priority, weight;
	char **addrs;		/* IPv4 then IPv6 literals, sorted, deduplicated */
	size_t n_addrs;		/* 0: not resolvable (yet); see why */
	char *why;		/* why n_addrs is 0, e.g. "no A/AAAA record" */
};

struct dns_result {
	char *domain;			/* without trailing dot */
	char *srv_name;			/* the service suffix, or NULL */
	enum dns_status status[DNS_SRV_N];
	char *error[DNS_SRV_N];		/* for DNS_FAILED: what went wrong */
	struct dns_target *t;		/* in answer order per set */
	size_t n;
};

/* "_etcd-server-ssl._tcp", "_etcd-server._tcp", "_etcd_server._tcp". */
const char *dns_service_label(enum dns_service s);
/* Returns a new string, the set's record name without trailing dot:
 * "_etcd-server-ssl._tcp.DOMAIN", or with srv_name (etcd's
 * --discovery-srv-name; NULL or "" for none) "_etcd-server-ssl-NAME._tcp.
 * DOMAIN" (and "_etcd-server-NAME", "_etcd_server-NAME"). Free with
 * free(). */
char *dns_service_name(enum dns_service s, const char *srv_name,
    const char *domain);
/* "https" for the -ssl set, "http" otherwise. */
const char *dns_service_scheme(enum dns_service s);

/* Frees everything r owns and zeroes it; safe on a zeroed struct. */
void dns_result_free(struct dns_result *r);

/* Appends a record to r (for the resolver and for tests); copies target. */
struct dns_target *dns_result_add(struct dns_result *r, enum dns_service svc,
    const char *target, unsigned port, unsigned priority, unsigned weight);
/* Adds an address literal to t, keeping IPv4 before IPv6, sorted, unique. */
void dns_target_add_addr(struct dns_target *t, const char *addr);

struct dns_resolver;

/* Called once per lookup with a result the callee now owns (free with
 * dns_result_free()). Runs from the loop, never inside dns_lookup(). */
typedef void (*dns_done_cb)(void *arg, struct dns_result *r);

/* Returns a new resolver on loop l, or NULL with err set. servers are
 * "ADDR", "ADDR:PORT" or "[V6]:PORT"; none means /etc/resolv.conf.
 * timeout_ms and tries bound each query. */
struct dns_resolver *dns_resolver_new(struct loop *l, char *const *servers,
    size_t n_servers, int timeout_ms, int tries, char *err, size_t errlen);
/* Cancels a lookup in flight (its callback never runs) and frees r. */
void dns_resolver_free(struct dns_resolver *r);

/* Looks up the three SRV sets of domain and every valid target's A and
 * AAAA records. One lookup at a time; returns -1 if one is in flight. */
int dns_lookup(struct dns_resolver *r, const char *domain, dns_done_cb cb,
    void *arg);
/* The same for the sets named with srv_name (see dns_service_name();
 * NULL: none); the result keeps a copy in srv_name. */
int dns_lookup_named(struct dns_resolver *r, const char *domain,
    const char *srv_name, dns_done_cb cb, void *arg);

#endif
