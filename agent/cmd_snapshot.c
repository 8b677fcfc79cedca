#include "lib/fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/actx.h"
#include "agent/cmd.h"
#include "agent/plan.h"
#include "etcd/http.h"
#include "etcd/snap_save.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* zooinit snapshot save FILE: the same save as the leader's periodic
 * snapshots (etcd/snap_save.h), through the first endpoint that answers,
 * leader or not; FILE appears only once the snapshot is whole and
 * checked. */

struct save_cmd {
	struct actx x;
	const char *file;
	char *prefix;
	char **eps;		/* base URLs, tried in order */
	size_t n_eps, next;
	struct sbuf tried;	/* why each endpoint failed */
	struct etcd_snap_save *save;
};

static void try_next(struct save_cmd *k);

static void
on_saved(void *arg, const struct etcd_snap_result *r)
{
	struct save_cmd *k = arg;
	char err[600];

	k->save = NULL;
	/* This member did not answer, or its stream broke: the next
	 * endpoint may do better. */
	if (r->code == ETCD_SNAP_UNREACHABLE && k->next < k->n_eps) {
		sb_printf(&k->tried, "\n  %s", r->error);
		try_next(k);
		return;
	}
	if (r->code != ETCD_SNAP_OK) {
		sb_printf(&k->tried, "\n  %s", r->error);
		fprintf(stderr, "zooinit snapshot save: no snapshot written to "
		    "%s:%s\n", k->file, sb_str(&k->tried));
		actx_finish(&k->x, r->code == ETCD_SNAP_UNREACHABLE ?
		    EXIT_TEMPORARY : EXIT_PERMANENT);
		return;
	}
	if (file_rename_sync(r->tmp_path, k->file, err, sizeof(err)) < 0) {
		fprintf(stderr, "zooinit snapshot save: %s\n", err);
		actx_finish(&k->x, EXIT_PERMANENT);
		return;
	}
	printf("%s: revision %lld, %llu bytes, cluster %016llx, from %s\n",
	    k->file, (long long)r->revision, (unsigned long long)r->bytes,
	    (unsigned long long)r->cluster_id, k->eps[k->next - 1]);
	actx_finish(&k->x, fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL);
}

static void
try_next(struct save_cmd *k)
{
	k->save = etcd_snap_save_start(k->x.http, k->eps[k->next++],
	    k->prefix, false, on_saved, k);
}

static void
on_stop(void *arg, int sig)
{
	struct save_cmd *k = arg;

	/* The temporary file goes with the save. */
	etcd_snap_save_cancel(k->save);
	k->save = NULL;
	fprintf(stderr, "zooinit snapshot save: interrupted by SIG%s; no "
	    "snapshot written\n", sigabbrev_np(sig));
	actx_finish(&k->x, 128 + sig);
}

int
cmd_snapshot_save(const struct cfg *c)
{
	struct save_cmd k = { .file = c->args[0] };
	char err[1024];
	int code;

	if (k.file[0] == '\0' || k.file[strlen(k.file) - 1] == '/') {
		fprintf(stderr, "zooinit snapshot save: FILE should name a "
		    "file, found \"%s\"\n", k.file);
		return EXIT_USAGE;
	}
	code = plan_command_endpoints(c, &k.eps, &k.n_eps, err, sizeof(err));
	if (code != 0)
		fprintf(stderr, "zooinit snapshot save: %s\n", err);
	if (code == 0)
		code = actx_open(&k.x, c, false);
	if (code == 0) {
		k.prefix = xasprintf("%s.tmp-", k.file);
		k.x.stop = on_stop;
		k.x.arg = &k;
		try_next(&k);
		code = actx_run(&k.x);
		etcd_snap_save_cancel(k.save);
		actx_close(&k.x);
	}
	for (size_t i = 0; i < k.n_eps; i++)
		free(k.eps[i]);
	free(k.eps);
	free(k.prefix);
	sb_free(&k.tried);
	return code;
}
