#ifndef ZOOINIT_STATUS_IMPL_H
#define ZOOINIT_STATUS_IMPL_H

/* What the status_*.c files share: the state of one run of zooinit
 * status. status.c asks, status_verdict.c judges, status_print.c shows. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/cfg.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/kv.h"
#include "lib/loop.h"
#include "services/registry.h"

/* Each request gets REQ_TIMEOUT_MS; the member list comes first, then
 * every member and the service registry are asked at once, so the
 * command normally ends within two of them. DEADLINE_MS is a net under
 * those limits, not the plan. */
#define REQ_TIMEOUT_MS 3000
#define DEADLINE_MS 9000
#define CELL_MAX 64		/* longest untrusted string in a table cell */
#define SUMMARY_NAMES 8		/* names listed in the summary line */

struct status;

/* Phase 1: an endpoint asked for the member list. */
struct ep {
	struct status *s;
	char *base;		/* the URL as given, without trailing '/' */
	uint64_t req;		/* in flight; 0 when answered or cancelled */
	char *error;		/* why it gave no member list, or NULL */
};

/* Phase 2: one member of the list, asked for /health and its status. */
struct mem {
	struct status *s;
	const struct etcd_member *m;	/* borrowed from s->members */
	char *base;		/* first client URL without trailing '/' */
	uint64_t health_req, status_req;
	bool health_done, health_answered, health_ok;
	char *health_err;	/* short reason when not ok */
	bool status_done, have_status;
	struct etcd_status st;
	char *status_err;	/* short reason when no status */
	/* The certificate it served (https): Unix times, 0 when unknown. */
	int64_t cert_not_before, cert_not_after;
	/* The verdict, set by judge(). */
	bool healthy, leader, self_status; /* self_status: st is its own */
	bool catching_up;	/* a learner far behind the leader's log */
	char *reason;		/* short, for the table; NULL when healthy */
	char *detail;		/* with the request, for JSON; NULL if healthy */
};

/* One service of the registry, as its keys say. */
struct svc {
	char *name;		/* bytes from etcd, NUL-terminated */
	size_t name_len;
	char *error;		/* why its keys do not parse, or NULL */
	unsigned size;		/* 0: not set yet */
	bool sealed;
	char leader[REG_IP_MAX]; /* "" when none */
	struct reg_node *nodes;	/* sealed set first, then by registration */
	size_t n_nodes;
};

struct status {
	const struct cfg *c;
	struct loop *loop;
	struct etcd_http *http;
	int64_t deadline;	/* loop_now_ms() time */
	uint64_t deadline_timer;
	int signo;		/* the signal that interrupted us, or 0 */

	struct ep *eps;
	size_t n_eps, eps_left;

	bool have_members;
	struct etcd_members members;
	struct mem *mems;	/* members.n of them, sorted by name */
	size_t pending;		/* phase 2 requests (and the registry
				 * read) in flight */

	/* The service registry: one prefix read on the endpoint that gave
	 * the member list, alongside phase 2. It is only reported: the
	 * exit code is about the etcd cluster. */
	struct etcd_kv *kv;
	char *reg_base;		/* that endpoint, borrowed from eps */
	bool reg_done;		/* answered, or failed */
	char *reg_error;	/* why it could not be read, or NULL */
	struct svc *svcs;	/* sorted by name */
	size_t n_svcs;

	uint64_t leader_id;	/* 0: no leader known */
	bool healthy;
	char *note;		/* this host's rejoin note (agent/rejoin.h),
				 * or NULL */
	/* The members that answered for themselves, by version (lowest
	 * first); n_versions distinct versions among them, more than one
	 * when the cluster runs mixed versions. */
	size_t *by_version;	/* indexes into mems, n_by_version of them */
	size_t n_by_version, n_versions;
};

/* Returns a new copy of the n bytes at s fit for a terminal: bytes
 * outside printable ASCII (NUL too) become '?' (names and URLs come from
 * the network), and at most max bytes, the last three "..." when cut. */
char *status_clean_n(const char *s, size_t n, size_t max);
/* status_clean_n() of a string. */
char *status_clean(const char *s, size_t max);

/* The name a member is called by in messages: its name, or its hex ID
 * while it has none (added but not started). Returns a new string. */
char *status_member_label(const struct etcd_member *m);

/* Compares two etcd versions as etcd numbers them: "3.4.23" < "3.5.0" <
 * "3.10.1", each run of digits as a number, anything else byte by byte. */
int status_version_cmp(const char *a, const char *b);

/* Sorts order[0..n-1] (indexes into v, each version a string or NULL when
 * unknown) by version, lowest first, equal versions in their given order,
 * NULLs last; returns the number of distinct known versions. */
size_t status_version_order(const char *const *v, size_t n, size_t *order);

/* Whether a learner whose log ends at raft index learner is far enough
 * behind the leader's (at leader) that etcd would not promote it yet:
 * etcd promotes a learner whose log has 90% of the leader's. */
bool status_learner_behind(uint64_t learner, uint64_t leader);

/* Whether a certificate valid from not_before to not_after is close to
 * its end at now: less than a third of its lifetime left (zooinit renews
 * the ones it makes at two thirds), or ended. */
bool status_cert_close(int64_t not_before, int64_t not_after, int64_t now);

/* Sets every member's verdict, the leader, s->healthy and the versions. */
void status_judge(struct status *s);

/* Returns a new string: the leader's name, its hex ID when it has no name
 * or is not in the list, or NULL when no leader is known. */
char *status_leader_label(const struct status *s);

/* The output of a run that got the member list, on out: the tables, the
 * summary and the services; or the one JSON object. */
void status_print_text(const struct status *s, FILE *out);
void status_print_json(const struct status *s, FILE *out);

/* The sentence for "no endpoint answered", on stderr: each endpoint and
 * why. */
void status_print_no_answer(const struct status *s);

#endif
