#include "agent/fmacros.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "agent/token.h"
#include "agent/xmalloc.h"
#include "config/cfg.h"
#include "etcd/http.h"
#include "etcd/v2.h"
#include "resolver/dnsname.h"

#define REQ_TIMEOUT_MS 3000
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 8000
/* A seed answers a moment before it has created the token's size key, so
 * a missing key is asked again for this long before it is an error. */
#define SIZE_GRACE_MS 10000

enum tok_state { S_SIZE, S_LIST, S_REGISTER, S_WAIT, S_DONE };

struct tok {
	struct loop *loop;
	struct etcd_http *http;
	char *url, *name, *peer_url, *value;
	int want_size;		/* configured size, 0 = the token's */
	int size;		/* the token's size once read */
	int64_t deadline;
	bool size_may_appear;
	bool dry_run;
	int64_t size_missing_since;	/* 0, or when it was first missing */
	enum tok_state state;
	uint64_t req;		/* request in flight */
	uint64_t timer;		/* retry or deadline */
	uint64_t deadline_timer;
	int retry_ms;
	uint64_t wait_index;	/* the next change to watch for */
	bool registered_before;	/* found our entry on the first listing */
	bool listed_once;
	char last[512];		/* the last progress line, to say it once */
	tok_done_cb done;
	tok_unreachable_cb unreachable;
	void *arg;
};

const char *
tok_name(const char *url)
{
	const char *slash = strrchr(url, '/');

	return slash != NULL ? slash + 1 : url;
}

void
tok_result_free(struct tok_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->names[i]);
		free(r->urls[i]);
	}
	free(r->names);
	free(r->urls);
	free(r);
}

static void step(struct tok *t);

static void
finish(struct tok *t, struct tok_result *r)
{
	t->state = S_DONE;
	loop_cancel(t->loop, t->timer);
	loop_cancel(t->loop, t->deadline_timer);
	t->timer = t->deadline_timer = 0;
	t->done(t->arg, r);
}

static void __attribute__((format(printf, 3, 4)))
fail(struct tok *t, int code, const char *fmt, ...)
{
	struct tok_result *r = xcalloc(1, sizeof(*r));
	va_list ap;

	r->outcome = TOK_FAIL;
	r->exit_code = code;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	finish(t, r);
}

static void
on_retry(struct loop *l, void *arg)
{
	struct tok *t = arg;

	(void)l;
	t->timer = 0;
	step(t);
}

/* Says progress once per change, then asks again after a backoff. */
static void
retry(struct tok *t, const char *why)
{
	if (strcmp(why, t->last) != 0) {
		log_info("%s; retrying in %d s", why, t->retry_ms / 1000);
		snprintf(t->last, sizeof(t->last), "%s", why);
	}
	t->timer = loop_timer(t->loop, t->retry_ms, on_retry, t);
	t->retry_ms = t->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    t->retry_ms * 2;
}

static void
on_deadline(struct loop *l, void *arg)
{
	struct tok *t = arg;

	(void)l;
	t->deadline_timer = 0;
	if (t->req != 0)
		etcd_http_cancel(t->http, t->req);
	t->req = 0;
	fail(t, 111, "gave up on discovery token %s: %s", tok_name(t->url),
	    t->last[0] ? t->last : "no answer in time");
}

/* Returns true (after arranging a retry) when the answer is no answer:
 * a transport error or a server error. */
static bool
unreachable(struct tok *t, const struct etcd_http_result *r, const char *what)
{
	char why[512];

	if (r->status != 0 && r->status < 500)
		return false;
	if (r->status == 0)
		snprintf(why, sizeof(why), "discovery service unreachable: %s %s: "
		    "%s", what, t->url, r->error ? r->error : "no answer");
	else
		snprintf(why, sizeof(why), "discovery service answers HTTP %ld to "
		    "%s %s", r->status, what, t->url);
	if (t->unreachable != NULL)
		t->unreachable(t->arg, why);
	retry(t, why);
	return true;
}

/* Parses the answer or fails the protocol; returns -1 after failing. */
static int
parse(struct tok *t, const struct etcd_http_result *r, struct etcd_v2_reply *v)
{
	char err[256];

	if (etcd_v2_parse(r->body, r->len, v, err, sizeof(err)) < 0) {
		fail(t, 100, "discovery service at %s gave a bad answer (HTTP "
		    "%ld): %s", t->url, r->status, err);
		return -1;
	}
	return 0;
}

