#include "lib/fmacros.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/exitcode.h"
#include "lib/log.h"
#include "agent/token.h"
#include "lib/xmalloc.h"
#include "config/cfg.h"
#include "etcd/http.h"
#include "etcd/kv.h"
#include "etcd/member_id.h"
#include "etcd/v2.h"
#include "lib/str.h"
#include "lib/url.h"

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
	struct etcd_kv *kv;	/* v3 layout; NULL for v2 */
	char *prefix;		/* v3: /_etcd/registry/TOKEN/members */
	char *size_key;		/* v3: /_etcd/registry/TOKEN/_config/size */
	char *key;		/* v3: this member's, .../members/ID */
	uint64_t id;		/* v3: this member's ID, as etcd derives it */
	char bad[512];		/* v3: why this member cannot register */
	char *token;		/* v2: for messages; v3: the token */
	uint64_t watch;		/* v3 watch in flight */
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
	free(r->peer_url);
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
give_up(struct tok *t, int code, const char *fmt, ...)
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
cancel_io(struct tok *t)
{
	if (t->req != 0 && t->kv != NULL)
		etcd_kv_cancel(t->kv, t->req);
	else if (t->req != 0)
		etcd_http_cancel(t->http, t->req);
	if (t->watch != 0)
		etcd_kv_cancel(t->kv, t->watch);
	t->req = t->watch = 0;
}

static void
on_deadline(struct loop *l, void *arg)
{
	struct tok *t = arg;

	(void)l;
	t->deadline_timer = 0;
	cancel_io(t);
	give_up(t, EXIT_TEMPORARY,
	    "gave up on discovery token %s: %s", t->token,
	    t->last[0] ? t->last : "no answer in time");
}

/* The service did not answer (transport error or a server error): tell
 * the owner, and ask again later. */
static void
unreachable(struct tok *t, const char *why)
{
	if (t->unreachable != NULL)
		t->unreachable(t->arg, why);
	retry(t, why);
}

/* ---- the protocol, on answers of either layout ----------------------- */

/* Parses a v2 size value (a C string); 0, or -1 with err set. */
static int
v2_size_parse(const struct tok *t, const char *value, unsigned *size,
    char *err, size_t errlen)
{
	char *end;
	long n;
	char q[64];

	errno = 0;
	n = strtol(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
	    n < 1 || n > CFG_MAX_MEMBERS) {
		snprintf(err, errlen, "token %s has size \"%s\"; expected a "
		    "number from 1 to %d", t->token, str_quote(value, q,
		    sizeof(q)), CFG_MAX_MEMBERS);
		return -1;
	}
	*size = (unsigned)n;
	return 0;
}

/* value (len bytes): the size key's value, NULL when the key does not
 * exist. */
static void
got_size(struct tok *t, const char *value, size_t len)
{
	char err[512];
	unsigned n;

	if (value == NULL) {
		int64_t now = loop_now_ms();

		if (t->size_missing_since == 0)
			t->size_missing_since = now;
		if (t->size_may_appear ||
		    now - t->size_missing_since < SIZE_GRACE_MS) {
			retry(t, "the token has no _config/size key yet");
			return;
		}
		give_up(t, EXIT_PERMANENT,
		    "token %s has no _config/size key at %s; create "
		    "the token with zooinit discovery new --size N --endpoint "
		    "URL", t->token, t->url ? t->url : t->size_key);
		return;
	}
	if ((t->kv == NULL ? v2_size_parse(t, value, &n, err, sizeof(err)) :
	    etcd_member_size_parse(value, len, &n, err, sizeof(err))) < 0) {
		give_up(t, EXIT_PERMANENT, "%s", err);
		return;
	}
	if (n > CFG_MAX_MEMBERS) {
		give_up(t, EXIT_PERMANENT, "token %s is for %u members; zooinit "
		    "forms clusters of 1 to %d", t->token, n, CFG_MAX_MEMBERS);
		return;
	}
	if (t->want_size > 0 && n != (unsigned)t->want_size) {
		give_up(t, EXIT_PERMANENT,
		    "token %s is for %u members but size is set to %d; "
		    "use a token made for %d or change size", t->token, n,
		    t->want_size, t->want_size);
		return;
	}
	t->size = (int)n;
	t->retry_ms = RETRY_MIN_MS;
	t->state = S_LIST;
	step(t);
}

