#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/maint.h"
#include "config/etcd_args.h"
#include "config/retention.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/maint.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"

#define REQ_TIMEOUT_MS 3000
/* A defragmentation rewrites the member's whole database file. */
#define DEFRAG_TIMEOUT_MS 120000
#define COMPACT_TIMEOUT_MS 30000
#define COMPACT_EVERY_MS 60000
#define UNHEALTHY_RETRY_MS 30000
/* A NOSPACE alarm back within this long of its disarming was not cured. */
#define NOSPACE_BACK_MS 120000
#define NOSPACE_BACKOFF_MIN_MS 30000
#define NOSPACE_BACKOFF_MAX_MS 600000
#define ETCD_DEFAULT_QUOTA (2LL * 1024 * 1024 * 1024)

/* What a round is doing; each job is a fixed walk through the steps. */
enum job {
	JOB_NONE = 0,
	JOB_NOSPACE,	/* status, alarms, compact, list, health, defrag...,
			   status, disarm... */
	JOB_COMPACT,	/* status, alarms, compact */
	JOB_DEFRAG,	/* status, alarms, list, health, defrag... */
};

enum step {
	ST_IDLE = 0,
	ST_STATUS,	/* this host's etcd: the leader? which revision? */
	ST_ALARMS,	/* the alarm list */
	ST_COMPACT,
	ST_LIST,	/* the members, to defragment */
	ST_HEALTH,	/* order[next]'s /health */
	ST_DEFRAG,	/* order[next] defragmenting */
	ST_SIZE,	/* the leader's database size after NOSPACE's defrag */
	ST_DISARM,	/* alarms.v[next] being deactivated */
};

struct maint {
	struct etcd_http *http;
	char *self_url;
	struct maint_stats *st;
	struct retention ret;
	char ret_text[32];
	int64_t defrag_every_ms;
	int64_t quota_cfg;	/* from etcd_args, or etcd's default */

	enum job job;
	enum step step;
	uint64_t req;		/* the one request in flight */
	int64_t t0;		/* when it began */
	struct etcd_status self;	/* this round's status */
	struct etcd_alarms alarms;	/* this round's alarm list */
	struct etcd_members ms;		/* the members, to defragment */
	size_t *order;		/* indexes into ms: followers, leader last */
	size_t n_order, next;

	struct maint_ring ring;
	int64_t compact_target;
	int64_t last_compact_rev;
	int64_t last_compact_ms;
	int64_t last_defrag_ms;	/* when the last defrag round began */
	int64_t defrag_retry_ms; /* not before then (a member was down) */
	bool nospace_seen;	/* at the last look */
	int64_t nospace_retry_ms;
	int64_t nospace_backoff_ms;
	int64_t last_disarm_ms;
};

/* ---- pure helpers ------------------------------------------------------ */

int64_t
maint_quota_from_args(char *const *args, size_t n)
{
	int64_t q = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *name = eargs_name(args[i], &len), *v;

		if (len != strlen("quota-backend-bytes") ||
		    strncmp(name, "quota-backend-bytes", len) != 0 ||
		    name[len] == '\0')
			continue;
		v = name + len + 1;
		/* etcd reads it as an int64; junk is etcd's to refuse. */
		if (strspn(v, "0123456789") == strlen(v) && strlen(v) < 19)
			q = strtoll(v, NULL, 10);
	}
	return q > 0 ? q : ETCD_DEFAULT_QUOTA;
}

void
maint_ring_add(struct maint_ring *r, int64_t t_ms, int64_t rev)
{
	if (r->n > 0) {
		size_t last = (r->head + MAINT_RING - 1) % MAINT_RING;

		if (t_ms - r->t_ms[last] < r->min_gap_ms)
			return;
	}
	r->t_ms[r->head] = t_ms;
	r->rev[r->head] = rev;
	r->head = (r->head + 1) % MAINT_RING;
	if (r->n < MAINT_RING)
		r->n++;
}

