#include "lib/fmacros.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd/http.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/xmalloc.h"
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

int
be_give(const struct be_env *e, const char *path, char *err, size_t errlen)
{
	if (e->uid == (uid_t)-1 || chown(path, e->uid, e->gid) == 0)
		return 0;
	snprintf(err, errlen, "chown %s to %s: %s", path, e->cfg->user,
	    strerror(errno));
	return -1;
}

/* The data dir 0700 and the service's user's; its parents 0755, so that
 * user can reach it. */
static int
make_data_dir(const struct be_env *e, char *err, size_t errlen)
{
	const char *dir = e->cfg->data_dir;
	const char *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash != NULL && slash != dir) {
		char *parent = xstrndup(dir, (size_t)(slash - dir));

		rc = file_mkdirs(parent, 0755, err, errlen);
		free(parent);
	}
	if (rc < 0 || file_mkdirs(dir, 0700, err, errlen) < 0)
		return -1;
	return be_give(e, dir, err, errlen);
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
	char *url;

	c->judge = judge;
	url = xasprintf(strchr(c->ip, ':') ? "http://[%s]:%d/health" :
	    "http://%s:%d/health", c->ip, port);
	c->http_req = etcd_http_get(c->http, url, BE_CHECK_TIMEOUT_MS,
	    on_http_check, c);
	free(url);
}
