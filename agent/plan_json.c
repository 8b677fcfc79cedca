#include "lib/fmacros.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "agent/plan.h"
#include "agent/plan_impl.h"
#include "lib/exitcode.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* The plan as the user sees it: JSON and text, for a plan and for a
 * token that is still waiting for its members. */

json_t *
plan_json_stringn(const char *s, size_t n)
{
	json_t *v;
	char *q;

	if (s == NULL)
		return json_null();
	v = json_stringn(s, n);
	if (v != NULL)
		return v;
	/* Every byte becomes at most four ("\xNN"). */
	q = xmalloc(4 * n + 1);
	v = json_string(str_quote_n(s, n, q, 4 * n + 1));
	free(q);
	if (v == NULL)
		abort();	/* only on allocation failure */
	return v;
}

json_t *
plan_json_string(const char *s)
{
	return plan_json_stringn(s, s != NULL ? strlen(s) : 0);
}

/* o[key] = s as plan_json_string() writes it. */
static void
set_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, plan_json_string(s));
}

json_t *
plan_to_json(const struct plan *p, bool with_argv)
{
	json_t *o = json_object(), *members = json_array();

	json_object_set_new(o, "version", json_integer(1));
	set_str(o, "name", plan_me(p)->name);
	set_str(o, "role", p->proxy ? "client" : "member");
	if (with_argv && p->role_reason != NULL)
		set_str(o, "role_reason", p->role_reason);
	set_str(o, "source", p->source);
	set_str(o, "source_detail", p->source_detail);
	if (with_argv) {
		json_t *sk = json_array();
		for (size_t i = 0; i < p->n_skipped; i++)
			json_array_append_new(sk, plan_json_string(p->skipped[i]));
		json_object_set_new(o, "skipped", sk);
	}
	set_str(o, "scheme", p->scheme);
	set_str(o, "state", p->state);
	set_str(o, "state_reason", p->state_reason);
	set_str(o, "data_dir", p->data_dir);
	set_str(o, "token", p->token);
	set_str(o, "initial_cluster", p->initial_cluster);
	json_object_set_new(o, "learner", json_boolean(p->learner));
	if (p->member_id != 0) {
		char id[24];
		snprintf(id, sizeof(id), "%llu",
		    (unsigned long long)p->member_id);
		set_str(o, "member_id", id);
	}
	for (size_t i = 0; i < p->n; i++) {
		json_t *m = json_object();
		set_str(m, "name", p->m[i].name);
		if (p->m[i].host != NULL)
			set_str(m, "host", p->m[i].host);
		set_str(m, "peer_url", p->m[i].peer_url);
		set_str(m, "client_url", p->m[i].client_url);
		json_object_set_new(m, "self", json_boolean(p->m[i].self));
		json_array_append_new(members, m);
	}
	json_object_set_new(o, "members", members);
	if (with_argv) {
		json_t *a = json_array(), *r = json_array();
		for (size_t i = 0; i < p->argc; i++)
			json_array_append_new(a, plan_json_string(p->argv[i]));
		json_object_set_new(o, "etcd_argv", a);
		/* restore_from: the file this member restores, or null. */
		set_str(o, "restore_from", p->restore_from);
		set_str(o, "restore_reason", p->restore_reason);
		for (size_t i = 0; p->restore_argv && p->restore_argv[i]; i++)
			json_array_append_new(r,
			    plan_json_string(p->restore_argv[i]));
		json_object_set_new(o, "restore_argv", r);
	}
	return o;
}

char *
plan_json(const struct plan *p)
{
	json_t *o = plan_to_json(p, true);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (s == NULL)
		abort();	/* only on allocation failure */
	return s;
}

