#ifndef ZOOINIT_PLAN_H
#define ZOOINIT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/cfg.h"
#include "resolver/dns.h"
#include "resolver/localaddr.h"

/* A plan is everything bootstrap needs to start etcd: the member map that
 * every host computes identically, this host's place in it, and the exact
 * argv. Building it is pure: no I/O besides what the caller passes in. */

enum plan_result {
	PLAN_OK = 0,	/* the plan is complete and valid */
	PLAN_WAIT,	/* not enough members resolved yet; ask DNS again */
	PLAN_FAIL,	/* the zone or the configuration is wrong */
};

struct plan_member {
	char *name;
	char *host;		/* SRV target; NULL when not from DNS */
	char *addr;		/* IP literal used in the URLs */
	unsigned peer_port;
	char *peer_url;
	char *client_url;
	bool self;
};

/* The TLS files of an https plan, set by plan_check_tls(). Borrowed from
 * the cfg it was given (valid until cfg_free()), or from the plan's
 * tls_made when made is set. */
struct plan_tls {
	const char *cert_file, *key_file;	/* client URLs */
	const char *trusted_ca_file;		/* NULL: none configured */
	const char *peer_cert_file, *peer_key_file;
	const char *peer_trusted_ca_file;	/* NULL: none configured */
	bool client_cert_auth;
	/* What zooinit itself and the services present to etcd; NULL:
	 * nothing (client_cert_auth off). */
	const char *client_cert_file, *client_key_file;
	bool made;	/* the files are zooinit's own, made from ca_file
			   (agent/certs.c) in the state directory */
};

/* The files zooinit makes from ca_file, in order, in the state
 * directory's PLAN_TLS_DIR: certificates 0644, keys 0600. */
#define PLAN_TLS_DIR "tls"
enum plan_tls_file {
	PLAN_TLS_SERVER_CRT, PLAN_TLS_SERVER_KEY,
	PLAN_TLS_PEER_CRT, PLAN_TLS_PEER_KEY,
	PLAN_TLS_CLIENT_CRT, PLAN_TLS_CLIENT_KEY,
	PLAN_TLS_NFILES
};
extern const char *const plan_tls_names[PLAN_TLS_NFILES];
/* Where file f of a member with data_dir is made: a new string. */
char *plan_tls_made_path(const char *data_dir, enum plan_tls_file f);

struct plan {
	const char *source;	/* "dns", "token", "static" or "journal";
				   static storage */
	char **skipped;		/* why earlier sources were passed over, */
	size_t n_skipped;	/*   e.g. "dns: no SRV records for x" */
	char *source_detail;	/* the SRV set or the journal's path */
	const char *scheme;	/* "http" or "https"; static storage */
	struct plan_member *m;	/* sorted by name */
	size_t n;
	size_t self;		/* index of this host in m */
	char *initial_cluster;	/* name=peer_url,... in m's order */
	char *token;		/* etcd's initial cluster token: for a new
				   cluster plan_discovery_url() of the
				   configured or derived token */
	bool discovery;		/* etcd learns the members from this host's
				   discovery service (agent/localdisc.h):
				   --discovery TOKEN, not --initial-cluster */
	const char *state;	/* "new" or "existing"; static storage */
	bool learner;		/* this member joined as a learner and waits
				   to be promoted */
	uint64_t member_id;	/* known once joined as a learner, else 0 */
	bool proxy;		/* this host is an extra: it runs etcd's
				   grpc-proxy for the members in m */
	struct plan_member proxy_me;	/* this host when proxy is set */
	char *role_reason;	/* why this host is a member or a client;
				   NULL when not known (the journal's) */
	char *state_reason;
	char *data_dir;
	char *etcd;		/* the etcd binary as configured */
	char **argv;		/* etcd's argv, NULL-terminated; NULL until
				   plan_build_argv() */
	size_t argc;
	char *const *etcd_args;	/* appended to a member's argv (not a
				   proxy's); borrowed from the cfg */
	size_t n_etcd_args;
	/* Progress of a PLAN_WAIT: how many members resolved of how many. */
	size_t resolved, need;
	struct plan_tls tls;	/* all NULL unless the scheme is https */
	char *tls_made[PLAN_TLS_NFILES]; /* the paths of the files zooinit
				   makes (tls.made), else NULL */
	/* restore_from (agent/restore.h), set once the plan is final. */
	char *restore_from;	/* the snapshot this member restores before
				   etcd's first start, or NULL */
	char **restore_argv;	/* the tool's argv then, else NULL */
	char *restore_reason;	/* why it restores or why not; NULL when
				   restore_from is not set */
};

/* Where every agent serves etcd's v2 discovery on its own loopback
 * (agent/localdisc.h). */
#define PLAN_DISCOVERY_ADDR "127.0.0.1:2378"

