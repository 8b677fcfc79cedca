#include "lib/fmacros.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/day2_stats.h"
#include "agent/snapshot.h"
#include "etcd/http.h"
#include "etcd/snap.h"
#include "etcd/snap_save.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "services/hooks.h"

#define TMP_NAME ".zooinit-snapshot-"
#define HOOK_TIMEOUT_MS (10 * 60 * 1000)
#define MAX_LISTED 100000	/* names looked at in snapshot_dir */

struct snapshot {
	struct loop *loop;
	struct etcd_http *http;
	const struct cfg *c;
	struct snap_stats *st;
	char *self_url;
	char *hook_path;	/* snapshot_hook found, or NULL */
	uint64_t timer;
	struct etcd_snap_save *save;	/* in flight, or NULL */
	uint64_t hook;			/* running, or 0 */
	bool said_not_leader;		/* logged once per change */
};

static void schedule(struct snapshot *s);

/* Every name in dir that starts with prefix (all names: NULL), up to
 * MAX_LISTED. Returns a strv; free with strv_free(). */
static char **
list_dir(const char *dir, const char *prefix)
{
	struct strv v = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d != NULL && n < MAX_LISTED && (e = readdir(d)) != NULL) {
		if (prefix != NULL &&
		    strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			strv_add(&v, e->d_name);
			n++;
		}
	}
	if (d != NULL)
		closedir(d);
	return strv_take(&v);
}

/* Removes this cluster's snapshots beyond snapshot_keep, oldest first;
 * no other file is touched. */
static void
rotate(struct snapshot *s, uint64_t cluster_id)
{
	char **names = list_dir(s->c->snapshot_dir, NULL);
	size_t n = strv_len(names);
	size_t *old = xcalloc(n + 1, sizeof(*old));
	size_t k = etcd_snap_pick_old((const char *const *)names, n,
	    cluster_id, (size_t)s->c->snapshot_keep, old);

	for (size_t i = 0; i < k; i++) {
		char *p = xasprintf("%s/%s", s->c->snapshot_dir, names[old[i]]);

		if (unlink(p) < 0 && errno != ENOENT)
			log_warn("snapshot: cannot remove %s (beyond "
			    "snapshot_keep %d): %s", p, s->c->snapshot_keep,
			    strerror(errno));
		else
			log_info("snapshot: removed %s (beyond snapshot_keep "
			    "%d)", p, s->c->snapshot_keep);
		free(p);
	}
	free(old);
	strv_free(names);
}

static void
on_hook(void *arg, const struct hook_result *r)
{
	struct snapshot *s = arg;
	char how[256];

	s->hook = 0;
	if (hook_succeeded(r))
		return;
	s->st->hook_failed_total++;
	log_warn("snapshot_hook %s %s; the snapshot stays in %s",
	    s->c->snapshot_hook, hook_result_str(r, how, sizeof(how)),
	    s->c->snapshot_dir);
}

static void
run_hook(struct snapshot *s, const char *path)
{
	char *argv[] = { s->hook_path, (char *)path, NULL };

	if (s->c->snapshot_hook == NULL)
		return;
	if (s->hook_path == NULL) {	/* said when the module started */
		s->st->hook_failed_total++;
		return;
	}
	if (s->hook != 0) {
		s->st->hook_failed_total++;
		log_warn("snapshot_hook: the last run still runs: not running "
		    "it for %s", path);
		return;
	}
	s->hook = hook_run(s->loop, "snapshot_hook", argv, NULL,
	    HOOK_TIMEOUT_MS, on_hook, s);
}

