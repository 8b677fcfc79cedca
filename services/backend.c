#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd/http.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "pki/pki.h"
#include "services/backend.h"

/* The table of backends, and what every backend shares around its own
 * operations: the data dir, the program, the health check's plumbing.
 * Like curl's url.c with its Curl_handler per protocol, nothing here
 * knows a backend by name. */

extern const struct backend_ops be_custom;
extern const struct backend_ops be_zookeeper;
extern const struct backend_ops be_etcd;
extern const struct backend_ops be_consul;
extern const struct backend_ops be_patroni;

static const struct backend_ops *const backends[SVC_NBACKENDS] = {
	[SVC_CUSTOM] = &be_custom,
	[SVC_ZOOKEEPER] = &be_zookeeper,
	[SVC_ETCD] = &be_etcd,
	[SVC_CONSUL] = &be_consul,
	[SVC_PATRONI] = &be_patroni,
};

const struct backend_ops *
backend_of(enum svc_backend b)
{
	if ((unsigned)b >= SVC_NBACKENDS || backends[b] == NULL)
		abort();	/* config/svc.c hands out no other value */
	return backends[b];
}

/* Hands a file the agent wrote in the data dir to the service's user.
 * The data dir is the user's: by now the file may have been swapped for a
 * link to anything. So it is opened without following a link, must be a
 * regular file no other name shares, and is changed through the open
 * descriptor, never by path. */