void
plan_print(const struct plan *p, FILE *out)
{
	size_t w = 4;

	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->m[i].name) > w)
			w = strlen(p->m[i].name);
	fprintf(out, "this host:   %s (%s)%s\n", plan_me(p)->name,
	    plan_me(p)->addr, p->proxy ? ", a client: grpc-proxy" : "");
	if (p->role_reason != NULL)
		fprintf(out, "role:        %s (%s)\n", p->proxy ? "client" :
		    "member", p->role_reason);
	fprintf(out, "source:      %s (%s)\n", p->source, p->source_detail);
	for (size_t i = 0; i < p->n_skipped; i++)
		fprintf(out, "skipped:     %s\n", p->skipped[i]);
	fprintf(out, "state:       %s (%s)\n", p->state, p->state_reason);
	fprintf(out, "data dir:    %s\n", p->data_dir);
	fprintf(out, "token:       %s\n", p->token);
	fprintf(out, "members:     %zu\n", p->n);
	for (size_t i = 0; i < p->n; i++)
		fprintf(out, "  %-*s  peer %-28s client %s%s\n", (int)w,
		    p->m[i].name, p->m[i].peer_url, p->m[i].client_url,
		    p->m[i].self ? "  (this host)" : "");
	fprintf(out, "initial cluster: %s\n", p->initial_cluster);
	if (p->restore_from != NULL)
		fprintf(out, "restore:     %s (%s)\n", p->restore_from,
		    p->restore_reason);
	else if (p->restore_reason != NULL)
		fprintf(out, "restore:     none (restore_from ignored: %s)\n",
		    p->restore_reason);
	for (size_t i = 0; p->restore_argv && p->restore_argv[i]; i++)
		fprintf(out, "%s %s", i ? "" : "restore tool:",
		    p->restore_argv[i]);
	if (p->restore_argv != NULL)
		fprintf(out, "\n");
	fprintf(out, "etcd:");
	for (size_t i = 0; i < p->argc; i++)
		fprintf(out, " %s", p->argv[i]);
	fprintf(out, "\n");
}

/* Whether this host's name is among the registrations. */
static bool
waiting_registered(const struct plan_waiting *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->names[i], w->name) == 0)
			return true;
	return false;
}

char *
plan_waiting_json(const struct plan_waiting *w)
{
	json_t *o = json_object(), *members = json_array(), *me;
	char *reason = plan_waiting_reason(w), *s;

	json_object_set_new(o, "version", json_integer(1));
	set_str(o, "name", w->name);
	set_str(o, "role", "member");
	set_str(o, "source", "token");
	set_str(o, "source_detail", w->detail);
	set_str(o, "state", "waiting");
	set_str(o, "state_reason", reason);
	json_object_set_new(o, "registered", json_integer((json_int_t)w->n));
	json_object_set_new(o, "size", json_integer((json_int_t)w->size));
	for (size_t i = 0; i < w->n; i++) {
		json_t *m = json_object();

		set_str(m, "name", w->names[i]);
		set_str(m, "peer_url", w->urls[i]);
		json_object_set_new(m, "self", json_boolean(strcmp(w->names[i],
		    w->name) == 0));
		json_array_append_new(members, m);
	}
	json_object_set_new(o, "members", members);
	me = json_object();
	set_str(me, "name", w->name);
	set_str(me, "peer_url", w->peer_url);
	json_object_set_new(me, "registered",
	    json_boolean(waiting_registered(w)));
	json_object_set_new(o, "this_host", me);
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	free(reason);
	if (s == NULL)
		abort();	/* only on allocation failure */
	return s;
}

char *
plan_waiting_reason(const struct plan_waiting *w)
{
	struct sbuf b = { .max = 1024 };
	char q[160];

	sb_printf(&b, "%zu/%zu registered", w->n, w->size);
	for (size_t i = 0; i < w->n; i++)
		sb_printf(&b, "%s%s", i ? ", " : ": ",
		    str_quote(w->names[i], q, sizeof(q)));
	sb_printf(&b, "; %s", waiting_registered(w) ? "this host is one of "
	    "them" : "plan does not register this host");
	return sb_take(&b);
}

void
plan_waiting_print(const struct plan_waiting *w, FILE *out)
{
	char *reason = plan_waiting_reason(w);
	char q[160], u[320];
	size_t width = 4;

	for (size_t i = 0; i < w->n; i++)
		if (strlen(w->names[i]) > width && strlen(w->names[i]) < 64)
			width = strlen(w->names[i]);
	fprintf(out, "this host:   %s, %s %s=%s\n", w->name,
	    waiting_registered(w) ? "registered as" : "would register",
	    w->name, w->peer_url);
	fprintf(out, "source:      token (%s)\n",
	    str_quote(w->detail, u, sizeof(u)));
	fprintf(out, "state:       waiting (%s)\n", reason);
	fprintf(out, "registered:  %zu of %zu\n", w->n, w->size);
	for (size_t i = 0; i < w->n; i++) {
		fprintf(out, "  %-*s", (int)width,
		    str_quote(w->names[i], q, sizeof(q)));
		fprintf(out, "  peer %s%s\n", str_quote(w->urls[i], u,
		    sizeof(u)), strcmp(w->names[i], w->name) == 0 ?
		    "  (this host)" : "");
	}
	free(reason);
}

int
plan_waiting_report(const struct plan_waiting *w, bool json)
{
	if (json) {
		char *s = plan_waiting_json(w);

		printf("%s\n", s);
		free(s);
	} else {
		plan_waiting_print(w, stdout);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "zooinit plan: cannot write the output: %s\n",
		    strerror(errno));
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}
