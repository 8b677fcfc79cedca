#include "lib/fmacros.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/exitcode.h"
#include "lib/loop.h"
#include "agent/plan.h"
#include "lib/proc.h"
#include "services/registry.h"
#include "agent/status.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/kv.h"

/* Each request gets REQ_TIMEOUT_MS; the member list comes first, then
 * every member and the service registry are asked at once, so the
 * command normally ends within two of them. DEADLINE_MS is a net under
 * those limits, not the plan. */
#define REQ_TIMEOUT_MS 3000
#define DEADLINE_MS 9000
#define CELL_MAX 64		/* longest untrusted string in a table cell */
#define SUMMARY_NAMES 8		/* names listed in the summary line */

struct status;

/* Phase 1: an endpoint asked for the member list. */
struct ep {
	struct status *s;
	char *base;		/* the URL as given, without trailing '/' */
	uint64_t req;		/* in flight; 0 when answered or cancelled */
	char *error;		/* why it gave no member list, or NULL */
};

/* Phase 2: one member of the list, asked for /health and its status. */
struct mem {
	struct status *s;
	const struct etcd_member *m;	/* borrowed from s->members */
	char *base;		/* first client URL without trailing '/' */
	uint64_t health_req, status_req;
	bool health_done, health_answered, health_ok;
	char *health_err;	/* short reason when not ok */
	bool status_done, have_status;
	struct etcd_status st;
	char *status_err;	/* short reason when no status */
	/* The verdict, set by judge(). */
	bool healthy, leader, self_status; /* self_status: st is its own */
	char *reason;		/* short, for the table; NULL when healthy */
	char *detail;		/* with the request, for JSON; NULL if healthy */
};

/* One service of the registry, as its keys say. */
struct svc {
	char *name;		/* bytes from etcd, NUL-terminated */
	size_t name_len;
	char *error;		/* why its keys do not parse, or NULL */
	unsigned size;		/* 0: not set yet */
	bool sealed;
	char leader[REG_IP_MAX]; /* "" when none */
	struct reg_node *nodes;	/* sealed set first, then by registration */
	size_t n_nodes;
};

struct status {
	const struct cfg *c;
	struct loop *loop;
	struct etcd_http *http;
	int64_t deadline;	/* loop_now_ms() time */
	uint64_t deadline_timer;
	int signo;		/* the signal that interrupted us, or 0 */

	struct ep *eps;
	size_t n_eps, eps_left;

	bool have_members;
	struct etcd_members members;
	struct mem *mems;	/* members.n of them, sorted by name */
	size_t pending;		/* phase 2 requests (and the registry
				 * read) in flight */

	/* The service registry: one prefix read on the endpoint that gave
	 * the member list, alongside phase 2. It is only reported: the
	 * exit code is about the etcd cluster. */
	struct etcd_kv *kv;
	char *reg_base;		/* that endpoint, borrowed from eps */
	bool reg_done;		/* answered, or failed */
	char *reg_error;	/* why it could not be read, or NULL */
	struct svc *svcs;	/* sorted by name */
	size_t n_svcs;

	uint64_t leader_id;	/* 0: no leader known */
	bool healthy;
};

/* ---- small helpers --------------------------------------------------- */

/* Returns a new copy of the n bytes at s fit for a terminal: bytes
 * outside printable ASCII (NUL too) become '?' (names and URLs come from
 * the network), and at most max bytes, the last three "..." when cut. */
static char *
clean_n(const char *s, size_t n, size_t max)
{
	char *o = xmalloc((n < max ? n : max) + 1);
	size_t k;

	for (k = 0; k < n && k < max; k++) {
		unsigned char ch = (unsigned char)s[k];

		o[k] = ch >= 0x20 && ch <= 0x7e ? (char)ch : '?';
	}
	if (n > max && max >= 3)
		memcpy(o + max - 3, "...", 3);
	o[k] = '\0';
	return o;
}

/* clean_n() of a string. */
static char *
clean(const char *s, size_t max)
{
	return clean_n(s, strlen(s), max);
}

/* Returns a new string: url without trailing slashes. */
static char *
trim_url(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return xstrndup(url, n);
}

/* Returns a new few-word reason for a transport error: curl's message
 * names the address and the milliseconds, a table wants "connection
 * refused". */
static char *
transport_reason(const char *e)
{
	static const int errs[] = {
		ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ECONNRESET,
	};

	if (strstr(e, "timed out") != NULL)
		return xasprintf("no answer within %d s",
		    REQ_TIMEOUT_MS / 1000);
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *t = strerror(errs[i]);

		if (strstr(e, t) != NULL) {
			char *o = xstrdup(t);

			if (o[0] >= 'A' && o[0] <= 'Z')
				o[0] = (char)(o[0] - 'A' + 'a');
			return o;
		}
	}
	return clean(e, 120);
}

