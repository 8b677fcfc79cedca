#ifndef ZOOINIT_ETCD_KV_H
#define ZOOINIT_ETCD_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* etcd v3 key-value, lease and watch client over the JSON gateway of etcd
 * 3.4+ (POST /v3/kv/range|put|deleterange|txn, /v3/lease/grant|keepalive|
 * revoke, /v3/watch), asynchronous on etcd/http.h and so on the one loop.
 *
 * Keys and values are bytes (pointer + length), never assumed to be text:
 * they travel base64-encoded. Every result is delivered exactly once, from
 * the loop, never from inside the call that started it; callbacks may
 * start and cancel operations and may free the client. Errors are one
 * sentence: "POST http://10.0.0.1:2379/v3/kv/put: etcd error: requested
 * lease not found (gRPC code 5, HTTP 404)".
 *
 * Failover: a client has a list of endpoints. An operation goes to the
 * last endpoint that answered and, on a transport error (or HTTP 503:
 * member without leader, learner), to the next, until each was tried
 * once. A write whose answer was lost may thus be applied twice: put and
 * delete do not mind; txn_create then reports the key as existing, with
 * the caller's own value; lease_grant may leave a lease that expires
 * after its TTL. */

struct etcd_http;
struct etcd_kv;

/* Answers over these limits are rejected rather than believed. */
#define ETCD_KV_MAX_KEY (64u * 1024)	/* decoded key bytes */
#define ETCD_KV_WATCH_MAX_LINE (4u * 1024 * 1024) /* one watch message */

/* One key-value pair. key and value are bytes followed by an extra NUL
 * that len does not count, so text can be used as it is. 64-bit numbers
 * are 0 when etcd leaves them out (e.g. in a DELETE event only key and
 * mod_revision are set). */
struct etcd_kv_pair {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_revision;	/* 0: the key does not exist */
	int64_t mod_revision;
	int64_t version;
	int64_t lease;			/* 0: no lease */
};

enum etcd_kv_op_type { ETCD_KV_RANGE, ETCD_KV_PUT, ETCD_KV_DELETE };

/* One operation of a transaction. Pointers are borrowed for the call
 * that takes the op. */
struct etcd_kv_op {
	enum etcd_kv_op_type type;
	const void *key;
	size_t key_len;			/* > 0 */
	/* RANGE, DELETE: with prefix, every key that starts with key;
	 * else with range_end, the keys in [key, range_end); else key. */
	bool prefix;
	const void *range_end;
	size_t range_end_len;
	int64_t limit;			/* RANGE: most pairs; 0 all */
	const void *value;		/* PUT */
	size_t value_len;
	int64_t lease;			/* PUT: attach to lease; 0 none */
};

enum etcd_kv_cmp_target {
	ETCD_KV_CMP_CREATE,		/* create_revision (0: absent) */
	ETCD_KV_CMP_MOD,		/* mod_revision */
	ETCD_KV_CMP_VERSION,
	ETCD_KV_CMP_LEASE,
	ETCD_KV_CMP_VALUE,
};
enum etcd_kv_cmp_result {
	ETCD_KV_EQUAL, ETCD_KV_NOT_EQUAL, ETCD_KV_LESS, ETCD_KV_GREATER,
};

/* "key's target <result> number (or value)". Borrowed for the call. */
struct etcd_kv_cmp {
	enum etcd_kv_cmp_target target;
	enum etcd_kv_cmp_result result;
	const void *key;
	size_t key_len;
	int64_t number;			/* CREATE, MOD, VERSION, LEASE */
	const void *value;		/* VALUE */
	size_t value_len;
};

/* The answer to one op. */
struct etcd_kv_resp {
	enum etcd_kv_op_type type;
	struct etcd_kv_pair *kvs;	/* RANGE: the pairs found */
	size_t n_kvs;
	bool more;			/* RANGE: limit cut the answer */
	int64_t count;			/* RANGE: keys in the range */
	int64_t deleted;		/* DELETE: keys deleted */
};

/* A parsed answer; also what callbacks get. */
struct etcd_kv_result {
	const char *error;	/* NULL on success, else one sentence */
	long http_status;	/* 0 on transport error */
	int grpc_code;		/* etcd's error code; 0 when none */
	int64_t revision;	/* header.revision: the store's revision */
	uint64_t member_id;	/* header.member_id: who answered */
	/* get, put, delete: one response; txn: those of the branch taken.
	 * kvs and n_kvs repeat resp[0]'s, for get and txn_create. */
	struct etcd_kv_resp *resp;
	size_t n_resp;
	const struct etcd_kv_pair *kvs;
	size_t n_kvs;
	bool succeeded;		/* txn: the compares held */
	int64_t lease_id;	/* lease_grant, lease_keepalive */
	int64_t ttl;		/* seconds granted or left */
};

