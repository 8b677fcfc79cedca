#include "lib/fmacros.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/join.h"
#include "agent/join_map.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "agent/plan.h"
#include "lib/xmalloc.h"
#include "etcd/api.h"
#include "etcd/http.h"

#define REQ_TIMEOUT_MS 2000
#define ADD_RETRY_MS 2000
#define ADD_TRIES 15		/* etcd refuses adds for ~5 s after a join */
#define MAX_REMOVALS 4		/* member lists after a removal, per probe */
#define LEADERLESS_TRIES 15	/* rounds of the peers while a cluster that
				   ran has no leader (2 s apart) */
#define QUORUM_TRIES 8		/* quorum checks before removing a stale
				   member (2 s apart): an election may run */

enum jstate { J_PEEK, J_LIST, J_STATUS, J_HEALTH, J_REMOVE, J_ADD, J_DONE };

struct join {
	struct loop *loop;
	struct etcd_http *http;
	const struct plan *p;
	bool dry, allow_replace;
	join_cb cb;
	void *arg;
	enum jstate st;
	size_t next;		/* next peer to ask */
	const char *asked;	/* client URL of the peer that answered */
	struct etcd_members ms;	/* the running cluster, once found */
	bool have_ms;
	uint64_t req, timer;
	size_t hnext, healthy, voters;	/* the quorum check */
	uint64_t stale;		/* this host's stale member, to remove */
	bool by_name;		/* stale holds this host's name, not its URL */
	bool stale_alive;	/* ... and answers /health */
	int tries, removals;
	bool leaderless;	/* this round: a peer lists started members
				   but knows no leader */
	uint64_t leaderless_id;	/* ... of this cluster */
	int rounds;		/* rounds that found only that */
	int quorum_rounds;	/* quorum checks that found too few */
	bool bare_token;	/* the cluster's IDs came from the bare token
				   (struct join_result) */
	struct glance *gl;	/* the first look, one per member */
	size_t gl_left;		/* ... still to answer */
};

/* The first look asks every peer's /members at once (and the member
 * list at its client URL when its peer port refuses, as peek does): when
 * no member anywhere ever started, a new cluster is certain without
 * asking the peers one after another, whose etcds, starting beside this
 * one, may each take a while to answer. */
struct glance {
	struct join *j;
	size_t i;		/* the member asked */
	bool listing;		/* its peer port refused: its client URL's
				   member list asked, as peek does */
	uint64_t req;
};

void
join_result_free(struct join_result *r)
{
	if (r == NULL)
		return;
	free(r->initial_cluster);
	free(r->token);
	free(r);
}

static void __attribute__((format(printf, 4, 5)))
done(struct join *j, enum join_decision d, int code, const char *fmt, ...)
{
	struct join_result *r = xcalloc(1, sizeof(*r));
	va_list ap;

	r->decision = d;
	r->exit_code = code;
	r->cluster_id = j->have_ms ? j->ms.cluster_id : 0;
	if (j->bare_token)
		r->token = xstrdup(plan_token_bare(j->p));
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	j->st = J_DONE;
	j->cb(j->arg, r);
}

static const struct plan_member *
me(const struct join *j)
{
	return plan_me(j->p);
}

static void probe(struct join *j);
static void peek(struct join *j);
static void add(struct join *j);
static void check_quorum(struct join *j);
static void stale_by_name(struct join *j, const struct etcd_member *st);
static void start_added(struct join *j, const struct etcd_member *mine);
static bool quiet(const struct join *j, size_t i,
    const struct etcd_http_result *r);

static char *
url_of(const char *client_url, const char *path)
{
	return xasprintf("%s%s", client_url, path);
}

/* Count the healthy voters (and whether the stale member answers)
 * before touching the membership. */
static void
check_quorum(struct join *j)
{
	j->st = J_HEALTH;
	j->hnext = j->healthy = j->voters = 0;
	j->stale_alive = false;
	for (size_t i = 0; i < j->ms.n; i++)
		j->voters += !j->ms.v[i].learner;
	probe(j);
}