/* Returns a new reason for an HTTP answer other than 200: the code, and
 * etcd's own message when it sent one. */
static char *
http_reason(const struct etcd_http_result *r)
{
	json_t *root = json_loadb(r->body, r->len, 0, NULL);
	json_t *msg = json_object_get(root, "message");
	char *o, *m;

	if (json_is_string(msg)) {
		m = clean(json_string_value(msg), 100);
		o = xasprintf("HTTP %ld: %s", r->status, m);
		free(m);
	} else
		o = xasprintf("HTTP %ld", r->status);
	json_decref(root);
	return o;
}

/* Returns a new JSON string of s (valid UTF-8 from jansson's own parser
 * in practice), or of its cleaned copy should jansson refuse it. */
static json_t *
jstr(const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL) {
		char *c = clean(s, strlen(s));

		v = json_string(c);
		free(c);
	}
	return v;
}

/* jstr() of n bytes that may hold NULs (JSON writes them as \u0000). */
static json_t *
jstrn(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);

	if (v == NULL) {
		char *c = clean_n(s, n, n);

		v = json_string(c);
		free(c);
	}
	return v;
}

static json_t *
jstrs(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

/* Writes bytes the way etcdctl does (SI units): "20 kB", "1.5 MB". */
static void
human_size(int64_t bytes, char *out, size_t outlen)
{
	static const char *const unit[] = {
		"B", "kB", "MB", "GB", "TB", "PB", "EB",
	};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1000) {
		snprintf(out, outlen, "%" PRId64 " B", bytes);
		return;
	}
	while (v >= 1000 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1000;
		u++;
	}
	snprintf(out, outlen, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* The name a member is called by in messages: its name, or its hex ID
 * while it has none (added but not started). Returns a new string. */
static char *
member_label(const struct etcd_member *m)
{
	if (m->name[0] != '\0')
		return clean(m->name, CELL_MAX);
	return xasprintf("%016" PRIx64, m->id);
}

static long
time_left(const struct status *s)
{
	int64_t left = s->deadline - loop_now_ms();

	if (left > REQ_TIMEOUT_MS)
		return REQ_TIMEOUT_MS;
	return left > 1 ? (long)left : 1;
}

/* ---- phase 2: every member --------------------------------------------- */

static void
mem_done(struct status *s)
{
	if (--s->pending == 0)
		loop_stop(s->loop, 0);
}

static void
on_health(void *arg, const struct etcd_http_result *r)
{
	struct mem *m = arg;
	char err[256];
	bool ok;

	m->health_req = 0;
	m->health_done = true;
	if (r->error != NULL) {
		m->health_err = transport_reason(r->error);
	} else if (etcd_parse_health(r->body, r->len, &ok, err,
	    sizeof(err)) < 0) {
		m->health_answered = true;
		m->health_err = r->status != 200 ? http_reason(r) :
		    clean(err, 120);
	} else {
		m->health_answered = true;
		m->health_ok = ok;
		if (!ok) {
			/* etcd 3.5+ says why; 3.4 only says "false". */
			json_t *root = json_loadb(r->body, r->len, 0, NULL);
			json_t *why = json_object_get(root, "reason");

			if (json_is_string(why) &&
			    json_string_length(why) > 0) {
				char *w = clean(json_string_value(why), 60);

				m->health_err = xasprintf("etcd reports "
				    "unhealthy: %s", w);
				free(w);
			} else
				m->health_err = xstrdup("etcd reports "
				    "unhealthy");
			json_decref(root);
		}
	}
	mem_done(m->s);
}

static void
on_status(void *arg, const struct etcd_http_result *r)
{
	struct mem *m = arg;
	char err[256];

	m->status_req = 0;
	m->status_done = true;
	if (r->error != NULL)
		m->status_err = transport_reason(r->error);
	else if (r->status != 200)
		m->status_err = http_reason(r);
	else if (etcd_parse_status(r->body, r->len, &m->st, err,
	    sizeof(err)) < 0)
		m->status_err = clean(err, 120);
	else
		m->have_status = true;
	mem_done(m->s);
}

static int
mem_cmp(const void *a, const void *b)
{
	const struct mem *x = a, *y = b;
	bool xe = x->m->name[0] == '\0', ye = y->m->name[0] == '\0';
	int c;

	/* Unstarted members (no name yet) last. */
	if (xe != ye)
		return xe ? 1 : -1;
	c = strcmp(x->m->name, y->m->name);
	if (c != 0)
		return c;
	return x->m->id < y->m->id ? -1 : x->m->id > y->m->id;
}

/* Asks every started member, at once, for /health and its status. */
static void
ask_every_member(struct status *s)
{
	size_t n = s->members.n;

	s->mems = xcalloc(n, sizeof(*s->mems));
	for (size_t i = 0; i < n; i++) {
		s->mems[i].s = s;
		s->mems[i].m = &s->members.v[i];
	}
	qsort(s->mems, n, sizeof(*s->mems), mem_cmp);
	for (size_t i = 0; i < n; i++) {
		struct mem *m = &s->mems[i];
		char *url;

		if (m->m->n_client_urls == 0)
			continue;	/* not started: nothing to ask */
		m->base = trim_url(m->m->client_urls[0]);
		url = xasprintf("%s/health", m->base);
		m->health_req = etcd_http_get(s->http, url, time_left(s),
		    on_health, m);
		free(url);
		url = xasprintf("%s/v3/maintenance/status", m->base);
		m->status_req = etcd_http_post_json(s->http, url, "{}",
		    time_left(s), on_status, m);
		free(url);
		s->pending += 2;
	}
	if (s->pending == 0)
		loop_stop(s->loop, 0);
}

/* ---- the service registry ---------------------------------------------- */

static int
svc_cmp(const void *a, const void *b)
{
	const struct svc *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Adds the service named by the n bytes at name, with the pairs kvs[0..k)
 * (all of its keys) as reg_parse() sees them. */
static void
add_service(struct status *s, struct reg_view *v, const char *name,
    size_t n, const struct etcd_kv_pair *kvs, size_t k, int64_t revision)
{
	struct svc *sv;
	char err[512];

	s->svcs = xreallocarray(s->svcs, s->n_svcs + 1, sizeof(*s->svcs));
	sv = &s->svcs[s->n_svcs++];
	memset(sv, 0, sizeof(*sv));
	sv->name = xmalloc(n + 1);	/* not xstrndup(): it stops at a NUL */
	memcpy(sv->name, name, n);
	sv->name[n] = '\0';
	sv->name_len = n;
	/* reg_parse() takes a C string: such a name would read as another
	 * service's (or none). zooinit never writes one. */
	if (memchr(name, '\0', n) != NULL) {
		sv->error = xstrdup("the service name holds a NUL byte");
		return;
	}
	if (reg_parse(sv->name, kvs, k, revision, v, err, sizeof(err)) < 0) {
		sv->error = xstrdup(err);
		return;
	}
	sv->size = v->size;
	sv->sealed = v->sealed;
	memcpy(sv->leader, v->leader, sizeof(sv->leader));
	sv->n_nodes = v->n_nodes;
	sv->nodes = xcalloc(v->n_nodes > 0 ? v->n_nodes : 1,
	    sizeof(*sv->nodes));
	memcpy(sv->nodes, v->nodes, v->n_nodes * sizeof(*sv->nodes));
}

/* Splits a read of REG_ROOT into services. etcd answers sorted by key,
 * so each service's keys ("REG_ROOT<name>/...") come in one run; a key
 * right under REG_ROOT belongs to no service and is skipped. What is
 * kept is bounded by the answer, which etcd/http.h caps. */
static void
on_registry(void *arg, const struct etcd_kv_result *r)
{
	struct status *s = arg;
	const size_t root = strlen(REG_ROOT);
	struct reg_view *v;
	size_t i = 0;

	s->reg_done = true;
	if (r->error != NULL) {
		s->reg_error = xstrdup(r->error);
		mem_done(s);
		return;
	}
	v = xmalloc(sizeof(*v));
	while (i < r->n_kvs) {
		const struct etcd_kv_pair *p = &r->kvs[i];
		const char *name = p->key + root, *slash;
		size_t k;

		slash = p->key_len > root && memcmp(p->key, REG_ROOT,
		    root) == 0 ? memchr(name, '/', p->key_len - root) : NULL;
		if (slash == NULL) {
			i++;
			continue;
		}
		/* The run of keys with the same "<name>/". */
		for (k = i + 1; k < r->n_kvs; k++) {
			const struct etcd_kv_pair *q = &r->kvs[k];

			if (q->key_len <= (size_t)(slash - p->key) ||
			    memcmp(q->key, p->key, (size_t)(slash - p->key) +
			    1) != 0)
				break;
		}
		add_service(s, v, name, (size_t)(slash - name), p, k - i,
		    r->revision);
		i = k;
	}
	free(v);
	if (s->n_svcs > 0)
		qsort(s->svcs, s->n_svcs, sizeof(*s->svcs), svc_cmp);
	mem_done(s);
}

/* Reads every key under REG_ROOT from base, the endpoint that answered
 * the member list. */
static void
ask_registry(struct status *s, char *base)
{
	char *const eps[1] = { base };

	s->reg_base = base;
	s->kv = etcd_kv_new(s->http, eps, 1);
	etcd_kv_set_timeout(s->kv, time_left(s));
	etcd_kv_get(s->kv, REG_ROOT, strlen(REG_ROOT), true, 0, on_registry,
	    s);
	s->pending++;
}

/* ---- phase 1: the member list ------------------------------------------ */

static void
on_members(void *arg, const struct etcd_http_result *r)
{
	struct ep *e = arg;
	struct status *s = e->s;
	char err[256];

	e->req = 0;
	if (r->error != NULL)
		e->error = transport_reason(r->error);
	else if (r->status != 200)
		e->error = http_reason(r);
	else if (etcd_parse_members(r->body, r->len, &s->members, err,
	    sizeof(err)) < 0)
		e->error = clean(err, 160);
	else {
		/* The first good answer is the one: the others are not
		 * needed any more. */
		s->have_members = true;
		for (size_t i = 0; i < s->n_eps; i++) {
			etcd_http_cancel(s->http, s->eps[i].req);
			s->eps[i].req = 0;
		}
		ask_registry(s, e->base);
		ask_every_member(s);
		return;
	}
	if (--s->eps_left == 0)
		loop_stop(s->loop, 0);
}

static void
ask_endpoints(struct status *s)
{
	for (size_t i = 0; i < s->n_eps; i++) {
		struct ep *e = &s->eps[i];
		char *url = xasprintf("%s/v3/cluster/member/list", e->base);

		e->req = etcd_http_post_json(s->http, url, "{}", time_left(s),
		    on_members, e);
		free(url);
	}
	s->eps_left = s->n_eps;
}

/* ---- the verdict ------------------------------------------------------- */

static void
set_reason(struct mem *m, char *reason, char *detail)
{
	m->healthy = false;
	m->reason = reason;
	m->detail = detail != NULL ? detail : xstrdup(reason);
}

static void
judge_member(struct status *s, struct mem *m)
{
	const struct etcd_status *st = &m->st;

	m->self_status = m->have_status && st->member_id == m->m->id;
	m->healthy = true;
	if (m->base == NULL) {
		set_reason(m, xstrdup("unstarted"), xstrdup("unstarted: the "
		    "member was added but has not started (no client URL)"));
	} else if (!m->health_done) {
		set_reason(m, xstrdup("no answer in time"), xasprintf(
		    "GET %s/health: no answer within %d s", m->base,
		    DEADLINE_MS / 1000));
	} else if (!m->health_answered) {
		set_reason(m, xstrdup(m->health_err), xasprintf(
		    "GET %s/health: %s", m->base, m->health_err));
	} else if (m->have_status && !m->self_status) {
		set_reason(m, xasprintf("answers as member %016" PRIx64,
		    st->member_id), xasprintf("%s answers as member %016"
		    PRIx64 ", not as %016" PRIx64, m->base, st->member_id,
		    m->m->id));
	} else if (m->have_status &&
	    st->cluster_id != s->members.cluster_id) {
		set_reason(m, xasprintf("in cluster %016" PRIx64,
		    st->cluster_id), xasprintf("%s belongs to cluster %016"
		    PRIx64 ", not %016" PRIx64, m->base, st->cluster_id,
		    s->members.cluster_id));
	} else if (m->have_status && st->leader == 0) {
		set_reason(m, xstrdup("no leader"), xasprintf("%s knows no "
		    "leader", m->base));
	} else if (!m->health_ok) {
		set_reason(m, xstrdup(m->health_err), xasprintf(
		    "GET %s/health: %s", m->base, m->health_err));
	} else if (!m->status_done) {
		set_reason(m, xstrdup("no answer in time"), xasprintf(
		    "POST %s/v3/maintenance/status: no answer within %d s",
		    m->base, DEADLINE_MS / 1000));
	} else if (!m->have_status) {
		set_reason(m, xstrdup(m->status_err), xasprintf(
		    "POST %s/v3/maintenance/status: %s", m->base,
		    m->status_err));
	}
}

/* The leader is the one most members report; a tie goes to the report
 * with the higher raft term (the newer election), then the lower ID. */
static uint64_t
pick_leader(const struct status *s)
{
	uint64_t best = 0, best_term = 0;
	size_t best_votes = 0;

	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *a = &s->mems[i];
		uint64_t term = 0;
		size_t votes = 0;

		if (!a->self_status || a->st.leader == 0 ||
		    a->st.cluster_id != s->members.cluster_id)
			continue;
		for (size_t j = 0; j < s->members.n; j++) {
			const struct mem *b = &s->mems[j];

			if (b->self_status && b->st.leader == a->st.leader &&
			    b->st.cluster_id == s->members.cluster_id) {
				votes++;
				if (b->st.raft_term > term)
					term = b->st.raft_term;
			}
		}
		if (votes > best_votes ||
		    (votes == best_votes && term > best_term) ||
		    (votes == best_votes && term == best_term &&
		    a->st.leader < best)) {
			best = a->st.leader;
			best_votes = votes;
			best_term = term;
		}
	}
	return best;
}

static void
judge(struct status *s)
{
	s->healthy = true;
	for (size_t i = 0; i < s->members.n; i++)
		judge_member(s, &s->mems[i]);
	s->leader_id = pick_leader(s);
	if (s->leader_id == 0)
		s->healthy = false;
	for (size_t i = 0; i < s->members.n; i++) {
		struct mem *m = &s->mems[i];

		m->leader = s->leader_id != 0 && m->m->id == s->leader_id;
		if (!m->healthy && !m->m->learner)
			s->healthy = false;
	}
}

/* Returns a new string: the leader's name, its hex ID when it has no name
 * or is not in the list, or NULL when no leader is known. */
static char *
leader_label(const struct status *s)
{
	if (s->leader_id == 0)
		return NULL;
	for (size_t i = 0; i < s->members.n; i++)
		if (s->mems[i].m->id == s->leader_id)
			return member_label(s->mems[i].m);
	return xasprintf("%016" PRIx64, s->leader_id);
}

/* ---- output ------------------------------------------------------------ */

enum { C_NAME, C_ID, C_ROLE, C_LEADER, C_HEALTH, C_VERSION, C_DB, C_PEER,
	C_CLIENT, NCOL };

/* One line of the table; the last column is not padded. */
static void
print_row(FILE *out, const char *const *cells, const size_t *w)
{
	for (size_t c = 0; c + 1 < NCOL; c++)
		fprintf(out, "%-*s  ", (int)w[c], cells[c]);
	fprintf(out, "%s\n", cells[NCOL - 1]);
}

static void
print_table(const struct status *s, FILE *out)
{
	static const char *const head[NCOL] = {
		"NAME", "ID", "ROLE", "LEADER", "HEALTH", "VERSION", "DB SIZE",
		"PEER URL", "CLIENT URL",
	};
	size_t n = s->members.n;
	char *(*cell)[NCOL] = xcalloc(n, sizeof(*cell));
	size_t w[NCOL];

	for (size_t c = 0; c < NCOL; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		const struct mem *m = &s->mems[i];
		const struct etcd_member *e = m->m;
		char size[32], *urls;

		cell[i][C_NAME] = e->name[0] != '\0' ?
		    clean(e->name, CELL_MAX) : xstrdup("-");
		cell[i][C_ID] = xasprintf("%016" PRIx64, e->id);
		cell[i][C_ROLE] = xstrdup(e->learner ? "learner" : "voter");
		cell[i][C_LEADER] = xstrdup(m->leader ? "*" : "");
		if (m->healthy)
			cell[i][C_HEALTH] = xstrdup("healthy");
		else if (m->base == NULL)
			cell[i][C_HEALTH] = xstrdup("unstarted");
		else
			cell[i][C_HEALTH] = xasprintf("unhealthy: %s",
			    m->reason);
		if (m->self_status) {
			human_size(m->st.db_size, size, sizeof(size));
			cell[i][C_VERSION] = clean(m->st.version, CELL_MAX);
			cell[i][C_DB] = xstrdup(size);
		} else {
			cell[i][C_VERSION] = xstrdup("-");
			cell[i][C_DB] = xstrdup("-");
		}
		urls = xjoin(e->peer_urls, e->n_peer_urls, ",");
		cell[i][C_PEER] = urls[0] != '\0' ?
		    clean(urls, 2 * CELL_MAX) : xstrdup("-");
		free(urls);
		urls = xjoin(e->client_urls, e->n_client_urls, ",");
		cell[i][C_CLIENT] = urls[0] != '\0' ?
		    clean(urls, 2 * CELL_MAX) : xstrdup("-");
		free(urls);
		for (size_t c = 0; c < NCOL; c++)
			if (strlen(cell[i][c]) > w[c])
				w[c] = strlen(cell[i][c]);
	}
	print_row(out, (const char *const *)head, w);
	for (size_t i = 0; i < n; i++) {
		print_row(out, (const char *const *)cell[i], w);
		for (size_t c = 0; c < NCOL; c++)
			free(cell[i][c]);
	}
	free(cell);
}

/* "cluster ID: 3 members (3 voters), leader h2, healthy", or with
 * "unhealthy: " and what is wrong. */
static void
print_summary(const struct status *s, FILE *out)
{
	size_t voters = 0, learners = 0, bad = 0, listed = 0;
	char *leader = leader_label(s);

	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *m = &s->mems[i];

		if (m->m->learner)
			learners++;
		else {
			voters++;
			if (!m->healthy)
				bad++;
		}
	}
	fprintf(out, "cluster %016" PRIx64 ": %zu member%s (%zu voter%s",
	    s->members.cluster_id, s->members.n, s->members.n == 1 ? "" : "s",
	    voters, voters == 1 ? "" : "s");
	if (learners > 0)
		fprintf(out, ", %zu learner%s", learners,
		    learners == 1 ? "" : "s");
	if (leader != NULL)
		fprintf(out, "), leader %s, ", leader);
	else
		fprintf(out, "), no leader, ");
	free(leader);
	if (s->healthy) {
		fprintf(out, "healthy\n");
		return;
	}
	fprintf(out, "unhealthy: ");
	if (s->leader_id == 0)
		fprintf(out, "no leader is known%s", bad > 0 ? "; " : "");
	if (bad > 0)
		fprintf(out, "voter%s ", bad == 1 ? "" : "s");
	for (size_t i = 0; i < s->members.n && bad > 0; i++) {
		const struct mem *m = &s->mems[i];
		char *name;

		if (m->m->learner || m->healthy)
			continue;
		if (listed == SUMMARY_NAMES) {
			fprintf(out, ", ...");
			break;
		}
		name = member_label(m->m);
		fprintf(out, "%s%s", listed > 0 ? ", " : "", name);
		free(name);
		listed++;
	}
	if (bad > 0)
		fprintf(out, " %s not healthy", bad == 1 ? "is" : "are");
	fprintf(out, "\n");
}

/* A node's role: in the sealed set or not; before the seal, neither. */
static const char *
node_role(const struct svc *sv, const struct reg_node *nd)
{
	if (!sv->sealed)
		return NULL;
	return nd->participant ? "participant" : "standby";
}

enum { S_ID, S_ADDR, S_ROLE, S_REG, S_STARTED, S_BOOTED, SNCOL };

/* One service: a line, then its nodes as a table like the members'. */
static void
print_service(const struct svc *sv, FILE *out)
{
	static const char *const head[SNCOL] = {
		"ID", "ADDRESS", "ROLE", "REGISTERED", "STARTED", "BOOTED",
	};
	char *name = sv->name_len > 0 ? clean_n(sv->name, sv->name_len,
	    CELL_MAX) : xstrdup("-");
	char *(*cell)[SNCOL];
	size_t w[SNCOL];

	if (sv->error != NULL) {
		char *e = clean(sv->error, 4 * CELL_MAX);

		fprintf(out, "service %s: registry unreadable: %s\n", name, e);
		free(e);
		free(name);
		return;
	}
	fprintf(out, "service %s: ", name);
	free(name);
	if (sv->size > 0)
		fprintf(out, "size %u, ", sv->size);
	else
		fprintf(out, "no size yet, ");
	fprintf(out, "%s, ", sv->sealed ? "sealed" : "not sealed");
	if (sv->leader[0] != '\0')
		fprintf(out, "leader %s\n", sv->leader);
	else
		fprintf(out, "no leader\n");
	if (sv->n_nodes == 0)
		return;
	cell = xcalloc(sv->n_nodes, sizeof(*cell));
	for (size_t c = 0; c < SNCOL; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < sv->n_nodes; i++) {
		const struct reg_node *nd = &sv->nodes[i];
		const char *role = node_role(sv, nd);

		cell[i][S_ID] = nd->id > 0 ? xasprintf("%u", nd->id) :
		    xstrdup("-");
		cell[i][S_ADDR] = xstrdup(nd->ip);
		cell[i][S_ROLE] = xstrdup(role != NULL ? role : "-");
		cell[i][S_REG] = xstrdup(nd->alive ? "yes" : "no");
		cell[i][S_STARTED] = xstrdup(nd->started ? "yes" : "no");
		cell[i][S_BOOTED] = xstrdup(nd->booted ? "yes" : "no");
		for (size_t c = 0; c < SNCOL; c++)
			if (strlen(cell[i][c]) > w[c])
				w[c] = strlen(cell[i][c]);
	}
	for (size_t i = 0; i <= sv->n_nodes; i++) {
		const char *const *row = i == 0 ? head :
		    (const char *const *)cell[i - 1];

		fprintf(out, "  ");
		for (size_t c = 0; c + 1 < SNCOL; c++)
			fprintf(out, "%-*s  ", (int)w[c], row[c]);
		fprintf(out, "%s\n", row[SNCOL - 1]);
	}
	for (size_t i = 0; i < sv->n_nodes; i++)
		for (size_t c = 0; c < SNCOL; c++)
			free(cell[i][c]);
	free(cell);
}

/* After the cluster: each service, or why the registry could not be read;
 * nothing when no service has keys. */
static void
print_services(const struct status *s, FILE *out)
{
	if (s->reg_error != NULL) {
		char *e = clean(s->reg_error, 4 * CELL_MAX);

		fprintf(out, "\nservices: registry unreadable: %s\n", e);
		free(e);
		return;
	}
	for (size_t i = 0; i < s->n_svcs; i++) {
		fprintf(out, "\n");
		print_service(&s->svcs[i], out);
	}
}

static json_t *
json_service(const struct svc *sv)
{
	json_t *j = json_object(), *a;

	json_object_set_new(j, "name", jstrn(sv->name, sv->name_len));
	if (sv->error != NULL) {
		json_object_set_new(j, "error", jstr(sv->error));
		return j;
	}
	json_object_set_new(j, "size", sv->size > 0 ?
	    json_integer(sv->size) : json_null());
	json_object_set_new(j, "sealed", json_boolean(sv->sealed));
	json_object_set_new(j, "leader", sv->leader[0] != '\0' ?
	    json_string(sv->leader) : json_null());
	a = json_array();
	for (size_t i = 0; i < sv->n_nodes; i++) {
		const struct reg_node *nd = &sv->nodes[i];
		const char *role = node_role(sv, nd);
		json_t *n = json_object();

		json_object_set_new(n, "id", nd->id > 0 ?
		    json_integer(nd->id) : json_null());
		json_object_set_new(n, "ip", json_string(nd->ip));
		json_object_set_new(n, "role", role != NULL ?
		    json_string(role) : json_null());
		json_object_set_new(n, "registered", json_boolean(nd->alive));
		json_object_set_new(n, "started", json_boolean(nd->started));
		json_object_set_new(n, "booted", json_boolean(nd->booted));
		json_array_append_new(a, n);
	}
	json_object_set_new(j, "nodes", a);
	json_object_set_new(j, "error", json_null());
	return j;
}

static void
print_json(const struct status *s, FILE *out)
{
	json_t *o = json_object(), *a = json_array();
	char *leader = leader_label(s), *text;
	char id[24];

	snprintf(id, sizeof(id), "%016" PRIx64, s->members.cluster_id);
	json_object_set_new(o, "cluster_id", json_string(id));
	json_object_set_new(o, "healthy", json_boolean(s->healthy));
	json_object_set_new(o, "leader", leader != NULL ? jstr(leader) :
	    json_null());
	free(leader);
	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *m = &s->mems[i];
		const struct etcd_member *e = m->m;
		json_t *j = json_object();

		snprintf(id, sizeof(id), "%016" PRIx64, e->id);
		json_object_set_new(j, "name", jstr(e->name));
		json_object_set_new(j, "id", json_string(id));
		json_object_set_new(j, "learner", json_boolean(e->learner));
		json_object_set_new(j, "leader", json_boolean(m->leader));
		json_object_set_new(j, "healthy", json_boolean(m->healthy));
		json_object_set_new(j, "error", m->detail != NULL ?
		    jstr(m->detail) : json_null());
		json_object_set_new(j, "version", m->self_status ?
		    jstr(m->st.version) : json_null());
		json_object_set_new(j, "db_size", m->self_status ?
		    json_integer(m->st.db_size) : json_null());
		json_object_set_new(j, "peer_urls",
		    jstrs(e->peer_urls, e->n_peer_urls));
		json_object_set_new(j, "client_urls",
		    jstrs(e->client_urls, e->n_client_urls));
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "members", a);
	/* Always a list, empty when the registry could not be read:
	 * services_error says so. */
	a = json_array();
	for (size_t i = 0; i < s->n_svcs; i++)
		json_array_append_new(a, json_service(&s->svcs[i]));
	json_object_set_new(o, "services", a);
	json_object_set_new(o, "services_error", s->reg_error != NULL ?
	    jstr(s->reg_error) : json_null());
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		abort();	/* only on allocation failure */
	fprintf(out, "%s\n", text);
	free(text);
}

