#ifndef ZOOINIT_ETCD_SNAP_H
#define ZOOINIT_ETCD_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* etcd's maintenance snapshot as the v3 JSON gateway streams it (POST
 * /v3/maintenance/snapshot, etcd 3.4 through 3.7): one JSON object per
 * line, {"result":{"remaining_bytes":"N","blob":"<base64>"}} (3.5+ adds
 * "version"; zeros are left out, so the last data message, and a db
 * smaller than one message, has no remaining_bytes). Data messages carry
 * the db in order, each saying how many bytes are still to come after it;
 * once that reaches 0 one more message carries the sha256 of all the data
 * as its blob. Errors arrive inside the stream as {"error":{...}}. A
 * snapshot file is the data followed by that sha256, as etcdctl writes
 * it (etcd's restore refuses one without). The stream has no header:
 * the revision is read from the db (etcd_snap_db_revision below). Pure
 * logic here, no I/O. */

/* Longest stream line accepted: etcd sends 32 KiB blobs (44 KiB of
 * base64); this leaves room for a server that sends bigger ones. */
#define ETCD_SNAP_LINE_MAX (1024u * 1024)

/* The sha256 that ends a stream, and a snapshot file. */
#define ETCD_SNAP_SHA256_LEN 32

enum etcd_snap_phase {
	ETCD_SNAP_DATA = 0,	/* data messages expected */
	ETCD_SNAP_HASH,		/* all data in; the sha256 message next */
	ETCD_SNAP_DONE		/* the sha256 came and matched */
};

/* The checker of one stream: feed it every line, write out what it hands
 * back, and ask etcd_snap_end() at the end of the stream. */
struct etcd_snap_check {
	enum etcd_snap_phase phase;
	bool started;
	uint64_t remaining;	/* bytes still to come, as etcd said */
	uint64_t received;	/* data bytes handed out */
	void *md;		/* the running sha256 (an EVP_MD_CTX) */
	unsigned char *buf;	/* the last decoded blob: after the sha256
				   message (phase DONE), the
				   ETCD_SNAP_SHA256_LEN bytes of the hash */
	size_t cap;
};

/* Sets up k; free with etcd_snap_check_free(). */
void etcd_snap_check_init(struct etcd_snap_check *k);
void etcd_snap_check_free(struct etcd_snap_check *k);

/* Feeds one line of the stream. Returns 0 with *data and *n the data
 * bytes it carried (borrowed until the next call; *n is 0 for the
 * sha256 message), or -1 with err set: a malformed line, sizes that do
 * not add up, a sha256 that does not match, a message after the
 * sha256. *etcd_err is set true when the line was etcd's own error
 * (no leader, a compacted or closed stream): worth trying again, unlike
 * a stream that arrived whole and wrong. */
int etcd_snap_feed(struct etcd_snap_check *k, const char *line, size_t len,
    const unsigned char **data, size_t *n, bool *etcd_err, char *err,
    size_t errlen);

/* The stream ended cleanly: returns 0 when the sha256 came and matched,
 * else -1 with err saying what was missing. */
int etcd_snap_end(const struct etcd_snap_check *k, char *err, size_t errlen);

/* The revision a snapshot holds, read from the db itself (a bbolt file,
 * len bytes at db) as etcdutl snapshot status reads it: the main
 * revision of the last key of the "key" bucket, 0 when it is empty.
 * Returns 0, or -1 when db is not a bbolt file with such a bucket. Reads
 * only within db[0..len), however hostile. */
/* Whether head (n bytes from the start of a file) begins with a bbolt
 * meta page, as an etcd database and snapshot do. */
bool etcd_snap_is_bolt(const unsigned char *head, size_t n);

int etcd_snap_db_revision(const unsigned char *db, size_t len,
    int64_t *rev);

/* File names: <cluster ID, 16 hex digits>-<revision>-<UTC time as
 * 20261204T183000Z>.db. ETCD_SNAP_NAME_MAX has room for any of them. */
#define ETCD_SNAP_NAME_MAX 64

/* Writes the name of a snapshot of cluster_id at revision taken at
 * unix_s into out; returns 0, or -1 when it does not fit. */
int etcd_snap_name(uint64_t cluster_id, int64_t revision, int64_t unix_s,
    char *out, size_t outlen);

/* Reads a name written by etcd_snap_name() (a base name, no directory).
 * Returns true and fills the three values, or false for any other
 * name. */
bool etcd_snap_name_parse(const char *name, uint64_t *cluster_id,
    int64_t *revision, int64_t *unix_s);

/* Which snapshots to remove so that the newest keep of cluster_id stay:
 * writes indexes into names (base names; others than this cluster's and
 * names of other shapes are never picked) into out, oldest first (by
 * time, then revision), and returns how many. out has room for n. */
size_t etcd_snap_pick_old(const char *const *names, size_t n,
    uint64_t cluster_id, size_t keep, size_t *out);

#endif