/* A member holds this host's name at another peer URL: the host this one
 * replaces (a new machine under the same DNS name). etcd takes no name
 * twice in --initial-cluster, and the dead member counts against the
 * quorum: it goes first, then this host joins. */
static void
stale_by_name(struct join *j, const struct etcd_member *st)
{
	const char *url = st->n_peer_urls > 0 ? st->peer_urls[0] : "?";

	if (!j->allow_replace) {
		done(j, JOIN_FAIL, EXIT_PERMANENT, "cluster %016" PRIx64 " has "
		    "member %s at %s, but this host is %s at %s: names must "
		    "be unique; give this host another name", j->ms.cluster_id,
		    st->name, url, me(j)->name, me(j)->peer_url);
		return;
	}
	j->stale = st->id;
	j->by_name = true;
	if (j->dry) {
		done(j, JOIN_LEARNER, 0, "cluster %016" PRIx64 " has member %s "
		    "(%016" PRIx64 ") at %s, another peer URL than this host's "
		    "(%s): a replaced host; bootstrap would remove that stale "
		    "member (if the other voters keep a quorum) and join as a "
		    "learner", j->ms.cluster_id, st->name, st->id, url,
		    me(j)->peer_url);
		return;
	}
	check_quorum(j);
}

/* This host's member was added to the running cluster (by an earlier run
 * of this agent, or by hand) and never started: it starts as an existing
 * member with the live member list, never with the planned cluster. */
static void
start_added(struct join *j, const struct etcd_member *mine)
{
	struct join_result *r = xcalloc(1, sizeof(*r));

	r->decision = JOIN_LEARNER;
	r->cluster_id = j->ms.cluster_id;
	r->member_id = j->dry ? 0 : mine->id;
	r->initial_cluster = join_cluster_string(&j->ms, me(j)->name,
	    me(j)->peer_url, 0);
	snprintf(r->reason, sizeof(r->reason), "cluster %016" PRIx64 " lists "
	    "this host as %s %016" PRIx64 ", added but never started: %s "
	    "it as an existing member of the %zu listed", j->ms.cluster_id,
	    mine->learner ? "learner" : "member", mine->id,
	    j->dry ? "bootstrap would start" : "starting", j->ms.n);
	j->st = J_DONE;
	j->cb(j->arg, r);
}

static void
on_status(void *arg, const struct etcd_http_result *r)
{
	struct join *j = arg;
	struct etcd_status st;
	char err[200];

	j->req = 0;
	if (r->status != 200 ||
	    etcd_parse_status(r->body, r->len, &st, err, sizeof(err)) < 0 ||
	    st.leader == 0) {
		/* No leader there: that peer is not in a running cluster,
		 * unless members of its list have started (published their
		 * client URLs, which takes a leader): then one ran and is
		 * electing, or lost its quorum. */
		if (join_members_started(&j->ms)) {
			j->leaderless = true;
			j->leaderless_id = j->ms.cluster_id;
		}
		etcd_members_free(&j->ms);
		j->have_ms = false;
		j->next++;
		probe(j);
		return;
	}
	/* A cluster runs. Where does this host stand in it? */
	const struct plan_member *m = me(j);
	struct join_view v;

	join_view_of(&j->ms, m->name, m->peer_url, &v);
	if (v.stale != NULL) {
		stale_by_name(j, v.stale);
		return;
	}
	const struct etcd_member *found = v.mine;

	/* A member publishes its client URLs when it starts; one from the
	 * initial cluster that never started has none, and its planned name
	 * or, where etcd read the membership back from its store (a restored
	 * snapshot), no name but an initial member's ID. */
	if (found != NULL && (join_initial_unstarted(found, m->peer_url,
	    j->p->token) || (found->n_client_urls == 0 &&
	    !join_added_unstarted(found)))) {
		j->bare_token = plan_token_is_url(j->p) &&
		    !join_initial_unstarted(found, m->peer_url, j->p->token) &&
		    join_initial_unstarted(found, m->peer_url,
		    plan_token_bare(j->p));
		done(j, JOIN_NEW, 0, "cluster %016" PRIx64 " runs and lists this "
		    "member, which never started: starting it with the planned "
		    "cluster", j->ms.cluster_id);
		return;
	}
	if (found != NULL && join_added_unstarted(found)) {
		start_added(j, found);
		return;
	}
	if (found != NULL) {
		if (!j->allow_replace) {
			done(j, JOIN_FAIL, EXIT_PERMANENT,
			    "cluster %016" PRIx64 " has member %s "
			    "at %s started already, but %s holds none of its data",
			    j->ms.cluster_id, found->name, m->peer_url,
			    j->p->data_dir);
			return;
		}
		j->stale = found->id;
		j->by_name = false;
		if (j->dry) {
			done(j, JOIN_LEARNER, 0, "cluster %016" PRIx64 " has member "
			    "%s started already, but the data dir is empty (lost): "
			    "bootstrap would remove that stale member and rejoin as "
			    "a learner", j->ms.cluster_id, found->name);
			return;
		}
		check_quorum(j);
		return;
	}
	if (j->dry) {
		done(j, JOIN_LEARNER, 0, "cluster %016" PRIx64 " runs without this "
		    "host: bootstrap would add it as a learner and promote it "
		    "when it has caught up", j->ms.cluster_id);
		return;
	}
	j->st = J_ADD;
	add(j);
}