int64_t
maint_ring_at(const struct maint_ring *r, int64_t t_ms)
{
	for (size_t k = 1; k <= r->n; k++) {
		size_t i = (r->head + MAINT_RING - k) % MAINT_RING;

		if (r->t_ms[i] <= t_ms)
			return r->rev[i];
	}
	return 0;
}

/* ---- the round ---------------------------------------------------------- */

static void on_answer(void *arg, const struct etcd_http_result *r);

static void
post(struct maint *m, enum step s, const char *base, const char *path,
    const char *body, long timeout_ms)
{
	char *url = xasprintf("%s%s", base, path);

	m->step = s;
	m->t0 = loop_now_ms();
	m->req = body != NULL ?
	    etcd_http_post_json(m->http, url, body, timeout_ms, on_answer, m) :
	    etcd_http_get(m->http, url, timeout_ms, on_answer, m);
	free(url);
}

static void
round_end(struct maint *m)
{
	etcd_alarms_free(&m->alarms);
	etcd_members_free(&m->ms);
	free(m->order);
	m->order = NULL;
	m->n_order = m->next = 0;
	m->job = JOB_NONE;
	m->step = ST_IDLE;
	m->req = 0;
}

static const char *
member_name(const struct maint *m, uint64_t id, char *buf, size_t len)
{
	for (size_t i = 0; i < m->ms.n; i++)
		if (m->ms.v[i].id == id && m->ms.v[i].name[0] != '\0')
			return m->ms.v[i].name;
	snprintf(buf, len, "%016" PRIx64, id);
	return buf;
}

static const struct etcd_member *
order_member(const struct maint *m)
{
	return &m->ms.v[m->order[m->next]];
}

static void
compact(struct maint *m, int64_t rev)
{
	char body[96];

	m->compact_target = rev;
	/* physical: the answer waits until the space is free, which the
	 * defragmentation that follows a NOSPACE needs. */
	snprintf(body, sizeof(body), "{\"revision\":\"%" PRId64 "\","
	    "\"physical\":true}", rev);
	post(m, ST_COMPACT, m->self_url, "/v3/kv/compaction", body,
	    COMPACT_TIMEOUT_MS);
}

/* The revision the retention keeps from, or 0 when nothing is due. */
static int64_t
retention_target(struct maint *m, int64_t now)
{
	int64_t t = 0;

	if (m->ret.revisions > 0)
		t = m->self.revision - m->ret.revisions;
	else if (m->ret.seconds > 0)
		t = maint_ring_at(&m->ring, now - m->ret.seconds * 1000);
	if (t <= 1 || t <= m->last_compact_rev)
		return 0;
	if (m->last_compact_ms != 0 && now - m->last_compact_ms <
	    COMPACT_EVERY_MS)
		return 0;
	return t;
}

static void
begin_defrag(struct maint *m)
{
	post(m, ST_LIST, m->self_url, "/v3/cluster/member/list", "{}",
	    REQ_TIMEOUT_MS);
}

/* A NOSPACE that compaction and defragmentation do not cure: the next
 * attempt waits 30 s, then twice as long each time, up to 10 min. */
static void
wait_longer(struct maint *m, int64_t now)
{
	m->nospace_backoff_ms = m->nospace_backoff_ms == 0 ?
	    NOSPACE_BACKOFF_MIN_MS : m->nospace_backoff_ms * 2;
	if (m->nospace_backoff_ms > NOSPACE_BACKOFF_MAX_MS)
		m->nospace_backoff_ms = NOSPACE_BACKOFF_MAX_MS;
	m->nospace_retry_ms = now + m->nospace_backoff_ms;
}

