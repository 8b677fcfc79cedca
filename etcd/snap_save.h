#ifndef ZOOINIT_ETCD_SNAP_SAVE_H
#define ZOOINIT_ETCD_SNAP_SAVE_H

#include <stdbool.h>
#include <stdint.h>

/* Takes one snapshot of an etcd member into a temporary file, on the
 * event loop: POST /v3/maintenance/status first (the cluster ID, whether
 * the member leads, the revision), then POST /v3/maintenance/snapshot,
 * streamed (etcd/http.h), each chunk checked and written as it arrives
 * (etcd/snap.h), the sha256 etcd appends compared, the file fsynced and
 * closed. The caller then renames it (file_rename_sync() of lib/file.h) from the done
 * callback; whatever is left of the temporary file afterwards is removed,
 * so no partial file ever survives a failure, a cancel or a leader change.
 * A stream that sends nothing for 20 s is given up (a member stopped
 * with SIGSTOP, a link that drops packets).
 *
 * The stream carries no revision: it is read from the db itself as
 * etcdutl snapshot status reads it (etcd_snap_db_revision()); should
 * that fail, the one the member reported right before the snapshot began
 * stands in (writes racing the snapshot can leave the db a few revisions
 * ahead of it). */

struct etcd_http;
struct etcd_snap_save;

enum etcd_snap_code {
	ETCD_SNAP_OK = 0,
	ETCD_SNAP_NOT_LEADER,	/* leader_only and the member does not lead
				   (or knows no leader): nothing taken */
	ETCD_SNAP_UNREACHABLE,	/* no answer, an HTTP or etcd error, or the
				   stream cut short: try again later */
	ETCD_SNAP_BAD,		/* the stream came whole but is not a good
				   snapshot (malformed, sizes or sha256) */
	ETCD_SNAP_LOCAL		/* the temporary file could not be written */
};

struct etcd_snap_result {
	enum etcd_snap_code code;
	const char *error;	/* why, for a log line; NULL when OK */
	const char *url;	/* the member asked */
	uint64_t cluster_id, member_id, leader;
	int64_t revision;
	bool revision_from_db;	/* false: the status's, read before */
	bool streamed;		/* the member was asked for the snapshot (it
				   answered the status, and leads if asked) */
	uint64_t bytes;		/* the db's size */
	const char *tmp_path;	/* OK: the checked temporary file */
	int64_t started_ms;	/* loop_now_ms() at the start */
};

/* All borrowed for the call only. */
typedef void (*etcd_snap_done_cb)(void *arg, const struct etcd_snap_result *r);

/* Starts taking a snapshot through the member at base_url (no trailing
 * '/'; copied) into a new file tmp_prefix + six random characters
 * (created 0600 in an existing directory). done runs exactly once,
 * later, from the loop, unless etcd_snap_save_cancel() comes first; the
 * save is freed right after it returns. leader_only: end with
 * ETCD_SNAP_NOT_LEADER unless the member is the leader. */
struct etcd_snap_save *etcd_snap_save_start(struct etcd_http *h,
    const char *base_url, const char *tmp_prefix, bool leader_only,
    etcd_snap_done_cb done, void *arg);

/* Stops a save in flight (its temporary file removed, done not called)
 * and frees it. NULL is ignored. Not from inside done. */
void etcd_snap_save_cancel(struct etcd_snap_save *s);

#endif