/* Reads peer i's member list answer into ms; false when it holds none
 * (nothing serves there, or not a member list): the peer is passed over. */
static bool
list_parse(const struct join *j, size_t i, const struct etcd_http_result *r,
    struct etcd_members *ms)
{
	char err[200];

	log_debug("join probe: %s member list: %s (HTTP %ld)",
	    j->p->m[i].client_url, r->error != NULL ? r->error : "answered",
	    r->status);
	return r->status == 200 &&
	    etcd_parse_members(r->body, r->len, ms, err, sizeof(err)) == 0;
}

static void
on_list(void *arg, const struct etcd_http_result *r)
{
	struct join *j = arg;

	j->req = 0;
	if (!list_parse(j, j->next, r, &j->ms)) {
		j->next++;
		probe(j);
		return;
	}
	j->have_ms = true;
	j->asked = j->p->m[j->next].client_url;
	j->st = J_STATUS;
	char *url = url_of(j->asked, "/v3/maintenance/status");
	j->req = etcd_http_post_json(j->http, url, "{}", REQ_TIMEOUT_MS,
	    on_status, j);
	free(url);
}

static void remove_stale(struct join *j);

static void
on_health(void *arg, const struct etcd_http_result *r)
{
	struct join *j = arg;
	bool ok = false;
	char err[100];

	j->req = 0;
	if (r->status == 200 &&
	    etcd_parse_health(r->body, r->len, &ok, err, sizeof(err)) == 0 && ok) {
		if (j->ms.v[j->hnext].id == j->stale)
			j->stale_alive = true;
		else
			j->healthy++;
	}
	j->hnext++;
	probe(j);
}

/* Whether the quorum check asks member i: every started voter but the
 * stale member, and that one too when it holds only this host's name (a
 * member that still answers is no dead host's). */
static bool
health_asks(const struct join *j, size_t i)
{
	const struct etcd_member *m = &j->ms.v[i];

	if (m->n_client_urls == 0)
		return false;
	if (m->id == j->stale)
		return j->by_name;
	return !m->learner;
}

static void
on_quorum_timer(struct loop *l, void *arg)
{
	struct join *j = arg;

	(void)l;
	j->timer = 0;
	check_quorum(j);
}

/* Too few healthy voters: a dead leader's peers are unhealthy until they
 * elect another (a second or two), so ask again a while. Returns whether
 * it will. */
