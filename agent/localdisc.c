#include "lib/fmacros.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/localdisc.h"
#include "agent/plan.h"
#include "etcd/v2_serve.h"
#include "lib/httpd.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct localdisc {
	struct httpd *h;
	struct etcd_v2_registry *reg;
};

static void
on_request(void *arg, const struct httpd_req *r, struct httpd_answer *a)
{
	struct localdisc *d = arg;

	a->status = etcd_v2_registry_answer(d->reg, r->method, r->path,
	    &a->body);
	a->ctype = "application/json";
	a->headers = xasprintf("X-Etcd-Index: %llu\r\n",
	    etcd_v2_registry_index(d->reg));
	log_debug("discovery: %s %s: %d", r->method, r->path, a->status);
}

struct localdisc *
localdisc_start(struct loop *l, const struct plan *p, char *err,
    size_t errlen)
{
	char **names = xcalloc(p->n, sizeof(*names));
	char **urls = xcalloc(p->n, sizeof(*urls));
	struct localdisc *d = xcalloc(1, sizeof(*d));
	int e;

	for (size_t i = 0; i < p->n; i++) {
		names[i] = p->m[i].name;
		urls[i] = p->m[i].peer_url;
	}
	d->reg = etcd_v2_registry_new(p->token, names, urls, p->n, err,
	    errlen);
	free(names);
	free(urls);
	if (d->reg != NULL)
		d->h = httpd_new_handler(l, PLAN_DISCOVERY_ADDR, on_request, d,
		    err, errlen);
	if (d->h == NULL) {
		e = d->reg == NULL ? EINVAL : errno;
		localdisc_free(d);
		errno = e;
		return NULL;
	}
	return d;
}

void
localdisc_free(struct localdisc *d)
{
	if (d == NULL)
		return;
	httpd_free(d->h);
	etcd_v2_registry_free(d->reg);
	free(d);
}