static void
got_size(struct tok *t, const struct etcd_http_result *r)
{
	struct etcd_v2_reply v;
	char *end;
	long n;

	if (unreachable(t, r, "GET"))
		return;
	if (parse(t, r, &v) < 0)
		return;
	if (v.error_code == ETCD_V2_KEY_NOT_FOUND) {
		int64_t now = loop_now_ms();

		etcd_v2_reply_free(&v);
		if (t->size_missing_since == 0)
			t->size_missing_since = now;
		if (t->size_may_appear ||
		    now - t->size_missing_since < SIZE_GRACE_MS) {
			retry(t, "the token has no _config/size key yet");
			return;
		}
		fail(t, 100, "token %s has no _config/size key at %s; create "
		    "the token with zooinit discovery new --size N --endpoint "
		    "URL", tok_name(t->url), t->url);
		return;
	}
	if (v.error_code != 0 || v.node.value == NULL) {
		fail(t, 100, "reading %s/_config/size: %s", t->url,
		    v.message ? v.message : "not a key with a value");
		etcd_v2_reply_free(&v);
		return;
	}
	errno = 0;
	n = strtol(v.node.value, &end, 10);
	if (v.node.value[0] < '0' || v.node.value[0] > '9' || *end != '\0' ||
	    errno != 0 || n < 1 || n > CFG_MAX_MEMBERS) {
		char q[64];
		fail(t, 100, "token %s has size \"%s\"; expected a number from 1 "
		    "to %d", tok_name(t->url),
		    dns_quote(v.node.value, q, sizeof(q)), CFG_MAX_MEMBERS);
		etcd_v2_reply_free(&v);
		return;
	}
	etcd_v2_reply_free(&v);
	if (t->want_size > 0 && n != t->want_size) {
		fail(t, 100, "token %s is for %ld members but size is set to %d; "
		    "use a token made for %d or change size", tok_name(t->url), n,
		    t->want_size, t->want_size);
		return;
	}
	t->size = (int)n;
	t->retry_ms = RETRY_MIN_MS;
	t->state = S_LIST;
	step(t);
}

/* One registration: the node's value "name=url", split. */
struct entry {
	const char *name, *url;
	size_t name_len;
	uint64_t created;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->created < y->created ? -1 : x->created > y->created;
}

static void
got_list(struct tok *t, const struct etcd_http_result *r)
{
	struct etcd_v2_reply v;
	struct entry *e;
	size_t n = 0, mine = SIZE_MAX;

	if (unreachable(t, r, "GET"))
		return;
	if (parse(t, r, &v) < 0)
		return;
	if (v.error_code != 0) {
		fail(t, 100, "listing %s: %s", t->url, v.message);
		etcd_v2_reply_free(&v);
		return;
	}
	e = xcalloc(v.n + 1, sizeof(*e));
	for (size_t i = 0; i < v.n; i++) {
		const char *val = v.nodes[i].value;
		const char *eq = val ? strchr(val, '=') : NULL;

		/* _config and anything that is not "name=url" is not a
		 * member; etcd's own discovery writes the same shape. */
		if (v.nodes[i].dir || eq == NULL || eq == val)
			continue;
		e[n].name = val;
		e[n].name_len = (size_t)(eq - val);
		e[n].url = eq + 1;
		e[n].created = v.nodes[i].created;
		n++;
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		bool same_name = e[i].name_len == strlen(t->name) &&
		    strncmp(e[i].name, t->name, e[i].name_len) == 0;
		bool same_url = strcmp(e[i].url, t->peer_url) == 0;
		char q[160];

		if (same_name && !same_url) {
			fail(t, 100, "member %s already registered under token %s "
			    "with peer URL %s; names must be unique: set --name",
			    t->name, tok_name(t->url),
			    dns_quote(e[i].url, q, sizeof(q)));
			goto out;
		}
		if (same_url && !same_name) {
			fail(t, 100, "peer URL %s is already registered under token "
			    "%s as member %.*s; this host would be %s: use one "
			    "name per host", t->peer_url, tok_name(t->url),
			    (int)(e[i].name_len < 64 ? e[i].name_len : 64),
			    e[i].name, t->name);
			goto out;
		}
		if (same_name && mine == SIZE_MAX)
			mine = i;
	}
	if (!t->listed_once)
		t->registered_before = mine != SIZE_MAX;
	t->listed_once = true;

	if (mine == SIZE_MAX && n < (size_t)t->size && !t->dry_run) {
		t->state = S_REGISTER;
		step(t);
		goto out;
	}
	if (n >= (size_t)t->size) {
		struct tok_result *res = xcalloc(1, sizeof(*res));

		res->outcome = mine < (size_t)t->size ? TOK_MEMBER : TOK_EXTRA;
		res->was_registered = t->registered_before;
		res->n = (size_t)t->size;
		res->names = xcalloc(res->n, sizeof(*res->names));
		res->urls = xcalloc(res->n, sizeof(*res->urls));
		for (size_t i = 0; i < res->n; i++) {
			res->names[i] = xstrndup(e[i].name, e[i].name_len);
			res->urls[i] = xstrdup(e[i].url);
		}
		snprintf(res->msg, sizeof(res->msg), "%d of %d registered under "
		    "token %s", t->size, t->size, tok_name(t->url));
		finish(t, res);
		goto out;
	}
	/* Not enough yet: say who is there and watch for the next change. */
	{
		char names[400] = "";
		size_t o = 0;

		for (size_t i = 0; i < n && o + 70 < sizeof(names); i++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%.*s",
			    i ? ", " : "", (int)(e[i].name_len < 64 ?
			    e[i].name_len : 64), e[i].name);
		snprintf(t->last, sizeof(t->last), "peers %zu/%d registered under "
		    "token %s (%s)%s", n, t->size, tok_name(t->url), names,
		    t->dry_run && mine == SIZE_MAX ? "; plan does not register "
		    "this host" : "");
		log_info("%s; waiting for the others", t->last);
	}
	t->state = S_WAIT;
	t->retry_ms = RETRY_MIN_MS;
	t->wait_index = v.max_index + 1;
	step(t);
out:
	free(e);
	etcd_v2_reply_free(&v);
}

