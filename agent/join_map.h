#ifndef ZOOINIT_JOIN_MAP_H
#define ZOOINIT_JOIN_MAP_H

/* Reading a running cluster's member list for a host that joins it: where
 * this host stands in it, and the --initial-cluster etcd must be given. */

#include <stdbool.h>
#include <stdint.h>

#include "etcd/api.h"

struct join_view {
	/* The member with this host's peer URL, or NULL. Borrowed from the
	 * member list. */
	const struct etcd_member *mine;
	/* A member that holds this host's name but none of its peer URLs:
	 * what is left of a host this one replaces (another machine under
	 * the same DNS name). NULL if none. Borrowed. */
	const struct etcd_member *stale;
};

/* Finds this host (name, peer_url; both borrowed) in ms. */
void join_view_of(const struct etcd_members *ms, const char *name,
    const char *peer_url, struct join_view *out);

/* True when m was added to a running cluster (member add) and has never
 * started: etcd lists such a member without a name or client URLs, and a
 * learner is always added so. A member of the initial cluster that never
 * started keeps the name it was planned with and is no learner (where
 * etcd lists it without the name: join_initial_unstarted()). */
bool join_added_unstarted(const struct etcd_member *m);

/* True when m is this host's member of the initial cluster (peer_url
 * and token, both borrowed) and has never started: no learner, no client
 * URLs, and the ID etcd derives for an initial member from its peer URL
 * and the cluster token, which an added member (its ID salted with the
 * time of the add) cannot have. A cluster whose membership etcd read back
 * from its store rather than from --initial-cluster (a restored snapshot,
 * members restarted before this one first started) lists such a member
 * without its name, as it lists an added one. */
bool join_initial_unstarted(const struct etcd_member *m,
    const char *peer_url, const char *token);

/* True when a member of ms has started: it published its client URLs,
 * which etcd does through its first leader. A cluster still forming lists
 * none. */
bool join_members_started(const struct etcd_members *ms);

/* Returns the --initial-cluster for this host joining ms as an existing
 * member (a new string; free with free()): every member but skip_id (0:
 * none), this host under its own name, the others under their names or,
 * for one without a name or whose name is taken already (this host's
 * stale member), "m" and its hex ID, so that no name appears twice. */
char *join_cluster_string(const struct etcd_members *ms, const char *name,
    const char *peer_url, uint64_t skip_id);

#endif