/* One registration: a "name=url" value and its creation order; a v3
 * entry also its ID and all its peer URLs. */
struct entry {
	const char *name, *url;	/* url: the first */
	size_t name_len;
	char *const *urls;	/* v3: all n_urls, sorted; v2: NULL */
	size_t n_urls;
	uint64_t id;		/* v3 */
	int64_t created;
};

static bool
entry_has_url(const struct entry *e, const char *url)
{
	if (e->urls == NULL)
		return strcmp(e->url, url) == 0;
	for (size_t i = 0; i < e->n_urls; i++)
		if (strcmp(e->urls[i], url) == 0)
			return true;
	return false;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->created < y->created ? -1 : x->created > y->created;
}

/* Turns a value into an entry; false when it is not "name=url". */
static bool
entry_of(const char *val, int64_t created, struct entry *e)
{
	const char *eq = val ? strchr(val, '=') : NULL;

	if (eq == NULL || eq == val)
		return false;
	e->name = val;
	e->name_len = (size_t)(eq - val);
	e->url = eq + 1;
	e->n_urls = 1;
	e->created = created;
	return true;
}

/* Finds this host among the sorted entries (*mine, SIZE_MAX if absent)
 * and refuses what would make zooinit and etcd disagree: false when it
 * gave up. */
static bool
check_entries(struct tok *t, const struct entry *e, size_t n, size_t *mine)
{
	char q[160], nm[80];

	*mine = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		bool same_name = e[i].name_len == strlen(t->name) &&
		    strncmp(e[i].name, t->name, e[i].name_len) == 0;
		bool same_url = entry_has_url(&e[i], t->peer_url);
		/* v3: the ID stands for this peer URL under this token. */
		bool is_mine = t->kv != NULL ? e[i].id == t->id :
		    same_name && same_url;

		snprintf(nm, sizeof(nm), "%.*s", (int)(e[i].name_len < 64 ?
		    e[i].name_len : 64), e[i].name);
		if (same_name && !is_mine) {
			give_up(t, EXIT_PERMANENT,
			    "member %s already registered under token %s "
			    "with peer URL %s; names must be unique: set --name",
			    t->name, t->token, str_quote(e[i].url, q, sizeof(q)));
			return false;
		}
		if (same_url && !same_name) {
			give_up(t, EXIT_PERMANENT,
			    "peer URL %s is already registered under token "
			    "%s as member %s; this host would be %s: use one name "
			    "per host", t->peer_url, t->token,
			    str_quote(nm, q, sizeof(q)), t->name);
			return false;
		}
		/* A plan has one peer URL per member; an extra's do not
		 * matter. */
		if (e[i].n_urls > 1 && i < (size_t)t->size) {
			give_up(t, EXIT_PERMANENT,
			    "member %s registered %zu peer URLs under token %s "
			    "(%s, ...); zooinit plans one peer URL per member: "
			    "start that etcd with a single "
			    "--initial-advertise-peer-urls and a fresh token",
			    str_quote(nm, q, sizeof(q)), e[i].n_urls, t->token,
			    e[i].url);
			return false;
		}
		if (is_mine && *mine == SIZE_MAX)
			*mine = i;
	}
	return true;
}

/* The registrations as listed; watch_from is where a watch for the next
 * change starts (v2 index or v3 revision). */
