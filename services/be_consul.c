#include "lib/fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "resolver/dnsname.h"
#include "services/be_int.h"

/* Consul: participants are servers, a standby is a client agent. */

static bool
consul_dc_ok(const char *s)
{
	/* Consul's validateBasicName: ^[a-z0-9_-]+$ */
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

char **
be_consul_argv(const char *consul, const struct be_set *s,
    const struct be_consul_opts *o, char *err, size_t errlen)
{
	struct be_vset v;
	struct strv a = { 0 };
	char name[16], q[80], buf[32];
	const char *node;
	const struct be_vmem *me;

	if (be_vset_load(s, &v, err, errlen) < 0)
		return NULL;
	if (o == NULL) {
		snprintf(err, errlen, "no Consul options given");
		goto fail;
	}
	if (be_path_ok("Consul data dir", o->data_dir, err, errlen) < 0)
		goto fail;
	me = &v.m[v.self];
	snprintf(name, sizeof(name), "n%u", me->id);
	node = o->node != NULL ? o->node : name;
	if (!dns_member_name_valid(node, false)) {
		snprintf(err, errlen, "Consul node name \"%s\" is not one DNS "
		    "label (letters, digits, '-'); Consul could not serve it "
		    "over DNS", str_quote(node, q, sizeof(q)));
		goto fail;
	}
	if (o->datacenter != NULL && !consul_dc_ok(o->datacenter)) {
		snprintf(err, errlen, "Consul datacenter \"%s\" may hold only "
		    "lowercase letters, digits, '-' and '_'",
		    str_quote(o->datacenter, q, sizeof(q)));
		goto fail;
	}
	strv_add(&a, consul);
	strv_add(&a, "agent");
	if (!me->standby) {
		strv_add(&a, "-server");
		snprintf(buf, sizeof(buf), "%zu", v.voters);
		strv_add2(&a, "-bootstrap-expect", buf);
	}
	/* Consul reads these with net.ParseIP: IPv6 without brackets. */
	strv_add2(&a, "-bind", me->ip);
	strv_add2(&a, "-advertise", me->ip);
	strv_add2(&a, "-client", me->ip);
	strv_add2(&a, "-data-dir", o->data_dir);
	if (o->datacenter != NULL)
		strv_add2(&a, "-datacenter", o->datacenter);
	strv_add2(&a, "-node", node);
	for (size_t i = 0; i < v.n; i++) {
		char h[INET6_ADDRSTRLEN + 2];

		if (i == v.self || v.m[i].standby)
			continue;
		/* -retry-join wants IPv6 literals in brackets. */
		be_host_part(&v.m[i], h, sizeof(h));
		strv_add2(&a, "-retry-join", h);
	}
	be_vset_free(&v);
	return a.v;
fail:
	be_vset_free(&v);
	strv_free(a.v);
	return NULL;
}

static int
consul_prepare(const struct be_env *e, char ***argv, char *err,
    size_t errlen)
{
	struct be_consul_opts o = { .data_dir = e->cfg->data_dir,
	    .datacenter = e->cfg->datacenter };

	*argv = be_consul_argv(e->bin, e->set, &o, err, errlen);
	return *argv != NULL ? 0 : -1;
}

/* No health check of its own: OnHealthCheck can ask Consul. */
const struct backend_ops be_consul = {
	.name = "consul",
	.prepare = consul_prepare,
};
