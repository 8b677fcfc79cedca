#ifndef ZOOINIT_SERVICE_INT_H
#define ZOOINIT_SERVICE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "services/backend.h"
#include "services/hooks.h"
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
	const struct svc_cfg *cfg;
	char *ip;
	char **endpoints;
	size_t n_endpoints;
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
	uint64_t leader_req, started_req, booted_req, watch;
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

/* service_reg.c */
/* Grants the lease, then registers this node under it. */
void service_grant(struct service *s);
/* Takes the leader key if it is free. */
void service_campaign(struct service *s);
/* Marks this participant started in the registry. */
void service_put_started(struct service *s);
/* Reads the registry (and watches it), then decides. */
void service_read_registry(struct service *s);

#endif
