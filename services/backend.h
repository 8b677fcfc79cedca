#ifndef ZOOINIT_BACKEND_H
#define ZOOINIT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/svc.h"

/* The service backends: what zooinit writes and runs for the services it
 * brings up through etcd once their member set is sealed. Each backend is
 * one file, services/be_NAME.c, that fills one struct backend_ops; the
 * table in services/backend.c lists them by config/svc.h's enum
 * svc_backend, and the service lifecycle (services/service.c) only walks
 * that table. Which config keys a backend takes, needs and defaults is
 * config's business: config/svc.c's backend table.
 *
 * Adding a backend: services/be_NAME.c with its backend_ops, one line in
 * services/backend.c's table, and in config/ the SVC_NAME value and one
 * line in config/svc.c's backend table (name, program, keys).
 *
 * The renderers below the interface are pure: text and argv come out,
 * nothing is started. Addresses in a set come from the network, so every
 * renderer checks the whole set (be_set_check) before any of it reaches
 * a file or an argv, and fails rather than emit something it has not
 * validated. Errors are written into err (errlen bytes) and say what was
 * expected, what was found and what to do. */

struct loop;
struct etcd_http;
struct etcd_http_result;

/* Member ids are ZooKeeper's myid: 1..255 (the range ZooKeeper's admin
 * guide gives), unique in a set and stable across restarts. */
#define BE_ID_MAX 255

struct be_member {
	unsigned id;		/* 1..BE_ID_MAX */
	const char *ip;		/* an IPv4 or IPv6 literal, from the network */
	bool standby;		/* role standby: observer / non-voter */
};

/* A sealed member set: the members in their sealed order (config files
 * list them in this order) and the id of this node, which must be one of
 * them. All pointers are borrowed. */
struct be_set {
	const struct be_member *m;
	size_t n;
	unsigned self_id;
};

/* Checks a set: 1..BE_ID_MAX members with unique ids in 1..BE_ID_MAX,
 * unique unicast IP literals (inet_pton; no unspecified, multicast,
 * IPv4-mapped or link-local addresses, no zone ids), at least one
 * participant, and self_id among them. Returns 0, or -1 with err set
 * (hostile text quoted). Every function below does this first and then
 * writes each address in its canonical inet_ntop form. */
int be_set_check(const struct be_set *s, char *err, size_t errlen);

/* ---- the interface --------------------------------------------------- */

/* The TLS files for etcd, in be_env.tls's order. */
enum { BE_TLS_CA, BE_TLS_CERT, BE_TLS_KEY, BE_TLS_N };

/* What a backend's prepare() gets. Borrowed for the call. */
struct be_env {
	const struct svc_cfg *cfg;
	const struct be_set *set;	/* the participants, plus this node
					 * when it is a standby */
	const char *bin;		/* cfg->bin as found in PATH; NULL
					 * when cfg->bin is */
	const char *const *etcd_urls;	/* NULL-terminated: the agent's etcd
					 * client URLs */
	uid_t uid;			/* owner of what is written; */
	gid_t gid;			/* (uid_t)-1: the agent's */
	/* The CA, client certificate and key the program reaches etcd
	 * with (NULL: none). backend_prepare() hands prepare() the user's
	 * copies of them when the service has a user (backend_tls_sync). */
	const char *tls[BE_TLS_N];
};

#define BE_CHECK_TIMEOUT_MS 3000	/* one health check */

/* One health check of this node's process in flight. The caller fills
 * loop ... arg and keeps the struct alive until done runs or
 * backend_check_cancel(); the rest is the backend's. */
struct be_check {
	struct loop *loop;
	struct etcd_http *http;
	const struct svc_cfg *cfg;
	const char *ip;			/* this node's address */
	void (*done)(void *arg, bool ok, const char *why);
	void *arg;
	uint64_t http_req;		/* pending requests, or 0 */
	uint64_t zk_req;
	/* be_check_http()'s verdict on an answer */
	bool (*judge)(const struct etcd_http_result *r, char *why,
	    size_t whylen);
};

struct backend_ops {
	const char *name;	/* config/svc.c's name for it */
	const char *package;	/* Debian package(s) with cfg->bin, for a
				 * message when it is missing; NULL */
	bool standby_idle;	/* a standby runs nothing (no non-voting
				 * members in this backend) */
	/* Writes the backend's files (data dir made and owned already
	 * when cfg->bin is set) and sets *argv to the command to run, a new
	 * argv (strv_free()), or NULL when this node runs nothing. Returns
	 * 0, or -1 with err set. */
	int (*prepare)(const struct be_env *e, char ***argv, char *err,
	    size_t errlen);
	/* Starts the health check of a running process: c->done runs
	 * once, from the loop. NULL: the backend has none, and passes. */
	void (*check)(struct be_check *c);
};

