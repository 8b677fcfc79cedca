#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "etcd/json.h"
#include "etcd/kv.h"
#include "etcd/kv_int.h"

/* Watches: a stream of events that failover can only set up, never
 * move. The lease keeper is in kv_keep.c. */

void
ekv_watch_end(struct op *o, int64_t compact)
{
	struct etcd_kv_watch_update u;
	struct etcd_kv *kv = o->kv;

	/* A member that broke a watch (lost its leader, shut down) is not
	 * the first one asked when the caller watches again. */
	if (compact == 0 && o->created && kv->cur == o->ep)
		kv->cur = (o->ep + 1) % kv->n;

	memset(&u, 0, sizeof(u));
	u.kind = ETCD_KV_WATCH_END;
	u.next_revision = o->next_rev;
	u.compact_revision = compact;
	u.error = ekv_msg(o);
	ekv_op_retire(o);
	if (o->wcb != NULL)
		o->wcb(o->arg, &u);
	ekv_cb_end(o);
}

/* The revision after r, saturating: revisions come from the network. */
static int64_t
after(int64_t r)
{
	return r < INT64_MAX ? r + 1 : INT64_MAX;
}

void
ekv_watch_line(void *arg, const char *line, size_t len)
{
	struct op *o = arg;
	struct etcd_kv_watch_msg m;
	struct etcd_kv_watch_update u;
	char err[400];
	char q[EJ_QUOTE_MAX * 2];

	if (etcd_kv_parse_watch(line, len, &m, err, sizeof(err)) < 0) {
		/* An error before the watch exists (e.g. "no leader") is
		 * this member's: try another. */
		if (!o->created && m.grpc_code != 0 && ekv_op_next_endpoint(o)) {
			log_debug("POST %s: %s; trying the next endpoint",
			    o->url, err);
			ekv_op_quiet(o);
			ekv_op_send(o);
			return;
		}
		snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: %s: %s", o->url,
		    o->what, err);
		ekv_watch_end(o, 0);
		return;
	}
	o->lines = true;
	memset(&u, 0, sizeof(u));
	u.revision = m.revision;
	if (m.canceled) {
		if (m.compact_revision > 0)
			snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: %s from "
			    "revision %" PRId64 ": history before revision %"
			    PRId64 " was compacted away; get the keys again "
			    "and watch from that answer's revision + 1",
			    o->url, o->what, o->next_rev, m.compact_revision);
		else
			snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: etcd "
			    "cancelled the %s: %s", o->url, o->what,
			    m.cancel_reason[0] != '\0' ? str_quote_n(m.cancel_reason,
			    strlen(m.cancel_reason), q, sizeof(q)) :
			    "no reason given");
		u.compact_revision = m.compact_revision;
		etcd_kv_watch_msg_free(&m);
		ekv_watch_end(o, u.compact_revision);
		return;
	}
	if (m.created && !o->created) {
		o->created = true;
		o->kv->cur = o->ep;
		if (o->start_rev == 0)
			o->next_rev = after(m.revision);
		u.kind = ETCD_KV_WATCH_CREATED;
		u.next_revision = o->next_rev;
		ekv_cb_begin(o);
		if (o->wcb != NULL)
			o->wcb(o->arg, &u);
		if (ekv_cb_end(o)) {
			etcd_kv_watch_msg_free(&m);
			return;
		}
	}
	if (m.n_events > 0) {
		int64_t last = m.events[m.n_events - 1].kv.mod_revision;

		if (m.events[0].kv.mod_revision < o->next_rev) {
			snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: %s: events "
			    "of revision %" PRId64 " came after revision %"
			    PRId64 " was expected", o->url, o->what,
			    m.events[0].kv.mod_revision, o->next_rev);
			etcd_kv_watch_msg_free(&m);
			ekv_watch_end(o, 0);
			return;
		}
		o->next_rev = after(last);
		u.kind = ETCD_KV_WATCH_EVENTS;
		u.events = m.events;
		u.n_events = m.n_events;
		u.next_revision = o->next_rev;
		ekv_cb_begin(o);
		if (o->wcb != NULL)
			o->wcb(o->arg, &u);
		ekv_cb_end(o);
	} else if (!m.created && o->created && after(m.revision) >
	    o->next_rev) {
		/* A progress notice: nothing is missing up to revision. */
		o->next_rev = after(m.revision);
	}
	etcd_kv_watch_msg_free(&m);
}

void
ekv_watch_done(void *arg, const struct etcd_http_result *r)
{
	struct op *o = arg;

	o->req = 0;
	if (!o->lines && ekv_failover_worthy(r) && ekv_op_next_endpoint(o)) {
		log_debug("POST %s: %s; trying the next endpoint", o->url,
		    r->error != NULL ? r->error : "HTTP 503");
		ekv_op_send(o);
		return;
	}
	if (r->error == NULL && r->status >= 200 && r->status <= 299)
		snprintf(ekv_msg(o), OP_MSG_MAX, "POST %s: etcd closed the "
		    "stream of the %s", o->url, o->what);
	else
		ekv_describe(o, r);
	ekv_watch_end(o, 0);
}

uint64_t
etcd_kv_watch(struct etcd_kv *kv, const void *key, size_t key_len,
    bool prefix, int64_t start_revision, etcd_kv_watch_cb cb, void *arg)
{
	struct op *o = ekv_op_new(kv, OP_WATCH, arg);
	json_t *req, *root;
	char q[EJ_QUOTE_MAX];

	o->wcb = cb;
	o->path = "/v3/watch";
	if (key == NULL && key_len > 0)
		return ekv_op_reject(o, "watch: NULL key");
	snprintf(o->what, sizeof(o->what), "watch of %s\"%s\"",
	    prefix ? "prefix " : "key ", str_quote_n(key, key_len, q, sizeof(q)));
	if (key_len == 0 && !prefix)
		return ekv_op_reject(o, "%s: empty key", o->what);
	if (key_len > ETCD_KV_MAX_KEY)
		return ekv_op_reject(o, "%s: key longer than 64 KiB", o->what);
	if (start_revision < 0)
		return ekv_op_reject(o, "%s: negative start revision", o->what);
	req = ej_obj();
	ekv_keys(req, key, key_len, prefix, NULL, 0);
	if (start_revision > 0)
		ej_set(req, "start_revision", ekv_int(start_revision));
	root = ej_obj();
	ej_set(root, "create_request", req);
	o->body = ej_dump(root);
	o->start_rev = start_revision;
	o->next_rev = start_revision;
	ekv_op_send(o);
	return o->id;
}