static bool
quorum_again(struct join *j, size_t need)
{
	if (++j->quorum_rounds >= QUORUM_TRIES)
		return false;
	if (j->quorum_rounds == 1)
		log_info("removing member %016" PRIx64 " needs %zu healthy "
		    "voters besides it and %zu are (an election?): asking "
		    "again every %d s", j->stale, need, j->healthy,
		    ADD_RETRY_MS / 1000);
	j->timer = loop_timer(j->loop, ADD_RETRY_MS, on_quorum_timer, j);
	return true;
}

/* Every answer is in: remove the stale member, or say why not. */
static void
health_decide(struct join *j)
{
	/* Removing a voter leaves voters - 1; the rest must be a quorum of
	 * both the old and the new membership. */
	size_t need = j->voters / 2 + 1;

	if (j->stale_alive) {
		done(j, JOIN_FAIL, EXIT_TEMPORARY, "member %s (%016" PRIx64 ") "
		    "of cluster %016" PRIx64 " holds this host's name at another "
		    "peer URL and still answers: the host that had the name "
		    "before runs; stop it (its member is then removed) or give "
		    "this host another name", me(j)->name, j->stale,
		    j->ms.cluster_id);
		return;
	}
	if (j->healthy < need && quorum_again(j, need))
		return;
	if (j->healthy < need && j->by_name) {
		done(j, JOIN_FAIL, EXIT_TEMPORARY, "member %s (%016" PRIx64 ") "
		    "of cluster %016" PRIx64 " holds this host's name at another "
		    "peer URL (a replaced host); removing it needs %zu healthy "
		    "voters besides it and only %zu are: wait for them",
		    me(j)->name, j->stale, j->ms.cluster_id, need, j->healthy);
		return;
	}
	if (j->healthy < need) {
		done(j, JOIN_FAIL, EXIT_TEMPORARY,
		    "this host's data dir is empty but "
		    "cluster %016" PRIx64 " has its member started; "
		    "replacing it needs %zu healthy voters besides it and "
		    "only %zu of %zu are: wait for them, or restore the "
		    "data", j->ms.cluster_id, need, j->healthy,
		    j->voters - 1);
		return;
	}
	remove_stale(j);
}

static void
on_round_timer(struct loop *l, void *arg)
{
	struct join *j = arg;

	(void)l;
	j->timer = 0;
	probe(j);
}

/* No peer knows a leader, but a cluster ran: bootstrapping a new one
 * beside it would split the hosts into two clusters for good. Ask again
 * a while (an election takes a second or two), then give up. */
static void
wait_for_leader(struct join *j)
{
	if (++j->rounds >= LEADERLESS_TRIES) {
		done(j, JOIN_FAIL, EXIT_TEMPORARY, "cluster %016" PRIx64 " has "
		    "started members but none of the peers has known a leader "
		    "for %d s: its quorum is lost; a new cluster beside it "
		    "would split the hosts: bring its members back, then start "
		    "zooinit again", j->leaderless_id,
		    j->rounds * ADD_RETRY_MS / 1000);
		return;
	}
	if (j->rounds == 1)
		log_info("cluster %016" PRIx64 " has started members but no "
		    "leader (an election, or a lost quorum): asking the peers "
		    "again every %d s", j->leaderless_id, ADD_RETRY_MS / 1000);
	j->leaderless = false;
	j->next = 0;
	j->timer = loop_timer(j->loop, ADD_RETRY_MS, on_round_timer, j);
}

/* Asks the next peer, in the state's sense: for its membership (its
 * peer URL's /members first, J_PEEK, then its client URL's list, J_LIST)
 * or, for the quorum check, its health (J_HEALTH). */
