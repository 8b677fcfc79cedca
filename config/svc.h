#ifndef ZOOINIT_SVC_H
#define ZOOINIT_SVC_H

#include <stddef.h>

#include "config/hook_event.h"

/* The services zooinit brings up through etcd once etcd is healthy: one
 * group per service inside the config file's "service" group,
 *
 *   service = {
 *     zk = { backend = "zookeeper"; size = 3; };
 *   };
 *
 * read by cfg_load() along with the flat keys into struct cfg's svcs
 * (every group, in file order, checked, defaults filled in). They live in
 * the file only: nested settings have no environment variable or flag.
 * Which of them bootstrap starts is the flat key "services" (file, env
 * ZOOINIT_SERVICES, --services), each entry naming one group. See
 * README.md, "Service keys", for every key's range and default. */

#define SVC_MAX 16		/* services in one file */
#define SVC_NAME_MAX 63		/* an RFC 1035 label */
#define SVC_HOOK_ARGS 64	/* most arguments of one hook */

enum svc_backend {
	SVC_CUSTOM = 0,		/* only hooks; OnStart is the service */
	SVC_ZOOKEEPER,
	SVC_ETCD,
	SVC_CONSUL,
	SVC_PATRONI,
	SVC_NBACKENDS
};

struct svc_cfg {
	char *name;		/* the group's name: letters, digits, '-',
				 * starting with a letter, at most 63 */
	char *where;		/* "FILE:LINE" of the group, for messages */
	enum svc_backend backend;	/* backend; default "custom" */
	int size;		/* participants, 1..255; required */
	char *data_dir;		/* default "/var/lib/zooinit/services/<name>" */
	char *bin;		/* the program the backend runs: default
				 * java (zookeeper), etcd, consul, patroni;
				 * NULL for custom. PATH unless it has '/' */
	/* Ports; 0 = the backend's default: zookeeper client/peer/
	 * election 2181/2888/3888, etcd client/peer 22379/22380, patroni
	 * client (PostgreSQL) 5432 and rest 8008. Consul keeps its own
	 * default ports. */
	int client_port;
	int peer_port;
	int election_port;
	int rest_port;
	char *user;		/* run the service's process as this user
				 * (and its group); NULL: as the agent.
				 * Required for patroni as root:
				 * PostgreSQL refuses to run as root */
	char *token;		/* etcd: initial-cluster-token; default
				 * "zooinit-<name>" */
	char *scope;		/* patroni: the cluster name; default name */
	char *pg_bin_dir;	/* patroni: default
				 * /usr/lib/postgresql/15/bin */
	char *repl_password;	/* patroni: replication user's password */
	char *su_password;	/* patroni: superuser's password */
	char *datacenter;	/* consul: -datacenter; NULL = consul's */
	int lease_ttl;		/* s, registration and leader lease; 10 */
	int quorum_timeout;	/* s to wait for size registrations; 0 =
				 * forever (the default) */
	int hook_timeout;	/* s, each hook run; 30 */
	int start_timeout;	/* s, OnPostStart retried until; 120 */
	int health_interval;	/* s between health checks; 10 */
	int health_failures;	/* failed checks in a row that restart the
				 * service; 3 */
	int stop_timeout;	/* s from SIGTERM to SIGKILL; 10 */
	/* hooks[ev]: a NULL-terminated argv (argv[0] an absolute path),
	 * or NULL when the event has no hook. */
	char **hooks[HOOK_NEVENTS];
};

/* Returns the backend's name ("zookeeper"); static storage. Out-of-range
 * values give "unknown". */
const char *svc_backend_name(enum svc_backend b);

/* Finds a service by name (exact, case-sensitive) among the n at v (a
 * struct cfg's svcs, n_svcs); NULL when absent. Borrowed from v. */
const struct svc_cfg *svc_find(const struct svc_cfg *v, size_t n,
    const char *name);

/* Frees everything s owns (the passwords wiped first) and zeroes it; safe
 * on a zeroed struct. cfg_free() calls it for every service. */
void svc_cfg_free(struct svc_cfg *s);

#endif