/* The leader's NOSPACE alarms decide the round; else what is due. */
static void
on_alarms(struct maint *m)
{
	int64_t now = loop_now_ms();
	size_t nospace = 0;
	int64_t due;

	for (size_t i = 0; i < m->alarms.n; i++)
		nospace += m->alarms.v[i].type == ETCD_ALARM_NOSPACE;
	if (nospace > 0 && !m->nospace_seen) {
		m->st->nospace_alarms_total += nospace;
		if (m->last_disarm_ms != 0 &&
		    now - m->last_disarm_ms < NOSPACE_BACK_MS) {
			wait_longer(m, now);
			log_warn("maintenance: the NOSPACE alarm is back %lld s "
			    "after it was disarmed: the live data is near "
			    "etcd's quota (%lld bytes); delete keys or raise "
			    "--quota-backend-bytes in etcd_args; next attempt "
			    "in %lld s", (long long)(now - m->last_disarm_ms) /
			    1000, (long long)m->quota_cfg,
			    (long long)m->nospace_backoff_ms / 1000);
		}
	}
	m->nospace_seen = nospace > 0;
	/* Cured for good: the next alarm starts from the shortest wait. */
	if (nospace == 0 && m->last_disarm_ms != 0 &&
	    now - m->last_disarm_ms >= NOSPACE_BACK_MS)
		m->nospace_backoff_ms = 0;
	if (nospace > 0 && now >= m->nospace_retry_ms) {
		m->job = JOB_NOSPACE;
		log_warn("maintenance: NOSPACE alarm on %zu member(s) (first "
		    "%016" PRIx64 "): etcd refuses writes; compacting at "
		    "revision %" PRId64 ", defragmenting every member, then "
		    "disarming", nospace, m->alarms.v[0].member_id,
		    m->self.revision);
		compact(m, m->self.revision);
		return;
	}
	if (nospace > 0) {
		round_end(m);
		return;
	}
	due = retention_target(m, now);
	if (due > 0) {
		m->job = JOB_COMPACT;
		compact(m, due);
		return;
	}
	if (m->defrag_every_ms > 0 && now >= m->defrag_retry_ms &&
	    now - m->last_defrag_ms >= m->defrag_every_ms) {
		m->job = JOB_DEFRAG;
		m->last_defrag_ms = now;
		begin_defrag(m);
		return;
	}
	round_end(m);
}

static void
on_compacted(struct maint *m, const struct etcd_http_result *r)
{
	char err[300];
	int rc = etcd_parse_ack("compaction", r->status, r->body, r->len, err,
	    sizeof(err));

	if (r->status == 0) {
		rc = -1;
		etcd_http_why(r, err, sizeof(err));
	}
	if (rc < 0) {
		log_warn("maintenance: compacting at revision %" PRId64 " "
		    "failed: %s", m->compact_target, err);
		round_end(m);
		return;
	}
	m->last_compact_ms = loop_now_ms();
	m->last_compact_rev = m->compact_target;
	if (rc == 0) {
		m->st->compactions_total++;
		m->st->last_compact_revision = m->compact_target;
		if (m->job == JOB_NOSPACE)
			log_info("maintenance: compacted the key space at "
			    "revision %" PRId64 " (NOSPACE) in %lld ms",
			    m->compact_target,
			    (long long)(loop_now_ms() - m->t0));
		else
			log_info("maintenance: compacted the key space at "
			    "revision %" PRId64 " (current %" PRId64 ", "
			    "compact_retention %s)", m->compact_target,
			    m->self.revision, m->ret_text);
	} else {
		log_info("maintenance: revision %" PRId64 " was compacted "
		    "already", m->compact_target);
	}
	if (m->job == JOB_NOSPACE)
		begin_defrag(m);
	else
		round_end(m);
}

static void on_health(struct maint *m, const struct etcd_http_result *r);

