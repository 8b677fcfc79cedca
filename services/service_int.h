#ifndef ZOOINIT_SERVICE_INT_H
#define ZOOINIT_SERVICE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "services/backend.h"
#include "services/hooks.h"
#include "services/reg_watch.h"
#include "services/registry.h"
#include "services/service.h"

/* One service's state, shared by the two halves of its lifecycle:
 * services/service.c (hooks, the sequence, the process, health, stop)
 * and services/service_reg.c (lease, registration, leader, the member
 * set read, watched and sealed in etcd). Nothing outside them includes
 * this. */

struct etcd_kv;
struct sup;

enum phase {
	PH_IDLE = 0,
	PH_PRE_REGIST,		/* OnPreRegist */
	PH_REGISTER,		/* lease, size, nodes/<ip> */
	PH_POST_REGIST,		/* OnPostRegist */
	PH_WAIT,		/* for size registrations and the seal */
	PH_REACHED,		/* OnReachQurorumNum */
	PH_PRE_START,		/* OnPreStart */
	PH_POST_START,		/* the process runs; OnPostStart until ok */
	PH_RUNNING,		/* started; health checks */
	PH_STOP_PROC,		/* stopping the process */
	PH_STOP_HOOK,		/* OnStop */
	PH_REVOKE,		/* giving the lease back */
	PH_DONE,
};

struct service {
	struct loop *loop;
	struct etcd_http *http;
	struct etcd_kv *kv;
	struct etcd_kv *keep_kv;	/* borrowed: its lease keeper's */
	const struct svc_cfg *cfg;
	char *ip;
	char *name;		/* this host's member name, or NULL */
	char **endpoints;
	size_t n_endpoints;
	char *tls[3];		/* CA, client certificate and key for etcd;
				   NULL: none (service_set_tls()) */
	service_cb cb;
	void *arg;
	char *label;		/* "service zk" */
	char *prefix;		/* /zooinit/services/zk/ */

	enum phase phase;
	bool failed;		/* stopping because it failed */
	int code;		/* its exit code; set before fail() or 0 */
	char *fail_why;

	/* The registry. */
	int64_t lease;		/* 0: none */
	uint64_t lease_req, keeper, reg_req, read_req, seal_req, id_req;
	uint64_t fill_req;	/* fill_ids() */
	uint64_t move_req, host_req;	/* services/reg_move.c */
	bool host_noted;	/* hosts/<name> written for this address */
	bool move_waiting;	/* for the old address's lease to end */
	char *set_sig;		/* the sealed set the files were written
				   from (service_set_sig()) */
	uint64_t roll_req;	/* the "restarting" key */
	bool rolling;		/* restarting for a new set; holds the key */
	bool roll_waiting;	/* another node restarts first */
	pid_t roll_pid;		/* the process told to stop */
	uint64_t leader_req, started_req, booted_req;
	struct reg_watch *rw;	/* borrowed: services/reg_watch.h */
	uint64_t sub;		/* this service's subscription; 0 none */
	bool reread;		/* read again when the current read ends */
	bool registered;	/* nodes/<ip> written with the current lease */
	struct reg_view view;
	bool have_view;
	unsigned id;		/* this node's id; 0 until known */
	bool participant;
	bool size_warned;
	int64_t last_wait_log;
	uint64_t quorum_timer;	/* quorum_timeout */
	size_t last_alive;
	uint64_t retry_timer;

	/* Hooks: the sequence, the health check and the leader change run
	 * independently of each other. */
	uint64_t seq_hook, health_hook, leader_hook;
	enum hook_event seq_event;
	char leader[REG_IP_MAX];	/* the leader hooks were told of */
	bool leader_pending;
	bool booted_done;	/* OnClusterBooted started (or not needed) */
	bool booted_over;	/* ... and finished: health checks may run */
	int64_t running_since;

	/* The process and its health. */
	struct sup *sup;
	uid_t uid;		/* cfg->user's, or (uid_t)-1 */
	gid_t gid;
	int64_t start_deadline;
	uint64_t post_timer, health_timer;
	struct be_check check;	/* the backend's, while one runs */
	void (*check_done)(struct service *, bool, const char *);
	unsigned failures;	/* health checks failed in a row */
	bool unhealthy;		/* the last check failed */
	uint64_t hook_failures[HOOK_NEVENTS];	/* for service_info() */
	uint64_t revoke_req;
};

/* service.c */
/* Moves to the next phase and starts it. */
void service_next(struct service *s);
/* Fails the service (s->code, when still 0, becomes EXIT_PERMANENT) and
 * stops it; the message is logged and reported. */
void service_fail(struct service *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Starts the hook for ev with cb; returns its id, or 0 when ev has no
 * hook (cb is then not called). */
uint64_t service_run_hook(struct service *s, enum hook_event ev,
    hook_done_cb cb);
/* Whether the hook of ev succeeded (hook_succeeded()); a failure is
 * counted for service_info(). Every hook callback asks through this. */
bool service_hook_ok(struct service *s, enum hook_event ev,
    const struct hook_result *r);

/* service_reg.c */
/* Grants the lease, then registers this node under it. */
void service_grant(struct service *s);
/* Takes the leader key if it is free. */
void service_campaign(struct service *s);
/* Marks this participant started in the registry. */
void service_put_started(struct service *s);
/* Reads the registry (and watches it), then decides. */
void service_read_registry(struct service *s);
/* After a failed etcd request: the next step again in a second. */
void service_retry(struct service *s);

/* reg_move.c */
/* This node has no id at its address, but the registry knows its member
 * name at another one that is not alive: moves that node's id (and its
 * place in the sealed set) here, then reads the registry again. Returns
 * whether it did (or is doing) that. */
bool service_move(struct service *s);
/* Writes hosts/<name> = this node's address once it has an id there. */
void service_note_host(struct service *s);
/* The sealed set as "id=ip,..."; a new string. */
char *service_set_sig(const struct service *s);
/* Running, and the sealed set is no longer the one the files were
 * written from (a host moved): restarts with new files once no other
 * node restarts. */
void service_follow_set(struct service *s);
/* A health check passed: a restart for a new set is over. */
void service_roll_healthy(struct service *s);

/* service.c */
/* Writes the backend's files again from the current view. Returns 0, or
 * -1 with err set. */
int service_rewrite(struct service *s, char *err, size_t errlen);

#endif