static void
got_list(struct tok *t, struct entry *e, size_t n, uint64_t watch_from)
{
	size_t mine;
	char q[160];

	qsort(e, n, sizeof(*e), entry_cmp);
	if (!check_entries(t, e, n, &mine))
		return;
	if (!t->listed_once)
		t->registered_before = mine != SIZE_MAX;
	t->listed_once = true;

	if (mine == SIZE_MAX && n < (size_t)t->size && !t->dry_run) {
		t->state = S_REGISTER;
		step(t);
		return;
	}
	/* A dry run answers at once with who is there: plan never waits. */
	if (n >= (size_t)t->size || t->dry_run) {
		struct tok_result *res = xcalloc(1, sizeof(*res));

		res->outcome = n < (size_t)t->size ? TOK_WAITING :
		    mine < (size_t)t->size ? TOK_MEMBER : TOK_EXTRA;
		res->was_registered = t->registered_before;
		res->n = n < (size_t)t->size ? n : (size_t)t->size;
		res->size = (size_t)t->size;
		res->peer_url = xstrdup(t->peer_url);
		res->names = xcalloc(res->n + 1, sizeof(*res->names));
		res->urls = xcalloc(res->n + 1, sizeof(*res->urls));
		for (size_t i = 0; i < res->n; i++) {
			res->names[i] = xstrndup(e[i].name, e[i].name_len);
			res->urls[i] = xstrdup(e[i].url);
		}
		snprintf(res->msg, sizeof(res->msg), "%zu of %d registered "
		    "under token %s", res->n, t->size, t->token);
		finish(t, res);
		return;
	}
	/* Not enough yet: say who is there and watch for the next change. */
	char names[400] = "";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 70 < sizeof(names); i++) {
		char nm[80];
		snprintf(nm, sizeof(nm), "%.*s", (int)(e[i].name_len < 64 ?
		    e[i].name_len : 64), e[i].name);
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
		    i ? ", " : "", str_quote(nm, q, sizeof(q)));
	}
	snprintf(t->last, sizeof(t->last), "peers %zu/%d registered under token "
	    "%s (%s)", n, t->size, t->token, names);
	log_info("%s; waiting for the others", t->last);
	t->state = S_WAIT;
	t->retry_ms = RETRY_MIN_MS;
	t->wait_index = watch_from;
	step(t);
}

/* Registered, or someone holds the name: the listing tells which. */
static void
registered(struct tok *t, bool created)
{
	if (created)
		log_info("registered %s under token %s", t->value, t->token);
	t->state = S_LIST;
	step(t);
}

/* Something changed (or the watch ended): list again. */
static void
changed(struct tok *t)
{
	t->state = S_LIST;
	step(t);
}

/* ---- v2 keys layout --------------------------------------------------- */

/* Parses an answer, or deals with it: false when the caller is done. */
static bool
v2_answer(struct tok *t, const struct etcd_http_result *r, const char *what,
    struct etcd_v2_reply *v)
{
	char why[512], err[256];

	if (r->status == 0 || r->status >= 500) {
		if (r->status == 0)
			snprintf(why, sizeof(why), "discovery service unreachable: "
			    "%s %s: %s", what, t->url, r->error ? r->error :
			    "no answer");
		else
			snprintf(why, sizeof(why), "discovery service answers HTTP "
			    "%ld to %s %s", r->status, what, t->url);
		unreachable(t, why);
		return false;
	}
	if (r->status == 404 && (r->len == 0 || r->body[0] != '{')) {
		/* Not etcd's v2 "key not found" (JSON): no v2 API at all. */
		char *origin = url_origin(t->url);

		give_up(t, EXIT_PERMANENT,
		    "the discovery token URL %s needs etcd's v2 keys API, which "
		    "the etcd there does not serve (3.4 and 3.5 need --enable-v2, "
		    "3.6 and later have none); use v3 discovery instead: "
		    "discovery_endpoints = %s and discovery_token = %s", t->url,
		    origin ? origin : "(its client URL)", t->token);
		free(origin);
		return false;
	}
	if (etcd_v2_parse(r->body, r->len, v, err, sizeof(err)) < 0) {
		give_up(t, EXIT_PERMANENT,
		    "discovery service at %s gave a bad answer (HTTP "
		    "%ld): %s", t->url, r->status, err);
		return false;
	}
	return true;
}

