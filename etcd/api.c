#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/loop.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/json.h"

/* Reads the answer's header: its cluster_id and member_id, both required.
 * A missing header means the gateway answered with an error object. */
static int
get_header(const char *what, json_t *root, uint64_t *cluster_id,
    uint64_t *member_id, char *err, size_t errlen)
{
	json_t *hdr = json_object_get(root, "header");

	/* The gateway answers failed RPCs with {"error","message","code"};
	 * say that rather than "missing header". */
	if (hdr == NULL) {
		if (ej_etcd_error(what, root, err, errlen) < 0)
			str_seterr(err, errlen, "%s: no \"header\" object in the "
			    "answer", what);
		return -1;
	}
	if (!json_is_object(hdr)) {
		str_seterr(err, errlen, "%s: \"header\" should be an object, "
		    "found %s", what, ej_type_name(hdr));
		return -1;
	}
	if (ej_get_u64(what, hdr, "cluster_id", true, UINT64_MAX, cluster_id,
	    err, errlen) < 0 ||
	    ej_get_u64(what, hdr, "member_id", true, UINT64_MAX, member_id,
	    err, errlen) < 0)
		return -1;
	return 0;
}

/* Reads obj[key] as a string without NUL bytes; a missing key is "" unless
 * required. *out is borrowed from obj. */
