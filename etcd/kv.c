#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "etcd/http.h"
#include "etcd/json.h"
#include "etcd/kv.h"
#include "etcd/kv_int.h"

/* The client and the life of an operation: the list it is on, the
 * callbacks that may cancel it or free the client, failover from one
 * endpoint to the next. */

#define DEFAULT_TIMEOUT_MS 5000L

static void
op_link(struct op *o)
{
	struct etcd_kv *kv = o->kv;

	o->prev = NULL;
	o->next = kv->ops;
	if (kv->ops != NULL)
		kv->ops->prev = o;
	kv->ops = o;
	o->linked = true;
}

static void
op_unlink(struct op *o)
{
	if (!o->linked)
		return;
	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		o->kv->ops = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
	o->prev = o->next = NULL;
	o->linked = false;
}

/* Stops whatever o has in flight. */
void
ekv_op_quiet(struct op *o)
{
	if (o->req != 0) {
		uint64_t id = o->req;

		o->req = 0;
		etcd_http_cancel(o->kv->h, id);
	}
	loop_cancel(o->kv->loop, o->timer);
	o->timer = 0;
}

char *
ekv_msg(struct op *o)
{
	if (o->msg == NULL)
		o->msg = xcalloc(1, OP_MSG_MAX);
	return o->msg;
}

static void
op_free(struct op *o)
{
	ekv_op_quiet(o);
	free(o->body);
	free(o->url);
	free(o->early);
	free(o->msg);
	free(o);
}

/* Ends o now, or once the callback it is in returns. */
static void
op_kill(struct op *o)
{
	op_unlink(o);
	ekv_op_quiet(o);
	if (o->in_cb)
		o->dead = true;
	else
		op_free(o);
}

static void
kv_destroy(struct etcd_kv *kv)
{
	for (size_t i = 0; i < kv->n; i++)
		free(kv->ep[i]);
	free(kv->ep);
	free(kv);
}

void
ekv_cb_begin(struct op *o)
{
	o->in_cb = true;
	o->kv->depth++;
}

/* Returns true when o must not be touched any more. */
bool
ekv_cb_end(struct op *o)
{
	struct etcd_kv *kv = o->kv;
	bool gone = o->dead;

	o->in_cb = false;
	kv->depth--;
	if (gone)
		op_free(o);
	if (kv->doomed) {
		if (kv->depth == 0)
			kv_destroy(kv);
		return true;
	}
	return gone;
}

struct op *
ekv_op_new(struct etcd_kv *kv, enum op_kind kind, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));

	o->kv = kv;
	o->id = kv->next_id++;
	o->kind = kind;
	o->arg = arg;
	o->ep = kv->cur;
	op_link(o);
	return o;
}

void
ekv_op_retire(struct op *o)
{
	op_unlink(o);
	ekv_op_quiet(o);
	o->dead = true;
	ekv_cb_begin(o);
}

/* Hands a finished one-shot result to the caller and frees o. */
static void
call_finish(struct op *o, struct etcd_kv_result *r)
{
	ekv_op_retire(o);
	if (o->cb != NULL)
		o->cb(o->arg, r);
	ekv_cb_end(o);
}

static void
call_fail(struct op *o, long status, int grpc_code)
{
	struct etcd_kv_result r;

	memset(&r, 0, sizeof(r));
	r.error = ekv_msg(o);
	r.http_status = status;
	r.grpc_code = grpc_code;
	call_finish(o, &r);
}

/* Reports ekv_msg(o) through whatever callback o has. */
static void
op_fail(struct op *o, long status, int grpc_code)
{
	switch (o->kind) {
	case OP_CALL:
		call_fail(o, status, grpc_code);
		break;
	case OP_WATCH:
		ekv_watch_end(o, 0);
		break;
	case OP_KEEP:
		ekv_keep_lost(o);
		break;
	case OP_ROUND:	/* never rejected */
		break;
	}
}

static void
on_early(struct loop *l, void *arg)
{
	struct op *o = arg;

	(void)l;
	o->timer = 0;
	snprintf(ekv_msg(o), OP_MSG_MAX, "%s", o->early);
	op_fail(o, 0, 0);
}

uint64_t
ekv_op_reject(struct op *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	uint64_t id = o->id;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->early = xstrdup(buf);
	o->timer = loop_timer(o->kv->loop, 0, on_early, o);
	return id;
}

static void
on_drop(void *arg)
{
	struct op *o = arg;

	o->req = 0;
}

bool
ekv_lease_gone(struct etcd_kv_result *r, const char *url, struct op *o)
{
	if (r->ttl != 0)
		return false;
	/* etcd answers a keepalive of an unknown lease with 200 and no
	 * TTL. */
	snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: lease %" PRId64 " not "
	    "found (expired or revoked)", url, r->lease_id);
	r->error = ekv_msg(o);
	r->grpc_code = 5;
	return true;
}

/* Whether an answer means "try another member": the request did not get
 * through (transport error) or this member cannot serve (503: no leader,
 * learner, shutting down). */
bool
ekv_failover_worthy(const struct etcd_http_result *r)
{
	return r->error != NULL || r->status == 503;
}

/* Moves o to the next endpoint not tried yet; false when none is left. */
bool
ekv_op_next_endpoint(struct op *o)
{
	if (o->tries + 1 >= o->kv->n)
		return false;
	o->tries++;
	o->ep = (o->ep + 1) % o->kv->n;
	return true;
}