static void
ask_health(struct maint *m)
{
	const struct etcd_member *e = order_member(m);

	if (e->n_client_urls == 0) {	/* added, never started */
		struct etcd_http_result r = { .body = "",
		    .error = "the member has not started" };

		on_health(m, &r);
		return;
	}

	/* A NOSPACE alarm makes every /health false by design (etcd 3.5+
	 * and 3.4.23 could leave it out with ?exclude=NOSPACE, older 3.4
	 * cannot): then a member whose status knows a leader is up. */
	if (m->job == JOB_NOSPACE)
		post(m, ST_HEALTH, e->client_urls[0], "/v3/maintenance/status",
		    "{}", REQ_TIMEOUT_MS);
	else
		post(m, ST_HEALTH, e->client_urls[0], "/health", NULL,
		    REQ_TIMEOUT_MS);
}

static void
defrag_next(struct maint *m)
{
	const struct etcd_member *e = order_member(m);
	bool leader = e->id == m->self.leader;

	log_info("maintenance: defragmenting member %s (%s%s)", e->name,
	    leader ? "the leader" : "a follower",
	    m->job == JOB_NOSPACE ? ", NOSPACE" : "");
	post(m, ST_DEFRAG, e->client_urls[0], "/v3/maintenance/defragment",
	    "{}", DEFRAG_TIMEOUT_MS);
}

static void
on_list(struct maint *m, const struct etcd_http_result *r)
{
	char err[300];
	size_t k = 0, leader = SIZE_MAX;

	if (r->status != 200 || etcd_parse_members(r->body, r->len, &m->ms,
	    err, sizeof(err)) < 0) {
		if (r->status != 200)
			etcd_http_why(r, err, sizeof(err));
		log_warn("maintenance: listing the members to defragment them "
		    "failed: %s", err);
		round_end(m);
		return;
	}
	m->order = xcalloc(m->ms.n, sizeof(*m->order));
	for (size_t i = 0; i < m->ms.n; i++) {
		if (m->ms.v[i].id == m->self.leader)
			leader = i;
		else
			m->order[k++] = i;
	}
	if (leader != SIZE_MAX)
		m->order[k++] = leader;
	m->n_order = k;
	m->next = 0;
	ask_health(m);
}

/* Every member answered its /health before the first defragmentation:
 * one member busy defragmenting must never be one too many. */
static void
on_health(struct maint *m, const struct etcd_http_result *r)
{
	const struct etcd_member *e = order_member(m);
	struct etcd_status s;
	bool ok = false;
	char err[200] = "";

	if (r->status == 200 && m->job == JOB_NOSPACE) {
		ok = etcd_parse_status(r->body, r->len, &s, err,
		    sizeof(err)) == 0 && s.leader != 0;
		if (!ok && err[0] == '\0')
			snprintf(err, sizeof(err), "it knows no leader");
	} else if (r->status == 200 && etcd_parse_health(r->body, r->len, &ok,
	    err, sizeof(err)) < 0) {
		ok = false;
	}
	if (e->n_client_urls > 0 && ok) {
		if (++m->next < m->n_order) {
			ask_health(m);
			return;
		}
		m->next = 0;
		defrag_next(m);
		return;
	}
	if (r->status != 200)
		etcd_http_why(r, err, sizeof(err));
	log_warn("maintenance: not defragmenting: member %s is not healthy "
	    "(%s); trying again in %d s", e->name[0] ? e->name : "(unstarted)",
	    err[0] ? err : "health false", UNHEALTHY_RETRY_MS / 1000);
	m->defrag_retry_ms = loop_now_ms() + UNHEALTHY_RETRY_MS;
	if (m->job == JOB_NOSPACE)
		m->nospace_retry_ms = m->defrag_retry_ms;
	round_end(m);
}

static void
disarm_next(struct maint *m)
{
	char body[160];

	while (m->next < m->alarms.n &&
	    m->alarms.v[m->next].type != ETCD_ALARM_NOSPACE)
		m->next++;
	if (m->next == m->alarms.n) {
		m->last_disarm_ms = loop_now_ms();
		m->nospace_seen = false;
		log_info("maintenance: NOSPACE handled: writes are accepted "
		    "again");
		round_end(m);
		return;
	}
	snprintf(body, sizeof(body), "{\"action\":\"DEACTIVATE\",\"memberID\":"
	    "\"%" PRIu64 "\",\"alarm\":\"NOSPACE\"}",
	    m->alarms.v[m->next].member_id);
	post(m, ST_DISARM, m->self_url, "/v3/maintenance/alarm", body,
	    REQ_TIMEOUT_MS);
}

