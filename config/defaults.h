#ifndef ZOOINIT_DEFAULTS_H
#define ZOOINIT_DEFAULTS_H

/* The built-in defaults zooinit gives etcd, in one place: the config's
 * key table fills struct cfg from these, and code that needs a default
 * for a value the config leaves 0 (a peer port taken from SRV) or for a
 * value outside struct cfg (a dependent service's etcd) names them here
 * instead of writing the number again. Depends on nothing. */

/* The main etcd. */
#define CFG_ETCD_CLIENT_PORT 2379
#define CFG_ETCD_PEER_PORT 2380		/* when neither peer_port nor SRV
					 * gives one */
#define CFG_ETCD_DATA_DIR "/var/lib/zooinit/etcd"
#define CFG_ETCD_BIN "etcd"		/* searched in PATH */
/* What status and cluster ask when no endpoints are given. */
#define CFG_ETCD_LOCAL_URL "http://127.0.0.1:" CFG_STR(CFG_ETCD_CLIENT_PORT)

/* The seed discovery etcd (zooinit discovery serve). */
#define CFG_SEED_CLIENT_PORT 4001
#define CFG_SEED_PEER_PORT 7001
#define CFG_SEED_DATA_DIR "/var/lib/zooinit/seed"

/* Where the leader's agent keeps its periodic snapshots. */
#define CFG_SNAPSHOT_DIR "/var/lib/zooinit/snapshots"

/* Dependent services: the root of their data dirs (one per service
 * name below it) and the ports of an etcd run as a service, clear of
 * the main etcd's. */
#define CFG_SVC_DATA_ROOT "/var/lib/zooinit/services/"
#define CFG_SVC_ETCD_CLIENT_PORT 22379
#define CFG_SVC_ETCD_PEER_PORT 22380

/* A numeric default as the text a user would type (the key table keeps
 * defaults as text). */
#define CFG_STR(x) CFG_STR_(x)
#define CFG_STR_(x) #x

#endif
