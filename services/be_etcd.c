#include "lib/fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/api.h"
#include "etcd/http.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "services/be_int.h"

/* A second etcd: a static cluster of the participants. */

#define ETCD_CLIENT_PORT 22379
#define ETCD_PEER_PORT 22380

char **
be_etcd_argv(const char *etcd, const struct be_set *s,
    const struct be_etcd_opts *o, char *err, size_t errlen)
{
	struct be_vset v;
	struct strv a = { 0 };
	struct sbuf ic = { 0 };
	char h[INET6_ADDRSTRLEN + 2], name[16], q[80];
	char *peer = NULL, *client = NULL;
	int cport, pport;
	const struct be_vmem *me;

	if (be_vset_load(s, &v, err, errlen) < 0)
		return NULL;
	if (o == NULL) {
		snprintf(err, errlen, "no etcd options given");
		goto fail;
	}
	me = &v.m[v.self];
	if (me->standby) {
		snprintf(err, errlen, "member %u is a standby, and standbys "
		    "are not members of the service etcd; run no etcd on this "
		    "node and use the participants' client URLs", me->id);
		goto fail;
	}
	if (be_path_ok("etcd data dir", o->data_dir, err, errlen) < 0 ||
	    be_port(o->client_port, ETCD_CLIENT_PORT, "etcd client port",
	    &cport, err, errlen) < 0 ||
	    be_port(o->peer_port, ETCD_PEER_PORT, "etcd peer port", &pport,
	    err, errlen) < 0)
		goto fail;
	if (cport == pport) {
		snprintf(err, errlen, "etcd client and peer ports are both %d; "
		    "they must differ", cport);
		goto fail;
	}
	bool tok_ok = o->token != NULL && o->token[0] != '\0' &&
	    strlen(o->token) <= 256;

	for (const char *c = o->token; tok_ok && *c != '\0'; c++)
		tok_ok = *c > 0x20 && *c < 0x7f;
	if (!tok_ok) {
		snprintf(err, errlen, "etcd cluster token \"%s\" must be "
		    "1..256 printable ASCII characters without blanks, the "
		    "same on every member", o->token != NULL ?
		    str_quote(o->token, q, sizeof(q)) : "");
		goto fail;
	}
	for (size_t i = 0; i < v.n; i++) {
		if (v.m[i].standby)
			continue;
		be_host_part(&v.m[i], h, sizeof(h));
		sb_printf(&ic, "%sn%u=http://%s:%d", ic.len ? "," : "",
		    v.m[i].id, h, pport);
	}
	be_host_part(me, h, sizeof(h));
	snprintf(name, sizeof(name), "n%u", me->id);
	peer = xasprintf("http://%s:%d", h, pport);
	client = xasprintf("http://%s:%d", h, cport);
	strv_add(&a, etcd);
	strv_add2(&a, "--name", name);
	strv_add2(&a, "--data-dir", o->data_dir);
	strv_add2(&a, "--listen-peer-urls", peer);
	strv_add2(&a, "--initial-advertise-peer-urls", peer);
	strv_add2(&a, "--listen-client-urls", client);
	strv_add2(&a, "--advertise-client-urls", client);
	strv_add2(&a, "--initial-cluster", sb_str(&ic));
	strv_add2(&a, "--initial-cluster-token", o->token);
	/* Ignored by etcd once the data dir holds a member. */
	strv_add2(&a, "--initial-cluster-state", "new");
	free(ic.p);
	free(peer);
	free(client);
	be_vset_free(&v);
	return a.v;
fail:
	free(ic.p);
	be_vset_free(&v);
	strv_free(a.v);
	return NULL;
}

static int
etcd_prepare(const struct be_env *e, char ***argv, char *err, size_t errlen)
{
	struct be_etcd_opts o = { .data_dir = e->cfg->data_dir,
	    .client_port = e->cfg->client_port,
	    .peer_port = e->cfg->peer_port, .token = e->cfg->token };

	*argv = be_etcd_argv(e->bin, e->set, &o, err, errlen);
	return *argv != NULL ? 0 : -1;
}

static bool
etcd_healthy(const struct etcd_http_result *r, char *why, size_t whylen)
{
	bool healthy = false;
	char err[160];

	if (r->status == 200 && etcd_parse_health(r->body, r->len, &healthy,
	    err, sizeof(err)) == 0 && healthy)
		return true;
	snprintf(why, whylen, "etcd /health: not healthy");
	return false;
}

static void
etcdsvc_check(struct be_check *c)
{
	be_check_http(c, be_port_or(c->cfg->client_port, ETCD_CLIENT_PORT),
	    etcd_healthy);
}

const struct backend_ops be_etcd = {
	.name = "etcd",
	.package = "etcd-server",
	.standby_idle = true,
	.prepare = etcd_prepare,
	.check = etcdsvc_check,
};