static void
got_register(struct tok *t, const struct etcd_http_result *r)
{
	struct etcd_v2_reply v;

	if (unreachable(t, r, "PUT"))
		return;
	if (parse(t, r, &v) < 0)
		return;
	if (v.error_code != 0 && v.error_code != ETCD_V2_NODE_EXIST) {
		fail(t, 100, "registering %s under %s: %s", t->name, t->url,
		    v.message);
		etcd_v2_reply_free(&v);
		return;
	}
	/* Created, or someone holds the name: the listing tells which. */
	if (v.error_code == 0)
		log_info("registered %s=%s under token %s", t->name, t->peer_url,
		    tok_name(t->url));
	etcd_v2_reply_free(&v);
	t->state = S_LIST;
	step(t);
}

static void
got_wait(struct tok *t, const struct etcd_http_result *r)
{
	if (r->status == 0 || r->status >= 500) {
		if (unreachable(t, r, "watch"))
			return;
	}
	/* Any change, or an index too old to watch from: list again. */
	t->state = S_LIST;
	step(t);
}

static void
on_reply(void *arg, const struct etcd_http_result *r)
{
	struct tok *t = arg;

	t->req = 0;
	switch (t->state) {
	case S_SIZE:
		got_size(t, r);
		break;
	case S_LIST:
		got_list(t, r);
		break;
	case S_REGISTER:
		got_register(t, r);
		break;
	case S_WAIT:
		got_wait(t, r);
		break;
	case S_DONE:
		break;
	}
}

static void
step(struct tok *t)
{
	char *url = NULL;

	switch (t->state) {
	case S_SIZE:
		url = xasprintf("%s/_config/size", t->url);
		t->req = etcd_http_get(t->http, url, REQ_TIMEOUT_MS, on_reply, t);
		break;
	case S_LIST:
		url = xasprintf("%s?recursive=true", t->url);
		t->req = etcd_http_get(t->http, url, REQ_TIMEOUT_MS, on_reply, t);
		break;
	case S_REGISTER: {
		char *v = etcd_v2_escape(t->value);
		url = xasprintf("%s/%s?prevExist=false&value=%s", t->url, t->name,
		    v);
		free(v);
		t->req = etcd_http_put(t->http, url, REQ_TIMEOUT_MS, on_reply, t);
		break;
	}
	case S_WAIT:
		/* A watch has no timeout of its own; the deadline ends it. */
		url = xasprintf("%s?wait=true&recursive=true&waitIndex=%llu",
		    t->url, (unsigned long long)t->wait_index);
		t->req = etcd_http_get(t->http, url, 0, on_reply, t);
		break;
	case S_DONE:
		break;
	}
	free(url);
}

struct tok *
tok_start(struct loop *l, struct etcd_http *h, const struct tok_opts *o,
    tok_done_cb done, tok_unreachable_cb unreachable_cb, void *arg)
{
	struct tok *t = xcalloc(1, sizeof(*t));

	t->loop = l;
	t->http = h;
	t->url = xstrdup(o->url);
	t->name = xstrdup(o->name);
	t->peer_url = xstrdup(o->peer_url);
	t->value = xasprintf("%s=%s", o->name, o->peer_url);
	t->want_size = o->size;
	t->deadline = o->deadline;
	t->size_may_appear = o->size_may_appear;
	t->dry_run = o->dry_run;
	t->done = done;
	t->unreachable = unreachable_cb;
	t->arg = arg;
	t->retry_ms = RETRY_MIN_MS;
	t->state = S_SIZE;
	t->deadline_timer = loop_timer(l, o->deadline - loop_now_ms(),
	    on_deadline, t);
	step(t);
	return t;
}

void
tok_size_may_appear(struct tok *t)
{
	t->size_may_appear = true;
}

void
tok_free(struct tok *t)
{
	if (t == NULL)
		return;
	if (t->req != 0)
		etcd_http_cancel(t->http, t->req);
	loop_cancel(t->loop, t->timer);
	loop_cancel(t->loop, t->deadline_timer);
	free(t->url);
	free(t->name);
	free(t->peer_url);
	free(t->value);
	free(t);
}
