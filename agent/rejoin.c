#include "lib/fmacros.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/boot.h"
#include "agent/boot_int.h"
#include "agent/rejoin.h"
#include "etcd/diag.h"
#include "etcd/http.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* This host's member removed from the cluster: see agent/rejoin.h. */

#define REQ_TIMEOUT_MS 2000
#define UNHEALTHY_CHECK_MS 10000	/* while unhealthy, one look this often */
#define NOTE_MAX 1024

struct rejoin {
	struct boot *b;
	uint64_t req;		/* a member list or status request */
	size_t next;		/* the plan member asked */
	char *url;		/* its client URL, while asked */
	char *name, *peer_url;	/* this host as the check began */
	struct etcd_members ms;	/* that peer's member list */
	bool have_ms;
	bool loud;		/* an exit asked: say the outcome */
	int64_t last_ms;	/* when the last check began */
};

/* ---- pure helpers ----------------------------------------------------- */

bool
rejoin_listed(const struct etcd_members *ms, const char *name,
    const char *peer_url)
{
	for (size_t i = 0; i < ms->n; i++) {
		const struct etcd_member *m = &ms->v[i];

		if ((name[0] != '\0' && strcmp(m->name, name) == 0) ||
		    etcd_member_has_peer_url(m, peer_url))
			return true;
	}
	return false;
}

char *
rejoin_aside_path(const char *data_dir, time_t when)
{
	size_t n = strlen(data_dir);
	char stamp[32];
	struct tm tm;

	while (n > 1 && data_dir[n - 1] == '/')
		n--;
	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)when);
	return xasprintf("%.*s.removed-%s", (int)n, data_dir, stamp);
}

int
rejoin_note_write(const char *data_dir, const char *text, char *err,
    size_t errlen)
{
	return plan_state_write(data_dir, REJOIN_NOTE, text, err, errlen);
}

char *
rejoin_note_read(const char *data_dir)
{
	char *dir = plan_state_dir(data_dir);
	char *path = xasprintf("%s/%s", dir, REJOIN_NOTE);
	char buf[NOTE_MAX + 1];
	FILE *f = fopen(path, "r");
	char *out = NULL;

	free(path);
	free(dir);
	if (f == NULL)
		return NULL;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] != '\0')
			out = xstrdup(buf);
	}
	fclose(f);
	return out;
}

/* ---- asking the peers ------------------------------------------------- */

/* The machine asks only while etcd is meant to run as a member. */
static bool
eligible(const struct boot *b)
{
	return (b->state == BS_STARTING || b->state == BS_UP) &&
	    b->plan.m != NULL && !b->plan.proxy && !b->running_proxy;
}

static struct rejoin *
get(struct boot *b)
{
	if (b->rj == NULL) {
		b->rj = xcalloc(1, sizeof(*b->rj));
		b->rj->b = b;
		b->rj->last_ms = loop_now_ms();
	}
	return b->rj;
}

static void
check_end(struct rejoin *r)
{
	if (r->req != 0)
		etcd_http_cancel(r->b->x->http, r->req);
	r->req = 0;
	etcd_members_free(&r->ms);
	r->have_ms = false;
	free(r->url);
	free(r->name);
	free(r->peer_url);
	r->url = r->name = r->peer_url = NULL;
	r->loud = false;
}

static void ask_next(struct rejoin *r);

/* The plan changed under the check (planned again): its answer is about
 * another member. */
static bool
stale(const struct rejoin *r)
{
	const struct boot *b = r->b;

	return !eligible(b) || strcmp(plan_me(&b->plan)->name, r->name) != 0 ||
	    strcmp(plan_me(&b->plan)->peer_url, r->peer_url) != 0;
}

static void
judge(struct rejoin *r)
{
	struct boot *b = r->b;
	char peer[128];

	snprintf(peer, sizeof(peer), "%s", r->url);
	if (stale(r)) {
		check_end(r);
		return;
	}
	if (rejoin_listed(&r->ms, r->name, r->peer_url)) {
		if (r->loud)
			log_info("the peers still list this member (asked %s): "
			    "etcd restarts as before", peer);
		check_end(r);
		return;
	}
	log_warn("this member was removed from cluster %016" PRIx64 ": %s, "
	    "which has a leader, lists %zu member%s and none is named %s or "
	    "has the peer URL %s (the leader's agent removes a member "
	    "unreachable for longer than remove_after); stopping etcd, "
	    "keeping its data dir aside and joining again as a new member",
	    r->ms.cluster_id, peer, r->ms.n, r->ms.n == 1 ? "" : "s", r->name,
	    r->peer_url);
	check_end(r);
	boot_post(b, EV_REMOVED);
}

static void
on_status(void *arg, const struct etcd_http_result *res)
{
	struct rejoin *r = arg;
	struct etcd_status st;
	char err[200];

	r->req = 0;
	/* A peer without a leader may be cut off itself: its list proves
	 * nothing. */
	if (res->status != 200 || etcd_parse_status(res->body, res->len, &st,
	    err, sizeof(err)) < 0 || st.leader == 0) {
		etcd_members_free(&r->ms);
		r->have_ms = false;
		r->next++;
		ask_next(r);
		return;
	}
	judge(r);
}

