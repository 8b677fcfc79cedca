#include "lib/fmacros.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "agent/seed.h"
#include "lib/sup.h"
#include "lib/xmalloc.h"
#include "etcd/diag.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/v2.h"

#define CHECK_MS 1000
#define REQ_TIMEOUT_MS 3000

struct seed {
	struct loop *loop;
	struct etcd_http *http;
	struct sup *sup;
	char *etcd;		/* the binary, for messages */
	char *client_url;
	char *token_url;
	int size;
	bool ready;
	uint64_t timer, req;
	seed_cb cb;
	void *arg;
};

static void check(struct loop *l, void *arg);

static void
again(struct seed *s)
{
	s->timer = loop_timer(s->loop, CHECK_MS, check, s);
}

static void
on_created(void *arg, const struct etcd_http_result *r)
{
	struct seed *s = arg;
	struct etcd_v2_reply v;
	char err[256];

	s->req = 0;
	if (r->status == 0 || r->status >= 500) {
		again(s);
		return;
	}
	if (etcd_v2_parse(r->body, r->len, &v, err, sizeof(err)) < 0 ||
	    (v.error_code != 0 && v.error_code != ETCD_V2_NODE_EXIST)) {
		char *msg = xasprintf("creating %s/_config/size: %s", s->token_url,
		    v.message ? v.message : err);
		etcd_v2_reply_free(&v);
		s->cb(s->arg, SEED_FAILED, msg);
		free(msg);
		return;
	}
	etcd_v2_reply_free(&v);
	s->ready = true;
	log_info("seed ready: discovery token %s (size %d)", s->token_url,
	    s->size);
	s->cb(s->arg, SEED_READY, s->token_url);
}

static void
on_health(void *arg, const struct etcd_http_result *r)
{
	struct seed *s = arg;
	bool healthy = false;
	char err[128];

	s->req = 0;
	if (r->status != 200 ||
	    etcd_parse_health(r->body, r->len, &healthy, err, sizeof(err)) < 0 ||
	    !healthy) {
		again(s);
		return;
	}
	/* Create-if-absent: a restarted seed keeps the size it had. */
	char *url = xasprintf("%s/_config/size?prevExist=false&value=%d",
	    s->token_url, s->size);
	s->req = etcd_http_put(s->http, url, REQ_TIMEOUT_MS, on_created, s);
	free(url);
}

static void
check(struct loop *l, void *arg)
{
	struct seed *s = arg;
	char *url;

	(void)l;
	s->timer = 0;
	if (sup_state(s->sup) != SUP_RUNNING) {
		again(s);
		return;
	}
	url = xasprintf("%s/health", s->client_url);
	s->req = etcd_http_get(s->http, url, REQ_TIMEOUT_MS, on_health, s);
	free(url);
}

static void
on_sup(void *arg, struct sup *sup, enum sup_state from, enum sup_state to,
    const struct sup_exit *ex)
{
	struct seed *s = arg;
	char what[512];

	(void)sup;
	(void)from;
	if (to == SUP_BACKOFF && etcd_first_start_complaint(ex, what,
	    sizeof(what)) == ETCD_COMPLAINT_FLAGS) {
		char *msg = xasprintf("the seed etcd (%s) refused the command "
		    "line zooinit gave it: \"%s\"; use an etcd release zooinit "
		    "supports (3.4 to 3.7) for the seed", s->etcd, what);

		s->cb(s->arg, SEED_FAILED, msg);
		free(msg);
		return;
	}
	if (to == SUP_DONE)
		s->cb(s->arg, SEED_STOPPED, NULL);
}

static char *
url_for(const char *addr, int port)
{
	if (strchr(addr, ':') != NULL)
		return xasprintf("http://[%s]:%d", addr, port);
	return xasprintf("http://%s:%d", addr, port);
}