/* The sentence for "no endpoint answered": each endpoint and why. */
static void
print_no_answer(const struct status *s)
{
	fprintf(stderr, "zooinit status: no etcd endpoint answered the member "
	    "list (");
	for (size_t i = 0; i < s->n_eps; i++) {
		const struct ep *e = &s->eps[i];
		char *b = clean(e->base, 2 * CELL_MAX);

		fprintf(stderr, "%s%s: %s", i > 0 ? ", " : "", b,
		    e->error != NULL ? e->error : "no answer in time");
		free(b);
	}
	fprintf(stderr, "); check that etcd runs there, or pass --endpoints "
	    "with a running member's client URL\n");
}

/* ---- setup ------------------------------------------------------------- */

static void
on_signal(struct loop *l, int fd, int events, void *arg)
{
	struct status *s = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		/* No children here; USR1/USR2 mean nothing to us. */
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
		    sig == SIGQUIT) {
			s->signo = sig;
			loop_stop(l, 0);
		}
	}
}

static void
on_deadline(struct loop *l, void *arg)
{
	struct status *s = arg;

	s->deadline_timer = 0;
	loop_stop(l, 0);
}

/* Fills s->eps from --endpoints, or from this host's journal. Returns 0,
 * or an exit code with the sentence printed. */
static int
pick_endpoints(struct status *s)
{
	const struct cfg *c = s->c;
	struct plan p;
	char err[768];
	int rc;

	if (c->n_endpoints > 0) {
		s->n_eps = c->n_endpoints;
		s->eps = xcalloc(s->n_eps, sizeof(*s->eps));
		for (size_t i = 0; i < s->n_eps; i++) {
			s->eps[i].s = s;
			s->eps[i].base = trim_url(c->endpoints[i]);
		}
		return 0;
	}
	rc = plan_journal_read(c, &p, err, sizeof(err));
	if (rc > 0) {
		fprintf(stderr, "zooinit status: no endpoint to ask: pass "
		    "--endpoints URL[,URL] (or ZOOINIT_ENDPOINTS), or run it "
		    "on a member host whose --data-dir (now %s) holds "
		    "zooinit's journal %s\n", c->data_dir, PLAN_JOURNAL);
		return EXIT_USAGE;
	}
	if (rc < 0) {
		fprintf(stderr, "zooinit status: cannot take this host's "
		    "client URL from the journal (or pass --endpoints): %s\n",
		    err);
		return EXIT_USAGE;
	}
	s->n_eps = 1;
	s->eps = xcalloc(1, sizeof(*s->eps));
	s->eps[0].s = s;
	s->eps[0].base = trim_url(p.m[p.self].client_url);
	plan_free(&p);
	return 0;
}

