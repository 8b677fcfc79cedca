#ifndef ZOOINIT_ETCD_KV_INT_H
#define ZOOINIT_ETCD_KV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "etcd/http.h"
#include "etcd/kv.h"

/* Inside the etcd v3 client (etcd/kv.h), shared by its files only:
 * kv.c       operations in flight, failover, the client itself;
 * kv_req.c   request bodies and the one-shot calls (get, put, txn, lease);
 * kv_watch.c watches and the lease keeper, the long-lived operations;
 * kv_parse.c the answer and watch-message parsers, base64.
 * Nothing outside etcd/kv*.c includes this header. */

/* Ops or compares in one transaction; also the most responses believed. */
#define EKV_MAX_TXN_OPS 128

/* Operations in flight.
 *
 * Every operation is a struct op on kv's list while it can still be
 * cancelled. A callback into the caller runs with op->in_cb set: if the
 * caller then cancels the op or frees kv, the op is only marked dead and
 * freed once the callback has returned (ekv_cb_end). A finished one-shot
 * op is taken off the list before its callback, so that cancelling its id
 * from there does nothing. */

/* OP_ROUND: one request carrying the keepalives of the keepers due
 * together (kv_keep.c). */
enum op_kind { OP_CALL, OP_WATCH, OP_KEEP, OP_ROUND };

struct op {
	struct op *prev, *next;
	struct etcd_kv *kv;
	uint64_t id;
	enum op_kind kind;
	bool linked, in_cb, dead;
	enum etcd_kv_answer ans;
	const char *path;	/* "/v3/kv/range", ... */
	char *body;		/* the request's JSON */
	char *url;		/* of the request in flight */
	size_t ep;		/* endpoint of the request in flight */
	size_t tries;		/* endpoints tried for this request */
	uint64_t req;		/* etcd_http id, 0 when none */
	uint64_t timer;
	char *early;		/* an error found before any request */
	etcd_kv_cb cb;
	etcd_kv_watch_cb wcb;
	etcd_kv_lost_cb lost;
	void *arg;
	/* OP_WATCH */
	bool lines;		/* a line came on this stream */
	bool created;
	int64_t start_rev, next_rev;
	char what[96];		/* "watch of prefix \"svc/\"" */
	/* OP_KEEP (OP_ROUND: deadline, the earliest of its keepers') */
	int64_t lease, ttl_ms;
	int64_t sent, deadline, due;	/* loop_now_ms() times */
	uint64_t round;		/* the round carrying its keepalive, or 0 */
	char *msg;		/* the error being reported (ekv_msg()) */
};

#define OP_MSG_MAX 600		/* bytes of an op's error message */

struct etcd_kv {
	struct etcd_http *h;
	struct loop *loop;
	char **ep;
	size_t n, cur;
	long timeout_ms;
	uint64_t next_id;
	struct op *ops;
	int depth;		/* callbacks of ours running */
	bool doomed;		/* etcd_kv_free() ran inside one */
};

/* kv.c: the life of an op. */

/* o's error message buffer, OP_MSG_MAX bytes, made empty on first use:
 * most ops never fail, and an agent holds one per lease it keeps. */
char *ekv_msg(struct op *o);
/* Returns a new op of kv, on its list, aimed at the current endpoint. */
struct op *ekv_op_new(struct etcd_kv *kv, enum op_kind kind, void *arg);
/* Sends o's request to its current endpoint. */
void ekv_op_send(struct op *o);
/* Stops whatever o has in flight. */
void ekv_op_quiet(struct op *o);
/* Fails o from the loop, never from inside the starter; returns o's id. */
uint64_t ekv_op_reject(struct op *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Moves o to the next endpoint not tried yet; false when none is left. */
bool ekv_op_next_endpoint(struct op *o);
/* Ends o for good and enters its last callback: the caller then calls
 * the caller's callback and ekv_cb_end(). */
void ekv_op_retire(struct op *o);
/* Bracket every callback into the caller; ekv_cb_end() returns true when
 * o (or kv) must not be touched any more. */
void ekv_cb_begin(struct op *o);
bool ekv_cb_end(struct op *o);
/* Whether an answer means "try another member": a transport error or
 * HTTP 503 (no leader, learner, shutting down). */
bool ekv_failover_worthy(const struct etcd_http_result *r);
/* A parsed keepalive answer r without TTL (etcd's answer for a lease it
 * does not know) becomes an error: "POST URL: lease N not found ..." in
 * ekv_msg(o), gRPC code 5 (NOT_FOUND). Returns whether it did. */
bool ekv_lease_gone(struct etcd_kv_result *r, const char *url, struct op *o);
/* Writes "POST URL: " and a description of a failed answer to ekv_msg(o);
 * returns the gRPC code found, or 0. */
int ekv_describe(struct op *o, const struct etcd_http_result *r);
/* Starts a one-shot call of body (taken) to path; cb gets the answer
 * parsed as ans. */
uint64_t ekv_call_start(struct etcd_kv *kv, enum etcd_kv_answer ans,
    const char *path, char *body, etcd_kv_cb cb, void *arg);
/* Reports "WHAT: WHY" through cb, from the loop. */
uint64_t ekv_call_reject(struct etcd_kv *kv, etcd_kv_cb cb, void *arg,
    const char *what, const char *why);

/* kv_watch.c: the watches. */

/* Ends a watch with ekv_msg(o) (compact: the compaction revision, or 0). */
void ekv_watch_end(struct op *o, int64_t compact);
/* etcd_http_stream() callbacks of a watch; arg is the op. */
void ekv_watch_line(void *arg, const char *line, size_t len);
void ekv_watch_done(void *arg, const struct etcd_http_result *r);

/* kv_keep.c: the lease keepers. */

/* Ends a keeper with ekv_msg(o): the lease is lost. */
void ekv_keep_lost(struct op *o);
/* A round's answer, once failover is done with it. */
void ekv_round_answer(struct op *r, const struct etcd_http_result *hr);

/* kv_req.c: building request bodies. Allocation failures abort. */

/* An int64 as etcd's gateway wants it: a JSON string of digits. */
json_t *ekv_int(int64_t v);
/* Sets "key" and, for a prefix or range, "range_end" of o. */
void ekv_keys(json_t *o, const void *key, size_t key_len, bool prefix,
    const void *end, size_t end_len);

/* kv_parse.c */

/* "range answer", "txn answer", ...: for messages. */
const char *ekv_answer_name(enum etcd_kv_answer kind);

#endif
