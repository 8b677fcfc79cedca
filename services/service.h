#ifndef ZOOINIT_SERVICE_H
#define ZOOINIT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/loop.h"
#include "config/svc.h"

/* One dependent service on this node, brought up through the registry in
 * etcd (agent/registry.h) and run by its backend or its hooks:
 *
 *   OnPreRegist -> lease, size (create-if-absent), nodes/<ip>
 *   -> OnPostRegist -> wait until size nodes are registered, seal
 *   (or find the sealed set: a restart skips the wait) -> id
 *   -> OnReachQurorumNum -> OnPreStart -> backend files, start
 *   -> OnPostStart (with the backend's health) until it passes or
 *   start_timeout -> started/<ip> -> OnClusterBooted once every
 *   participant started -> OnHealthCheck every health_interval
 *
 * plus a live leader (the lease-bound leader key, taken by a
 * create-revision-0 transaction and retaken whenever it is free) with
 * OnLeaderChange, and on stop: the service's process, OnStop, the lease
 * revoked. The lease keeps nodes/<ip>, leader and started/<ip>; a lost
 * lease is replaced and the keys are written again without touching the
 * running service. Everything runs on the loop. */

struct etcd_http;
struct service;

enum service_event {
	SERVICE_RUNNING,	/* passed OnPostStart; the next may start */
	SERVICE_FAILED,		/* gave up; why says why */
	SERVICE_STOPPED,	/* after service_stop(), all done */
};

typedef void (*service_cb)(void *arg, struct service *s,
    enum service_event ev, const char *why);

struct reg_watch;

struct service_opts {
	const struct svc_cfg *cfg;	/* borrowed; outlives the service */
	const char *ip;			/* this node's address (copied) */
	const char *name;		/* this host's etcd member name, which
					   outlives its address (copied);
					   NULL: none */
	char *const *endpoints;		/* etcd client URLs (copied) */
	size_t n_endpoints;
	struct reg_watch *watch;	/* the registry's watch, shared by the
					   agent's services (borrowed) */
	struct etcd_kv *keep_kv;	/* keeps the service's lease: the
					   agent's services share it, so their
					   keepalives go in one request
					   (borrowed; NULL: the service's own) */
};

struct service *service_new(struct loop *l, struct etcd_http *h,
    const struct service_opts *o, service_cb cb, void *arg);
/* The TLS files the service's hooks and program are told about (copied;
 * NULL: none): the CA that verifies etcd, a client certificate and its
 * key. */
void service_set_tls(struct service *s, const char *ca_file,
    const char *cert_file, const char *key_file);
/* Frees s, killing whatever still runs (no hooks, no callbacks). */
void service_free(struct service *s);

void service_start(struct service *s);
/* Stops: the process (SIGTERM, stop_timeout, SIGKILL), OnStop, the lease.
 * Ends with SERVICE_STOPPED. A second call kills at once. */
void service_stop(struct service *s);
/* True when pid was the service's process (status taken). */
bool service_reaped(struct service *s, pid_t pid, int status);

const char *service_name(const struct service *s);
/* 0, or after SERVICE_FAILED: 111 when it gave up waiting (quorum_timeout,
 * start_timeout), 127 when the program to run (the backend's bin or
 * OnStart) does not exist, 126 when it cannot be executed, else 100. */
int service_exit_code(const struct service *s);

/* What the metrics page shows of one service. Strings are borrowed from
 * the service (or static) and valid until it is freed. */
struct service_info {
	const char *name;
	const char *backend;	/* "zookeeper", "consul", ... */
	const char *state;	/* services_info() only: see services.h */
	const char *role;	/* "participant", "standby", "" until known */
	bool leader;		/* this node holds the service's leader key */
	bool healthy;		/* running, and its last health check passed */
	uint64_t restarts;	/* its process started again after an exit */
	bool has_hook[HOOK_NEVENTS];	/* a hook is set for the event */
	uint64_t hook_failures[HOOK_NEVENTS];	/* runs that failed */
};

/* Fills out for s (all but state). */
void service_info(const struct service *s, struct service_info *out);

#endif
