#ifndef ZOOINIT_CFG_H
#define ZOOINIT_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/log.h"

/* The agent's whole configuration, merged from four layers, each overriding
 * the one before: built-in defaults, a libconfig file (-f FILE, --config
 * FILE or ZOOINIT_CONFIG), environment variables ZOOINIT_<KEY> and command
 * line flags --<key-with-dashes>. One table in cfg.c describes every key
 * once; the file key, the env variable and the flag all derive from it.
 * The etcd defaults below are config/defaults.h's. */

#define CFG_MAX_MEMBERS 64
#define CFG_MAX_DNS_SERVERS 8

enum cfg_scheme { CFG_SCHEME_AUTO = 0, CFG_SCHEME_HTTP, CFG_SCHEME_HTTPS };
enum cfg_names { CFG_NAMES_LABEL = 0, CFG_NAMES_FQDN };
enum cfg_seed_keep { CFG_SEED_STOP = 0, CFG_SEED_KEEP };
enum cfg_switch { CFG_OFF = 0, CFG_ON };
/* What this host may be: auto is a member when the source lists it and a
 * client (etcd's grpc-proxy towards the members) otherwise; member fails
 * when it is not listed; client never becomes a member. */
enum cfg_role { CFG_ROLE_AUTO = 0, CFG_ROLE_MEMBER, CFG_ROLE_CLIENT };

#define CFG_MAX_URLS 16

struct svc_cfg;		/* config/svc.h */

struct cfg {
	/* Every string is owned by the struct and freed by cfg_free(); NULL
	 * means "not set" unless a default is given. */
	char *config_file;	/* the file that was read, or NULL */
	char *domain;		/* DNS domain holding the SRV records */
	char *srv_name;		/* SRV service suffix: _etcd-server-NAME;
				   NULL = none */
	char **dns_servers;	/* "ADDR" or "ADDR:PORT" / "[V6]:PORT" */
	size_t n_dns_servers;	/* 0 = the system resolver */
	int size;		/* expected voting members; 0 = from DNS */
	char *ip;		/* this host's address, an IPv4/IPv6 literal */
	char *name;		/* this member's name; NULL = from SRV */
	char *interface;	/* this host's address from this interface */
	char *netmask;		/* with hint: pick the local address in */
	char *hint;		/*   hint/netmask (the original tool's way) */
	char *data_dir;		/* default "/var/lib/zooinit/etcd" */
	char *etcd;		/* etcd binary; default "etcd" (PATH) */
	int client_port;	/* default 2379 */
	int peer_port;		/* default 0 = from this host's SRV record */
	char *token;		/* initial-cluster-token; NULL = derived */
	enum cfg_scheme scheme;	/* default auto = from the SRV record set */
	enum cfg_names member_names; /* default label */
	enum cfg_role role;	/* default auto */
	int resolve_timeout;	/* seconds to wait for DNS; default 120 */
	int health_interval;	/* seconds between health checks; default 10 */
	int remove_after;	/* seconds a voter may stay unreachable before
				   the leader's agent removes it; 0 never */
	int quorum_floor;	/* removals never leave fewer voters; 2 */
	int stop_timeout;	/* s from SIGTERM to SIGKILL; default 10 */
	/* Maintenance by the leader's agent (agent/maint.c). */
	char *compact_retention; /* config/retention.h's syntax; NULL off */
	int defrag_interval;	/* s between defrag rounds; 0 off */
	char **etcd_args;	/* extra flags for a member's etcd, each */
	size_t n_etcd_args;	/*   passed config/etcd_args.h's checks */
	enum log_level log_level; /* default info */
	char *metrics_listen;	/* "HOST:PORT" of the metrics page; NULL or
				   "" = none */

	/* Where peers come from, tried in order: "dns", "token", "static".
	 * None set means all three in that order. */
	char **sources;
	size_t n_sources;
	char *discovery;	/* v2 discovery URL .../v2/keys/PREFIX/TOKEN */
	char **discovery_endpoints; /* v3 discovery: etcd client URLs */
	size_t n_discovery_endpoints;
	char *discovery_token;	/* v3 discovery: the token; URL-safe */
	char *initial_cluster;	/* static: "name=peerURL,..." */
	int seed_client_port;	/* the seed discovery etcd; default 4001 */
	int seed_peer_port;	/* default 7001 */
	char *seed_data_dir;	/* default "/var/lib/zooinit/seed" */
	enum cfg_seed_keep seed_keep; /* once the cluster is healthy */
	int seed_grace;		/* seconds before stopping it; default 60 */
	/* Snapshots: the leader's agent takes one every snapshot_interval
	 * seconds (0: never) into snapshot_dir, keeps snapshot_keep of them
	 * and runs snapshot_hook (NULL: none) with each new file's path. */
	char *snapshot_dir;	/* default "/var/lib/zooinit/snapshots" */
	int snapshot_interval;	/* default 0 */
	int snapshot_keep;	/* default 5 */
	char *snapshot_hook;
	char *endpoint;		/* discovery new: the etcd to create it in */
	char **endpoints;	/* status: client URLs to ask */
	size_t n_endpoints;

	/* TLS, for https zones and URLs (see plan_check_tls()): the files
	 * etcd serves its client and peer URLs with and verifies peers
	 * against, which zooinit also uses to reach etcd. NULL = not set;
	 * the peer_* files default to the others. */
	char *cert_file;
	char *key_file;
	char *trusted_ca_file;
	char *peer_cert_file;
	char *peer_key_file;
	char *peer_trusted_ca_file;
	enum cfg_switch client_cert_auth; /* default off: on makes etcd
				   demand client certificates, and zooinit
				   present cert_file */
	/* A CA that signs the certificates each agent makes for itself
	 * when cert_file is not set (agent/certs.c). NULL = not set. */
	char *ca_file;
	char *ca_key_file;
	int cert_lifetime;	/* seconds; default 365 days */

	/* Day 2: a snapshot (etcdctl snapshot save) that every member of a
	 * new cluster restores into its empty data dir before etcd's first
	 * start; NULL = none. Ignored once the member has data. */
	char *restore_from;

	/* Services (config/svc.h). svcs: every group of the file's
	 * "service" group, in file order, checked and with defaults filled
	 * in (file only). services: the names bootstrap starts once etcd is
	 * healthy, in order (at most SVC_MAX, a key like the others); each
	 * names one of svcs, once. Find one with
	 * svc_find(c->svcs, c->n_svcs, name). */
	struct svc_cfg *svcs;
	size_t n_svcs;
	char **services;
	size_t n_services;

	/* Command options: flags only, never in a file or the environment. */
	bool json;		/* --json */
	bool help;		/* -h, --help */
	char **args;		/* positional arguments, in order */
	size_t n_args;
};

/* Fills c from the four layers. argv holds the subcommand's arguments
 * only (argv[0] is the subcommand name and is skipped). On failure returns
 * -1 with one sentence in err that names where the bad value came from:
 * "FILE:LINE: key: ...", "environment ZOOINIT_SIZE: ..." or "--size: ...";
 * c is then left freed and zeroed. envp is the environment to read
 * (normally environ). */
int cfg_load(struct cfg *c, int argc, char **argv, char **envp,
    char *err, size_t errlen);

/* Frees everything c owns and zeroes it; safe on a zeroed struct. */
void cfg_free(struct cfg *c);

/* Prints one line per flag with its env variable and meaning. */
void cfg_usage(FILE *out);

/* Returns the scheme as "http" / "https" / "auto"; static storage. */
const char *cfg_scheme_name(enum cfg_scheme s);

#endif