static void
on_defragged(struct maint *m, const struct etcd_http_result *r)
{
	const struct etcd_member *e = order_member(m);
	char err[300];

	if (r->status == 0 || etcd_parse_ack("defragment", r->status, r->body,
	    r->len, err, sizeof(err)) != 0) {
		if (r->status == 0)
			etcd_http_why(r, err, sizeof(err));
		m->st->defrag_failures_total++;
		log_warn("maintenance: defragmenting member %s failed: %s; "
		    "the members after it wait for the next round", e->name,
		    err);
		if (m->job == JOB_NOSPACE)
			m->nospace_retry_ms = loop_now_ms() +
			    NOSPACE_BACKOFF_MIN_MS;
		round_end(m);
		return;
	}
	m->st->defrags_total++;
	log_info("maintenance: defragmented member %s in %lld ms", e->name,
	    (long long)(loop_now_ms() - m->t0));
	if (++m->next < m->n_order) {
		defrag_next(m);
		return;
	}
	if (m->job != JOB_NOSPACE) {
		round_end(m);
		return;
	}
	post(m, ST_SIZE, m->self_url, "/v3/maintenance/status", "{}",
	    REQ_TIMEOUT_MS);
}

/* After compaction and defragmentation, the leader's file holds only the
 * live data: if that alone reaches the quota, disarming would only let
 * the next write raise the alarm again. */
static void
on_size(struct maint *m, const struct etcd_http_result *r)
{
	struct etcd_status s;
	char err[300];
	int64_t quota;

	if (r->status != 200 ||
	    etcd_parse_status(r->body, r->len, &s, err, sizeof(err)) < 0) {
		/* Not knowing the size is no reason to keep writes refused. */
		m->next = 0;
		disarm_next(m);
		return;
	}
	quota = s.db_size_quota > 0 ? s.db_size_quota : m->quota_cfg;
	if (s.db_size < quota) {
		m->next = 0;
		disarm_next(m);
		return;
	}
	wait_longer(m, loop_now_ms());
	log_error("maintenance: still over quota after compaction and "
	    "defragmentation: the leader's database holds %lld bytes, the "
	    "quota is %lld; the NOSPACE alarm stays and writes stay refused "
	    "until keys are deleted or --quota-backend-bytes is raised (in "
	    "etcd_args); next attempt in %lld s", (long long)s.db_size,
	    (long long)quota, (long long)m->nospace_backoff_ms / 1000);
	round_end(m);
}

static void
on_disarmed(struct maint *m, const struct etcd_http_result *r)
{
	const struct etcd_alarm *a = &m->alarms.v[m->next];
	struct etcd_alarms gone = { 0 };
	char err[300], nb[20];

	if (r->status != 200 || etcd_parse_alarms(r->body, r->len, &gone, err,
	    sizeof(err)) < 0) {
		if (r->status != 200)
			etcd_http_why(r, err, sizeof(err));
		log_warn("maintenance: disarming the NOSPACE alarm of member "
		    "%s failed: %s", member_name(m, a->member_id, nb,
		    sizeof(nb)), err);
		m->nospace_retry_ms = loop_now_ms() + NOSPACE_BACKOFF_MIN_MS;
		round_end(m);
		return;
	}
	etcd_alarms_free(&gone);
	m->st->alarms_disarmed_total++;
	log_info("maintenance: disarmed the NOSPACE alarm of member %s",
	    member_name(m, a->member_id, nb, sizeof(nb)));
	m->next++;
	disarm_next(m);
}

/* This round's status of this member: the revision for the retention;
 * the rest only on the leader. */