static int
get_str(const char *what, json_t *obj, const char *key, bool required,
    const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		if (required) {
			str_seterr(err, errlen, "%s: missing \"%s\"", what, key);
			return -1;
		}
		*out = "";
		return 0;
	}
	if (!json_is_string(v)) {
		str_seterr(err, errlen, "%s: \"%s\" should be a string, found %s",
		    what, key, ej_type_name(v));
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		str_seterr(err, errlen, "%s: \"%s\" contains a NUL byte", what,
		    key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* Reads obj[key], an optional array of at most ETCD_MAX_MEMBER_URLS
 * strings, into a new array of new strings. *v and *n stay consistent at
 * every step so that a failure midway is freed by etcd_members_free(). */
static int
get_urls(const char *what, json_t *obj, const char *key, char ***v, size_t *n,
    char *err, size_t errlen)
{
	json_t *a = json_object_get(obj, key);
	size_t size;

	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		str_seterr(err, errlen, "%s: \"%s\" should be an array of URLs, "
		    "found %s", what, key, ej_type_name(a));
		return -1;
	}
	size = json_array_size(a);
	if (size > ETCD_MAX_MEMBER_URLS) {
		str_seterr(err, errlen, "%s: \"%s\" lists %zu URLs, more than the "
		    "%d supported", what, key, size, ETCD_MAX_MEMBER_URLS);
		return -1;
	}
	if (size == 0)
		return 0;
	*v = xcalloc(size, sizeof(**v));
	for (size_t i = 0; i < size; i++) {
		json_t *u = json_array_get(a, i);

		if (!json_is_string(u) || json_string_length(u) == 0 ||
		    strlen(json_string_value(u)) != json_string_length(u)) {
			str_seterr(err, errlen, "%s: \"%s\"[%zu] should be a "
			    "non-empty string, found %s", what, key, i,
			    json_is_string(u) ? "an empty or NUL-holding one" :
			    ej_type_name(u));
			return -1;
		}
		(*v)[i] = xstrdup(json_string_value(u));
		*n = i + 1;
	}
	return 0;
}

static int
parse_member(json_t *o, size_t i, struct etcd_member *m, char *err,
    size_t errlen)
{
	char what[48];
	const char *name;

	snprintf(what, sizeof(what), "member list: member %zu", i);
	if (!json_is_object(o)) {
		str_seterr(err, errlen, "%s should be an object, found %s", what,
		    ej_type_name(o));
		return -1;
	}
	if (ej_get_u64(what, o, "ID", true, UINT64_MAX, &m->id, err,
	    errlen) < 0)
		return -1;
	if (m->id == 0) {
		str_seterr(err, errlen, "%s: \"ID\" is 0, which no member has",
		    what);
		return -1;
	}
	/* A member added but not started yet has no name and no client
	 * URLs; that is normal, not an error. */
	if (get_str(what, o, "name", false, &name, err, errlen) < 0)
		return -1;
	m->name = xstrdup(name);
	if (get_urls(what, o, "peerURLs", &m->peer_urls, &m->n_peer_urls,
	    err, errlen) < 0)
		return -1;
	if (get_urls(what, o, "clientURLs", &m->client_urls,
	    &m->n_client_urls, err, errlen) < 0)
		return -1;
	return ej_get_bool(what, o, "isLearner", &m->learner, err, errlen);
}

bool
etcd_member_has_peer_url(const struct etcd_member *m, const char *url)
{
	for (size_t k = 0; k < m->n_peer_urls; k++)
		if (strcmp(m->peer_urls[k], url) == 0)
			return true;
	return false;
}

void
etcd_members_free(struct etcd_members *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct etcd_member *e = &m->v[i];

		free(e->name);
		for (size_t j = 0; j < e->n_peer_urls; j++)
			free(e->peer_urls[j]);
		free(e->peer_urls);
		for (size_t j = 0; j < e->n_client_urls; j++)
			free(e->client_urls[j]);
		free(e->client_urls);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

int
etcd_parse_members(const char *body, size_t len, struct etcd_members *out,
    char *err, size_t errlen)
{
	const char *what = "member list";
	struct etcd_members m = { 0 };
	json_t *root, *a;
	size_t size;

	root = ej_load(what, body, len, err, errlen);
	if (root == NULL)
		return -1;
	if (get_header(what, root, &m.cluster_id, &m.member_id, err,
	    errlen) < 0)
		goto fail;
	a = json_object_get(root, "members");
	if (a != NULL && !json_is_array(a)) {
		str_seterr(err, errlen, "%s: \"members\" should be an array, "
		    "found %s", what, ej_type_name(a));
		goto fail;
	}
	/* The answering member always lists itself, so an empty list means
	 * this is not a member list. */
	size = a != NULL ? json_array_size(a) : 0;
	if (size == 0) {
		str_seterr(err, errlen, "%s: no members listed", what);
		goto fail;
	}
	if (size > ETCD_MAX_MEMBERS) {
		str_seterr(err, errlen, "%s: %zu members, more than the %d "
		    "supported", what, size, ETCD_MAX_MEMBERS);
		goto fail;
	}
	m.v = xcalloc(size, sizeof(*m.v));
	for (size_t i = 0; i < size; i++) {
		m.n = i + 1;
		if (parse_member(json_array_get(a, i), i, &m.v[i], err,
		    errlen) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (m.v[j].id == m.v[i].id) {
				str_seterr(err, errlen, "%s: members %zu and %zu "
				    "have the same ID %" PRIu64, what, j, i,
				    m.v[i].id);
				goto fail;
			}
		}
	}
	json_decref(root);
	*out = m;
	return 0;
fail:
	etcd_members_free(&m);
	json_decref(root);
	return -1;
}

int
etcd_parse_status(const char *body, size_t len, struct etcd_status *out,
    char *err, size_t errlen)
{
	const char *what = "status";
	struct etcd_status st;
	json_t *root, *errs;
	const char *ver;
	uint64_t db;

	memset(&st, 0, sizeof(st));
	root = ej_load(what, body, len, err, errlen);
	if (root == NULL)
		return -1;
	/* leader is absent while the member knows no leader. */
	if (get_header(what, root, &st.cluster_id, &st.member_id, err,
	    errlen) < 0 ||
	    ej_get_i64(what, json_object_get(root, "header"), "revision", 0,
	    &st.revision, err, errlen) < 0 ||
	    ej_get_u64(what, root, "leader", false, UINT64_MAX, &st.leader, err,
	    errlen) < 0 ||
	    ej_get_i64(what, root, "dbSizeInUse", 0, &st.db_size_in_use, err,
	    errlen) < 0 ||
	    ej_get_i64(what, root, "dbSizeQuota", 0, &st.db_size_quota, err,
	    errlen) < 0 ||
	    ej_get_u64(what, root, "raftTerm", false, UINT64_MAX, &st.raft_term,
	    err, errlen) < 0 ||
	    ej_get_u64(what, root, "raftIndex", false, UINT64_MAX,
	    &st.raft_index, err, errlen) < 0 ||
	    ej_get_bool(what, root, "isLearner", &st.learner, err, errlen) < 0 ||
	    ej_get_u64(what, root, "dbSize", false, INT64_MAX, &db, err,
	    errlen) < 0 ||
	    get_str(what, root, "version", true, &ver, err, errlen) < 0)
		goto fail;
	if (ver[0] == '\0' || strlen(ver) >= sizeof(st.version)) {
		char q[EJ_QUOTE_MAX];

		str_seterr(err, errlen, "%s: \"version\" should be 1 to %zu "
		    "bytes, found \"%s\"", what, sizeof(st.version) - 1,
		    str_quote_n(ver, strlen(ver), q, sizeof(q)));
		goto fail;
	}
	memcpy(st.version, ver, strlen(ver) + 1);
	st.db_size = (int64_t)db;
	errs = json_object_get(root, "errors");
	st.errors = json_is_array(errs) ? json_array_size(errs) : errs != NULL;
	json_decref(root);
	*out = st;
	return 0;
fail:
	json_decref(root);
	return -1;
}

int
etcd_parse_health(const char *body, size_t len, bool *healthy, char *err,
    size_t errlen)
{
	const char *what = "health";
	json_t *root, *v;
	char q[EJ_QUOTE_MAX];

	root = ej_load(what, body, len, err, errlen);
	if (root == NULL)
		return -1;
	v = json_object_get(root, "health");
	if (json_is_boolean(v)) {
		*healthy = json_is_true(v);
		json_decref(root);
		return 0;
	}
	if (json_is_string(v) && strcmp(json_string_value(v), "true") == 0) {
		*healthy = true;
		json_decref(root);
		return 0;
	}
	if (json_is_string(v) && strcmp(json_string_value(v), "false") == 0) {
		*healthy = false;
		json_decref(root);
		return 0;
	}
	if (v == NULL)
		str_seterr(err, errlen, "%s: missing \"health\"", what);
	else if (json_is_string(v))
		str_seterr(err, errlen, "%s: \"health\" should be \"true\" or "
		    "\"false\", found \"%s\"", what,
		    str_quote_n(json_string_value(v), json_string_length(v), q,
		    sizeof(q)));
	else
		str_seterr(err, errlen, "%s: \"health\" should be \"true\" or "
		    "\"false\", found %s", what, ej_type_name(v));
	json_decref(root);
	return -1;
}

/* Cluster check. Every pending check is on one list so that
 * etcd_check_cancel() can find it by id; the process has one loop and
 * one thread touching it. GET /health goes first; once it says healthy,
 * the member list and the status are asked at once (a lazy check reads
 * both answers in one wakeup). The requests in flight own the check:
 * the drop callback of the last one frees it when they are cancelled or
 * the client freed. */

enum part { P_HEALTH, P_MEMBERS, P_STATUS, P_N };

static const char *const part_path[P_N] = {
	[P_HEALTH] = "/health",
	[P_MEMBERS] = "/v3/cluster/member/list",
	[P_STATUS] = "/v3/maintenance/status",
};

/* A lazy check's answers are read at the loop's next wakeup, or after
 * this long. */
#define CHECK_LAZY_MS 20

struct check {
	struct check *prev, *next;
	struct etcd_http *h;
	uint64_t id;
	uint64_t req[P_N];	/* in flight, or 0 */
	int inflight;
	bool lazy;
	char *base;		/* client URL without trailing '/' */
	int64_t deadline;	/* loop_now_ms() time; 0 = none */
	etcd_check_cb cb;
	void *arg;
	struct etcd_members members;
	struct etcd_status status;
	char err[P_N][256];	/* why each part failed; "" if it did not */
	struct etcd_check_result res;
};

static struct check *checks;
static uint64_t next_check_id = 1;

static void
check_unlink(struct check *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		checks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
check_free(struct check *c)
{
	etcd_members_free(&c->members);
	free(c->base);
	free(c);
}

static void
check_drop(void *arg)
{
	struct check *c = arg;

	if (--c->inflight > 0)
		return;
	check_unlink(c);
	check_free(c);
}

static const char *
part_method(enum part p)
{
	return p == P_HEALTH ? "GET" : "POST";
}

static void part_fail(struct check *c, enum part p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Part p failed: says why, after "METHOD URL: ". */
static void
part_fail(struct check *c, enum part p, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->err[p], sizeof(c->err[p]), "%s %s%s: %s", part_method(p),
	    c->base, part_path[p], why);
}

static void on_health(void *arg, const struct etcd_http_result *r);
static void on_members(void *arg, const struct etcd_http_result *r);
static void on_status(void *arg, const struct etcd_http_result *r);

static void
part_start(struct check *c, enum part p)
{
	static const etcd_http_cb answer[P_N] = {
		[P_HEALTH] = on_health,
		[P_MEMBERS] = on_members,
		[P_STATUS] = on_status,
	};
	char *url;
	long left = 0;

	if (c->deadline != 0) {
		int64_t now = loop_now_ms();

		if (now >= c->deadline) {
			part_fail(c, p, "not started, the check ran out of "
			    "time");
			return;
		}
		left = (long)(c->deadline - now);
	}
	url = xasprintf("%s%s", c->base, part_path[p]);
	c->req[p] = etcd_http_request_ex(c->h, url,
	    p == P_HEALTH ? NULL : "{}", left, answer[p], check_drop, c);
	c->inflight++;
	if (c->lazy)
		etcd_http_lazy(c->h, c->req[p], CHECK_LAZY_MS);
	free(url);
}

/* The leader's name from the member list, or its ID in hex. */
static void
name_leader(struct check *c)
{
	for (size_t i = 0; i < c->members.n; i++) {
		const struct etcd_member *m = &c->members.v[i];

		if (m->id != c->status.leader)
			continue;
		if (m->name[0] != '\0')
			snprintf(c->res.leader_name,
			    sizeof(c->res.leader_name), "%s", m->name);
		else
			snprintf(c->res.leader_name,
			    sizeof(c->res.leader_name), "%" PRIx64, m->id);
	}
}

/* Ends the check once no part is in flight: the first part that failed
 * says why, in the order they would be asked one after another. The
 * callback runs with c already off the list, so that it may cancel or
 * start checks, or free the client, freely. */
static void
check_done(struct check *c)
{
	if (c->inflight > 0)
		return;
	c->res.healthy = false;
	for (int p = 0; p < P_N; p++) {
		if (c->err[p][0] != '\0') {
			snprintf(c->res.error, sizeof(c->res.error), "%s",
			    c->err[p]);
			break;
		}
	}
	if (c->res.error[0] == '\0') {
		c->res.leader_id = c->status.leader;
		name_leader(c);
		c->res.healthy = true;
		c->res.status = c->status;
	}
	check_unlink(c);
	c->cb(c->arg, &c->res);
	check_free(c);
}

/* Took r, the result of part p: false (and the reason noted) if nothing
 * answered. */
static bool
part_got(struct check *c, enum part p, const struct etcd_http_result *r)
{
	c->req[p] = 0;
	c->inflight--;
	if (r->error != NULL) {
		part_fail(c, p, "%s", r->error);
		return false;
	}
	return true;
}

/* The same, and false (the reason noted) too for an answer not 200. */
static bool
part_answered(struct check *c, enum part p, const struct etcd_http_result *r)
{
	char detail[200];

	if (!part_got(c, p, r))
		return false;
	if (r->status != 200) {
		ej_http_detail(r->status, r->body, r->len, detail,
		    sizeof(detail));
		part_fail(c, p, "%s", detail);
		return false;
	}
	return true;
}

static void
on_health(void *arg, const struct etcd_http_result *r)
{
	struct check *c = arg;
	char detail[200];
	bool healthy;

	if (part_got(c, P_HEALTH, r)) {
		/* 3.4 answers 503 {"health":"false"} when unhealthy. */
		if (etcd_parse_health(r->body, r->len, &healthy, detail,
		    sizeof(detail)) < 0) {
			if (r->status != 200)
				ej_http_detail(r->status, r->body, r->len,
				    detail, sizeof(detail));
			part_fail(c, P_HEALTH, "%s", detail);
		} else if (!healthy)
			part_fail(c, P_HEALTH, "etcd reports unhealthy (HTTP "
			    "%ld)", r->status);
		else {
			part_start(c, P_MEMBERS);
			part_start(c, P_STATUS);
		}
	}
	check_done(c);
}

/* The result's IDs and counts from the member list. */
static void
count_members(struct check *c)
{
	c->res.cluster_id = c->members.cluster_id;
	c->res.member_id = c->members.member_id;
	c->res.members = c->members.n;
	for (size_t i = 0; i < c->members.n; i++) {
		if (c->members.v[i].learner)
			c->res.learners++;
		else
			c->res.voters++;
	}
}

static void
on_members(void *arg, const struct etcd_http_result *r)
{
	struct check *c = arg;
	char err[200];

	if (part_answered(c, P_MEMBERS, r)) {
		if (etcd_parse_members(r->body, r->len, &c->members, err,
		    sizeof(err)) < 0)
			part_fail(c, P_MEMBERS, "%s", err);
		else
			count_members(c);
	}
	check_done(c);
}

static void
on_status(void *arg, const struct etcd_http_result *r)
{
	struct check *c = arg;
	char err[200];

	if (part_answered(c, P_STATUS, r)) {
		if (etcd_parse_status(r->body, r->len, &c->status, err,
		    sizeof(err)) < 0)
			part_fail(c, P_STATUS, "%s", err);
		else if (c->status.leader == 0)
			part_fail(c, P_STATUS, "member %" PRIx64 " knows no "
			    "leader", c->status.member_id);
	}
	check_done(c);
}

uint64_t
etcd_check(struct etcd_http *h, const char *client_url, long timeout_ms,
    bool lazy, etcd_check_cb cb, void *arg)
{
	struct check *c = xcalloc(1, sizeof(*c));

	c->h = h;
	c->id = next_check_id++;
	c->lazy = lazy;
	c->base = etcd_http_base(client_url);
	c->deadline = timeout_ms > 0 ? loop_now_ms() + timeout_ms : 0;
	c->cb = cb;
	c->arg = arg;
	c->next = checks;
	if (checks != NULL)
		checks->prev = c;
	checks = c;
	/* The first part cannot run out of time, so this never calls cb. */
	part_start(c, P_HEALTH);
	return c->id;
}

void
etcd_check_cancel(struct etcd_http *h, uint64_t id)
{
	for (struct check *c = checks; c != NULL && id != 0; c = c->next) {
		if (c->h == h && c->id == id) {
			uint64_t req[P_N];

			/* The last drop callback unlinks and frees c. */
			memcpy(req, c->req, sizeof(req));
			for (int p = 0; p < P_N; p++)
				etcd_http_cancel(h, req[p]);
			return;
		}
	}
}

const char *
etcd_http_why(const struct etcd_http_result *r, char *out, size_t len)
{
	if (r->status == 0)
		snprintf(out, len, "%s", r->error ? r->error : "no answer");
	else
		(void)ej_http_detail(r->status, r->body, r->len, out, len);
	return out;
}

int
etcd_parse_peer_members(const char *body, size_t len)
{
	/* Member IDs are unsigned 64-bit numbers: half of them exceed the
	 * int64 that jansson parses integers into, and would fail the whole
	 * answer. Only the shape and clientURLs matter here. */
	json_t *a = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, NULL), *m;
	int started = 0;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		json_decref(a);
		return -1;
	}
	json_array_foreach(a, i, m) {
		json_t *urls = json_object_get(m, "clientURLs");

		if (!json_is_object(m) ||
		    !json_is_array(json_object_get(m, "peerURLs"))) {
			started = -1;
			break;
		}
		if (json_array_size(urls) > 0)
			started = 1;
	}
	json_decref(a);
	return started;
}