static void
on_saved(void *arg, const struct etcd_snap_result *r)
{
	struct snapshot *s = arg;
	char name[ETCD_SNAP_NAME_MAX], err[600];
	int64_t now = (int64_t)time(NULL);
	char *path;

	s->save = NULL;
	schedule(s);
	/* This host's etcd did not say whether it leads (it is down or
	 * starting): the leader's agent, if there is a leader, takes it;
	 * the health checks say what is wrong here. */
	if (r->code == ETCD_SNAP_UNREACHABLE && !r->streamed) {
		log_debug("snapshot: not taken here: %s", r->error);
		return;
	}
	if (r->code == ETCD_SNAP_NOT_LEADER) {
		if (!s->said_not_leader)
			log_debug("snapshot: not taken here: %s", r->error);
		s->said_not_leader = true;
		return;
	}
	/* Said once per turn as the taker, so the log shows who took
	 * over after a leader change. */
	if (s->said_not_leader || s->st->taken_total + s->st->failed_total == 0)
		log_info("snapshot: this host's etcd (%016" PRIx64 ") leads: "
		    "its agent takes the snapshots, every %d s, into %s",
		    r->member_id, s->c->snapshot_interval, s->c->snapshot_dir);
	s->said_not_leader = false;
	if (r->code != ETCD_SNAP_OK) {
		s->st->failed_total++;
		log_warn("snapshot failed: %s; the next one in %d s",
		    r->error, s->c->snapshot_interval);
		return;
	}
	if (etcd_snap_name(r->cluster_id, r->revision, now, name,
	    sizeof(name)) < 0) {
		s->st->failed_total++;
		log_error("snapshot: no name for revision %" PRId64,
		    r->revision);
		return;
	}
	path = xasprintf("%s/%s", s->c->snapshot_dir, name);
	if (file_rename_sync(r->tmp_path, path, err, sizeof(err)) < 0) {
		s->st->failed_total++;
		log_warn("snapshot failed: %s", err);
		free(path);
		return;
	}
	if (!r->revision_from_db)
		log_warn("snapshot: %s holds no revision zooinit can read; "
		    "named after revision %" PRId64 ", the member's when it "
		    "began", path, r->revision);
	s->st->taken_total++;
	s->st->last_unix = now;
	s->st->last_bytes = r->bytes;
	s->st->last_revision = r->revision;
	s->st->last_seconds = (double)(loop_now_ms() - r->started_ms) / 1000;
	log_info("snapshot saved: %s (revision %" PRId64 ", %" PRIu64
	    " bytes, %.1f s)", path, r->revision, r->bytes,
	    s->st->last_seconds);
	rotate(s, r->cluster_id);
	run_hook(s, path);
	free(path);
}

static void
on_tick(struct loop *l, void *arg)
{
	struct snapshot *s = arg;
	char err[512], *prefix;

	(void)l;
	s->timer = 0;
	if (s->save != NULL) {		/* a slow one still runs */
		schedule(s);
		return;
	}
	if (file_mkdirs(s->c->snapshot_dir, 0700, err, sizeof(err)) < 0) {
		s->st->failed_total++;
		log_warn("snapshot failed: %s", err);
		schedule(s);
		return;
	}
	prefix = xasprintf("%s/" TMP_NAME, s->c->snapshot_dir);
	s->save = etcd_snap_save_start(s->http, s->self_url, prefix, true,
	    on_saved, s);
	free(prefix);
}

static void
schedule(struct snapshot *s)
{
	loop_cancel(s->loop, s->timer);
	s->timer = loop_timer(s->loop, s->c->snapshot_interval * 1000,
	    on_tick, s);
}

/* Temporary files of an agent that was killed mid-snapshot. */
static void
remove_leftovers(const char *dir)
{
	char **names = list_dir(dir, TMP_NAME);

	for (size_t i = 0; names[i] != NULL; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);

		if (unlink(p) == 0)
			log_info("snapshot: removed %s, left by an earlier "
			    "run", p);
		free(p);
	}
	strv_free(names);
}

struct snapshot *
snapshot_new(struct loop *l, struct etcd_http *h, const struct cfg *c,
    const char *self_client_url, struct snap_stats *st)
{
	struct snapshot *s;

	if (c->snapshot_interval <= 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->loop = l;
	s->http = h;
	s->c = c;
	s->st = st;
	s->self_url = etcd_http_base(self_client_url);
	if (c->snapshot_hook != NULL) {
		char err[512];

		s->hook_path = proc_find_binary(c->snapshot_hook, err,
		    sizeof(err));
		if (s->hook_path == NULL)
			log_error("snapshot_hook: %s; snapshots are taken but "
			    "the hook will not run", err);
	}
	remove_leftovers(c->snapshot_dir);
	schedule(s);
	return s;
}

void
snapshot_free(struct snapshot *s)
{
	if (s == NULL)
		return;
	loop_cancel(s->loop, s->timer);
	etcd_snap_save_cancel(s->save);
	hook_cancel(s->hook);
	free(s->hook_path);
	free(s->self_url);
	free(s);
}
