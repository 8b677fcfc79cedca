#ifndef ZOOINIT_TOKEN_H
#define ZOOINIT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/loop.h"

struct etcd_http;
struct cfg;

/* The client side of etcd's discovery protocol, done by the agent itself:
 * read the token's _config/size, register "name=peerURL" with
 * create-if-absent, then wait (a watch, not a poll) until size members
 * have registered; the first size by creation order are the cluster.
 * Two layouts: v2 keys (URL .../v2/keys/PREFIX/TOKEN, members directly
 * under it) and etcd 3.6's own v3 layout through the v3 JSON gateway
 * (etcd/member_id.h: /_etcd/registry/TOKEN/_config/size, and
 * /_etcd/registry/TOKEN/members/ID = "NAME=PEER_URL" with the member ID
 * etcd derives from the peer URL and the token), so zooinit agents and
 * plain `etcd --discovery-token` members (3.6+) can share one v3 token.
 * A v3 entry etcd counts but zooinit cannot read ends the protocol: both
 * must agree on who the first size members are. */

enum tok_outcome {
	TOK_MEMBER,	/* this host is one of the first size registrants */
	TOK_EXTRA,	/* the cluster is full without this host */
	TOK_WAITING,	/* dry run: fewer than size registered yet */
	TOK_FAIL,	/* see exit_code and msg */
};

struct tok_result {
	enum tok_outcome outcome;
	char **names;		/* the cluster's members, creation order */
	char **urls;		/* their peer URLs (one each) */
	size_t n;
	size_t size;		/* the token's; n < size: TOK_WAITING */
	char *peer_url;		/* this host's, as registered or to be */
	bool was_registered;	/* this host's entry predates this run */
	int exit_code;		/* TOK_FAIL: EXIT_PERMANENT or EXIT_TEMPORARY */
	char msg[1024];
};

struct tok_opts {
	/* v2: the token URL .../v2/keys/PREFIX/TOKEN, no trailing slash.
	 * v3: url NULL, and the discovery etcd's client URLs and the token. */
	const char *url;
	char *const *endpoints;
	size_t n_endpoints;
	const char *token;
	const char *name;	/* this member's name (validated) */
	const char *peer_url;	/* this member's peer URL */
	int size;		/* expected size, 0 = take the token's */
	int64_t deadline;	/* loop_now_ms() time to give up */
	/* A missing size key is waited for instead of failing: set while
	 * this host's own seed is about to create it. */
	bool size_may_appear;
	/* Look, do not touch: never register (for zooinit plan). */
	bool dry_run;
};

struct tok;

/* Called once with the outcome; r is the callee's (tok_result_free). */
typedef void (*tok_done_cb)(void *arg, struct tok_result *r);
/* Called on every failure to reach the service (before retrying). */
typedef void (*tok_unreachable_cb)(void *arg, const char *why);

/* Starts the protocol; strings in o are copied. */
struct tok *tok_start(struct loop *l, struct etcd_http *h,
    const struct tok_opts *o, tok_done_cb done, tok_unreachable_cb unreachable,
    void *arg);
/* Stops it (no callback afterwards) and frees t. */
void tok_free(struct tok *t);
void tok_result_free(struct tok_result *r);
/* Lets a missing size key be waited for from now on. */
void tok_size_may_appear(struct tok *t);

/* The token: the last path component of a discovery URL; static storage
 * valid until the next call. */
const char *tok_name(const char *url);

/* etcd's --initial-cluster-token for a cluster formed through c's token:
 * v2 (c->discovery) "zooinit-etcd-TOKEN" as ever, so existing clusters
 * keep their member IDs; v3 the discovery token itself, which etcd's own
 * v3 discovery puts in place of --initial-cluster-token. Returns a new
 * string; free with free(). */
char *tok_cluster_token(const struct cfg *c);
/* False with err set when c sets token to something else than the v3
 * discovery token: its members would get other IDs than plain etcd
 * members of that token compute. */
bool tok_cluster_token_check(const struct cfg *c, char *err, size_t errlen);

#endif
