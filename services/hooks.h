#ifndef ZOOINIT_HOOKS_H
#define ZOOINIT_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/hook_event.h"
#include "lib/loop.h"

/* Hooks: user executables run at events in the life of a service that
 * depends on the cluster. Each runs from an argv array (never through a
 * shell; a hook may itself be a script with a #! line) in its own process
 * group, with stdin on /dev/null and stdout and stderr on one pipe that
 * the loop reads, so both streams keep their relative order in the log.
 * Every output line is logged at info as "hook NAME: line", with control
 * characters escaped as \xNN, lines cut at HOOK_LINE_MAX bytes and at most
 * HOOK_OUTPUT_MAX bytes logged per run; the rest is read and discarded so
 * the hook never blocks on a full pipe.
 *
 * Exit codes: 0 is success; any other exit status, death by a signal, a
 * timeout or a failure to start is failure. For OnHealthCheck 0 means
 * healthy and anything else unhealthy. For OnPostStart the caller runs the
 * hook again until it succeeds or the caller's own deadline passes. A hook
 * that runs past its timeout gets SIGTERM on its process group, then
 * SIGKILL HOOK_KILL_MS later; it has failed even if it then exits 0.
 *
 * When the hook's process exits, whatever it left in its process group is
 * killed (SIGKILL), as the supervisor does for its child: hooks are
 * short-lived. A hook that must leave a daemon behind detaches it (setsid)
 * and points its output elsewhere; a descendant that keeps the output pipe
 * open anyway is waited for at most HOOK_DRAIN_MS after the exit.
 *
 * The module keeps one list of the hooks it runs (the only global state).
 * The process has one reaper, the agent's SIGCHLD handler: it hands every
 * exited pid to hook_reaped() before it reaps it (proc_reap()). The loop
 * must be a single thread. */

#define HOOK_LINE_MAX 1024		/* bytes of one logged line */
#define HOOK_OUTPUT_MAX (64 * 1024)	/* bytes logged per run */
#define HOOK_KILL_MS 2000		/* SIGTERM to SIGKILL on timeout */
#define HOOK_DRAIN_MS 500		/* output still open after the exit */


/* What a hook learns through its environment. Every pointer is borrowed
 * for the call of hook_env() only. A NULL or empty string, an empty list
 * and a quorum of 0 all mean "not known (yet)": the variable is then set
 * to the empty string, so one inherited from the agent's own environment
 * never passes through. Values come partly from the network and are
 * checked, not trusted. */
struct hook_env {
	const char *backend;	/* ZOOINIT_CLUSTER_BACKEND: "etcd" */
	const char *service;	/* ZOOINIT_CLUSTER_SERVICE */
	enum hook_event event;	/* ZOOINIT_CLUSTER_EVENT, by its name */
	const char *const *server_ips;	/* ZOOINIT_SERVER_IP_LIST, */
	size_t n_server_ips;		/* joined with commas */
	const char *local_ip;	/* ZOOINIT_LOCAL_IP */
	const char *master_ip;	/* ZOOINIT_MASTER_IP */
	unsigned quorum;	/* ZOOINIT_QUORUM and ZOOINIT_QURORUM */
	const char *node_id;	/* ZOOINIT_NODE_ID */
	const char *const *etcd_endpoints; /* ZOOINIT_ETCD_ENDPOINTS, */
	size_t n_etcd_endpoints;	   /* joined with commas */
	/* The TLS files for reaching etcd: paths of printable ASCII. */
	const char *etcd_ca_file;	/* ZOOINIT_ETCD_CA_FILE */
	const char *etcd_cert_file;	/* ZOOINIT_ETCD_CERT_FILE: a client */
	const char *etcd_key_file;	/* ZOOINIT_ETCD_KEY_FILE   certificate */
};

/* Returns a new NULL-terminated environment: base_environ (NULL: empty)
 * with every ZOOINIT_* variable above set, replacing any inherited one;
 * base entries without a name or '=' are dropped. Free with
 * hook_env_free().
 * Checks every value and returns NULL with err set when one is not what
 * it should be: backend, service and node_id are 1-253 letters, digits,
 * '.', '_' or '-'; IPs are numeric IPv4 or IPv6 addresses (an IPv6 one
 * may have a %zone); endpoints are URLs of letters, digits and
 * "._~:/[]%-" (no commas, spaces, quotes or shell characters); list
 * elements are not empty; event is a known event. */
char **hook_env(const struct hook_env *vars, char *const *base_environ,
    char *err, size_t errlen);
/* Frees what hook_env() returned; NULL is ignored. */
void hook_env_free(char **envp);

struct hook_result {
	uint64_t id;		/* hook_run()'s id */
	const char *name;	/* hook_run()'s name; borrowed for the call */
	int status;		/* the wait status; -1 when it never ran */
	bool timed_out;		/* ran past its timeout; was signalled */
	const char *error;	/* why it could not start, or NULL; borrowed
				 * for the call */
};

/* Called exactly once per hook_run() that was not cancelled, from the
 * loop (never from inside a hook_* call), after the process was reaped and
 * its output read to the end. It may call any hook_* function. */
typedef void (*hook_done_cb)(void *arg, const struct hook_result *r);

/* True when r is a success: started, not timed out, exited with 0. */
bool hook_succeeded(const struct hook_result *r);
/* Describes r for a log line: "exited with status 0", "timed out and was
 * killed by signal 15 (Terminated)", "could not start: ...". Writes into
 * buf and returns it. */
const char *hook_result_str(const struct hook_result *r, char *buf,
    size_t len);

/* Starts argv[0] (a path; no PATH search) with argv and envp (NULL: the
 * agent's environment); argv, envp and name (for logs: "OnPostStart") are
 * borrowed for this call only. timeout_ms <= 0 means no time limit.
 * Returns an id > 0 for hook_cancel(). Every failure, a missing or
 * non-executable file included, comes to cb with error set, from the
 * loop. */
uint64_t hook_run(struct loop *l, const char *name, char *const argv[],
    char *const envp[], int timeout_ms, hook_done_cb cb, void *arg);

/* Kills the hook's process group (SIGKILL) and drops it: cb is not called.
 * An unknown, finished or zero id is ignored. The pid is still recognised
 * by hook_reaped() once it exits. */
void hook_cancel(uint64_t id);

/* For shutdown: kills every hook's process group and forgets them all,
 * with no callbacks; what the agent reaps after this is not a hook's. */
void hook_cancel_all(void);

/* The agent's reaper calls this for every child that exited, while it is
 * still a zombie (proc_reap()): the hook's group is swept here. Returns
 * true when pid was a hook's (status is then taken), false otherwise. */
bool hook_reaped(pid_t pid, int status);

/* How many hooks are started and not yet finished, cancelled ones whose
 * exit was not reaped yet included. */
size_t hook_count(void);

#endif
