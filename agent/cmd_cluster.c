#include "lib/fmacros.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/actx.h"
#include "agent/cmd.h"
#include "agent/hostaddr.h"
#include "agent/metrics.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "resolver/localaddr.h"
#include "services/services.h"

/* zooinit cluster -f FILE SERVICE: one service through an etcd that runs
 * already; no etcd of its own. */

struct cluster {
	struct actx *x;
	struct services *svcs;
	bool stop_requested;
	int64_t start_unix;
};

/* No etcd of its own: the page holds the service and the agent's start. */
static char *
page(void *arg)
{
	struct cluster *cl = arg;
	struct prom p = { 0 };

	metrics_write_start(&p, cl->start_unix);
	metrics_write_services(&p, cl->svcs);
	return prom_take(&p);
}

static void
on_done(void *arg, int code)
{
	struct cluster *cl = arg;

	actx_finish(cl->x, cl->stop_requested ? EXIT_OK : code);
}

static void
on_stop(void *arg, int sig)
{
	struct cluster *cl = arg;

	if (services_active(cl->svcs)) {
		if (!cl->stop_requested)
			log_info("%s received: stopping the service",
			    strsignal(sig));
		cl->stop_requested = true;
		services_stop(cl->svcs);
		return;
	}
	log_info("%s received: exiting", strsignal(sig));
	actx_finish(cl->x, EXIT_OK);
}

static bool
on_reaped(void *arg, pid_t pid, int status)
{
	struct cluster *cl = arg;

	return services_reaped(cl->svcs, pid, status);
}

/* This host's address for the service: the configured one, else the one
 * it reaches the first endpoint from. Returns 0, or -1 with err set. */
static int
service_addr(const struct cfg *c, const char *endpoint, char *out,
    size_t outlen, char *err, size_t errlen)
{
	struct local_addrs self = { 0 };
	struct url_parts u;

	if (c->ip != NULL || c->interface != NULL || c->hint != NULL) {
		if (hostaddr_local(c, &self, err, errlen) < 0)
			return -1;
		snprintf(out, outlen, "%s", self.v[0]);
		local_addrs_free(&self);
		return 0;
	}
	if (url_split(endpoint, &u, err, errlen) < 0)
		return -1;
	if (hostaddr_toward(u.host, out, outlen) == 0)
		return 0;
	if (errno == EINVAL)
		snprintf(err, errlen, "cannot tell this host's address from "
		    "%s (not an IP address): set ip or interface", endpoint);
	else
		snprintf(err, errlen, "cannot tell this host's address toward "
		    "%s: %s: set ip or interface", endpoint, strerror(errno));
	return -1;
}

/* Says which services the config has when the one asked for is not. */
static void
no_such_service(const struct cfg *c)
{
	char *v[SVC_MAX], *names;

	for (size_t i = 0; i < c->n_svcs; i++)
		v[i] = c->svcs[i].name;
	names = xjoin(v, c->n_svcs, ", ");
	log_error("cluster: no service \"%s\" in %s (%s)", c->args[0],
	    c->config_file ? c->config_file : "the config (no -f FILE)",
	    c->n_svcs ? names : "it defines none");
	free(names);
}

int
cmd_cluster(const struct cfg *c)
{
	const struct svc_cfg *svc = svc_find(c->svcs, c->n_svcs, c->args[0]);
	char *const dflt[] = { (char *)"http://127.0.0.1:2379" };
	char *const *eps = c->n_endpoints > 0 ? c->endpoints : dflt;
	size_t n_eps = c->n_endpoints > 0 ? c->n_endpoints : 1;
	char err[512], ip[64];
	struct actx x;
	struct cluster cl = { .x = &x, .start_unix = (int64_t)time(NULL) };
	struct httpd *m = NULL;
	int code = actx_open(&x, c, true);

	if (code != 0)
		return code;
	x.stop = on_stop;
	x.reaped = on_reaped;
	x.arg = &cl;
	if (svc == NULL) {
		no_such_service(c);
		code = EXIT_USAGE;
	} else if (service_addr(c, eps[0], ip, sizeof(ip), err,
	    sizeof(err)) < 0) {
		log_error("%s", err);
		code = EXIT_USAGE;
	} else {
		log_set_name(svc->name);
		cl.svcs = services_new(x.loop, x.http, &svc, 1, ip, NULL, eps, n_eps,
		    on_done, &cl);
		code = metrics_serve(&x, page, &cl, &m);
		if (code == 0) {
			services_start(cl.svcs);
			code = actx_run(&x);
		}
	}
	httpd_free(m);
	services_free(cl.svcs);
	cl.svcs = NULL;
	actx_close(&x);
	return code;
}
