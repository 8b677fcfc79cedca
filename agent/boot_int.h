#ifndef ZOOINIT_BOOT_INT_H
#define ZOOINIT_BOOT_INT_H

/* The bootstrap machine's insides, shared by agent/boot.c (the table and
 * running etcd) and the files that do its parts: resolve.c (planning),
 * grow.c (a learner's promotion, an extra taking a removed member's
 * place), follow.c (a DNS client following the zone), rejoin.c (a removed
 * member), readdress.c (a moved member), restore_run.c (restoring a
 * snapshot), care.c (the leader's agent's jobs), settle.c (the join
 * probe's answer), boot_health.c (the health checks) and boot_metrics.c
 * (the metrics page). Nothing else includes this header. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/actx.h"
#include "agent/day2_stats.h"
#include "agent/join.h"
#include "agent/plan.h"
#include "etcd/api.h"
#include "lib/sup.h"
#include "resolver/localaddr.h"

#define HEALTH_TIMEOUT_MS 3000

enum boot_state {
	BS_IDLE = 0,	/* not begun */
	BS_RESOLVING,	/* asking the sources (journal, DNS, token, static) */
	BS_SETTLING,	/* a plan is made; asking the peers new or existing */
	BS_RESTORING,	/* the plan is final: a snapshot is restored into
			   the data dir (restore_from), or EV_RESTORED
			   comes at once when there is none to restore */
	BS_STARTING,	/* etcd supervised, not healthy (or restarting) */
	BS_UP,		/* etcd healthy */
	BS_SWITCHING,	/* etcd stopping to start with the settled plan */
	BS_REPLANNING,	/* etcd stopping to plan again from the sources */
	BS_STOPPING,	/* SIGTERM: the services, then etcd and the seed */
	BS_REMOVED,	/* the cluster removed this member: etcd stopping,
			   then its data dir goes aside (agent/rejoin.c) */
	BS_DONE,	/* the loop is told to end with b->exit_code */
	BS_NSTATES
};

enum boot_event {
	EV_BEGIN = 0,	/* the command starts the machine */
	EV_PLANNED,	/* a source gave a plan (b->plan) */
	EV_SETTLED,	/* new or existing is decided: the plan is final */
	EV_FINISH,	/* end with b->exit_code (a failure, or plan printed) */
	EV_ETCD_UP,	/* the supervisor started etcd */
	EV_ETCD_EXITED,	/* etcd exited; a restart is scheduled (b->exit) */
	EV_ETCD_DONE,	/* the supervisor stopped for good */
	EV_HEALTHY,	/* a health check passed (b->check) */
	EV_UNHEALTHY,	/* a health check failed (b->check) */
	EV_PROMOTED,	/* this learner became a voter */
	EV_REPLAN,	/* plan again: members, address or flags went stale */
	EV_STOP,	/* SIGTERM or SIGINT (b->stop_sig) */
	EV_SERVICES_DONE, /* no dependent service runs any more */
	EV_SEED_STOPPED, /* this host's seed discovery etcd stopped */
	EV_REMOVED,	/* the peers no longer list this member */
	EV_RESTORED,	/* the data dir is ready for etcd's start */
	BS_NEVENTS
};

/* Planning: what the sources are asked, and what they said so far. */
struct resolve {
	struct dns_resolver *dns;
	struct local_addrs self;
	int64_t deadline;
	int retry_ms;
	uint64_t retry_timer;
	char *candidate;	/* size 0: the member set seen last time */
	bool existing_data;	/* the data dir holds a member already */
	bool skip_journal;	/* planning again: the journal is what failed */
	const char *const *sources; /* the order to try them in */
	size_t n_sources, src;	/* src: the one being tried */
	char **skipped;		/* why earlier sources were passed over */
	size_t n_skipped;
	/* Token discovery. */
	struct tok *tok;
	char *my_name, *my_addr;	/* this host, for the token */
	bool seed_owner;		/* this host owns the discovery address */
	int seed_port;			/* the discovery URL's port */
	uint64_t reuse_req;		/* token reuse check in flight */
	size_t reuse_next;		/* next member to ask */
	/* A journal whose address is no longer this host's. */
	struct readdress *ra;
};

/* An extra host (grpc-proxy) watching for a removed member to replace,
 * and a learner asking for its promotion. */
struct grow {
	size_t target;		/* an extra's idea of the cluster size */
	uint64_t list_req;	/* an extra's member list request */
	size_t list_next;	/* the member an extra asks next */
	struct etcd_kv *kv;	/* an extra's lock, to replace a member */
	uint64_t kv_req;
	uint64_t promote_req;	/* a learner's promotion request */
	size_t promote_next;	/* the member to ask next */
};

/* A DNS client looking at the zone again, to follow its members. */
struct follow {
	int64_t last_ms;	/* when the last lookup began */
	bool busy;		/* a lookup is in flight */
};

struct boot {
	struct actx *x;
	const struct cfg *c;
	enum boot_state state;
	bool plan_only;		/* zooinit plan: stop once settled */
	int exit_code;
	enum boot_event queue[8];	/* posted while an action runs */
	size_t q_head, q_len;
	bool dispatching;