struct seed *
seed_start(struct loop *l, struct etcd_http *h, const struct seed_opts *o,
    seed_cb cb, void *arg, char *err, size_t errlen)
{
	struct seed *s = xcalloc(1, sizeof(*s));
	char *peer = url_for(o->addr, o->peer_port);
	char *cluster = xasprintf("zooinit-seed=%s", peer);
	char *ctoken = xasprintf("zooinit-seed-%s", o->token);
	struct sup_opts so = {
		.label = "seed etcd",
		.stop_timeout_ms = o->stop_timeout_ms,
		.backoff_min_ms = 1000,
		.backoff_max_ms = 30000,
		.stable_ms = 60000,
		.capture_output = true,
	};
	char *argv[] = {
		(char *)o->etcd, "--name", "zooinit-seed",
		"--data-dir", (char *)o->data_dir,
		"--listen-client-urls", NULL, "--advertise-client-urls", NULL,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", cluster, "--initial-cluster-token", ctoken,
		"--enable-v2", NULL,
	};

	s->loop = l;
	s->http = h;
	s->cb = cb;
	s->arg = arg;
	s->size = o->size;
	s->etcd = xstrdup(o->etcd);
	s->client_url = url_for(o->addr, o->client_port);
	s->token_url = xasprintf("%s/v2/keys/_etcd/registry/%s", s->client_url,
	    o->token);
	argv[6] = argv[8] = s->client_url;
	/* etcd insists on a private data dir. */
	if (mkdir(o->data_dir, 0700) < 0 && errno != EEXIST)
		log_warn("cannot create %s: %s", o->data_dir, strerror(errno));
	log_info("starting the seed discovery etcd on %s (data in %s)",
	    s->client_url, o->data_dir);
	s->sup = sup_new(l, &so, argv, on_sup, s);
	free(peer);
	free(cluster);
	free(ctoken);
	if (sup_start(s->sup) < 0) {
		snprintf(err, errlen, "cannot start the seed etcd %s: %s", o->etcd,
		    strerror(errno));
		seed_free(s);
		return NULL;
	}
	again(s);
	return s;
}

int
seed_start_cfg(struct loop *l, struct etcd_http *h, const struct cfg *c,
    const char *addr, int client_port, const char *token, seed_cb cb,
    void *arg, struct seed **out)
{
	char err[512], *etcd = proc_find_binary(c->etcd, err, sizeof(err));
	struct seed_opts o = {
		.etcd = etcd, .addr = addr, .client_port = client_port,
		.peer_port = c->seed_peer_port, .data_dir = c->seed_data_dir,
		.token = token, .size = c->size,
		.stop_timeout_ms = c->stop_timeout * 1000,
	};

	*out = NULL;
	if (etcd == NULL) {
		log_error("%s", err);
		return EXIT_NOTFOUND;
	}
	*out = seed_start(l, h, &o, cb, arg, err, sizeof(err));
	free(etcd);
	if (*out == NULL) {
		log_error("%s", err);
		return EXIT_NOEXEC;
	}
	return 0;
}

void
seed_stop(struct seed *s)
{
	loop_cancel(s->loop, s->timer);
	s->timer = 0;
	if (s->req != 0)
		etcd_http_cancel(s->http, s->req);
	s->req = 0;
	if (sup_state(s->sup) == SUP_DONE || sup_state(s->sup) == SUP_IDLE) {
		s->cb(s->arg, SEED_STOPPED, NULL);
		return;
	}
	sup_stop(s->sup);
}

bool
seed_reaped(struct seed *s, pid_t pid, int status)
{
	return s != NULL && sup_reaped(s->sup, pid, status);
}

bool
seed_stopped(const struct seed *s)
{
	return s == NULL || sup_state(s->sup) == SUP_DONE ||
	    sup_state(s->sup) == SUP_IDLE;
}

void
seed_free(struct seed *s)
{
	if (s == NULL)
		return;
	loop_cancel(s->loop, s->timer);
	if (s->req != 0)
		etcd_http_cancel(s->http, s->req);
	sup_free(s->sup);
	free(s->etcd);
	free(s->client_url);
	free(s->token_url);
	free(s);
}