int
be_give(const struct be_env *e, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = -1;

	if (e->uid == (uid_t)-1)
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot hand %s to %s: %s%s", path,
		    e->cfg->user, strerror(errno), errno == ELOOP ?
		    " (a symbolic link was put in its place; remove it)" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
		snprintf(err, errlen, "will not hand %s to %s: it is not a "
		    "regular file with a single name (something was put in "
		    "its place); remove it", path, e->cfg->user);
	else if (fchown(fd, e->uid, e->gid) < 0)
		snprintf(err, errlen, "chown %s to %s: %s", path, e->cfg->user,
		    strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* Whether the service's user (uid, groups) can rename entries of the
 * directory st: as its owner, or by write access through a group or
 * others. In a sticky directory only the user's own entries can be
 * renamed; sticky_ok says the entry below is none of those. */
static bool
can_swap(const struct stat *st, uid_t uid, const gid_t *groups, int n,
    bool sticky_ok)
{
	if (st->st_uid == uid)
		return true;
	if ((st->st_mode & S_ISVTX) && sticky_ok)
		return false;
	if (st->st_mode & S_IWOTH)
		return true;
	for (int i = 0; i < n && (st->st_mode & S_IWGRP); i++) {
		if (groups[i] == st->st_gid)
			return true;
	}
	return false;
}

/* Refuses a data dir one of whose parents the service's user could
 * change: it could swap the data dir (or a parent) for a link, and root
 * would then create, write and chown files wherever the link points.
 * Parents that do not exist yet are root's once made. */
static int
parents_safe(const struct be_env *e, const char *dir, char *err,
    size_t errlen)
{
	size_t last = (size_t)(strrchr(dir, '/') - dir);
	int n = 32, rc = 0;
	gid_t *groups = xcalloc((size_t)n, sizeof(*groups));
	struct stat st;

	/* Too small a list fails and says how many there are. */
	if (e->cfg->user == NULL)
		n = 0;
	else if (getgrouplist(e->cfg->user, e->gid, groups, &n) < 0 &&
	    n > 0) {
		groups = xreallocarray(groups, (size_t)n, sizeof(*groups));
		if (getgrouplist(e->cfg->user, e->gid, groups, &n) < 0)
			n = 0;
	}
	for (size_t i = 0; i <= last && rc == 0; i++) {
		char *p;

		if (dir[i] != '/')
			continue;
		p = i == 0 ? xstrdup("/") : xstrndup(dir, i);
		if (stat(p, &st) < 0) {
			if (errno != ENOENT) {
				snprintf(err, errlen, "cannot check %s: %s", p,
				    strerror(errno));
				rc = -1;
			}
			free(p);
			break;
		}
		if (can_swap(&st, e->uid, groups, n, i != last)) {
			snprintf(err, errlen, "data_dir %s of service %s is "
			    "under %s, which user %s %s: that user could swap "
			    "the data dir for a link and have zooinit write or "
			    "hand over files elsewhere; put the data dir in a "
			    "directory only root can change (e.g. "
			    "/var/lib/zooinit/%s)", e->cfg->data_dir,
			    e->cfg->name, p, e->cfg->user, st.st_uid == e->uid ?
			    "owns" : "can write", e->cfg->name);
			rc = -1;
		}
		free(p);
	}
	free(groups);
	return rc;
}

/* The data dir 0700 and the service's user's; its parents 0755, so that
 * user can reach it. With a user, the dir's parents (as written and as
 * they resolve) must be out of its reach, and the dir is handed over
 * through a descriptor opened without following a link. */
static int
make_data_dir(const struct be_env *e, char *err, size_t errlen)
{
	const char *dir = e->cfg->data_dir;
	const char *slash = strrchr(dir, '/');
	bool guard = e->uid != (uid_t)-1 && e->uid != 0;
	char *real;
	int fd, rc = 0;

	if (guard && parents_safe(e, dir, err, errlen) < 0)
		return -1;
	if (slash != NULL && slash != dir) {
		char *parent = xstrndup(dir, (size_t)(slash - dir));

		rc = file_mkdirs(parent, 0755, err, errlen);
		free(parent);
	}
	if (rc < 0 || file_mkdirs(dir, 0700, err, errlen) < 0)
		return -1;
	if (e->uid == (uid_t)-1)
		return 0;
	real = realpath(dir, NULL);
	if (real == NULL) {
		snprintf(err, errlen, "cannot resolve %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (guard && parents_safe(e, real, err, errlen) < 0) {
		free(real);
		return -1;
	}
	fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, e->uid, e->gid) < 0) {
		snprintf(err, errlen, "cannot hand %s to %s: %s", dir,
		    e->cfg->user, strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(real);
	return rc;
}

/* ---- the TLS files a service's user can read -------------------------- */

static const char *const tls_copy_names[BE_TLS_N] = {
	"etcd-ca.crt", "etcd-client.crt", "etcd-client.key",
};

char *
backend_tls_path(const struct svc_cfg *c, int i)
{
	return xasprintf("%s/%s", c->data_dir, tls_copy_names[i]);
}

bool
backend_tls_copies(const struct be_env *e)
{
	/* A program: the backend's, or a custom service's OnStart. */
	return e->uid != (uid_t)-1 && (e->cfg->bin != NULL ||
	    e->cfg->hooks[HOOK_START] != NULL) &&
	    e->cfg->data_dir != NULL && (e->tls[BE_TLS_CA] != NULL ||
	    e->tls[BE_TLS_CERT] != NULL);
}

void
backend_tls_use_copies(struct be_env *e, char *copy[BE_TLS_N])
{
	for (int i = 0; i < BE_TLS_N; i++) {
		copy[i] = e->tls[i] != NULL ? backend_tls_path(e->cfg, i) :
		    NULL;
		if (copy[i] != NULL)
			e->tls[i] = copy[i];
	}
}

/* Whether the copy at dst is missing, older than src or not its size.
 * lstat: a link the user put there is no copy. */
static bool
tls_stale(const char *src, const char *dst, char *err, size_t errlen)
{
	struct stat s, d;

	if (stat(src, &s) < 0) {
		snprintf(err, errlen, "cannot copy %s: %s", src,
		    strerror(errno));
		return true;
	}
	if (lstat(dst, &d) < 0 || !S_ISREG(d.st_mode) ||
	    d.st_size != s.st_size)
		return true;
	return d.st_mtim.tv_sec < s.st_mtim.tv_sec ||
	    (d.st_mtim.tv_sec == s.st_mtim.tv_sec &&
	    d.st_mtim.tv_nsec < s.st_mtim.tv_nsec);
}

int
backend_tls_sync(const struct be_env *e, int *copied, char *err,
    size_t errlen)
{
	int n = 0, rc = 0;

	for (int i = 0; i < BE_TLS_N && rc == 0; i++) {
		char *dst, *pem;

		if (e->tls[i] == NULL)
			continue;
		dst = backend_tls_path(e->cfg, i);
		err[0] = '\0';
		if (!tls_stale(e->tls[i], dst, err, errlen)) {
			free(dst);
			continue;
		}
		/* The key is a secret: read, written 0600 and wiped. */
		pem = err[0] == '\0' ? pki_read_file(e->tls[i], err, errlen) :
		    NULL;
		if (pem == NULL ||
		    file_write_atomic(dst, pem, 0600, err, errlen) < 0 ||
		    be_give(e, dst, err, errlen) < 0)
			rc = -1;
		else
			n++;
		if (pem != NULL) {
			explicit_bzero(pem, strlen(pem));
			free(pem);
		}
		free(dst);
	}
	if (copied != NULL)
		*copied = n;
	return rc;
}

/* prepare() with e->tls pointing at the user's copies. */
static int
prepare_copies(const struct backend_ops *ops, struct be_env *x,
    char ***argv, char *err, size_t errlen)
{
	char *dst[BE_TLS_N];
	int rc;

	if (backend_tls_sync(x, NULL, err, errlen) < 0)
		return -1;
	backend_tls_use_copies(x, dst);
	rc = ops->prepare(x, argv, err, errlen);
	for (int i = 0; i < BE_TLS_N; i++)
		free(dst[i]);
	return rc;
}

int
backend_prepare(const struct be_env *e, bool standby, char ***argv,
    int *code, char *err, size_t errlen)
{
	const struct svc_cfg *c = e->cfg;
	const struct backend_ops *ops = backend_of(c->backend);
	struct be_env x = *e;
	char *bin;
	int rc;

	*argv = NULL;
	if (standby && ops->standby_idle) {
		log_info("service %s: a standby runs no %s (the %s backend has "
		    "no non-voting members)", c->name, ops->name, ops->name);
		return 0;
	}
	x.bin = NULL;
	if (c->bin == NULL && backend_tls_copies(&x)) {
		/* A custom OnStart as a user: its copies need the data
		 * dir. */
		if (make_data_dir(e, err, errlen) < 0)
			return -1;
		return prepare_copies(ops, &x, argv, err, errlen);
	}
	if (c->bin == NULL)
		return ops->prepare(&x, argv, err, errlen);
	if (make_data_dir(e, err, errlen) < 0)
		return -1;
	bin = proc_find_binary(c->bin, err, errlen);
	if (bin == NULL) {
		/* proc_find_binary() speaks of etcd; say what this is. */
		*code = EXIT_NOTFOUND;
		snprintf(err, errlen, "the %s program \"%s\" is not an "
		    "executable file or not in PATH; install it%s%s%s or set "
		    "bin in service %s", ops->name, c->bin,
		    ops->package ? " (Debian: " : "",
		    ops->package ? ops->package : "",
		    ops->package ? ")" : "", c->name);
		return -1;
	}
	x.bin = bin;
	if (backend_tls_copies(&x))
		rc = prepare_copies(ops, &x, argv, err, errlen);
	else
		rc = ops->prepare(&x, argv, err, errlen);
	free(bin);
	return rc;
}

void
backend_check(struct be_check *c)
{
	const struct backend_ops *ops = backend_of(c->cfg->backend);

	c->http_req = 0;
	c->zk_req = 0;
	if (ops->check == NULL) {
		c->done(c->arg, true, NULL);
		return;
	}
	ops->check(c);
}

void
backend_check_cancel(struct be_check *c)
{
	if (c->http_req != 0)
		etcd_http_cancel(c->http, c->http_req);
	c->http_req = 0;
	be_4lw_cancel(c->loop, c->zk_req);
	c->zk_req = 0;
}

static void
on_http_check(void *arg, const struct etcd_http_result *r)
{
	struct be_check *c = arg;
	char why[160];

	c->http_req = 0;
	if (r->status == 0) {
		c->done(c->arg, false, r->error);
		return;
	}
	if (c->judge != NULL) {
		if (!c->judge(r, why, sizeof(why))) {
			c->done(c->arg, false, why);
			return;
		}
	} else if (r->status != 200) {
		snprintf(why, sizeof(why), "GET /health: HTTP %ld", r->status);
		c->done(c->arg, false, why);
		return;
	}
	c->done(c->arg, true, NULL);
}

void
be_check_http(struct be_check *c, int port,
    bool (*judge)(const struct etcd_http_result *r, char *why,
    size_t whylen))
{
	char *base = url_make("http", c->ip, (unsigned)port);
	char *url = xasprintf("%s/health", base);

	free(base);
	c->judge = judge;
	c->http_req = etcd_http_get(c->http, url, BE_CHECK_TIMEOUT_MS,
	    on_http_check, c);
	free(url);
}