static void
probe(struct join *j)
{
	if (j->st == J_HEALTH) {
		while (j->hnext < j->ms.n && !health_asks(j, j->hnext))
			j->hnext++;
		if (j->hnext < j->ms.n) {
			char *url = url_of(j->ms.v[j->hnext].client_urls[0],
			    "/health");
			j->req = etcd_http_get(j->http, url, REQ_TIMEOUT_MS,
			    on_health, j);
			free(url);
			return;
		}
		health_decide(j);
		return;
	}
	j->st = J_LIST;
	while (j->next < j->p->n && j->p->m[j->next].self)
		j->next++;
	if (j->next >= j->p->n && j->leaderless) {
		wait_for_leader(j);
		return;
	}
	if (j->next >= j->p->n) {
		done(j, JOIN_NEW, 0, "no peer is in a running cluster: "
		    "bootstrapping a new one");
		return;
	}
	peek(j);
}

/* Peer i's client URL, for its member list. */
static uint64_t
list_members(struct join *j, size_t i, etcd_http_cb cb, void *arg)
{
	char *url = url_of(j->p->m[i].client_url, "/v3/cluster/member/list");
	uint64_t id = etcd_http_post_json(j->http, url, "{}", REQ_TIMEOUT_MS,
	    cb, arg);

	free(url);
	return id;
}

/* Asks peer j->next's client URL for its members. */
static void
ask_list(struct join *j)
{
	j->st = J_LIST;
	j->req = list_members(j, j->next, on_list, j);
}

static void
on_peek(void *arg, const struct etcd_http_result *r)
{
	struct join *j = arg;

	j->req = 0;
	/* No host there (its client URL has the same address), or a
	 * cluster that never started. */
	if (quiet(j, j->next, r)) {
		j->next++;
		probe(j);
		return;
	}
	ask_list(j);
}

/* Peer j->next's etcd serves its peer port once its startup check is
 * over, but its client port (3.4 to 3.7) only once the cluster has a
 * leader: a peer starting a new cluster beside this host holds the member
 * list request until this host's etcd runs too. Its /members on the peer
 * port says at once whether any member of its cluster ever started; if
 * none did, no cluster runs there. Any other answer (none, TLS refused,
 * members started): the client URL is asked, as it always was; an
 * address that no host answers is skipped, as its client URL would be
 * after a longer wait. */
static void
peek(struct join *j)
{
	char *url = url_of(j->p->m[j->next].peer_url, "/members");

	j->st = J_PEEK;
	j->req = etcd_http_get(j->http, url, ETCD_PEER_CHECK_MS, on_peek, j);
	free(url);
}

/* Lists the members again (the peer that took the removal first): after
 * a stale member went, where this host stands is asked afresh. A member
 * that lags behind may list it still; the count of removals bounds that. */
static void
relist(struct join *j)
{
	if (++j->removals >= MAX_REMOVALS) {
		done(j, JOIN_FAIL, EXIT_TEMPORARY, "cluster %016" PRIx64 " still "
		    "lists a member with this host's name (%s) at another peer "
		    "URL after %d removals: list the members (etcdctl member "
		    "list) and remove the stale ones", j->ms.cluster_id,
		    me(j)->name, j->removals);
		return;
	}
	etcd_members_free(&j->ms);
	j->have_ms = false;
	j->st = J_LIST;
	probe(j);
}

static void
on_removed(void *arg, const struct etcd_http_result *r)
{
	struct join *j = arg;
	char why[300];

	j->req = 0;
	if (r->status != 200) {
		etcd_http_why(r, why, sizeof(why));
		/* The leader's agent (remove_after) may have been first. */
		if (j->by_name && strstr(why, "member not found") != NULL) {
			log_info("this host's stale member %016" PRIx64 " is gone "
			    "already", j->stale);
			relist(j);
			return;
		}
		done(j, JOIN_FAIL, EXIT_TEMPORARY,
		    "removing this host's stale member %016"
		    PRIx64 " from cluster %016" PRIx64 " failed: %s", j->stale,
		    j->ms.cluster_id, why);
		return;
	}
	if (!j->by_name) {
		log_info("removed this host's stale member %016" PRIx64 " (its "
		    "data dir was lost); rejoining as a learner", j->stale);
		j->st = J_ADD;
		add(j);
		return;
	}
	log_info("removed member %s (%016" PRIx64 "), which held this host's "
	    "name at another peer URL (a replaced host); joining in its place",
	    me(j)->name, j->stale);
	relist(j);
}