/* The backend for b; never NULL for b < SVC_NBACKENDS. Static. */
const struct backend_ops *backend_of(enum svc_backend b);

/* Everything but the backend's own prepare(): a standby of a backend
 * without standbys runs nothing; a backend with a program (cfg->bin set)
 * gets its data dir (0700, owned by e->uid; refused when a directory
 * above it is one e->uid owns or can write) and its program found in
 * PATH (*code set to EXIT_NOTFOUND when it is not); then prepare(), with
 * e->bin the program found (e->bin as given is ignored). Sets *argv as
 * prepare() does. Returns 0, or -1 with err set. */
int backend_prepare(const struct be_env *e, bool standby, char ***argv,
    int *code, char *err, size_t errlen);

/* Where a service with a user and a program keeps its copy of TLS file
 * i (BE_TLS_CA ...): DATA_DIR/etcd-ca.crt, etcd-client.crt and
 * etcd-client.key. Returns a new string (free with free()). */
char *backend_tls_path(const struct svc_cfg *c, int i);

/* Whether the service's program (the backend's, or a custom service's
 * OnStart) reads backend_tls_path()'s copies rather than e->tls itself:
 * it runs as a user (who cannot read root's 0600 key) and there is
 * something to copy. backend_prepare() then makes the data dir even for
 * a custom service. */
bool backend_tls_copies(const struct be_env *e);

/* Points each set e->tls[i] at its copy, backend_tls_path(); copy[i]
 * holds the new string (NULL for an unset file) for the caller to free. */
void backend_tls_use_copies(struct be_env *e, char *copy[BE_TLS_N]);

/* Copies each of e->tls whose copy is missing, older than it or of
 * another size (a renewal rewrote it), 0600 and handed to e->uid; for
 * backend_tls_copies() services only, after their data dir exists.
 * *copied (may be NULL) counts the files copied. Returns 0, or -1 with
 * err set. */
int backend_tls_sync(const struct be_env *e, int *copied, char *err,
    size_t errlen);

/* Starts the backend's health check (see backend_ops.check); a backend
 * without one calls c->done at once. */
void backend_check(struct be_check *c);

/* Drops c's pending request: done never runs. Safe when none is. */
void backend_check_cancel(struct be_check *c);

/* For the backends: hands path, a file in the data dir, to e->uid, if
 * set: through a descriptor opened without following a link, and only
 * when it is a regular file with a single name. Returns 0, or -1 with err
 * set. */
int be_give(const struct be_env *e, const char *path, char *err,
    size_t errlen);

/* For the backends' check(): GET http://IP:PORT/health on c->ip, judged
 * by judge (NULL: HTTP 200 passes). */
void be_check_http(struct be_check *c, int port,
    bool (*judge)(const struct etcd_http_result *r, char *why,
    size_t whylen));

/* ---- ZooKeeper ---------------------------------------------------- */

/* Zero in a port or timing field means the default shown. */
struct be_zk_opts {
	const char *data_dir;	/* absolute; holds myid and version-2/ */
	int client_port;	/* 2181 */
	int quorum_port;	/* 2888 */
	int election_port;	/* 3888 */
	int tick_ms;		/* tickTime, 2000 */
	int init_limit;		/* in ticks, 10 */
	int sync_limit;		/* in ticks, 5 */
};

/* Renders zoo.cfg and the myid file for this node. A set of one member
 * runs standalone (no server lines); any larger set runs as a quorum with
 * standaloneEnabled=false and one server.N=IP:QUORUM:ELECTION line per
 * member in set order, ":observer" for standbys and peerType=observer
 * when this node is one; IPv6 addresses are bracketed there and bare in
 * clientPortAddress. Dynamic reconfiguration is off: the set is sealed.
 * On success returns 0 and sets *zoo_cfg and *myid to new strings (free
 * with free()); on failure returns -1 with err set and both NULL. */
int be_zk_render(const struct be_set *s, const struct be_zk_opts *o,
    char **zoo_cfg, char **myid, char *err, size_t errlen);

