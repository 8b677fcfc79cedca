#ifndef ZOOINIT_RESTORE_H
#define ZOOINIT_RESTORE_H

#include <stddef.h>

#include "agent/plan.h"

/* Restore into a new cluster (restore_from): on the first start of a
 * member of a new cluster, before etcd runs, the snapshot is restored with
 * etcd's own tool into DATA_DIR.restore, a directory beside the data dir,
 * with this plan's name, initial cluster, token and peer URL; its member/
 * is then renamed into the data dir, so a failed restore leaves the data
 * dir without member data. Every member restores the same file; etcd then
 * starts from it and the cluster holds the snapshot's keys under the
 * cluster ID etcd derives from the peer URLs and the token.
 *
 * The tool: etcdutl (etcd 3.5 and later; 3.6 dropped etcdctl's snapshot
 * restore), else etcdctl (3.4, whose restore is the only one), found in
 * the directory of the etcd binary, so the tool and etcd agree on the
 * data dir's format. This header holds what the unit tests reach; the
 * bootstrap machine's side is in agent/boot_int.h. */

/* The suffix of the directory the tool restores into. */
#define RESTORE_TMP_SUFFIX ".restore"
/* The most of the tool's output read back for an error message. */
#define RESTORE_OUT_MAX 4096
/* The longest reason taken from it. */
#define RESTORE_REASON_MAX 480

/* Why the plan p does not restore a snapshot: a new string (free with
 * free()), or NULL when it does (a member of a new cluster). */
char *restore_skip_reason(const struct plan *p);

/* Checks that path is what etcd's restore takes: a readable regular file
 * that starts like a bbolt database and carries the SHA-256 that
 * `snapshot save` appends (its size a multiple of 512 plus 32). Reads 20
 * bytes. Returns 0, or -1 with one sentence in err naming the key, the
 * path and what to do. */
int restore_check_file(const char *path, char *err, size_t errlen);

/* The restore tool beside the etcd binary etcd (a path; a name without a
 * slash is looked for in the working directory): DIR/etcdutl when it is
 * an executable file, else DIR/etcdctl. Returns a new string, or NULL
 * with err set. */
char *restore_find_tool(const char *etcd, char *err, size_t errlen);

/* Whether tool (a path) is etcdctl, which needs ETCDCTL_API=3 (etcd 3.4's
 * etcdctl speaks the v2 API when the environment says 2). */
int restore_tool_is_etcdctl(const char *tool);

/* DATA_DIR.restore for data_dir (trailing slashes dropped): a new
 * string. */
char *restore_tmp_dir(const char *data_dir);

/* The environment for etcdctl: base (NULL-terminated) without any
 * ETCDCTL_API, then ETCDCTL_API=3. A new vector; free with strv_free(). */
char **restore_env(char *const *base);

/* The tool's argv to restore file into dir as plan p's member: a new
 * NULL-terminated vector (free with strv_free()). The file comes after
 * "--", so a name starting with '-' is no flag. */
char **restore_argv(const char *tool, const char *file, const char *dir,
    const struct plan *p);

/* The tool's reason for a failure, from the n bytes at out (its output,
 * or the end of it): its last "Error: ..." line, else its last non-empty
 * line, at most RESTORE_REASON_MAX bytes (then "..."), control
 * characters (and every byte above 0x7f when the text is not UTF-8) as
 * '?'. A new string; "" when out holds no text. */
char *restore_reason(const char *out, size_t n);

#endif
