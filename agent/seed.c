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
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "etcd/diag.h"
#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/kv.h"
#include "etcd/v2.h"
#include "etcd/version.h"

#define CHECK_MS 1000
#define REQ_TIMEOUT_MS 3000

struct seed {
	struct loop *loop;
	struct etcd_http *http;
	struct sup *sup;
	char *etcd;		/* the binary, for messages */
	struct etcd_kv *kv;	/* v3 layout; NULL for v2 */
	char *client_url;
	char *token;
	char *token_url;	/* v2 */
	char *line;		/* what SEED_READY hands out */
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
	s->cb(s->arg, SEED_READY, s->line);
}

static void
on_created_v3(void *arg, const struct etcd_kv_result *r)
{
	struct seed *s = arg;

	s->req = 0;
	if (r->error != NULL && (r->http_status == 0 || r->http_status >= 500 ||
	    r->grpc_code == 14)) {
		again(s);
		return;
	}
	if (r->error != NULL) {
		char *msg = xasprintf("creating /_etcd/registry/%s/_config/size "
		    "at %s: %s", s->token, s->client_url, r->error);
		s->cb(s->arg, SEED_FAILED, msg);
		free(msg);
		return;
	}
	s->ready = true;
	log_info("seed ready: discovery token %s at %s (size %d, v3 keys)",
	    s->token, s->client_url, s->size);
	s->cb(s->arg, SEED_READY, s->line);
}

/* Create-if-absent: a restarted seed keeps the size it had. */
static void
create_token(struct seed *s)
{
	char *url, *key, *val = xasprintf("%d", s->size);

	if (s->kv != NULL) {
		key = xasprintf("/_etcd/registry/%s/_config/size", s->token);
		s->req = etcd_kv_txn_create(s->kv, key, strlen(key), val,
		    strlen(val), 0, on_created_v3, s);
		free(key);
	} else {
		url = xasprintf("%s/_config/size?prevExist=false&value=%s",
		    s->token_url, val);
		s->req = etcd_http_put(s->http, url, REQ_TIMEOUT_MS, on_created,
		    s);
		free(url);
	}
	free(val);
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
	create_token(s);
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

	(void)sup;
	(void)from;
	if (to == SUP_BACKOFF && etcd_refused_flags(ex)) {
		char *msg = xasprintf("the seed etcd (%s) refused the command "
		    "line zooinit gave it: it exited with status 2 (a usage "
		    "error) at once, after printing why (above); use an etcd "
		    "release zooinit supports (3.4 to 3.7) for the seed",
		    s->etcd);

		s->cb(s->arg, SEED_FAILED, msg);
		free(msg);
		return;
	}
	if (to == SUP_DONE)
		s->cb(s->arg, SEED_STOPPED, NULL);
}