/* Writes conf_dir/zoo.cfg (0644) and data_dir/myid (0644), each to a
 * temp file that is synced and renamed over the old one, creating missing
 * directories (and parents) 0700. Refuses a data_dir whose myid names
 * another member: that data belongs to someone else's history. Returns 0,
 * or -1 with err set. */
int be_zk_write(const char *conf_dir, const struct be_set *s,
    const struct be_zk_opts *o, char *err, size_t errlen);

/* Where Debian's packages put ZooKeeper's jars. */
#define BE_ZK_JAR_DIR "/usr/share/java"

/* Builds the class path for ZooKeeper from jar_dir (NULL: BE_ZK_JAR_DIR)
 * in Debian's layout: zookeeper.jar (libzookeeper-java; its manifest's
 * Class-Path names every dependency) and slf4j-simple.jar (libslf4j-java)
 * when present, without which ZooKeeper logs nowhere. Returns a new
 * string (free with free()), or NULL with err set when zookeeper.jar is
 * missing. */
char *be_zk_classpath(const char *jar_dir, char *err, size_t errlen);

/* The foreground command for ZooKeeper with its config in conf_dir:
 *   JAVA -XX:+ExitOnOutOfMemoryError -Dzookeeper.jmx.log4j.disable=true
 *     -cp CLASSPATH org.apache.zookeeper.server.quorum.QuorumPeerMain
 *     CONF_DIR/zoo.cfg
 * JAVA is a path (proc_find_binary("java")). The JVM is the child itself,
 * so signals reach ZooKeeper directly; logs go to stderr; nothing outside
 * conf_dir and the data dir is touched. (Debian's zkServer.sh
 * start-foreground also runs in the foreground, but it sources
 * /etc/zookeeper/conf/environment, which overrides ZOOCFGDIR, and its
 * class path has no SLF4J binding, so ZooKeeper would log nothing.)
 * Returns a new argv; free with strv_free(). Arguments are copied. */
char **be_zk_argv(const char *java, const char *conf_dir,
    const char *classpath);

/* ---- ZooKeeper four-letter words ----------------------------------- */

/* Answers longer than this are an error. */
#define BE_4LW_MAX (64 * 1024)

struct be_4lw_result {
	bool ok;
	const char *text;	/* the answer, NUL-terminated; "" if none */
	size_t len;		/* bytes in text */
	const char *error;	/* why not ok; NULL when ok */
};

/* r and everything in it are borrowed for the duration of the call. */
typedef void (*be_4lw_cb)(struct loop *l, const struct be_4lw_result *r,
    void *arg);

/* Sends word (four lowercase letters: "ruok", "srvr", ...) to the
 * ZooKeeper at ip:port and reads its answer until the server closes.
 * Non-blocking throughout; cb runs exactly once, always from the loop and
 * never from inside this call, unless cancelled first. Fails after
 * timeout_ms for the whole exchange, on an answer over BE_4LW_MAX, and
 * when ZooKeeper says the word is not whitelisted. A bad ip, port or word
 * is reported through cb too. Returns an id > 0 for be_4lw_cancel(). Use
 * from the loop's thread only. Health checks want "srvr": ZooKeeper says
 * "imok" to "ruok" as soon as it runs, before it serves. */
uint64_t be_4lw(struct loop *l, const char *ip, int port, const char *word,
    int timeout_ms, be_4lw_cb cb, void *arg);

/* Cancels a pending request: cb never runs. A finished, cancelled or
 * zero id is ignored, so calling it from the request's own cb is fine. */
void be_4lw_cancel(struct loop *l, uint64_t id);

/* Cancels every pending request on l, e.g. before loop_free(). */
void be_4lw_cancel_all(struct loop *l);

enum be_zk_mode {
	BE_ZK_UNKNOWN = 0,
	BE_ZK_LEADER,
	BE_ZK_FOLLOWER,
	BE_ZK_OBSERVER,
	BE_ZK_STANDALONE,
	BE_ZK_READ_ONLY,
	BE_ZK_NOT_SERVING,	/* up, but in no quorum (no leader yet) */
};

struct be_zk_srvr {
	enum be_zk_mode mode;
	uint64_t zxid;		/* 0 when not serving */
	uint64_t nodes;		/* "Node count"; 0 when not serving */
	char version[96];	/* "3.8.0-..., built on ..."; cut, and
				 * bytes outside printable ASCII as ? */
};