/* Result callback: r is borrowed for the call only. */
typedef void (*etcd_kv_cb)(void *arg, const struct etcd_kv_result *r);

/* Returns a new client over h with copies of the n >= 1 endpoint base
 * URLs ("http://10.0.0.1:2379", trailing '/' ignored); free with
 * etcd_kv_free() before etcd_http_free(h). */
struct etcd_kv *etcd_kv_new(struct etcd_http *h, char *const *endpoints,
    size_t n);
/* Ends every operation, watch and keeper without callbacks and frees kv.
 * NULL is ignored. May be called from a callback of kv. */
void etcd_kv_free(struct etcd_kv *kv);
/* Per-request time limit in ms (default 5000; <= 0 none). */
void etcd_kv_set_timeout(struct etcd_kv *kv, long timeout_ms);
/* The endpoint that answered last (or the first); borrowed from kv. */
const char *etcd_kv_endpoint(const struct etcd_kv *kv);

/* Each starter below copies what it needs and returns an id > 0 for
 * etcd_kv_cancel(); cb runs exactly once, later, unless cancelled or kv
 * freed first. Bad arguments (empty key, ...) are reported through cb
 * too. */

/* Reads key, or with prefix every key starting with key (an empty key
 * with prefix: all keys), at most limit of them (0: all), sorted by key. */
uint64_t etcd_kv_get(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, int64_t limit, etcd_kv_cb cb, void *arg);
/* Sets key to value, attached to lease (0: none). */
uint64_t etcd_kv_put(struct etcd_kv *kv, const void *key, size_t key_len,
    const void *value, size_t value_len, int64_t lease, etcd_kv_cb cb,
    void *arg);
/* Deletes key, or with prefix every key starting with key; r->resp[0]
 * .deleted says how many. */
uint64_t etcd_kv_delete(struct etcd_kv *kv, const void *key,
    size_t key_len, bool prefix, etcd_kv_cb cb, void *arg);
/* Creates key only if it does not exist, in one transaction. On
 * r->succeeded the key is ours; otherwise r->kvs[0] is the existing pair
 * (n_kvs is 0 only if it vanished in between). */
uint64_t etcd_kv_txn_create(struct etcd_kv *kv, const void *key,
    size_t key_len, const void *value, size_t value_len, int64_t lease,
    etcd_kv_cb cb, void *arg);
/* If every compare holds, runs then[] (r->succeeded), else otherwise[];
 * r->resp answers the ops run, in order. Counts may be 0; at most 128
 * compares and 128 ops in each branch. */
uint64_t etcd_kv_txn(struct etcd_kv *kv, const struct etcd_kv_cmp *cmp,
    size_t n_cmp, const struct etcd_kv_op *then, size_t n_then,
    const struct etcd_kv_op *otherwise, size_t n_otherwise, etcd_kv_cb cb,
    void *arg);

/* Grants a lease of ttl seconds (etcd may grant more): r->lease_id and
 * r->ttl. */
uint64_t etcd_kv_lease_grant(struct etcd_kv *kv, int64_t ttl, etcd_kv_cb cb,
    void *arg);
/* Renews a lease once: r->ttl seconds from now. A lease that is gone
 * (expired, revoked) is an error with r->ttl 0 and grpc_code 5. To keep a
 * lease, call this every ttl/3 from a loop_timer(), or use a keeper. */
uint64_t etcd_kv_lease_keepalive(struct etcd_kv *kv, int64_t lease_id,
    etcd_kv_cb cb, void *arg);
/* Revokes a lease: its keys are deleted at once. */
uint64_t etcd_kv_lease_revoke(struct etcd_kv *kv, int64_t lease_id,
    etcd_kv_cb cb, void *arg);

/* Called once when a kept lease is lost; reason is borrowed. */
typedef void (*etcd_kv_lost_cb)(void *arg, int64_t lease_id,
    const char *reason);
/* Keeps lease_id, granted or renewed just now for ttl seconds, alive: a
 * keepalive every ttl/3 s (failing over like any call), retried at most
 * a second later after a failure. lost runs once when etcd says the lease
 * is gone, or when no keepalive got through and less than 0.2 s of the
 * TTL counted from the last success is left: the lease is then taken as
 * expired, a little early but never late, which is what a leader
 * election needs. The keeper then ends; etcd_kv_cancel() ends it earlier
 * (it does not revoke). The keepers of one client renew together: one
 * due takes along every other due within half its period, in one
 * request (kv_keep.c). */
uint64_t etcd_kv_lease_keep(struct etcd_kv *kv, int64_t lease_id,
    int64_t ttl, etcd_kv_lost_cb lost, void *arg);

enum etcd_kv_event_type { ETCD_KV_EVENT_PUT, ETCD_KV_EVENT_DELETE };

struct etcd_kv_event {
	enum etcd_kv_event_type type;
	struct etcd_kv_pair kv;	/* DELETE: key and mod_revision */
};