static void
remove_stale(struct join *j)
{
	char *url = url_of(j->asked, "/v3/cluster/member/remove");
	char *body = xasprintf("{\"ID\":\"%" PRIu64 "\"}", j->stale);

	j->st = J_REMOVE;
	j->req = etcd_http_post_json(j->http, url, body, REQ_TIMEOUT_MS,
	    on_removed, j);
	free(body);
	free(url);
}

static void
on_add_retry(struct loop *l, void *arg)
{
	struct join *j = arg;

	(void)l;
	j->timer = 0;
	add(j);
}

static void
on_added(void *arg, const struct etcd_http_result *r)
{
	struct join *j = arg;
	struct etcd_members ms;
	char why[300];

	j->req = 0;
	if (r->status != 200 ||
	    etcd_parse_members(r->body, r->len, &ms, why, sizeof(why)) < 0) {
		if (r->status != 200)
			etcd_http_why(r, why, sizeof(why));
		/* "unhealthy cluster" right after another join, or no answer:
		 * etcd asks for patience. */
		if (++j->tries < ADD_TRIES) {
			log_info("adding this host as a learner: %s; retrying in "
			    "%d s", why, ADD_RETRY_MS / 1000);
			j->timer = loop_timer(j->loop, ADD_RETRY_MS, on_add_retry, j);
			return;
		}
		done(j, JOIN_FAIL, EXIT_TEMPORARY,
		    "could not add this host to cluster %016"
		    PRIx64 " as a learner: %s", j->ms.cluster_id, why);
		return;
	}
	struct join_result *res = xcalloc(1, sizeof(*res));
	json_t *o = json_loadb(r->body, r->len, 0, NULL);
	const char *id = json_string_value(json_object_get(
	    json_object_get(o, "member"), "ID"));

	res->decision = JOIN_LEARNER;
	res->cluster_id = ms.cluster_id;
	res->member_id = id ? strtoull(id, NULL, 10) : 0;
	res->initial_cluster = join_cluster_string(&ms, me(j)->name,
	    me(j)->peer_url, 0);
	snprintf(res->reason, sizeof(res->reason), "cluster %016" PRIx64 " runs "
	    "without this host: added as learner %016" PRIx64 ", to be "
	    "promoted when it has caught up", ms.cluster_id, res->member_id);
	json_decref(o);
	etcd_members_free(&ms);
	j->st = J_DONE;
	j->cb(j->arg, res);
}

static void
add(struct join *j)
{
	char *url = url_of(j->asked, "/v3/cluster/member/add");
	char *body = xasprintf("{\"peerURLs\":[\"%s\"],\"isLearner\":true}",
	    me(j)->peer_url);

	j->req = etcd_http_post_json(j->http, url, body, REQ_TIMEOUT_MS,
	    on_added, j);
	free(body);
	free(url);
}

static void
glance_stop(struct join *j)
{
	for (size_t i = 0; j->gl != NULL && i < j->p->n; i++)
		if (j->gl[i].req != 0)
			etcd_http_cancel(j->http, j->gl[i].req);
	free(j->gl);
	j->gl = NULL;
	j->gl_left = 0;
}

/* Whether member i's /members answer says that no cluster runs there:
 * no host at its address, or a member list where no member ever
 * started. */
static bool
quiet(const struct join *j, size_t i, const struct etcd_http_result *r)
{
	log_debug("join probe: %s/members: %s (HTTP %ld)",
	    j->p->m[i].peer_url, r->error != NULL ? r->error : "answered",
	    r->status);
	return r->fail == ETCD_HTTP_FAIL_UNREACHABLE || (r->status == 200 &&
	    etcd_parse_peer_members(r->body, r->len) == 0);
}