static void
v2_reply(void *arg, const struct etcd_http_result *r)
{
	struct tok *t = arg;
	struct etcd_v2_reply v;

	t->req = 0;
	if (t->state == S_WAIT && (r->status != 0 && r->status < 500)) {
		/* Any change, or an index too old to watch from. */
		changed(t);
		return;
	}
	if (!v2_answer(t, r, t->state == S_REGISTER ? "PUT" : "GET", &v))
		return;
	switch (t->state) {
	case S_SIZE:
		if (v.error_code == ETCD_V2_KEY_NOT_FOUND)
			got_size(t, NULL, 0);
		else if (v.error_code != 0 || v.node.value == NULL)
			give_up(t, EXIT_PERMANENT,
			    "reading %s/_config/size: %s", t->url,
			    v.message ? v.message : "not a key with a value");
		else
			got_size(t, v.node.value, strlen(v.node.value));
		break;
	case S_LIST: {
		struct entry *e;
		size_t n = 0;

		if (v.error_code != 0) {
			give_up(t, EXIT_PERMANENT,
			    "listing %s: %s", t->url, v.message);
			break;
		}
		e = xcalloc(v.n + 1, sizeof(*e));
		/* _config and anything not "name=url" is not a member. */
		for (size_t i = 0; i < v.n; i++)
			if (!v.nodes[i].dir && entry_of(v.nodes[i].value,
			    (int64_t)v.nodes[i].created, &e[n]))
				n++;
		got_list(t, e, n, v.max_index + 1);
		free(e);
		break;
	}
	case S_REGISTER:
		if (v.error_code != 0 && v.error_code != ETCD_V2_NODE_EXIST)
			give_up(t, EXIT_PERMANENT,
			    "registering %s under %s: %s", t->name, t->url,
			    v.message);
		else
			registered(t, v.error_code == 0);
		break;
	default:
		break;
	}
	etcd_v2_reply_free(&v);
}

static void
v2_step(struct tok *t)
{
	char *url = NULL, *v;

	switch (t->state) {
	case S_SIZE:
		url = xasprintf("%s/_config/size", t->url);
		t->req = etcd_http_get(t->http, url, REQ_TIMEOUT_MS, v2_reply, t);
		break;
	case S_LIST:
		url = xasprintf("%s?recursive=true", t->url);
		t->req = etcd_http_get(t->http, url, REQ_TIMEOUT_MS, v2_reply, t);
		break;
	case S_REGISTER:
		v = url_escape(t->value);
		url = xasprintf("%s/%s?prevExist=false&value=%s", t->url, t->name,
		    v);
		free(v);
		t->req = etcd_http_put(t->http, url, REQ_TIMEOUT_MS, v2_reply, t);
		break;
	case S_WAIT:
		/* A watch has no timeout of its own; the deadline ends it. */
		url = xasprintf("%s?wait=true&recursive=true&waitIndex=%llu",
		    t->url, (unsigned long long)t->wait_index);
		t->req = etcd_http_get(t->http, url, 0, v2_reply, t);
		break;
	case S_DONE:
		break;
	}
	free(url);
}

/* ---- v3 layout -------------------------------------------------------- */

/* Deals with a failed v3 call; true when r was a failure. */
static bool
v3_failed(struct tok *t, const struct etcd_kv_result *r, const char *what)
{
	char why[600];

	if (r->error == NULL)
		return false;
	if (r->http_status == 0 || r->http_status >= 500 || r->grpc_code == 14) {
		snprintf(why, sizeof(why), "discovery service unreachable: %s: %s",
		    what, r->error);
		unreachable(t, why);
	} else {
		give_up(t, EXIT_PERMANENT,
		    "discovery service: %s: %s", what, r->error);
	}
	return true;
}

/* True when kv is what zooinit wrote before it used etcd's layout:
 * .../members/NAME = "NAME=URL". */