int
ekv_describe(struct op *o, const struct etcd_http_result *r)
{
	char detail[300];
	char tail[64] = "";
	int c;

	if (o->tries > 0 && ekv_failover_worthy(r))
		snprintf(tail, sizeof(tail), " (all %zu endpoints failed)",
		    o->kv->n);
	if (r->error != NULL) {
		snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: %s%s", o->url,
		    r->error, tail);
		return 0;
	}
	c = ej_http_detail(r->status, r->body, r->len, detail, sizeof(detail));
	snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: %s%s", o->url, detail, tail);
	return c;
}

static void
on_answer(void *arg, const struct etcd_http_result *hr)
{
	struct op *o = arg;
	struct etcd_kv_result r;
	char err[400];
	int code = 0;

	o->req = 0;
	if (ekv_failover_worthy(hr) && ekv_op_next_endpoint(o)) {
		log_debug("POST %s: %s; trying the next endpoint", o->url,
		    hr->error != NULL ? hr->error : "HTTP 503");
		ekv_op_send(o);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (!ekv_failover_worthy(hr))
		o->kv->cur = o->ep;
	if (o->kind == OP_ROUND) {
		ekv_round_answer(o, hr);
		return;
	}
	if (hr->status != 200) {
		code = ekv_describe(o, hr);
		r.error = ekv_msg(o);
	} else if (etcd_kv_parse(o->ans, hr->body, hr->len, &r, err,
	    sizeof(err)) < 0) {
		code = r.grpc_code;
		snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: %s", o->url, err);
		r.error = ekv_msg(o);
	} else if (o->ans == ETCD_KV_ANS_LEASE_KEEPALIVE &&
	    ekv_lease_gone(&r, o->url, o)) {
		code = r.grpc_code;
	}
	r.http_status = hr->status;
	if (r.error != NULL)
		r.grpc_code = code;
	call_finish(o, &r);
	etcd_kv_result_free(&r);
}

/* Sends o's request to its current endpoint. */
void
ekv_op_send(struct op *o)
{
	struct etcd_kv *kv = o->kv;
	long timeout = kv->timeout_ms;

	free(o->url);
	o->url = xasprintf("%s%s", kv->ep[o->ep], o->path);
	if (o->kind == OP_WATCH) {
		o->lines = false;
		o->req = etcd_http_stream(kv->h, o->url, o->body,
		    ETCD_KV_WATCH_MAX_LINE, ekv_watch_line, ekv_watch_done,
		    on_drop, o);
		return;
	}
	if (o->kind == OP_ROUND) {
		/* An answer after the first deadline is of no use. */
		int64_t left = o->deadline - loop_now_ms();

		if (left < 1)
			left = 1;
		if (timeout <= 0 || left < timeout)
			timeout = (long)left;
	}
	o->req = etcd_http_request_ex(kv->h, o->url, o->body, timeout,
	    on_answer, on_drop, o);
	/* A round's answer is awaited by no one, and comes one lease's line
	 * at a time: it is read when the agent wakes anyway, at the latest
	 * as the next round goes out (set already) or well before its
	 * timeout. */
	if (o->kind == OP_ROUND)
		etcd_http_lazy(kv->h, o->req, timeout);
}

uint64_t
ekv_call_start(struct etcd_kv *kv, enum etcd_kv_answer ans, const char *path,
    char *body, etcd_kv_cb cb, void *arg)
{
	struct op *o = ekv_op_new(kv, OP_CALL, arg);

	o->ans = ans;
	o->path = path;
	o->body = body;
	o->cb = cb;
	ekv_op_send(o);
	return o->id;
}

uint64_t
ekv_call_reject(struct etcd_kv *kv, etcd_kv_cb cb, void *arg, const char *what,
    const char *why)
{
	struct op *o = ekv_op_new(kv, OP_CALL, arg);

	o->cb = cb;
	return ekv_op_reject(o, "%s: %s", what, why);
}

/* The client */

struct etcd_kv *
etcd_kv_new(struct etcd_http *h, char *const *endpoints, size_t n)
{
	struct etcd_kv *kv = xcalloc(1, sizeof(*kv));

	if (n == 0) {
		log_error("etcd_kv_new: no endpoints");
		abort();
	}
	kv->h = h;
	kv->loop = etcd_http_loop(h);
	kv->ep = xcalloc(n, sizeof(*kv->ep));
	for (size_t i = 0; i < n; i++)
		kv->ep[i] = etcd_http_base(endpoints[i]);
	kv->n = n;
	kv->timeout_ms = DEFAULT_TIMEOUT_MS;
	kv->next_id = 1;
	return kv;
}

void
etcd_kv_set_timeout(struct etcd_kv *kv, long timeout_ms)
{
	kv->timeout_ms = timeout_ms;
}

const char *
etcd_kv_endpoint(const struct etcd_kv *kv)
{
	return kv->ep[kv->cur];
}

void
etcd_kv_cancel(struct etcd_kv *kv, uint64_t id)
{
	for (struct op *o = kv->ops; o != NULL && id != 0; o = o->next) {
		if (o->id == id) {
			op_kill(o);
			return;
		}
	}
}

void
etcd_kv_free(struct etcd_kv *kv)
{
	if (kv == NULL || kv->doomed)
		return;
	kv->doomed = true;
	while (kv->ops != NULL)
		op_kill(kv->ops);
	if (kv->depth == 0)
		kv_destroy(kv);
}
