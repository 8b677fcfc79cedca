#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdlib.h>

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