static bool
v3_old_layout(const struct tok *t, const struct etcd_kv_pair *kv)
{
	size_t pl = strlen(t->prefix), nl;

	if (kv->key_len <= pl + 1 || memcmp(kv->key, t->prefix, pl) != 0 ||
	    kv->key[pl] != '/')
		return false;
	nl = kv->key_len - pl - 1;
	return kv->value_len > nl && memcmp(kv->value, kv->key + pl + 1,
	    nl) == 0 && kv->value[nl] == '=';
}

/* Reads the entries etcd counts as members; one it cannot read ends the
 * protocol, never skipped, or zooinit and etcd could pick different first
 * size members. */
static void
v3_list(struct tok *t, const struct etcd_kv_result *r)
{
	struct etcd_member_entry *me;
	struct entry *e;
	size_t n = 0;
	char err[512], q[160];

	if (r->n_resp > 0 && r->resp[0].more) {
		give_up(t, EXIT_PERMANENT, "token %s holds more than %d "
		    "entries under %s; use a fresh token", t->token,
		    ETCD_V2_MAX_NODES, t->prefix);
		return;
	}
	me = xcalloc(r->n_kvs + 1, sizeof(*me));
	e = xcalloc(r->n_kvs + 1, sizeof(*e));
	for (size_t i = 0; i < r->n_kvs; i++) {
		const struct etcd_kv_pair *kv = &r->kvs[i];

		if (!etcd_member_counted(kv->value, kv->value_len))
			continue;
		if (etcd_member_entry_parse(t->token, kv->key, kv->key_len,
		    kv->value, kv->value_len, &me[n], err, sizeof(err)) < 0) {
			if (v3_old_layout(t, kv))
				give_up(t, EXIT_PERMANENT, "token %s holds \"%s\" "
				    "in zooinit's old layout (members/NAME); "
				    "zooinit now registers members/ID as etcd "
				    "3.6+ does: create a fresh token", t->token,
				    str_quote_n(kv->key, kv->key_len, q,
				    sizeof(q)));
			else
				give_up(t, EXIT_PERMANENT, "token %s: %s; etcd "
				    "counts it as a member, so zooinit cannot "
				    "tell who the first %d are: remove it or use "
				    "a fresh token", t->token, err, t->size);
			goto out;
		}
		e[n] = (struct entry){ .name = me[n].name,
		    .name_len = strlen(me[n].name), .url = me[n].peer_urls[0],
		    .urls = me[n].peer_urls, .n_urls = me[n].n_peer_urls,
		    .id = me[n].id, .created = kv->create_revision };
		n++;
	}
	got_list(t, e, n, (uint64_t)r->revision + 1);
out:
	for (size_t i = 0; i < n; i++)
		etcd_member_entry_free(&me[i]);
	free(me);
	free(e);
}

static void
v3_reply(void *arg, const struct etcd_kv_result *r)
{
	struct tok *t = arg;

	t->req = 0;
	switch (t->state) {
	case S_SIZE:
		if (v3_failed(t, r, "reading the size"))
			return;
		got_size(t, r->n_kvs > 0 ? r->kvs[0].value : NULL,
		    r->n_kvs > 0 ? r->kvs[0].value_len : 0);
		break;
	case S_LIST:
		if (!v3_failed(t, r, "listing the members"))
			v3_list(t, r);
		break;
	case S_REGISTER:
		if (v3_failed(t, r, "registering"))
			return;
		registered(t, r->succeeded);
		break;
	default:
		break;
	}
}

static void
v3_watch(void *arg, const struct etcd_kv_watch_update *u)
{
	struct tok *t = arg;

	if (u->kind == ETCD_KV_WATCH_CREATED)
		return;
	/* Events, or the end of the watch: either way, list again. */
	if (u->kind == ETCD_KV_WATCH_EVENTS)
		etcd_kv_cancel(t->kv, t->watch);
	t->watch = 0;
	changed(t);
}