/* "http://" PLAN_DISCOVERY_ADDR "/" token: the discovery URL of a new
 * cluster and so its initial cluster token, when token can be a URL path
 * segment as it is (cfg_valid_url_token()); else a copy of token. A new
 * string. */
char *plan_discovery_url(const char *token);

/* Whether p's token is a plan_discovery_url(). */
bool plan_token_is_url(const struct plan *p);
/* The token a plan_token_is_url() token was made from (inside p->token). */
const char *plan_token_bare(const struct plan *p);

/* Builds p from one DNS lookup. On PLAN_OK p is complete but for argv
 * (state "new"), or, for a host the zone does not list (c->role auto or
 * client), a client's plan: proxy set, every member in m, and this host
 * to be given by plan_client_me(). On PLAN_WAIT and PLAN_FAIL p is left zeroed and msg holds
 * one sentence: the progress ("2/3 resolved (h1, h3); h2.zl.test: no
 * A/AAAA record", with p->resolved and p->need set) or what is wrong
 * and how to fix it. */
enum plan_result plan_from_dns(const struct cfg *c, const struct dns_result *r,
    const struct local_addrs *self, struct plan *p, char *msg, size_t msglen);

/* Builds p from the static initial_cluster setting ("name=URL,..." with IP
 * literal URLs). This host is the member named by c->name, else the one
 * whose address is in self. Returns PLAN_OK or PLAN_FAIL with msg. */
enum plan_result plan_from_static(const struct cfg *c,
    const struct local_addrs *self, struct plan *p, char *msg, size_t msglen);

/* Builds p from (name, peer URL) pairs, as a discovery service or the
 * static setting gives them, with the same checks as the DNS path; this
 * host is the member called self_name (NULL: none, for an extra host's
 * plan_make_proxy()). token is used unless c->token is
 * set. All strings are borrowed. Returns PLAN_OK or PLAN_FAIL with msg. */
enum plan_result plan_from_pairs(const struct cfg *c, const char *source,
    const char *detail, const char *token, char *const *names,
    char *const *urls, size_t n, const char *self_name, struct plan *p,
    char *msg, size_t msglen);

/* Turns p (members from plan_from_pairs with self_name NULL) into the plan
 * of an extra host that serves clients through etcd's grpc-proxy at
 * addr:client_port under name. Strings are copied. */
void plan_make_proxy(struct plan *p, const struct cfg *c, const char *name,
    const char *addr);

/* Gives a client's plan from plan_from_dns() this host: its name (c->name,
 * else the short host name) and its address (the only one of self, else
 * the one towards the first member), then plan_make_proxy(). Returns
 * PLAN_OK, or PLAN_FAIL with one sentence in msg saying what to set. */
enum plan_result plan_client_me(struct plan *p, const struct cfg *c,
    const struct local_addrs *self, char *msg, size_t msglen);

/* Whether the member set of b differs from a's (names, peer and client
 * URLs), as a client following the zone asks. */
bool plan_members_differ(const struct plan *a, const struct plan *b);

/* Turns an extra host's plan into a member's: this host (proxy_me, with
 * peer URL ADDR:peer_port) joins m. The caller then joins the cluster. */
void plan_proxy_to_member(struct plan *p, int peer_port);

/* This host's entry: a member of m, or proxy_me. Borrowed. */
const struct plan_member *plan_me(const struct plan *p);

/* Records why a source was passed over; why is copied. */
void plan_add_skipped(struct plan *p, const char *why);

/* Marks the plan as restarting an existing member; reason is copied. */
void plan_set_existing(struct plan *p, const char *reason);

/* The scheme of the peer URL this host registers under a discovery
 * token, which carries none: "https" when scheme says so, or when it is
 * auto and zooinit makes the certificates (ca_file and ca_key_file, no
 * cert_file): a CA alone asks for TLS, as an _etcd-server-ssl zone does.
 * Static storage. */
const char *plan_token_scheme(const struct cfg *c);

/* Takes the TLS settings of an https plan from c into p->tls. Without
 * cert_file but with ca_file, they are the files zooinit makes in the
 * state directory (p->tls_made; made set, client_cert_auth on, the CA
 * files trusted unless trusted_ca_file and peer_trusted_ca_file say
 * otherwise); making them is agent/certs.c's. Otherwise after
 * checking that cert_file and key_file are set (peer_cert_file,
 * peer_key_file and peer_trusted_ca_file default to cert_file, key_file
 * and trusted_ca_file), that trusted_ca_file is set when client_cert_auth
 * is on, and that every file is a readable regular file. An http plan is
 * left alone. Call it on every plan (new, from the journal, a proxy's)
 * before plan_build_argv(). Returns PLAN_OK, or PLAN_FAIL with one
 * sentence in msg naming the key and the path. */
enum plan_result plan_check_tls(struct plan *p, const struct cfg *c,
    char *msg, size_t msglen);

