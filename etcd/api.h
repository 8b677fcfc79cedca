#ifndef ZOOINIT_ETCD_API_H
#define ZOOINIT_ETCD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* etcd v3 JSON gateway answers (etcd 3.4+), parsed strictly: they come
 * over the network and may be hostile. 64-bit numbers arrive as JSON
 * strings of decimal digits; fields equal to zero, false or empty are
 * left out by etcd and read as such. Parsers return 0, or -1 with the
 * reason in err (errlen bytes, always NUL-terminated) and *out untouched
 * or emptied, never half-built. */

/* Limits beyond which an answer is rejected rather than believed. */
#define ETCD_MAX_MEMBERS 1024
#define ETCD_MAX_MEMBER_URLS 16

struct etcd_member {
	uint64_t id;
	char *name;		/* "" for a member added but not started */
	char **peer_urls;
	size_t n_peer_urls;
	char **client_urls;	/* none for a member not started */
	size_t n_client_urls;
	bool learner;
};

struct etcd_members {
	uint64_t cluster_id;
	uint64_t member_id;	/* header.member_id: who answered */
	struct etcd_member *v;
	size_t n;		/* 1..ETCD_MAX_MEMBERS */
};

/* Parses the answer to POST /v3/cluster/member/list. On success *out owns
 * everything it points to; free with etcd_members_free(). */
int etcd_parse_members(const char *body, size_t len, struct etcd_members *out,
    char *err, size_t errlen);
/* Frees what m owns and zeroes it; m itself is the caller's. */
void etcd_members_free(struct etcd_members *m);
/* True when url is one of m's peer URLs. */
bool etcd_member_has_peer_url(const struct etcd_member *m, const char *url);

struct etcd_status {
	uint64_t cluster_id, member_id;	/* from the header */
	uint64_t leader;		/* 0: this member knows no leader */
	uint64_t raft_term;
	uint64_t raft_index;		/* the last raft entry it holds */
	bool learner;			/* isLearner (3.4+) */
	char version[32];		/* server version, e.g. "3.4.23" */
	int64_t revision;		/* header.revision: the key space's
					   current; 0 if not sent */
	int64_t db_size;		/* bytes the backend file holds */
	int64_t db_size_in_use;		/* bytes in use; 0 if not sent */
	int64_t db_size_quota;		/* 3.6+: --quota-backend-bytes; 0 if
					   not sent */
	size_t errors;			/* entries of "errors": every alarm
					   of the cluster (3.4-3.7), "no
					   leader"; 0 when none */
};

/* Parses the answer to POST /v3/maintenance/status. */
int etcd_parse_status(const char *body, size_t len, struct etcd_status *out,
    char *err, size_t errlen);

/* Reads the answer to GET PEER_URL/members, which etcd serves on its
 * peer port as soon as its startup check is over, leader or not
 * ('[{"id":..,"name":..,"peerURLs":[..],"clientURLs":[..]},..]'; a member
 * that has not started has no clientURLs): 1 when a member has started,
 * 0 when none has, -1 when body (len bytes) is not such a list. */
int etcd_parse_peer_members(const char *body, size_t len);

/* Parses the answer to GET /health: {"health":"true"} (3.4 sends a
 * string) or a JSON boolean. */
int etcd_parse_health(const char *body, size_t len, bool *healthy, char *err,
    size_t errlen);

/* Cluster check: GET /health, then (if healthy) member/list and
 * maintenance/status together, all through the member at one client
 * URL. */

struct etcd_http;

struct etcd_check_result {
	bool healthy;		/* true only if all three answers were good
				 * and a leader is known */
	size_t members, voters, learners;
	char leader_name[64];	/* "" if none or unknown; the hex id if the
				 * leader has no name yet */
	uint64_t cluster_id, member_id, leader_id;
	struct etcd_status status;	/* the member's status answer; zero
					 * unless healthy */
	char error[256];	/* why not healthy; "" when healthy */
};

/* r is borrowed for the duration of the callback. */
typedef void (*etcd_check_cb)(void *arg, const struct etcd_check_result *r);

/* Starts a check of the member at client_url (e.g. "http://10.0.0.1:2379";
 * copied) that ends within about timeout_ms in total (<= 0: no limit but
 * the 10 s connect limit of each request). A lazy check (a routine one)
 * reads its answers up to 20 ms late, so that they share a wakeup. cb
 * runs exactly once, later, from the loop, unless cancelled or h freed
 * first (no callback then, and nothing leaks). Returns an id > 0 for
 * etcd_check_cancel(). For the loop's thread only. */
uint64_t etcd_check(struct etcd_http *h, const char *client_url,
    long timeout_ms, bool lazy, etcd_check_cb cb, void *arg);

/* Cancels a pending check: no callback afterwards. Unknown, finished or
 * zero ids are ignored. */
void etcd_check_cancel(struct etcd_http *h, uint64_t id);

struct etcd_http_result;

/* Why request r did not answer 200, for a message, into out (len bytes):
 * the transport error when nothing answered, else "etcd error: MSG (gRPC
 * code N, HTTP S)" or "HTTP S: BODY" (bytes quoted). Returns out. */
const char *etcd_http_why(const struct etcd_http_result *r, char *out,
    size_t len);

#endif
