#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent/join_map.h"
#include "etcd/member_id.h"
#include "lib/xmalloc.h"

void
join_view_of(const struct etcd_members *ms, const char *name,
    const char *peer_url, struct join_view *out)
{
	out->mine = NULL;
	out->stale = NULL;
	for (size_t i = 0; i < ms->n; i++) {
		const struct etcd_member *m = &ms->v[i];

		if (etcd_member_has_peer_url(m, peer_url)) {
			if (out->mine == NULL)
				out->mine = m;
		} else if (m->name[0] != '\0' && strcmp(m->name, name) == 0 &&
		    out->stale == NULL) {
			out->stale = m;
		}
	}
}

bool
join_added_unstarted(const struct etcd_member *m)
{
	return m->n_client_urls == 0 && (m->learner || m->name[0] == '\0');
}

bool
join_initial_unstarted(const struct etcd_member *m, const char *peer_url,
    const char *token)
{
	char *urls[] = { (char *)peer_url };
	char err[160];
	uint64_t id;

	if (m->learner || m->n_client_urls > 0 || m->n_peer_urls != 1 ||
	    token == NULL)
		return false;
	return etcd_member_id(urls, 1, token, &id, err, sizeof(err)) == 0 &&
	    id == m->id;
}

bool
join_members_started(const struct etcd_members *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		if (ms->v[i].n_client_urls > 0)
			return true;
	return false;
}

/* The name member i goes by in the string: see join_cluster_string. */
static void
name_of(const struct etcd_members *ms, size_t i, const char *name,
    const char *peer_url, uint64_t skip_id, char *out, size_t len)
{
	const struct etcd_member *m = &ms->v[i];
	bool taken = strcmp(m->name, name) == 0;

	if (etcd_member_has_peer_url(m, peer_url)) {
		snprintf(out, len, "%s", name);
		return;
	}
	/* An earlier member of the string with the same name. */
	for (size_t k = 0; k < i && !taken; k++)
		taken = ms->v[k].id != skip_id &&
		    !etcd_member_has_peer_url(&ms->v[k], peer_url) &&
		    strcmp(ms->v[k].name, m->name) == 0;
	if (m->name[0] != '\0' && !taken && strlen(m->name) < len)
		snprintf(out, len, "%s", m->name);
	else
		snprintf(out, len, "m%016" PRIx64, m->id);
}

char *
join_cluster_string(const struct etcd_members *ms, const char *name,
    const char *peer_url, uint64_t skip_id)
{
	size_t cap = 1, len = 0;
	char *s;

	for (size_t i = 0; i < ms->n; i++)
		for (size_t k = 0; k < ms->v[i].n_peer_urls; k++)
			cap += strlen(ms->v[i].peer_urls[k]) + strlen(name) +
			    strlen(ms->v[i].name) + 24;
	s = xcalloc(1, cap);
	for (size_t i = 0; i < ms->n; i++) {
		const struct etcd_member *m = &ms->v[i];
		char mname[256];

		if (m->id == skip_id && skip_id != 0)
			continue;
		name_of(ms, i, name, peer_url, skip_id, mname, sizeof(mname));
		for (size_t k = 0; k < m->n_peer_urls; k++)
			len += (size_t)snprintf(s + len, cap - len, "%s%s=%s",
			    len ? "," : "", mname, m->peer_urls[k]);
	}
	return s;
}