enum etcd_kv_watch_kind {
	ETCD_KV_WATCH_CREATED,	/* etcd set the watch up */
	ETCD_KV_WATCH_EVENTS,	/* events, in revision order */
	ETCD_KV_WATCH_END,	/* the watch is over: error says why */
};

/* What a watch callback gets; borrowed for the call. */
struct etcd_kv_watch_update {
	enum etcd_kv_watch_kind kind;
	int64_t revision;		/* header.revision, 0 if absent */
	const struct etcd_kv_event *events;
	size_t n_events;
	/* The revision to watch from to go on without a gap after END. */
	int64_t next_revision;
	/* END by compaction: history before this revision is gone; read
	 * the keys again with a get, then watch from its revision + 1. */
	int64_t compact_revision;
	const char *error;		/* END only */
};

typedef void (*etcd_kv_watch_cb)(void *arg,
    const struct etcd_kv_watch_update *u);

/* Watches key, or with prefix every key starting with key, from
 * start_revision (0: from now). cb gets CREATED once, EVENTS as they
 * come and finally END exactly once (stream closed or broken, etcd
 * cancelled the watch, compaction, a message that does not parse, the
 * member lost its leader), unless the watch is cancelled first:
 * etcd_kv_cancel() closes the stream, also from inside cb. A watch that
 * cannot be set up on one endpoint (no answer, 503, an error before
 * "created") is tried on the next; once set up it is not moved. After an
 * END without compaction watch again from u->next_revision: etcd replays
 * what was missed, and the member that broke the watch is asked last.
 * One message is at most ETCD_KV_WATCH_MAX_LINE bytes. */
uint64_t etcd_kv_watch(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, int64_t start_revision, etcd_kv_watch_cb cb, void *arg);

/* Cancels any pending operation, keeper or watch: no callback after
 * this. Unknown, finished or zero ids are ignored. */
void etcd_kv_cancel(struct etcd_kv *kv, uint64_t id);

/* Parsers, exposed for tests and fuzzing. They read hostile input
 * strictly and return 0, or -1 with the reason in err (errlen bytes,
 * always terminated; NULL/0 allowed) and *out emptied. On success *out
 * owns what it points to: free with etcd_kv_result_free() /
 * etcd_kv_watch_msg_free(). out->error is always NULL. */

enum etcd_kv_answer {
	ETCD_KV_ANS_RANGE, ETCD_KV_ANS_PUT, ETCD_KV_ANS_DELETE,
	ETCD_KV_ANS_TXN, ETCD_KV_ANS_LEASE_GRANT, ETCD_KV_ANS_LEASE_KEEPALIVE,
	ETCD_KV_ANS_LEASE_REVOKE,
};

/* Parses the 200 answer to the request kind says. An answer without
 * "header" but with etcd's {"error","message","code"} fails with
 * "etcd error: MESSAGE (gRPC code N)" and sets out->grpc_code. */
int etcd_kv_parse(enum etcd_kv_answer kind, const char *body, size_t len,
    struct etcd_kv_result *out, char *err, size_t errlen);
/* Frees what r owns and zeroes it; r itself is the caller's. */
void etcd_kv_result_free(struct etcd_kv_result *r);

/* One message of a /v3/watch stream. */
struct etcd_kv_watch_msg {
	int64_t revision;		/* header.revision */
	int64_t watch_id;		/* -1 when creating failed */
	bool created;
	bool canceled;
	int64_t compact_revision;
	char *cancel_reason;		/* "" if none */
	struct etcd_kv_event *events;
	size_t n_events;
	int grpc_code;			/* of an error message */
};

/* Parses one stream line: {"result":{...}}, or an error that etcd sends
 * inside the stream ({"error":{"grpc_code":14,"message":...}}), which
 * fails with "etcd error: MESSAGE (gRPC code N)" and sets
 * out->grpc_code. */
int etcd_kv_parse_watch(const char *line, size_t len,
    struct etcd_kv_watch_msg *out, char *err, size_t errlen);
void etcd_kv_watch_msg_free(struct etcd_kv_watch_msg *m);

/* Base64 (standard alphabet, padded) as the gateway uses for bytes.
 * etcd_kv_b64_encode returns a new string (free()); decode returns a new
 * buffer of *outlen bytes plus a NUL (free()), or NULL if s is not
 * canonical base64. */
char *etcd_kv_b64_encode(const void *p, size_t n);
char *etcd_kv_b64_decode(const char *s, size_t n, size_t *outlen);
/* Decodes the same into out, which has room for n / 4 * 3 bytes; *outlen
 * gets the decoded size. Returns 0, or -1 on anything but canonical
 * base64. */
int etcd_kv_b64_decode_into(const char *s, size_t n, unsigned char *out,
    size_t *outlen);

#endif
