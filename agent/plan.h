#ifndef ZOOINIT_PLAN_H
#define ZOOINIT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/cfg.h"
#include "resolver/dns.h"
#include "resolver/localaddr.h"

/* A plan is everything bootstrap needs to start etcd: the member map that
 * every host computes identically, this host's place in it, and the exact
 * argv. Building it is pure: no I/O besides what the caller passes in. */

enum plan_result {
	PLAN_OK = 0,	/* the plan is complete and valid */
	PLAN_WAIT,	/* not enough members resolved yet; ask DNS again */
	PLAN_FAIL,	/* the zone or the configuration is wrong */
};

struct plan_member {
	char *name;
	char *host;		/* SRV target; NULL when not from DNS */
	char *addr;		/* IP literal used in the URLs */
	unsigned peer_port;
	char *peer_url;
	char *client_url;
	bool self;
};

struct plan {
	const char *source;	/* "dns" or "journal"; static storage */
	char *source_detail;	/* the SRV set or the journal's path */
	const char *scheme;	/* "http" or "https"; static storage */
	struct plan_member *m;	/* sorted by name */
	size_t n;
	size_t self;		/* index of this host in m */
	char *initial_cluster;	/* name=peer_url,... in m's order */
	char *token;
	const char *state;	/* "new" or "existing"; static storage */
	char *state_reason;
	char *data_dir;
	char *etcd;		/* the etcd binary as configured */
	char **argv;		/* etcd's argv, NULL-terminated; NULL until
				   plan_build_argv() */
	size_t argc;
	/* Progress of a PLAN_WAIT: how many members resolved of how many. */
	size_t resolved, need;
};

/* Builds p from one DNS lookup. On PLAN_OK p is complete but for argv
 * (state "new"); on PLAN_WAIT and PLAN_FAIL p is left zeroed and msg holds
 * one sentence: the progress ("2/3 resolved (h1, h3); h2.zl.test: no
 * A/AAAA record", with p->resolved and p->need set) or what is wrong
 * and how to fix it. */
enum plan_result plan_from_dns(const struct cfg *c, const struct dns_result *r,
    const struct local_addrs *self, struct plan *p, char *msg, size_t msglen);

/* Marks the plan as restarting an existing member; reason is copied. */
void plan_set_existing(struct plan *p, const char *reason);

/* Fills p->argv for p->etcd with p's flags. */
void plan_build_argv(struct plan *p);

/* Returns the plan as a JSON object text (see README); free with free(). */
char *plan_json(const struct plan *p);

/* Writes the human-readable plan. */
void plan_print(const struct plan *p, FILE *out);

/* The journal: what this host bootstrapped with, kept in the data dir so a
 * restart never depends on DNS and never bootstraps anew. */
#define PLAN_JOURNAL "zooinit.json"

/* Writes p to dir/PLAN_JOURNAL atomically (temp file + rename), 0600. */
int plan_journal_write(const struct plan *p, const char *dir, char *err,
    size_t errlen);

/* Reads dir/PLAN_JOURNAL into p (state "existing"). Returns 1 when there
 * is no journal, 0 when p was filled, -1 with err when it is unreadable
 * or invalid. c supplies the data dir and the etcd binary. */
int plan_journal_read(const struct cfg *c, struct plan *p, char *err,
    size_t errlen);

/* Frees everything p owns and zeroes it; safe on a zeroed struct. */
void plan_free(struct plan *p);

/* Parses "http://ADDR:PORT" or "https://[V6]:PORT" with an IP literal host.
 * Returns 0 with the parts filled (addr without brackets), -1 otherwise. */
int plan_parse_url(const char *url, char *scheme, size_t schemelen,
    char *addr, size_t addrlen, unsigned *port);

#endif