static void
on_list(void *arg, const struct etcd_http_result *res)
{
	struct rejoin *r = arg;
	char err[200];
	char *url;

	r->req = 0;
	if (res->status != 200 || etcd_parse_members(res->body, res->len,
	    &r->ms, err, sizeof(err)) < 0) {
		r->next++;
		ask_next(r);
		return;
	}
	r->have_ms = true;
	url = xasprintf("%s/v3/maintenance/status", r->url);
	r->req = etcd_http_post_json(r->b->x->http, url, "{}", REQ_TIMEOUT_MS,
	    on_status, r);
	free(url);
}

/* Asks the next peer of the plan for its member list; none left: no
 * verdict. */
static void
ask_next(struct rejoin *r)
{
	const struct plan *p = &r->b->plan;
	char *url;

	free(r->url);
	r->url = NULL;
	if (stale(r)) {
		check_end(r);
		return;
	}
	while (r->next < p->n && (p->m[r->next].self ||
	    p->m[r->next].client_url == NULL ||
	    strcmp(p->m[r->next].peer_url, r->peer_url) == 0))
		r->next++;
	if (r->next >= p->n) {
		if (r->loud)
			log_info("no peer answered with a member list and a "
			    "leader: cannot tell whether this member was "
			    "removed; etcd restarts as before");
		check_end(r);
		return;
	}
	r->url = xstrdup(p->m[r->next].client_url);
	url = xasprintf("%s/v3/cluster/member/list", r->url);
	r->req = etcd_http_post_json(r->b->x->http, url, "{}", REQ_TIMEOUT_MS,
	    on_list, r);
	free(url);
}

static void
check_begin(struct rejoin *r, bool loud)
{
	const struct plan_member *me = plan_me(&r->b->plan);

	r->loud = r->loud || loud;
	if (r->name != NULL)
		return;		/* one in flight answers for both */
	r->last_ms = loop_now_ms();
	r->name = xstrdup(me->name);
	r->peer_url = xstrdup(me->peer_url);
	r->next = 0;
	ask_next(r);
}

bool
rejoin_on_exit(struct boot *b)
{
	bool zero = etcd_exited_zero(&b->exit);

	if (!eligible(b))
		return false;
	if (zero)
		log_warn("etcd exited with status 0%s without being asked to "
		    "stop, as a member the cluster removed does (\"the member "
		    "has been permanently removed from the cluster\"): asking "
		    "the peers whether they still list this member",
		    etcd_exited_zero_at_once(&b->exit) ? " at once" : "");
	check_begin(get(b), zero);
	return zero;
}

void
rejoin_on_unhealthy(struct boot *b)
{
	struct rejoin *r;

	if (!eligible(b))
		return;
	r = get(b);
	if (loop_now_ms() - r->last_ms >= UNHEALTHY_CHECK_MS)
		check_begin(r, false);
}

/* Moves the data dir aside; a data dir that is a mount point cannot
 * move: its member/ then moves aside inside it. Returns the new path, or
 * NULL with the reason logged. */
static char *
move_aside(const char *dir)
{
	char *aside = rejoin_aside_path(dir, time(NULL)), *base;
	struct stat st;

	base = xstrdup(aside);
	for (int i = 2; lstat(aside, &st) == 0 && i < 100; i++) {
		free(aside);
		aside = xasprintf("%s-%d", base, i);
	}
	free(base);
	if (rename(dir, aside) == 0)
		return aside;
	if (errno == EBUSY || errno == EXDEV) {
		char *member = xasprintf("%s/member", dir);
		char *inside = rejoin_aside_path(member, time(NULL));

		free(aside);
		if (rename(member, inside) == 0) {
			free(member);
			return inside;
		}
		aside = inside;
		free(member);
	}
	log_error("cannot keep the removed member's data dir aside: rename %s "
	    "to %s: %s; move it away by hand and start zooinit again", dir,
	    aside, strerror(errno));
	free(aside);
	return NULL;
}

void
rejoin_keep_aside(struct boot *b)
{
	const struct plan *p = &b->plan;
	char *aside, *note, when[32], err[512];
	time_t now = time(NULL);
	struct tm tm;

	aside = move_aside(p->data_dir);
	if (aside == NULL) {
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	log_warn("kept the old data dir aside in %s: it holds the removed "
	    "member's data, which zooinit never deletes; remove it once this "
	    "member is back and healthy", aside);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)now);
	note = xasprintf("member %s was removed from the cluster at %s and "
	    "rejoined as a new member; its old data dir is kept in %s",
	    plan_me(p)->name, when, aside);
	if (rejoin_note_write(p->data_dir, note, err, sizeof(err)) < 0)
		log_warn("%s", err);
	free(note);
	free(aside);
	boot_replan(b, "this member was removed from the cluster: it joins "
	    "again as a learner and is promoted once it has caught up");
}

void
rejoin_free(struct boot *b)
{
	if (b->rj == NULL)
		return;
	check_end(b->rj);
	free(b->rj);
	b->rj = NULL;
}