/* Parses the answer to "srvr". Returns 0 with *out filled (mode
 * BE_ZK_NOT_SERVING for "This ZooKeeper instance is not currently serving
 * requests"), or -1 with *out zeroed when text is not a srvr answer. */
int be_zk_parse_srvr(const char *text, struct be_zk_srvr *out);

/* "leader", "follower", ..., "not serving", "unknown"; static. */
const char *be_zk_mode_str(enum be_zk_mode m);

/* ---- Consul -------------------------------------------------------- */

struct be_consul_opts {
	const char *data_dir;	/* absolute */
	const char *node;	/* NULL: "n<id>"; an RFC 1035 label */
	const char *datacenter;	/* NULL: Consul's default (dc1);
				 * lowercase letters, digits, '-', '_' */
};

/* Consul's agent command. A participant is a server that waits for all
 * participants before electing a leader:
 *   CONSUL agent -server -bootstrap-expect N -bind SELF -advertise SELF
 *     -client SELF -data-dir DIR [-datacenter DC] -node NAME
 *     -retry-join P ... (every other participant)
 * A standby runs as a client agent (Consul's non-voting servers are an
 * Enterprise feature) with the same flags minus -server and
 * -bootstrap-expect, joining every participant. -retry-join brackets IPv6
 * addresses, the address flags take them bare, as Consul expects.
 * Returns a new argv (free with strv_free()), or NULL with err set. */
char **be_consul_argv(const char *consul, const struct be_set *s,
    const struct be_consul_opts *o, char *err, size_t errlen);

/* ---- A second etcd ------------------------------------------------- */

struct be_etcd_opts {
	const char *data_dir;	/* absolute */
	int client_port;	/* 0: 22379 */
	int peer_port;		/* 0: 22380 */
	const char *token;	/* --initial-cluster-token, same on all */
};

/* etcd's argv for a static cluster of the participants, named "n<id>":
 *   ETCD --name nID --data-dir DIR --listen-peer-urls http://SELF:PEER
 *     --initial-advertise-peer-urls http://SELF:PEER
 *     --listen-client-urls http://SELF:CLIENT
 *     --advertise-client-urls http://SELF:CLIENT
 *     --initial-cluster n1=http://IP1:PEER,... --initial-cluster-token T
 *     --initial-cluster-state new
 * Standbys are not members of this etcd: for a standby self this returns
 * NULL with err saying so, as it does for an invalid set. Returns a new
 * argv (free with strv_free()). */
char **be_etcd_argv(const char *etcd, const struct be_set *s,
    const struct be_etcd_opts *o, char *err, size_t errlen);

/* ---- Patroni ------------------------------------------------------- */

struct be_patroni_opts {
	const char *scope;		/* cluster name; an RFC 1035 label */
	const char *name;		/* NULL: "n<id>"; an RFC 1035 label */
	const char *const *etcd_urls;	/* NULL-terminated, at least one:
					 * http(s)://HOST:PORT, one scheme */
	const char *data_dir;		/* absolute */
	const char *bin_dir;		/* NULL: /usr/lib/postgresql/15/bin */
	int pg_port;			/* 0: 5432 */
	int rest_port;			/* 0: 8008 */
	const char *repl_user;		/* NULL: "replicator" */
	const char *repl_password;
	const char *su_user;		/* NULL: "postgres"; also rewinds */
	const char *su_password;
	const char *pgpass;		/* NULL: Patroni's ~/.pgpass */
	/* For https etcd URLs: the CA that verifies etcd and the client
	 * certificate and key Patroni presents (NULL: none). */
	const char *cacert, *cert, *key;
	const char *socket_dir;		/* unix_socket_directories; NULL:
					 * PostgreSQL's default */
};

/* Renders patroni.yml (Patroni 3.x, etcd3 DCS) for this node: REST API
 * and PostgreSQL on this node's address, pg_hba lines for replication
 * and the superuser from loopback and every member's address
 * (scram-sha-256) plus local peer, and tags.nofailover for a standby;
 * other clients get no pg_hba line. Over https the etcd3 section names
 * cacert, cert and key (those given). Every string is double-quoted with
 * YAML escapes and the output is ASCII; passwords may hold anything but
 * must be UTF-8. User names must be plain PostgreSQL identifiers. Returns
 * a new string (free with free()), or NULL with err set. */
char *be_patroni_render(const struct be_set *s,
    const struct be_patroni_opts *o, char *err, size_t errlen);

#endif
