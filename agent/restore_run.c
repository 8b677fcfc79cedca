#include "lib/fmacros.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/boot_int.h"
#include "agent/restore.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

extern char **environ;

/* The bootstrap machine's side of restore_from (agent/restore.h): on the
 * settled plan it decides and checks (restore_plan), then runs the tool
 * as a child on the loop (BS_RESTORING) and moves its member/ into the
 * data dir once it succeeded. */

struct restore_run {
	pid_t pid;		/* the tool; 0 once reaped */
	int status;		/* its wait status, once reaped */
	int out_fd;		/* its stdout and stderr: an unlinked file */
	char *tmp;		/* DATA_DIR.restore, the tool's data dir */
	int64_t began;		/* loop_now_ms() at its start */
	uint64_t done_timer;	/* finishing after the reap */
};

int
restore_plan(struct boot *b)
{
	struct plan *p = &b->plan;
	const char *file = b->c->restore_from;
	char err[1024], *why, *tool, *tmp;

	free(p->restore_from);
	free(p->restore_reason);
	strv_free(p->restore_argv);
	p->restore_from = p->restore_reason = NULL;
	p->restore_argv = NULL;
	if (file == NULL)
		return 0;
	why = restore_skip_reason(p);
	if (why != NULL) {
		log_info("restore_from %s ignored: %s", file, why);
		p->restore_reason = why;
		return 0;
	}
	if (restore_check_file(file, err, sizeof(err)) < 0) {
		log_error("%s", err);
		boot_finish(b, EXIT_PERMANENT);
		return -1;
	}
	tool = restore_find_tool(p->etcd, err, sizeof(err));
	if (tool == NULL) {
		log_error("%s", err);
		boot_finish(b, EXIT_NOTFOUND);
		return -1;
	}
	tmp = restore_tmp_dir(p->data_dir);
	p->restore_from = xstrdup(file);
	p->restore_argv = restore_argv(tool, file, tmp, p);
	p->restore_reason = xasprintf("a member of a new cluster: it "
	    "restores the snapshot with %s into %s, then moves its member/ "
	    "into %s before etcd's first start", tool, tmp, p->data_dir);
	free(tmp);
	free(tool);
	return 0;
}

/* Creates the parents of dir (the data dir's, so the tool can write
 * beside it). */
static int
make_parent(const char *dir, char *err, size_t errlen)
{
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
	int rc = 0;

	if (slash != NULL && slash != parent) {
		*slash = '\0';
		rc = file_mkdirs(parent, 0755, err, errlen);
	}
	free(parent);
	return rc;
}

/* Clears the way: member/ must not be in the data dir yet, and what an
 * interrupted restore left beside it goes. */
static int
prepare(const struct plan *p, const char *tmp, char *err, size_t errlen)
{
	char *member = xasprintf("%s/member", p->data_dir);
	struct stat st;
	int exists = lstat(member, &st) == 0;

	free(member);
	if (exists) {
		str_seterr(err, errlen, "cannot restore %s: the data dir %s "
		    "holds member/ without a member log (member/wal), which "
		    "an earlier start of etcd that failed leaves; a restore "
		    "goes into a data dir without member/: move %s/member "
		    "away and start zooinit again", p->restore_from,
		    p->data_dir, p->data_dir);
		return -1;
	}
	if (make_parent(p->data_dir, err, errlen) < 0)
		return -1;
	if (lstat(tmp, &st) == 0)
		log_warn("removing %s, which an interrupted restore left", tmp);
	return file_remove_tree(tmp, err, errlen);
}

/* An unlinked file beside the data dir for the tool's output. */
static int
output_file(const char *tmp, char *err, size_t errlen)
{
	char *prefix = xasprintf("%s.out-", tmp), *path;
	int fd = file_mktemp(prefix, &path, err, errlen);

	if (fd >= 0)
		(void)unlink(path);
	free(path);
	free(prefix);
	return fd;
}

static void
run_free(struct boot *b)
{
	struct restore_run *r = b->restore;

	if (r == NULL)
		return;
	loop_cancel(b->x->loop, r->done_timer);
	if (r->out_fd >= 0)
		close(r->out_fd);
	free(r->tmp);
	free(r);
	b->restore = NULL;
}

/* A failure: says why, in the tool's words when it has some, and leaves
 * nothing of the restore behind. */