static void
on_glance(void *arg, const struct etcd_http_result *r)
{
	struct glance *g = arg;
	struct join *j = g->j;
	bool quiet_here;

	g->req = 0;
	if (!g->listing) {
		quiet_here = quiet(j, g->i, r);
		/* Nothing listens on its peer port: the in-turn probe would
		 * ask its client URL next (on_peek), so the glance does too. */
		if (!quiet_here && r->fail == ETCD_HTTP_FAIL_CONNECT) {
			g->listing = true;
			g->req = list_members(j, g->i, on_glance, g);
			return;
		}
	} else {
		struct etcd_members ms;

		quiet_here = !list_parse(j, g->i, r, &ms);
		if (!quiet_here)
			etcd_members_free(&ms);
	}
	if (!quiet_here) {
		/* Something runs there: the peers are asked in turn. */
		glance_stop(j);
		probe(j);
		return;
	}
	if (--j->gl_left > 0)
		return;
	glance_stop(j);
	j->next = j->p->n;	/* every peer asked: a new cluster */
	probe(j);
}

static void
glance(struct join *j)
{
	j->gl = xcalloc(j->p->n, sizeof(*j->gl));
	for (size_t i = 0; i < j->p->n; i++) {
		if (j->p->m[i].self)
			continue;
		char *url = url_of(j->p->m[i].peer_url, "/members");

		j->gl[i] = (struct glance){ .j = j, .i = i };
		j->gl_left++;
		j->gl[i].req = etcd_http_get(j->http, url, ETCD_PEER_CHECK_MS,
		    on_glance, &j->gl[i]);
		free(url);
	}
	if (j->gl_left == 0) {
		glance_stop(j);
		probe(j);
	}
}

struct join *
join_start(struct loop *l, struct etcd_http *h, const struct plan *p,
    bool dry_run, bool allow_replace, join_cb cb, void *arg)
{
	struct join *j = xcalloc(1, sizeof(*j));

	j->loop = l;
	j->http = h;
	j->p = p;
	j->dry = dry_run;
	j->allow_replace = allow_replace;
	j->cb = cb;
	j->arg = arg;
	glance(j);
	return j;
}

void
join_free(struct join *j)
{
	if (j == NULL)
		return;
	glance_stop(j);
	if (j->req != 0)
		etcd_http_cancel(j->http, j->req);
	loop_cancel(j->loop, j->timer);
	etcd_members_free(&j->ms);
	free(j);
}

/* ---- promotion ------------------------------------------------------- */

struct promote {
	join_promote_cb cb;
	void *arg;
};

static void
on_promoted(void *arg, const struct etcd_http_result *r)
{
	struct promote *pr = arg;
	char why[300];

	if (r->status == 200) {
		pr->cb(pr->arg, 1, "promoted");
	} else {
		etcd_http_why(r, why, sizeof(why));
		/* etcd: "can only promote a learner member which is in sync
		 * with leader" (not yet) / "...is not a learner" (done). */
		if (strstr(why, "not a learner") != NULL)
			pr->cb(pr->arg, 1, why);
		else if (r->status == 0 || strstr(why, "in sync") != NULL ||
		    r->status >= 500)
			pr->cb(pr->arg, 0, why);
		else
			pr->cb(pr->arg, -1, why);
	}
	free(pr);
}

static void
drop_promote(void *arg)
{
	free(arg);
}

uint64_t
join_promote(struct etcd_http *h, const char *client_url, uint64_t id,
    join_promote_cb cb, void *arg)
{
	struct promote *pr = xcalloc(1, sizeof(*pr));
	char *url = url_of(client_url, "/v3/cluster/member/promote");
	char *body = xasprintf("{\"ID\":\"%" PRIu64 "\"}", id);
	uint64_t rid;

	pr->cb = cb;
	pr->arg = arg;
	rid = etcd_http_request_ex(h, url, body, REQ_TIMEOUT_MS, on_promoted,
	    drop_promote, pr);
	free(body);
	free(url);
	return rid;
}