	struct resolve rs;
	struct plan plan;
	struct join *join;	/* the new-or-existing probe */
	struct order *order;	/* a new member waiting for its turn */
	struct localdisc *localdisc;	/* etcd's discovery for its first
				   start, until the cluster is healthy */
	struct seed *seed;	/* this host's seed discovery etcd */
	uint64_t seed_timer;	/* seed_grace after the cluster is up */
	struct upkeep *upkeep;	/* the leader's membership upkeep */
	struct snapshot *snap;	/* the leader's periodic snapshots */
	struct maint *maint;	/* the leader's compaction, defrag, NOSPACE */
	struct grow gr;
	struct rejoin *rj;	/* asking whether this member was removed */
	struct follow fo;
	struct restore_run *restore;	/* the restore tool running */

	struct sup *sup;	/* etcd (or its grpc-proxy) */
	bool running_proxy;	/* the supervised process is grpc-proxy */
	struct sup_exit exit;	/* EV_ETCD_EXITED: how it went */
	char *replan_why;	/* EV_REPLAN: what went stale */
	char **refused_argv;	/* the flags etcd refused at once, planned
				   again: never given to it a second time */
	uint64_t health_timer;
	bool check_lazy;	/* the timer's is a routine check */
	uint64_t check_id;
	uint64_t proxy_req;	/* a /health check in flight */
	struct etcd_check_result check;	/* EV_HEALTHY, EV_UNHEALTHY */
	int64_t last_wait_log;

	struct services *svcs;	/* the services that depend on the cluster */
	bool svcs_begun;
	int stop_sig;		/* the signal a stop waits on services for */
	struct certs *certs;	/* renewing the certificates made here */

	/* For the metrics page (agent/boot_metrics.c). */
	struct day2_stats day2;	/* snapshots and maintenance add to it */
	int64_t started_ms;	/* boot_new(), on the monotonic clock */
	int64_t start_unix;	/* the same, in Unix seconds */
	int64_t healthy_ms;	/* the first healthy check; 0 before */
	int64_t trimmed_ms;	/* the last xmalloc_trim(); 0 none */
};

/* Queues ev for the machine; handled at once unless an action runs. */
void boot_post(struct boot *b, enum boot_event ev);
/* Ends the machine with code (posts EV_FINISH). */
void boot_finish(struct boot *b, int code);

/* agent/boot_health.c: the checks of etcd's health, each posting
 * EV_HEALTHY or EV_UNHEALTHY with b->check. boot_health_first() checks
 * soon after etcd started; boot_health_next() schedules the next check
 * after one that said healthy or not (health_interval once a healthy
 * voter, sooner before); boot_health_stop() cancels the timer and any
 * check in flight. */
void boot_health_first(struct boot *b);
void boot_health_next(struct boot *b, bool healthy);
void boot_health_stop(struct boot *b);

/* agent/resolve.c: asks the journal, else the sources in order; ends in
 * EV_PLANNED or a failure. */
void resolve_begin(struct boot *b);
/* Frees what planning holds (not the plan). */
void resolve_free(struct boot *b);

/* agent/grow.c: once per health check. */
void grow_extra_check(struct boot *b);
void grow_try_promote(struct boot *b);
void grow_free(struct boot *b);

/* agent/rejoin.c: this host's member removed from the cluster (see
 * agent/rejoin.h). On an exit of etcd (b->exit) the peers are asked at
 * once; returns true when the exit (status 0) is handled by that alone.
 * While unhealthy they are asked now and then. A removal posts
 * EV_REMOVED; once etcd has stopped, rejoin_keep_aside() moves the data
 * dir aside and plans again. */
bool rejoin_on_exit(struct boot *b);
void rejoin_on_unhealthy(struct boot *b);
void rejoin_keep_aside(struct boot *b);
void rejoin_free(struct boot *b);

/* agent/follow.c: a DNS client, once per health check, looks at the zone
 * again (at most every FOLLOW_MS) and plans again when its members
 * changed. follow_free() forgets a lookup that resolve_free() cancels. */
void follow_check(struct boot *b);
void follow_free(struct boot *b);

/* agent/restore_run.c: restore_from (agent/restore.h). On the settled
 * plan (argv built): decides whether this member restores the snapshot,
 * says so or why not, checks the file and finds the tool, filling
 * p->restore_*; returns 0, or -1 after boot_finish() (EXIT_PERMANENT
 * for the file, EXIT_NOTFOUND for the tool). restore_begin() then runs
 * the tool: EV_RESTORED once member/ is in the data dir (at once when
 * there is nothing to restore), boot_finish(EXIT_PERMANENT) when it
 * failed. restore_reaped() takes the tool's exit (true when pid was the
 * tool); restore_free() kills a running tool, waits for it and removes
 * what it wrote. */
int restore_plan(struct boot *b);
void restore_begin(struct boot *b);
bool restore_reaped(struct boot *b, pid_t pid, int status);
bool restore_running(const struct boot *b);
void restore_free(struct boot *b);

/* agent/care.c: the leader's agent's jobs over the cluster's life
 * (upkeep, snapshots, compaction, defragmentation, NOSPACE). Started
 * with etcd as a member (not a client's proxy); a health check's result
 * drives them; freed when this host plans again (they hold its URLs). */
void care_start(struct boot *b);
void care_healthy(struct boot *b, const struct etcd_check_result *r);
void care_unhealthy(struct boot *b);
void care_free(struct boot *b);

/* agent/settle.c: the join probe's answer lands here. */
void boot_on_join(void *arg, struct join_result *r);

#endif
