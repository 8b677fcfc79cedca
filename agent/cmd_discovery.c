#include "lib/fmacros.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "agent/actx.h"
#include "agent/cmd.h"
#include "agent/hostaddr.h"
#include "agent/seed.h"
#include "etcd/http.h"
#include "etcd/v2.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "resolver/localaddr.h"

#define REQUEST_TIMEOUT_MS 3000

/* zooinit discovery serve (a seed discovery etcd on this host) and
 * zooinit discovery new (a token in an etcd that runs already). */

struct disc {
	struct actx *x;
	char *token;		/* the token made; freed at the end */
	struct seed *seed;	/* serve */
	bool stopping;
	uint64_t req;		/* new: the PUT in flight */
};

/* A fresh token: 128 random bits in hex. Returns a new string. */
static char *
random_token(void)
{
	unsigned char b[16];
	char *s = xmalloc(sizeof(b) * 2 + 1);

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		log_error("getrandom: %s", strerror(errno));
		abort();
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return s;
}

static void
on_serve_seed(void *arg, enum seed_event ev, const char *msg)
{
	struct disc *d = arg;

	switch (ev) {
	case SEED_READY:
		printf("%s\n", msg);
		fflush(stdout);
		break;
	case SEED_FAILED:
		log_error("%s", msg);
		d->stopping = true;
		d->x->exit_code = EXIT_PERMANENT;
		seed_stop(d->seed);
		break;
	case SEED_STOPPED:
		actx_finish(d->x, d->x->exit_code);
		break;
	}
}

static void
on_serve_stop(void *arg, int sig)
{
	struct disc *d = arg;

	if (!seed_stopped(d->seed)) {
		if (!d->stopping)
			log_info("%s received: stopping", strsignal(sig));
		d->stopping = true;
		d->x->exit_code = EXIT_OK;
		seed_stop(d->seed);
		return;
	}
	log_info("%s received before etcd started: exiting", strsignal(sig));
	actx_finish(d->x, EXIT_OK);
}

static bool
on_serve_reaped(void *arg, pid_t pid, int status)
{
	struct disc *d = arg;

	return seed_reaped(d->seed, pid, status);
}

/* Starts the seed on this host's address. Returns -1, or an exit code. */
static int
begin_serve(struct disc *d)
{
	const struct cfg *c = d->x->c;
	struct local_addrs self = { 0 };
	char err[512], addr[64];
	int rc;

	if (c->size < 1) {
		log_error("discovery serve needs --size N (the members the token "
		    "is for)");
		return EXIT_USAGE;
	}
	if (hostaddr_local(c, &self, err, sizeof(err)) < 0 ||
	    hostaddr_for_token(&self, NULL, addr, sizeof(addr), err,
	    sizeof(err)) < 0) {
		log_error("%s", err);
		local_addrs_free(&self);
		return EXIT_USAGE;
	}
	local_addrs_free(&self);
	d->token = c->discovery_token ? xstrdup(c->discovery_token) :
	    random_token();
	rc = seed_start_cfg(d->x->loop, d->x->http, c, addr,
	    c->seed_client_port, d->token, on_serve_seed, d, &d->seed);
	return rc == 0 ? -1 : rc;
}

int
cmd_discovery_serve(const struct cfg *c)
{
	struct actx x;
	struct disc d = { .x = &x };
	int code = actx_open(&x, c, true);

	if (code != 0)
		return code;
	x.stop = on_serve_stop;
	x.reaped = on_serve_reaped;
	x.arg = &d;
	code = begin_serve(&d);
	if (code < 0)
		code = actx_run(&x);
	if (d.seed != NULL && !seed_stopped(d.seed)) {
		seed_stop(d.seed);
		seed_stop(d.seed);
	}
	actx_reap(&x);
	seed_free(d.seed);
	free(d.token);
	actx_close(&x);
	return code;
}

static void
on_new(void *arg, const struct etcd_http_result *r)
{
	struct disc *d = arg;
	const char *ep = d->x->c->endpoint;
	struct etcd_v2_reply v;
	char err[256];

	d->req = 0;
	if (r->status == 0) {
		log_error("cannot reach %s: %s", ep, r->error);
		actx_finish(d->x, EXIT_TEMPORARY);
		return;
	}
	if (r->status == 404 && (r->len == 0 || r->body[0] != '{')) {
		log_error("%s does not serve etcd's v2 keys API; start that etcd "
		    "with --enable-v2 (or use zooinit discovery serve)", ep);
		actx_finish(d->x, EXIT_PERMANENT);
		return;
	}
	if (etcd_v2_parse(r->body, r->len, &v, err, sizeof(err)) < 0 ||
	    v.error_code != 0) {
		log_error("creating the token at %s: %s", ep,
		    v.message ? v.message : err);
		etcd_v2_reply_free(&v);
		actx_finish(d->x, r->status >= 500 ? EXIT_TEMPORARY :
		    EXIT_PERMANENT);
		return;
	}
	etcd_v2_reply_free(&v);
	printf("%s/v2/keys/_etcd/registry/%s\n", ep, d->token);
	fflush(stdout);
	actx_finish(d->x, EXIT_OK);
}

static void
on_new_stop(void *arg, int sig)
{
	struct disc *d = arg;

	log_info("%s received before etcd started: exiting", strsignal(sig));
	actx_finish(d->x, EXIT_OK);
}

/* zooinit discovery new: a token in an existing etcd, like the public
 * discovery service's /new. */
int
cmd_discovery_new(const struct cfg *c)
{
	struct actx x;
	struct disc d = { .x = &x };
	char *url, *base;
	int code;

	if (c->size < 1 || c->endpoint == NULL) {
		log_set_level(c->log_level);
		log_error("discovery new needs --size N and --endpoint URL (an "
		    "etcd with the v2 keys API)");
		return EXIT_USAGE;
	}
	code = actx_open(&x, c, true);
	if (code != 0)
		return code;
	x.stop = on_new_stop;
	x.arg = &d;
	base = xstrdup(c->endpoint);
	while (strlen(base) > 8 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	d.token = c->discovery_token ? xstrdup(c->discovery_token) :
	    random_token();
	url = xasprintf("%s/v2/keys/_etcd/registry/%s/_config/size?prevExist="
	    "false&value=%d", base, d.token, c->size);
	d.req = etcd_http_put(x.http, url, REQUEST_TIMEOUT_MS, on_new, &d);
	free(url);
	free(base);
	code = actx_run(&x);
	if (d.req != 0)
		etcd_http_cancel(x.http, d.req);
	free(d.token);
	actx_close(&x);
	return code;
}