static void
status_free(struct status *s)
{
	for (size_t i = 0; i < s->n_eps; i++) {
		free(s->eps[i].base);
		free(s->eps[i].error);
	}
	free(s->eps);
	for (size_t i = 0; s->mems != NULL && i < s->members.n; i++) {
		struct mem *m = &s->mems[i];

		free(m->base);
		free(m->health_err);
		free(m->status_err);
		free(m->reason);
		free(m->detail);
	}
	free(s->mems);
	etcd_members_free(&s->members);
	for (size_t i = 0; i < s->n_svcs; i++) {
		free(s->svcs[i].name);
		free(s->svcs[i].error);
		free(s->svcs[i].nodes);
	}
	free(s->svcs);
	free(s->reg_error);
}

int
status_run(const struct cfg *c)
{
	struct status s = { .c = c };
	char err[256];
	int sigfd, code;

	code = pick_endpoints(&s);
	if (code != 0) {
		status_free(&s);
		return code;
	}
	sigfd = proc_signals_init(err, sizeof(err));
	if (sigfd < 0) {
		fprintf(stderr, "zooinit status: %s\n", err);
		status_free(&s);
		return EXIT_INTERNAL;
	}
	/* Signals are blocked first so that any thread libcurl starts (its
	 * threaded resolver, for endpoints given by name) inherits the mask
	 * and never takes them. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s.loop = loop_new();
	s.http = etcd_http_new(s.loop);
	etcd_http_set_tls(s.http, c->trusted_ca_file,
	    c->client_cert_auth == CFG_ON ? c->cert_file : NULL,
	    c->client_cert_auth == CFG_ON ? c->key_file : NULL);
	loop_watch(s.loop, sigfd, LOOP_READ, on_signal, &s);
	s.deadline = loop_now_ms() + DEADLINE_MS;
	s.deadline_timer = loop_timer(s.loop, DEADLINE_MS, on_deadline, &s);

	ask_endpoints(&s);
	loop_run(s.loop);

	/* Whatever is still in flight is dropped without its callback. */
	etcd_kv_free(s.kv);
	s.kv = NULL;
	etcd_http_free(s.http);
	s.http = NULL;
	if (s.reg_base != NULL && !s.reg_done)
		s.reg_error = xasprintf("POST %s/v3/kv/range: no answer "
		    "within %d s", s.reg_base, DEADLINE_MS / 1000);
	if (s.signo != 0) {
		fprintf(stderr, "zooinit status: interrupted by SIG%s\n",
		    sigabbrev_np(s.signo));
		code = 128 + s.signo;
	} else if (!s.have_members) {
		print_no_answer(&s);
		code = EXIT_TEMPORARY;
	} else {
		judge(&s);
		if (c->json)
			print_json(&s, stdout);
		else {
			print_table(&s, stdout);
			print_summary(&s, stdout);
			print_services(&s, stdout);
		}
		code = s.healthy ? EXIT_OK : STATUS_UNHEALTHY;
	}
	if (fflush(stdout) != 0 && code == EXIT_OK) {
		fprintf(stderr, "zooinit status: cannot write the output: "
		    "%s\n", strerror(errno));
		code = EXIT_INTERNAL;
	}
	loop_cancel(s.loop, s.deadline_timer);
	loop_unwatch(s.loop, sigfd);
	loop_free(s.loop);
	close(sigfd);
	curl_global_cleanup();
	status_free(&s);
	return code;
}