static void
v3_step(struct tok *t)
{

	switch (t->state) {
	case S_SIZE:
		if (t->bad[0] != '\0') {
			give_up(t, EXIT_PERMANENT, "%s", t->bad);
			break;
		}
		t->req = etcd_kv_get(t->kv, t->size_key, strlen(t->size_key),
		    false, 1, v3_reply, t);
		break;
	case S_LIST:
		/* No trailing "/": etcd lists exactly this prefix. */
		t->req = etcd_kv_get(t->kv, t->prefix, strlen(t->prefix), true,
		    ETCD_V2_MAX_NODES, v3_reply, t);
		break;
	case S_REGISTER:
		t->req = etcd_kv_txn_create(t->kv, t->key, strlen(t->key),
		    t->value, strlen(t->value), 0, v3_reply, t);
		break;
	case S_WAIT:
		t->watch = etcd_kv_watch(t->kv, t->prefix, strlen(t->prefix),
		    true, (int64_t)t->wait_index, v3_watch, t);
		break;
	default:
		break;
	}
}

/* The v3 registration: this member's ID, key and value as etcd 3.6+
 * writes them; a reason in t->bad when there can be none. */
static void
v3_init(struct tok *t, const char *token)
{
	char *const urls[1] = { t->peer_url };
	char err[256];

	t->size_key = etcd_member_size_key(token);
	t->prefix = etcd_member_prefix(token);
	if (etcd_member_id(urls, 1, token, &t->id, err, sizeof(err)) == 0)
		t->value = etcd_member_value(t->name, urls, 1, err,
		    sizeof(err));
	if (t->value == NULL) {
		snprintf(t->bad, sizeof(t->bad), "cannot register %s=%s under "
		    "token %s: %s", t->name, t->peer_url, token, err);
		t->value = xstrdup("");
		return;
	}
	t->key = etcd_member_key(token, t->id);
}

static void
step(struct tok *t)
{
	if (t->kv != NULL)
		v3_step(t);
	else
		v2_step(t);
}

struct tok *
tok_start(struct loop *l, struct etcd_http *h, const struct tok_opts *o,
    tok_done_cb done, tok_unreachable_cb unreachable_cb, void *arg)
{
	struct tok *t = xcalloc(1, sizeof(*t));

	t->loop = l;
	t->http = h;
	if (o->url != NULL) {
		t->url = xstrdup(o->url);
		t->token = xstrdup(tok_name(o->url));
	} else {
		t->kv = etcd_kv_new(h, o->endpoints, o->n_endpoints);
		t->token = xstrdup(o->token);
	}
	t->name = xstrdup(o->name);
	t->peer_url = xstrdup(o->peer_url);
	if (t->kv != NULL)
		v3_init(t, o->token);
	else
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
	/* The callback never runs before tok_start() has returned. */
	if (t->bad[0] != '\0')
		t->timer = loop_timer(l, 0, on_retry, t);
	else
		step(t);
	return t;
}

char *
tok_cluster_token(const struct cfg *c)
{
	if (c->discovery != NULL)
		return xasprintf("zooinit-etcd-%s", tok_name(c->discovery));
	return xstrdup(c->discovery_token);
}

bool
tok_cluster_token_check(const struct cfg *c, char *err, size_t errlen)
{
	char q[160];

	if (c->discovery != NULL || c->token == NULL ||
	    strcmp(c->token, c->discovery_token) == 0)
		return true;
	snprintf(err, errlen, "token is set to \"%s\", but with v3 discovery "
	    "etcd takes the discovery token %s as the initial cluster token "
	    "of every member; leave token unset or set it to %s",
	    str_quote(c->token, q, sizeof(q)), c->discovery_token,
	    c->discovery_token);
	return false;
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
	cancel_io(t);
	loop_cancel(t->loop, t->timer);
	loop_cancel(t->loop, t->deadline_timer);
	etcd_kv_free(t->kv);
	free(t->prefix);
	free(t->size_key);
	free(t->key);
	free(t->token);
	free(t->url);
	free(t->name);
	free(t->peer_url);
	free(t->value);
	free(t);
}