static void
take_status(struct maint *m)
{
	maint_ring_add(&m->ring, loop_now_ms(), m->self.revision);
	if (m->self.leader == 0 || m->self.leader != m->self.member_id) {
		/* The next leader's agent starts its own clocks. */
		m->last_defrag_ms = loop_now_ms();
		round_end(m);
		return;
	}
	/* A status lists every alarm of the cluster among its errors: with
	 * none there, the alarm list would be empty. */
	if (m->self.errors == 0) {
		on_alarms(m);
		return;
	}
	post(m, ST_ALARMS, m->self_url, "/v3/maintenance/alarm",
	    "{\"action\":\"GET\"}", REQ_TIMEOUT_MS);
}

static void
on_status(struct maint *m, const struct etcd_http_result *r)
{
	char err[300];

	/* Every etcd has written revision 1 at least. */
	if (r->status != 200 || etcd_parse_status(r->body, r->len, &m->self,
	    err, sizeof(err)) < 0 || m->self.revision < 1) {
		round_end(m);
		return;
	}
	take_status(m);
}

static void
on_alarm_list(struct maint *m, const struct etcd_http_result *r)
{
	char err[300];

	if (r->status != 200 || etcd_parse_alarms(r->body, r->len, &m->alarms,
	    err, sizeof(err)) < 0) {
		if (r->status != 200)
			etcd_http_why(r, err, sizeof(err));
		log_warn("maintenance: listing etcd's alarms failed: %s", err);
		round_end(m);
		return;
	}
	on_alarms(m);
}

static void
on_answer(void *arg, const struct etcd_http_result *r)
{
	struct maint *m = arg;

	m->req = 0;
	switch (m->step) {
	case ST_STATUS: on_status(m, r); break;
	case ST_ALARMS: on_alarm_list(m, r); break;
	case ST_COMPACT: on_compacted(m, r); break;
	case ST_LIST: on_list(m, r); break;
	case ST_HEALTH: on_health(m, r); break;
	case ST_DEFRAG: on_defragged(m, r); break;
	case ST_SIZE: on_size(m, r); break;
	case ST_DISARM: on_disarmed(m, r); break;
	case ST_IDLE: break;
	}
}

struct maint *
maint_new(struct etcd_http *h, const char *self_client_url,
    const struct cfg *c, struct maint_stats *stats)
{
	struct maint *m = xcalloc(1, sizeof(*m));
	const char *rt = c->compact_retention ? c->compact_retention : "0";

	m->http = h;
	m->self_url = xstrdup(self_client_url);
	m->st = stats;
	/* The config checked it already. */
	if (retention_parse(rt, &m->ret) < 0)
		m->ret = (struct retention){ 0 };
	snprintf(m->ret_text, sizeof(m->ret_text), "%s", rt);
	m->defrag_every_ms = (int64_t)c->defrag_interval * 1000;
	m->quota_cfg = maint_quota_from_args(c->etcd_args, c->n_etcd_args);
	/* Enough samples to reach back the whole retention time. */
	m->ring.min_gap_ms = m->ret.seconds * 1000 / (MAINT_RING / 2);
	m->last_defrag_ms = loop_now_ms();
	return m;
}

void
maint_round(struct maint *m)
{
	if (m == NULL || m->step != ST_IDLE)
		return;
	post(m, ST_STATUS, m->self_url, "/v3/maintenance/status", "{}",
	    REQ_TIMEOUT_MS);
}

void
maint_round_status(struct maint *m, const struct etcd_status *st)
{
	if (m == NULL || m->step != ST_IDLE)
		return;
	if (st->revision < 1) {
		maint_round(m);
		return;
	}
	m->self = *st;
	take_status(m);
}

void
maint_free(struct maint *m)
{
	if (m == NULL)
		return;
	if (m->req != 0)
		etcd_http_cancel(m->http, m->req);
	round_end(m);
	free(m->self_url);
	free(m);
}
