#include "lib/fmacros.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent/status_impl.h"
#include "lib/xmalloc.h"

/* zooinit status, the verdict: what is wrong with each member, who leads,
 * and whether the cluster is healthy. */

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

int
status_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			size_t la, lb;
			int c;

			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			la = strspn(a, "0123456789");
			lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			c = memcmp(a, b, la);
			if (c != 0)
				return c < 0 ? -1 : 1;
			a += la;
			b += lb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a == *b ? 0 : *a == '\0' ? -1 : 1;
}

static int
vcmp_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	return status_version_cmp(a, b);
}

size_t
status_version_order(const char *const *v, size_t n, size_t *order)
{
	size_t distinct = 0;

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* Insertion sort: stable, and n is at most ETCD_MAX_MEMBERS. */
	for (size_t i = 1; i < n; i++) {
		size_t x = order[i], j = i;

		while (j > 0 && vcmp_null(v[order[j - 1]], v[x]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
	for (size_t i = 0; i < n && v[order[i]] != NULL; i++)
		if (i == 0 || status_version_cmp(v[order[i - 1]],
		    v[order[i]]) != 0)
			distinct++;
	return distinct;
}

bool
status_learner_behind(uint64_t learner, uint64_t leader)
{
	/* etcd: learner match >= leader match * 0.9 (readyPercentThreshold) */
	return (double)learner < (double)leader * 0.9;
}

/* The members that answered for themselves, by version. */
static void
judge_versions(struct status *s)
{
	const char **v = xcalloc(s->members.n + 1, sizeof(*v));
	size_t *order = xcalloc(s->members.n + 1, sizeof(*order));
	size_t n = 0;

	for (size_t i = 0; i < s->members.n; i++)
		v[i] = s->mems[i].self_status ? s->mems[i].st.version : NULL;
	s->n_versions = status_version_order(v, s->members.n, order);
	while (n < s->members.n && v[order[n]] != NULL)
		n++;
	free(v);
	s->by_version = order;
	s->n_by_version = n;
}

/* A healthy learner is not a voter: say whether it still catches up. */
static void
judge_learners(struct status *s)
{
	const struct mem *ldr = NULL;

	for (size_t i = 0; i < s->members.n; i++)
		if (s->mems[i].leader && s->mems[i].self_status)
			ldr = &s->mems[i];
	for (size_t i = 0; i < s->members.n; i++) {
		struct mem *m = &s->mems[i];

		m->catching_up = m->m->learner && m->self_status &&
		    ldr != NULL && status_learner_behind(m->st.raft_index,
		    ldr->st.raft_index);
	}
}

void
status_judge(struct status *s)
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
	judge_learners(s);
	judge_versions(s);
}

char *
status_leader_label(const struct status *s)
{
	if (s->leader_id == 0)
		return NULL;
	for (size_t i = 0; i < s->members.n; i++)
		if (s->mems[i].m->id == s->leader_id)
			return status_member_label(s->mems[i].m);
	return xasprintf("%016" PRIx64, s->leader_id);
}

bool
status_cert_close(int64_t not_before, int64_t not_after, int64_t now)
{
	int64_t life = not_after - not_before;

	return now >= not_after || (life > 0 && (not_after - now) * 3 < life);
}
