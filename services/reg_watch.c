#include "lib/fmacros.h"

#include <stdlib.h>
#include <string.h>

#include "etcd/kv.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "services/reg_watch.h"
#include "services/registry.h"

#define RESTART_MS 1000		/* after a stream broke */

struct sub {
	uint64_t id;
	char *prefix;
	size_t len;
	reg_watch_cb cb;
	void *arg;
	bool armed;		/* reg_watch_from() was called */
	int64_t last_change;	/* mod_revision of the last change seen
				   under prefix; 0: none */
	uint64_t timer;		/* a callback for a possible miss */
	struct reg_watch *w;
};

struct reg_watch {
	struct loop *loop;
	struct etcd_kv *kv;
	struct sub **v;
	size_t n;
	uint64_t next_id;
	uint64_t watch;		/* the stream; 0: none */
	uint64_t restart_timer;
	int64_t from;		/* news without a gap since; 0: none */
	int64_t next;		/* where a broken stream goes on */
};

bool
reg_watch_missed(int64_t rev, int64_t last_change, int64_t from)
{
	return last_change > rev || (from != 0 && from > rev + 1);
}

static struct sub *
find(const struct reg_watch *w, uint64_t id)
{
	for (size_t i = 0; id != 0 && i < w->n; i++) {
		if (w->v[i]->id == id)
			return w->v[i];
	}
	return NULL;
}

/* Calls back the armed subscribers for which due(s) holds, each found
 * again by id before its call: a callback may end subscriptions. */
static void
call_back(struct reg_watch *w, bool (*due)(struct sub *, const void *),
    const void *arg)
{
	uint64_t *ids = xcalloc(w->n + 1, sizeof(*ids));
	size_t k = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (due(w->v[i], arg) && w->v[i]->armed)
			ids[k++] = w->v[i]->id;
	}
	for (size_t i = 0; i < k; i++) {
		struct sub *s = find(w, ids[i]);

		if (s != NULL)
			s->cb(s->arg);
	}
	free(ids);
}

static void on_watch(void *arg, const struct etcd_kv_watch_update *u);

static void
start(struct reg_watch *w, int64_t rev)
{
	w->watch = etcd_kv_watch(w->kv, REG_ROOT, strlen(REG_ROOT), true, rev,
	    on_watch, w);
}

static void
on_restart(struct loop *l, void *arg)
{
	struct reg_watch *w = arg;

	(void)l;
	w->restart_timer = 0;
	start(w, w->next);
}

/* Whether u changes a key under s's prefix; notes the last change. */
static bool
changed(struct sub *s, const void *arg)
{
	const struct etcd_kv_watch_update *u = arg;
	bool hit = false;

	for (size_t e = 0; e < u->n_events; e++) {
		const struct etcd_kv_pair *p = &u->events[e].kv;

		if (p->key_len < s->len ||
		    memcmp(p->key, s->prefix, s->len) != 0)
			continue;
		hit = true;
		if (p->mod_revision > s->last_change)
			s->last_change = p->mod_revision;
	}
	return hit;
}

static bool
every(struct sub *s, const void *arg)
{
	(void)s;
	(void)arg;
	return true;
}

/* The stream ended. It goes on from where it stopped unless etcd
 * compacted that history: then every subscriber reads again, and the
 * first to say its revision starts a new stream. */
static void
on_end(struct reg_watch *w, const struct etcd_kv_watch_update *u)
{
	w->watch = 0;
	if (u->compact_revision == 0 && u->next_revision > 0) {
		log_debug("registry watch ended (%s); going on from revision "
		    "%lld in %d ms", u->error, (long long)u->next_revision,
		    RESTART_MS);
		w->next = u->next_revision;
		w->restart_timer = loop_timer(w->loop, RESTART_MS, on_restart,
		    w);
		return;
	}
	log_debug("registry watch ended (%s); reading the services' keys "
	    "again", u->error);
	w->from = w->next = 0;
	call_back(w, every, NULL);
}

static void
on_watch(void *arg, const struct etcd_kv_watch_update *u)
{
	struct reg_watch *w = arg;

	switch (u->kind) {
	case ETCD_KV_WATCH_CREATED:
		break;
	case ETCD_KV_WATCH_EVENTS:
		call_back(w, changed, u);
		break;
	case ETCD_KV_WATCH_END:
		on_end(w, u);
		break;
	}
}

struct reg_watch *
reg_watch_new(struct loop *l, struct etcd_kv *kv)
{
	struct reg_watch *w = xcalloc(1, sizeof(*w));

	w->loop = l;
	w->kv = kv;
	return w;
}

static void
sub_free(struct sub *s)
{
	loop_cancel(s->w->loop, s->timer);
	free(s->prefix);
	free(s);
}

static void
stop_stream(struct reg_watch *w)
{
	etcd_kv_cancel(w->kv, w->watch);
	loop_cancel(w->loop, w->restart_timer);
	w->watch = w->restart_timer = 0;
	w->from = w->next = 0;
}

void
reg_watch_free(struct reg_watch *w)
{
	if (w == NULL)
		return;
	stop_stream(w);
	for (size_t i = 0; i < w->n; i++)
		sub_free(w->v[i]);
	free(w->v);
	free(w);
}

uint64_t
reg_watch_sub(struct reg_watch *w, const char *prefix, reg_watch_cb cb,
    void *arg)
{
	struct sub *s = xcalloc(1, sizeof(*s));

	*s = (struct sub){ .id = ++w->next_id, .prefix = xstrdup(prefix),
		.len = strlen(prefix), .cb = cb, .arg = arg, .w = w };
	w->v = xreallocarray(w->v, w->n + 1, sizeof(*w->v));
	w->v[w->n++] = s;
	return s->id;
}

static void
on_missed(struct loop *l, void *arg)
{
	struct sub *s = arg;

	(void)l;
	s->timer = 0;
	s->cb(s->arg);
}

void
reg_watch_from(struct reg_watch *w, uint64_t id, int64_t rev)
{
	struct sub *s = find(w, id);

	if (s == NULL)
		return;
	s->armed = true;
	if (w->watch == 0 && w->restart_timer == 0) {
		w->from = rev + 1;
		start(w, w->from);
	}
	if (reg_watch_missed(rev, s->last_change, w->from) && s->timer == 0)
		s->timer = loop_timer(w->loop, 0, on_missed, s);
}

void
reg_watch_unsub(struct reg_watch *w, uint64_t id)
{
	for (size_t i = 0; w != NULL && id != 0 && i < w->n; i++) {
		if (w->v[i]->id != id)
			continue;
		sub_free(w->v[i]);
		memmove(&w->v[i], &w->v[i + 1], (w->n - i - 1) *
		    sizeof(*w->v));
		if (--w->n == 0)
			stop_stream(w);
		return;
	}
}