static void
failed(struct boot *b, const char *how)
{
	struct restore_run *r = b->restore;
	char buf[RESTORE_OUT_MAX], err[512], *why;
	off_t size = lseek(r->out_fd, 0, SEEK_END);
	ssize_t n = 0;

	if (size > 0) {
		off_t from = size > (off_t)sizeof(buf) ?
		    size - (off_t)sizeof(buf) : 0;
		n = pread(r->out_fd, buf, sizeof(buf), from);
	}
	why = restore_reason(buf, n > 0 ? (size_t)n : 0);
	if (file_remove_tree(r->tmp, err, sizeof(err)) < 0)
		log_warn("%s", err);
	log_error("cannot restore snapshot %s: %s %s%s%s; the data dir %s is "
	    "left without member data and etcd was not started: restore a "
	    "sound snapshot (or unset restore_from), then start zooinit "
	    "again", b->plan.restore_from, b->plan.restore_argv[0], how,
	    why[0] != '\0' ? ": " : "", why, b->plan.data_dir);
	free(why);
	run_free(b);
	boot_finish(b, EXIT_PERMANENT);
}

/* Moves the tool's member/ into the data dir, in one rename. */
static int
move_into_place(const struct plan *p, const char *tmp, char *err,
    size_t errlen)
{
	char *from = xasprintf("%s/member", tmp);
	char *to = xasprintf("%s/member", p->data_dir);
	int rc = 0;

	if (mkdir(p->data_dir, 0700) < 0 && errno != EEXIST)
		rc = str_seterr(err, errlen, "cannot create data dir %s: %s",
		    p->data_dir, strerror(errno));
	else if (rename(from, to) < 0)
		rc = str_seterr(err, errlen, "cannot move %s to %s: %s", from,
		    to, strerror(errno));
	if (rc == 0)
		(void)file_sync_dir_of(to);
	free(from);
	free(to);
	return rc;
}

static void
on_done(struct loop *l, void *arg)
{
	struct boot *b = arg;
	struct restore_run *r = b->restore;
	char how[96], err[512];

	(void)l;
	r->done_timer = 0;
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		failed(b, proc_status_str(r->status, how, sizeof(how)));
		return;
	}
	if (move_into_place(&b->plan, r->tmp, err, sizeof(err)) < 0) {
		log_error("%s", err);
		failed(b, "succeeded, but its member/ could not be moved into "
		    "place");
		return;
	}
	if (file_remove_tree(r->tmp, err, sizeof(err)) < 0)
		log_warn("%s", err);
	log_info("snapshot %s restored into %s in %.1f s", b->plan.restore_from,
	    b->plan.data_dir, (double)(loop_now_ms() - r->began) / 1000.0);
	run_free(b);
	boot_post(b, EV_RESTORED);
}

void
restore_begin(struct boot *b)
{
	const struct plan *p = &b->plan;
	struct restore_run *r;
	char err[1024], **envp = NULL;

	if (p->restore_argv == NULL) {
		boot_post(b, EV_RESTORED);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->out_fd = -1;
	r->tmp = restore_tmp_dir(p->data_dir);
	b->restore = r;
	if (prepare(p, r->tmp, err, sizeof(err)) == 0)
		r->out_fd = output_file(r->tmp, err, sizeof(err));
	if (r->out_fd < 0) {
		log_error("%s", err);
		run_free(b);
		boot_finish(b, EXIT_PERMANENT);
		return;
	}
	log_info("restoring snapshot %s as member %s of a new cluster of %zu "
	    "(token %s) with %s, before etcd's first start", p->restore_from,
	    plan_me(p)->name, p->n, p->token, p->restore_argv[0]);
	if (restore_tool_is_etcdctl(p->restore_argv[0]))
		envp = restore_env(environ);
	r->began = loop_now_ms();
	r->pid = proc_spawn_io(p->restore_argv, envp, r->out_fd, r->out_fd);
	strv_free(envp);
	if (r->pid < 0) {
		int e = errno;

		log_error("cannot run %s to restore snapshot %s: %s",
		    p->restore_argv[0], p->restore_from, strerror(e));
		run_free(b);
		boot_finish(b, e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
	}
}

bool
restore_reaped(struct boot *b, pid_t pid, int status)
{
	struct restore_run *r = b->restore;

	if (r == NULL || r->pid <= 0 || pid != r->pid)
		return false;
	/* Still a zombie: its group cannot be anyone else's yet. */
	(void)kill(-pid, SIGKILL);
	r->pid = 0;
	r->status = status;
	/* Out of the reaper: the rest moves files and starts etcd. */
	r->done_timer = loop_timer(b->x->loop, 0, on_done, b);
	return true;
}

bool
restore_running(const struct boot *b)
{
	return b->restore != NULL;
}

void
restore_free(struct boot *b)
{
	struct restore_run *r = b->restore;
	char err[512];

	if (r == NULL)
		return;
	if (r->pid > 0) {
		(void)kill(-r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		/* Half a restore is of no use to the next start. */
		if (file_remove_tree(r->tmp, err, sizeof(err)) < 0)
			log_warn("%s", err);
	}
	run_free(b);
}
