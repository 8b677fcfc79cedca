#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/restore.h"
#include "etcd/snap.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* What restoring a snapshot takes, as pure as it can be: whether a plan
 * restores, the file's check, the tool and its argv, and the tool's
 * reason for a failure. Running it is agent/restore_run.c's. */

/* bbolt starts with four pages of 4 KiB: two meta pages, the freelist
 * and the root. */
#define SNAPSHOT_MIN (4 * 4096)
#define HASH_LEN 32	/* the SHA-256 snapshot save appends */

char *
restore_skip_reason(const struct plan *p)
{
	if (p->proxy)
		return xstrdup("this host is a client (etcd grpc-proxy), "
		    "which keeps no member data");
	if (p->learner)
		return xstrdup("this member joins a running cluster (as a "
		    "learner) and takes the cluster's data from its peers");
	if (p->state != NULL && strcmp(p->state, "existing") == 0)
		return xasprintf("this member has data already (%s/member): "
		    "etcd starts from it", p->data_dir);
	return NULL;
}

/* The message of restore_check_file(); returns -1. */
static int
bad_file(char *err, size_t errlen, const char *path, const char *what)
{
	char q[256];

	str_seterr(err, errlen, "restore_from is set to \"%s\", which %s; "
	    "point restore_from at a file written by etcdctl snapshot save "
	    "(or zooinit snapshot save), or unset it",
	    str_quote(path, q, sizeof(q)), what);
	return -1;
}

int
restore_check_file(const char *path, char *err, size_t errlen)
{
	unsigned char head[20];	/* a bbolt page header and its magic */
	char what[256];
	struct stat st;
	ssize_t n = -1;
	int fd, e = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(what, sizeof(what), "cannot be read: %s",
		    strerror(errno));
		return bad_file(err, errlen, path, what);
	}
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = -1;
	else
		n = pread(fd, head, sizeof(head), 0);
	if (e == 0 && n < 0)
		e = errno;
	close(fd);
	if (e < 0)
		return bad_file(err, errlen, path, "is not a regular file");
	if (e > 0) {
		snprintf(what, sizeof(what), "cannot be read: %s",
		    strerror(e));
		return bad_file(err, errlen, path, what);
	}
	if (st.st_size < SNAPSHOT_MIN) {
		snprintf(what, sizeof(what), "is %lld bytes, too short for an "
		    "etcd snapshot (at least %d)", (long long)st.st_size,
		    SNAPSHOT_MIN);
		return bad_file(err, errlen, path, what);
	}
	if ((size_t)n < sizeof(head) || !etcd_snap_is_bolt(head, sizeof(head)))
		return bad_file(err, errlen, path, "is no etcd snapshot: it "
		    "does not start with a bbolt database page");
	/* etcd tells a saved snapshot from a copied member/snap/db the same
	 * way: only the former ends in its hash. */
	if (st.st_size % 512 != HASH_LEN) {
		snprintf(what, sizeof(what), "ends in no integrity hash (%lld "
		    "bytes is not a multiple of 512 plus 32): it was cut "
		    "short, or copied from a member's member/snap/db, which "
		    "restore_from does not take", (long long)st.st_size);
		return bad_file(err, errlen, path, what);
	}
	return 0;
}

char *
restore_find_tool(const char *etcd, char *err, size_t errlen)
{
	static const char *const tools[] = { "etcdutl", "etcdctl" };
	const char *slash = strrchr(etcd, '/');
	char *dir = slash == NULL ? xstrdup(".") : slash == etcd ?
	    xstrdup("") : xstrndup(etcd, (size_t)(slash - etcd));

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char *path = xasprintf("%s/%s", dir, tools[i]);

		if (proc_executable(path)) {
			free(dir);
			return path;
		}
		free(path);
	}
	str_seterr(err, errlen, "restore_from needs etcd's restore tool "
	    "beside the etcd binary %s: etcdutl (etcd 3.5 and later) or "
	    "etcdctl (3.4), and %s/ holds neither; install the one of etcd's "
	    "release there (Debian: the etcd-client package)", etcd,
	    dir[0] != '\0' ? dir : "");
	free(dir);
	return NULL;
}

int
restore_tool_is_etcdctl(const char *tool)
{
	const char *base = strrchr(tool, '/');

	return strcmp(base != NULL ? base + 1 : tool, "etcdctl") == 0;
}

char *
restore_tmp_dir(const char *data_dir)
{
	size_t n = strlen(data_dir);

	while (n > 1 && data_dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, data_dir, RESTORE_TMP_SUFFIX);
}

char **
restore_argv(const char *tool, const char *file, const char *dir,
    const struct plan *p)
{
	const struct plan_member *me = plan_me(p);
	struct strv v = { 0 };

	strv_add(&v, tool);
	strv_add(&v, "snapshot");
	strv_add(&v, "restore");
	strv_add2(&v, "--name", me->name);
	strv_add2(&v, "--data-dir", dir);
	strv_add2(&v, "--initial-cluster", p->initial_cluster);
	strv_add2(&v, "--initial-cluster-token", p->token);
	strv_add2(&v, "--initial-advertise-peer-urls", me->peer_url);
	strv_add(&v, "--");
	strv_add(&v, file);
	return strv_take(&v);
}

char **
restore_env(char *const *base)
{
	struct strv v = { 0 };

	for (size_t i = 0; base != NULL && base[i] != NULL; i++)
		if (strncmp(base[i], "ETCDCTL_API=", 12) != 0)
			strv_add(&v, base[i]);
	strv_add(&v, "ETCDCTL_API=3");
	return strv_take(&v);
}

/* Whether the line at s (n bytes) holds more than blanks. */
static int
has_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 1;
	return 0;
}

char *
restore_reason(const char *out, size_t n)
{
	const char *err = NULL, *last = NULL;
	size_t err_len = 0, last_len = 0, len;
	char *r;

	for (size_t at = 0; at < n; ) {
		const char *line = out + at, *nl = memchr(line, '\n', n - at);
		size_t ll = nl != NULL ? (size_t)(nl - line) : n - at;

		if (ll >= 6 && memcmp(line, "Error:", 6) == 0) {
			err = line;
			err_len = ll;
		}
		if (has_text(line, ll)) {
			last = line;
			last_len = ll;
		}
		at += ll + 1;
	}
	if (err == NULL) {
		err = last;
		err_len = last_len;
	}
	while (err_len > 0 && (err[err_len - 1] == '\r' ||
	    err[err_len - 1] == ' ' || err[err_len - 1] == '\t'))
		err_len--;
	len = err_len < RESTORE_REASON_MAX ? err_len : RESTORE_REASON_MAX;
	r = xmalloc(len + 4);
	/* The tool's words stay readable (quotes and all); what could upset
	 * a log line or a terminal does not pass. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)err[i];
		r[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	r[len] = '\0';
	if (!str_utf8_valid(r, false))
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)r[i] >= 0x80)
				r[i] = '?';
	if (len < err_len)
		memcpy(r + len, "...", 4);
	return r;
}
