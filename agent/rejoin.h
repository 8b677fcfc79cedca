#ifndef ZOOINIT_REJOIN_H
#define ZOOINIT_REJOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "etcd/api.h"

/* A member the cluster removed (the leader's agent, after remove_after,
 * while this host was cut off) comes back on its own. When etcd exits
 * (status 0 at once is how a removed member stops) or stays unhealthy,
 * the agent asks the peers for the member list; a peer that has a leader
 * and lists neither this host's name nor its peer URL means the member
 * was removed. etcd is then stopped, its data dir kept aside under
 * DATA_DIR.removed-<UTC time> (never deleted), and the agent plans again:
 * with no member data it joins as a learner and is promoted once caught
 * up, as after a lost data dir. No answer from the peers is not a
 * removal. The bootstrap machine's side is in agent/boot_int.h; this
 * header holds what zooinit status and the unit tests use. */

/* The note kept in the state directory (DATA_DIR.zooinit) once the member
 * rejoined; zooinit status on that host shows it. */
#define REJOIN_NOTE "rejoined.txt"

/* True when ms (a peer's member list) has a member named name or with
 * peer_url among its peer URLs. A member added but not started has no
 * name: its peer URL counts. */
bool rejoin_listed(const struct etcd_members *ms, const char *name,
    const char *peer_url);

/* The path the data dir is kept aside under: data_dir (trailing slashes
 * dropped) + ".removed-" + when as YYYYmmddTHHMMSSZ (UTC). A new
 * string. */
char *rejoin_aside_path(const char *data_dir, time_t when);

/* Writes text (one line) as the note of data_dir's state directory.
 * Returns 0, or -1 with err set. */
int rejoin_note_write(const char *data_dir, const char *text, char *err,
    size_t errlen);

/* The note of data_dir's state directory, its first line without the
 * newline (at most 1 KiB), or NULL when there is none. A new string. */
char *rejoin_note_read(const char *data_dir);

#endif
