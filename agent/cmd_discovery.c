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
#include "etcd/kv.h"
#include "etcd/v2.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "resolver/localaddr.h"

#define REQUEST_TIMEOUT_MS 3000

/* zooinit discovery serve (a seed discovery etcd on this host) and
 * zooinit discovery new (a token in an etcd that runs already). Both print
 * one line for bootstrap: a v2 token URL where the etcd has the v2 keys
 * API, else "--discovery-endpoints URL --discovery-token TOKEN" for the
 * v3 layout (etcd 3.6 and later have no v2 API). */

struct disc {
	struct actx *x;
	char *token;		/* the token made; freed at the end */
	struct seed *seed;	/* serve */
	bool stopping;
	char *base;		/* new: the endpoint, no trailing '/' */
	struct etcd_kv *kv;	/* new: v3 fallback */
	uint64_t req;		/* new: the request in flight */
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
	    c->seed_client_port, d->token, SEED_ANY, on_serve_seed, d,
	    &d->seed);
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

/* v3 fallback: the create-if-absent transaction's answer. */
static void
on_new_v3(void *arg, const struct etcd_kv_result *r)
{
	struct disc *d = arg;

	d->req = 0;
	if (r->error != NULL) {
		log_error("creating the token in the v3 keyspace at %s: %s",
		    d->base, r->error);
		actx_finish(d->x, r->http_status == 0 || r->http_status >= 500 ?
		    EXIT_TEMPORARY : EXIT_PERMANENT);
		return;
	}
	if (!r->succeeded) {
		log_error("token %s exists already at %s; choose another "
		    "--discovery-token (or none for a random one)", d->token,
		    d->base);
		actx_finish(d->x, EXIT_PERMANENT);
		return;
	}
	printf("--discovery-endpoints %s --discovery-token %s\n", d->base,
	    d->token);
	fflush(stdout);
	actx_finish(d->x, EXIT_OK);
}

/* The endpoint has no v2 keys API (3.6+, or 3.4/3.5 without --enable-v2):
 * the token goes in the v3 keyspace, as etcd's own v3 discovery keeps it. */
static void
new_v3(struct disc *d)
{
	char *key = xasprintf("/_etcd/registry/%s/_config/size", d->token);
	char *val = xasprintf("%d", d->x->c->size);

	log_info("%s has no v2 keys API: creating the token in the v3 "
	    "keyspace", d->base);
	d->kv = etcd_kv_new(d->x->http, &d->base, 1);
	etcd_kv_set_timeout(d->kv, REQUEST_TIMEOUT_MS);
	d->req = etcd_kv_txn_create(d->kv, key, strlen(key), val, strlen(val),
	    0, on_new_v3, d);
	free(key);
	free(val);
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
		new_v3(d);
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
	printf("%s/v2/keys/_etcd/registry/%s\n", d->base, d->token);
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
 * discovery service's /new. v2 first (PUT with prevExist=false); an
 * endpoint that answers that with a plain 404, not etcd's JSON, has no v2
 * API, and the token is made in the v3 keyspace instead. */
int
cmd_discovery_new(const struct cfg *c)
{
	struct actx x;
	struct disc d = { .x = &x };
	char *url;
	int code;

	if (c->size < 1 || c->endpoint == NULL) {
		log_set_level(c->log_level);
		log_error("discovery new needs --size N and --endpoint URL (the "
		    "client URL of a running etcd)");
		return EXIT_USAGE;
	}
	code = actx_open(&x, c, true);
	if (code != 0)
		return code;
	x.stop = on_new_stop;
	x.arg = &d;
	d.base = xstrdup(c->endpoint);
	while (strlen(d.base) > 8 && d.base[strlen(d.base) - 1] == '/')
		d.base[strlen(d.base) - 1] = '\0';
	d.token = c->discovery_token ? xstrdup(c->discovery_token) :
	    random_token();
	url = xasprintf("%s/v2/keys/_etcd/registry/%s/_config/size?prevExist="
	    "false&value=%d", d.base, d.token, c->size);
	d.req = etcd_http_put(x.http, url, REQUEST_TIMEOUT_MS, on_new, &d);
	free(url);
	code = actx_run(&x);
	if (d.req != 0 && d.kv != NULL)
		etcd_kv_cancel(d.kv, d.req);
	else if (d.req != 0)
		etcd_http_cancel(x.http, d.req);
	etcd_kv_free(d.kv);
	free(d.token);
	free(d.base);
	actx_close(&x);
	return code;
}