/* Fills p->argv for p->etcd with p's flags, TLS ones included. */
void plan_build_argv(struct plan *p);

/* Returns the plan as a JSON object text (see README); free with free(). */
char *plan_json(const struct plan *p);

/* Writes the human-readable plan. */
void plan_print(const struct plan *p, FILE *out);

/* A discovery token that is not full yet, as zooinit plan shows it at
 * once instead of waiting: who registered, and what this host would
 * register. All borrowed. */
struct plan_waiting {
	const char *detail;	/* the token URL, or "token T at URL" */
	char *const *names;	/* the registrations, oldest first; */
	char *const *urls;	/*   untrusted text from the service */
	size_t n, size;		/* n of size registered */
	const char *name;	/* this host's member name */
	const char *peer_url;	/* and the peer URL it registers */
};

/* Returns the JSON object text of w (source "token", state "waiting",
 * members the registrations; see README); free with free(). */
char *plan_waiting_json(const struct plan_waiting *w);

/* Writes w human-readable: this host, the source, the state, and one
 * line per registration. */
void plan_waiting_print(const struct plan_waiting *w, FILE *out);

/* What zooinit plan does with w: prints it on stdout (JSON when json is
 * set) and returns the exit code, EXIT_OK, or EXIT_INTERNAL when stdout
 * cannot be written. */
int plan_waiting_report(const struct plan_waiting *w, bool json);

/* Returns a new sentence: "1/3 registered: h1; plan does not register
 * this host". Free with free(). */
char *plan_waiting_reason(const struct plan_waiting *w);

/* Returns a new JSON string of the n bytes at s (NULs allowed), or JSON
 * null for NULL. Text that is not UTF-8 is written quoted as
 * str_quote_n() does, never dropped: names and values come from DNS and
 * etcd. The caller owns the reference. */
struct json_t *plan_json_stringn(const char *s, size_t n);
/* The same for a C string. */
struct json_t *plan_json_string(const char *s);

/* The journal: what this host bootstrapped with, so a restart never
 * depends on DNS and never bootstraps anew. It lives in zooinit's state
 * directory beside etcd's data dir (DATA_DIR.zooinit/journal.json): etcd
 * warns about any foreign file inside its own. Zooinit before 0.3 kept it
 * as DATA_DIR/zooinit.json; plan_journal_read() moves such a file. */
#define PLAN_STATE_SUFFIX ".zooinit"
#define PLAN_JOURNAL "journal.json"
#define PLAN_JOURNAL_OLD "zooinit.json"

/* Whether addr is one of this host's addresses (self). */
bool plan_is_local(const struct local_addrs *self, const char *addr);

/* Returns the state directory of data_dir (trailing slashes dropped, then
 * PLAN_STATE_SUFFIX), a new string. */
char *plan_state_dir(const char *data_dir);
/* Returns the journal's path for data_dir, a new string. */
char *plan_journal_path(const char *data_dir);

/* Writes text and a newline as the file name of data_dir's state
 * directory, atomically (temp file + rename), 0600, creating the directory
 * (0700) when needed. Returns 0, or -1 with err set. */
int plan_state_write(const char *data_dir, const char *name,
    const char *text, char *err, size_t errlen);
/* Writes p to the journal of data_dir atomically (temp file + rename),
 * 0600, creating the state directory (0700) when needed. */
int plan_journal_write(const struct plan *p, const char *data_dir,
    char *err, size_t errlen);

/* Reads the journal of c->data_dir into p (state "existing"), first moving
 * an old DATA_DIR/zooinit.json to the state directory (when that fails the
 * old file is read where it is). Returns 1 when there is no journal, 0 when
 * p was filled, -1 with err when it is unreadable or invalid. c supplies
 * the data dir and the etcd binary. */
int plan_journal_read(const struct cfg *c, struct plan *p, char *err,
    size_t errlen);

/* The client URLs a command asks (status, snapshot save): --endpoints,
 * else this host's member's from the journal of c->data_dir, each as
 * etcd_http_base() makes it. Returns 0 with *eps (*n new strings) set, or
 * EXIT_USAGE with err saying why there is none. */
int plan_command_endpoints(const struct cfg *c, char ***eps, size_t *n,
    char *err, size_t errlen);

/* Frees everything p owns and zeroes it; safe on a zeroed struct. */
void plan_free(struct plan *p);

/* Parses "http://ADDR:PORT" or "https://[V6]:PORT" with an IP literal host,
 * written exactly as url_make() would (normalised address, no user,
 * path, query or leading zeros), through lib/url.h. Returns 0 with the
 * parts filled (addr without brackets), -1 otherwise. */
int plan_parse_url(const char *url, char *scheme, size_t schemelen,
    char *addr, size_t addrlen, unsigned *port);

#endif