struct seed *
seed_start(struct loop *l, struct etcd_http *h, const struct seed_opts *o,
    seed_cb cb, void *arg, char *err, size_t errlen)
{
	struct seed *s = xcalloc(1, sizeof(*s));
	char *peer = url_make("http", o->addr, (unsigned)o->peer_port);
	char *cluster = xasprintf("zooinit-seed=%s", peer);
	char *ctoken = xasprintf("zooinit-seed-%s", o->token);
	struct sup_opts so = {
		.label = "seed etcd",
		.stop_timeout_ms = o->stop_timeout_ms,
		.backoff_min_ms = 1000,
		.backoff_max_ms = 30000,
		.stable_ms = 60000,
	};
	char *argv[] = {
		(char *)o->etcd, "--name", "zooinit-seed",
		"--data-dir", (char *)o->data_dir,
		"--listen-client-urls", NULL, "--advertise-client-urls", NULL,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", cluster, "--initial-cluster-token", ctoken,
		o->layout == SEED_V2 ? "--enable-v2" : NULL, NULL,
	};

	s->loop = l;
	s->http = h;
	s->cb = cb;
	s->arg = arg;
	s->size = o->size;
	s->etcd = xstrdup(o->etcd);
	s->client_url = url_make("http", o->addr, (unsigned)o->client_port);
	s->token = xstrdup(o->token);
	if (o->layout == SEED_V2) {
		s->token_url = xasprintf("%s/v2/keys/_etcd/registry/%s",
		    s->client_url, o->token);
		s->line = xstrdup(s->token_url);
	} else {
		s->kv = etcd_kv_new(h, &s->client_url, 1);
		etcd_kv_set_timeout(s->kv, REQ_TIMEOUT_MS);
		s->line = xasprintf("--discovery-endpoints %s --discovery-token "
		    "%s", s->client_url, o->token);
	}
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

/* The layout the seed can serve with etcd binary etcd. Returns SEED_V2 or
 * SEED_V3, or -1 with err set when want is SEED_V2 and etcd has no v2. */
static int
pick_layout(const char *etcd, enum seed_layout want, const char *addr,
    int client_port, const char *token, char *err, size_t errlen)
{
	struct etcd_version v;
	char why[512], ver[32];

	if (want == SEED_V3)
		return SEED_V3;
	if (etcd_version_probe(etcd, &v, why, sizeof(why)) < 0) {
		/* Try as before; an etcd that refuses --enable-v2 says so. */
		log_warn("%s; starting the seed with the v2 keys API", why);
		return SEED_V2;
	}
	etcd_version_str(&v, ver, sizeof(ver));
	if (etcd_version_has_v2(&v))
		return SEED_V2;
	if (want == SEED_ANY) {
		log_info("the seed etcd %s is %s, which has no v2 keys API: the "
		    "token goes in the v3 keyspace", etcd, ver);
		return SEED_V3;
	}
	char *ep = url_make("http", addr, (unsigned)client_port);
	snprintf(err, errlen, "the v2 token URL %s/v2/keys/_etcd/registry/%s "
	    "needs the v2 keys API, which the seed etcd %s (%s) does not have "
	    "(etcd 3.6 removed it); set discovery_endpoints = %s and "
	    "discovery_token = %s instead of discovery", ep, token, etcd, ver,
	    ep, token);
	free(ep);
	return -1;
}

int
seed_start_cfg(struct loop *l, struct etcd_http *h, const struct cfg *c,
    const char *addr, int client_port, const char *token,
    enum seed_layout layout, seed_cb cb, void *arg, struct seed **out)
{
	char err[1024], *etcd = proc_find_binary(c->etcd, err, sizeof(err));
	struct seed_opts o = {
		.etcd = etcd, .addr = addr, .client_port = client_port,
		.peer_port = c->seed_peer_port, .data_dir = c->seed_data_dir,
		.token = token, .size = c->size,
		.stop_timeout_ms = c->stop_timeout * 1000,
	};
	int rc;

	*out = NULL;
	if (etcd == NULL) {
		log_error("%s", err);
		return EXIT_NOTFOUND;
	}
	rc = pick_layout(etcd, layout, addr, client_port, token, err,
	    sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		free(etcd);
		return EXIT_PERMANENT;
	}
	o.layout = (enum seed_layout)rc;
	*out = seed_start(l, h, &o, cb, arg, err, sizeof(err));
	free(etcd);
	if (*out == NULL) {
		log_error("%s", err);
		return EXIT_NOEXEC;
	}
	return 0;
}

/* The request in flight goes to the client of the seed's layout. */
static void
cancel_req(struct seed *s)
{
	uint64_t id = s->req;

	s->req = 0;
	if (id == 0)
		return;
	if (s->kv != NULL)
		etcd_kv_cancel(s->kv, id);
	else
		etcd_http_cancel(s->http, id);
}

void
seed_stop(struct seed *s)
{
	loop_cancel(s->loop, s->timer);
	s->timer = 0;
	cancel_req(s);
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
	cancel_req(s);
	etcd_kv_free(s->kv);
	sup_free(s->sup);
	free(s->etcd);
	free(s->client_url);
	free(s->token);
	free(s->token_url);
	free(s->line);
	free(s);
}
