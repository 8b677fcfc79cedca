#include "lib/fmacros.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/plan.h"
#include "agent/rejoin.h"
#include "agent/status.h"
#include "agent/status_impl.h"
#include "lib/exitcode.h"
#include "lib/loop.h"
#include "lib/proc.h"
#include "lib/xmalloc.h"

/* zooinit status, the asking: the member list from the first endpoint
 * that answers, then every member and the service registry at once. */

/* ---- small helpers --------------------------------------------------- */

char *
status_clean_n(const char *s, size_t n, size_t max)
{
	char *o = xmalloc((n < max ? n : max) + 1);
	size_t k;

	for (k = 0; k < n && k < max; k++) {
		unsigned char ch = (unsigned char)s[k];

		o[k] = ch >= 0x20 && ch <= 0x7e ? (char)ch : '?';
	}
	if (n > max && max >= 3)
		memcpy(o + max - 3, "...", 3);
	o[k] = '\0';
	return o;
}

char *
status_clean(const char *s, size_t max)
{
	return status_clean_n(s, strlen(s), max);
}

/* Returns a new few-word reason for a transport error: curl's message
 * names the address and the milliseconds, a table wants "connection
 * refused". */
static char *
transport_reason(const char *e)
{
	static const int errs[] = {
		ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ECONNRESET,
	};

	if (strstr(e, "timed out") != NULL)
		return xasprintf("no answer within %d s",
		    REQ_TIMEOUT_MS / 1000);
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *t = strerror(errs[i]);

		if (strstr(e, t) != NULL) {
			char *o = xstrdup(t);

			if (o[0] >= 'A' && o[0] <= 'Z')
				o[0] = (char)(o[0] - 'A' + 'a');
			return o;
		}
	}
	return status_clean(e, 120);
}

/* Returns a new reason for an HTTP answer other than 200: the code, and
 * etcd's own message when it sent one. */
static char *
http_reason(const struct etcd_http_result *r)
{
	json_t *root = json_loadb(r->body, r->len, 0, NULL);
	json_t *msg = json_object_get(root, "message");
	char *o, *m;

	if (json_is_string(msg)) {
		m = status_clean(json_string_value(msg), 100);
		o = xasprintf("HTTP %ld: %s", r->status, m);
		free(m);
	} else
		o = xasprintf("HTTP %ld", r->status);
	json_decref(root);
	return o;
}


char *
status_member_label(const struct etcd_member *m)
{
	if (m->name[0] != '\0')
		return status_clean(m->name, CELL_MAX);
	return xasprintf("%016" PRIx64, m->id);
}

static long
time_left(const struct status *s)
{
	int64_t left = s->deadline - loop_now_ms();

	if (left > REQ_TIMEOUT_MS)
		return REQ_TIMEOUT_MS;
	return left > 1 ? (long)left : 1;
}

/* ---- phase 2: every member --------------------------------------------- */

static void
mem_done(struct status *s)
{
	if (--s->pending == 0)
		loop_stop(s->loop, 0);
}

/* The certificate the member served, from either of its requests. */
static void
mem_cert(struct mem *m, const struct etcd_http_result *r)
{
	if (r->cert_not_after != 0) {
		m->cert_not_before = r->cert_not_before;
		m->cert_not_after = r->cert_not_after;
	}
}

static void
on_health(void *arg, const struct etcd_http_result *r)
{
	struct mem *m = arg;
	char err[256];
	bool ok;

	m->health_req = 0;
	m->health_done = true;
	mem_cert(m, r);
	if (r->error != NULL) {
		m->health_err = transport_reason(r->error);
	} else if (etcd_parse_health(r->body, r->len, &ok, err,
	    sizeof(err)) < 0) {
		m->health_answered = true;
		m->health_err = r->status != 200 ? http_reason(r) :
		    status_clean(err, 120);
	} else {
		m->health_answered = true;
		m->health_ok = ok;
		if (!ok) {
			/* etcd 3.5+ says why; 3.4 only says "false". */
			json_t *root = json_loadb(r->body, r->len, 0, NULL);
			json_t *why = json_object_get(root, "reason");

			if (json_is_string(why) &&
			    json_string_length(why) > 0) {
				char *w = status_clean(json_string_value(why), 60);

				m->health_err = xasprintf("etcd reports "
				    "unhealthy: %s", w);
				free(w);
			} else
				m->health_err = xstrdup("etcd reports "
				    "unhealthy");
			json_decref(root);
		}
	}
	mem_done(m->s);
}

static void
on_status(void *arg, const struct etcd_http_result *r)
{
	struct mem *m = arg;
	char err[256];

	m->status_req = 0;
	m->status_done = true;
	mem_cert(m, r);
	if (r->error != NULL)
		m->status_err = transport_reason(r->error);
	else if (r->status != 200)
		m->status_err = http_reason(r);
	else if (etcd_parse_status(r->body, r->len, &m->st, err,
	    sizeof(err)) < 0)
		m->status_err = status_clean(err, 120);
	else
		m->have_status = true;
	mem_done(m->s);
}

static int
mem_cmp(const void *a, const void *b)
{
	const struct mem *x = a, *y = b;
	bool xe = x->m->name[0] == '\0', ye = y->m->name[0] == '\0';
	int c;

	/* Unstarted members (no name yet) last. */
	if (xe != ye)
		return xe ? 1 : -1;
	c = strcmp(x->m->name, y->m->name);
	if (c != 0)
		return c;
	return x->m->id < y->m->id ? -1 : x->m->id > y->m->id;
}

/* Asks every started member, at once, for /health and its status. */
static void
ask_every_member(struct status *s)
{
	size_t n = s->members.n;

	s->mems = xcalloc(n, sizeof(*s->mems));
	for (size_t i = 0; i < n; i++) {
		s->mems[i].s = s;
		s->mems[i].m = &s->members.v[i];
	}
	qsort(s->mems, n, sizeof(*s->mems), mem_cmp);
	for (size_t i = 0; i < n; i++) {
		struct mem *m = &s->mems[i];
		char *url;

		if (m->m->n_client_urls == 0)
			continue;	/* not started: nothing to ask */
		m->base = etcd_http_base(m->m->client_urls[0]);
		url = xasprintf("%s/health", m->base);
		m->health_req = etcd_http_get(s->http, url, time_left(s),
		    on_health, m);
		free(url);
		url = xasprintf("%s/v3/maintenance/status", m->base);
		m->status_req = etcd_http_post_json(s->http, url, "{}",
		    time_left(s), on_status, m);
		free(url);
		s->pending += 2;
	}
	if (s->pending == 0)
		loop_stop(s->loop, 0);
}

/* ---- the service registry ---------------------------------------------- */

static int
svc_cmp(const void *a, const void *b)
{
	const struct svc *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Adds the service named by the n bytes at name, with the pairs kvs[0..k)
 * (all of its keys) as reg_parse() sees them. */
static void
add_service(struct status *s, struct reg_view *v, const char *name,
    size_t n, const struct etcd_kv_pair *kvs, size_t k, int64_t revision)
{
	struct svc *sv;
	char err[512];

	s->svcs = xreallocarray(s->svcs, s->n_svcs + 1, sizeof(*s->svcs));
	sv = &s->svcs[s->n_svcs++];
	memset(sv, 0, sizeof(*sv));
	sv->name = xmalloc(n + 1);	/* not xstrndup(): it stops at a NUL */
	memcpy(sv->name, name, n);
	sv->name[n] = '\0';
	sv->name_len = n;
	/* reg_parse() takes a C string: such a name would read as another
	 * service's (or none). zooinit never writes one. */
	if (memchr(name, '\0', n) != NULL) {
		sv->error = xstrdup("the service name holds a NUL byte");
		return;
	}
	if (reg_parse(sv->name, kvs, k, revision, v, err, sizeof(err)) < 0) {
		sv->error = xstrdup(err);
		return;
	}
	sv->size = v->size;
	sv->sealed = v->sealed;
	memcpy(sv->leader, v->leader, sizeof(sv->leader));
	sv->n_nodes = v->n_nodes;
	sv->nodes = xcalloc(v->n_nodes > 0 ? v->n_nodes : 1,
	    sizeof(*sv->nodes));
	if (v->n_nodes > 0)
		memcpy(sv->nodes, v->nodes, v->n_nodes * sizeof(*sv->nodes));
}

/* Splits a read of REG_ROOT into services. etcd answers sorted by key,
 * so each service's keys ("REG_ROOT<name>/...") come in one run; a key
 * right under REG_ROOT belongs to no service and is skipped. What is
 * kept is bounded by the answer, which etcd/http.h caps. */
static void
on_registry(void *arg, const struct etcd_kv_result *r)
{
	struct status *s = arg;
	const size_t root = strlen(REG_ROOT);
	struct reg_view v = { 0 };
	size_t i = 0;

	s->reg_done = true;
	if (r->error != NULL) {
		s->reg_error = xstrdup(r->error);
		mem_done(s);
		return;
	}
	while (i < r->n_kvs) {
		const struct etcd_kv_pair *p = &r->kvs[i];
		const char *name = p->key + root, *slash;
		size_t k;

		slash = p->key_len > root && memcmp(p->key, REG_ROOT,
		    root) == 0 ? memchr(name, '/', p->key_len - root) : NULL;
		if (slash == NULL) {
			i++;
			continue;
		}
		/* The run of keys with the same "<name>/". */
		for (k = i + 1; k < r->n_kvs; k++) {
			const struct etcd_kv_pair *q = &r->kvs[k];

			if (q->key_len <= (size_t)(slash - p->key) ||
			    memcmp(q->key, p->key, (size_t)(slash - p->key) +
			    1) != 0)
				break;
		}
		add_service(s, &v, name, (size_t)(slash - name), p, k - i,
		    r->revision);
		i = k;
	}
	reg_view_free(&v);
	if (s->n_svcs > 0)
		qsort(s->svcs, s->n_svcs, sizeof(*s->svcs), svc_cmp);
	mem_done(s);
}

/* Reads every key under REG_ROOT from base, the endpoint that answered
 * the member list. */
static void
ask_registry(struct status *s, char *base)
{
	char *const eps[1] = { base };

	s->reg_base = base;
	s->kv = etcd_kv_new(s->http, eps, 1);
	etcd_kv_set_timeout(s->kv, time_left(s));
	etcd_kv_get(s->kv, REG_ROOT, strlen(REG_ROOT), true, 0, on_registry,
	    s);
	s->pending++;
}

/* ---- phase 1: the member list ------------------------------------------ */

static void
on_members(void *arg, const struct etcd_http_result *r)
{
	struct ep *e = arg;
	struct status *s = e->s;
	char err[256];

	e->req = 0;
	if (r->error != NULL)
		e->error = transport_reason(r->error);
	else if (r->status != 200)
		e->error = http_reason(r);
	else if (etcd_parse_members(r->body, r->len, &s->members, err,
	    sizeof(err)) < 0)
		e->error = status_clean(err, 160);
	else {
		/* The first good answer is the one: the others are not
		 * needed any more. */
		s->have_members = true;
		for (size_t i = 0; i < s->n_eps; i++) {
			etcd_http_cancel(s->http, s->eps[i].req);
			s->eps[i].req = 0;
		}
		ask_registry(s, e->base);
		ask_every_member(s);
		return;
	}
	if (--s->eps_left == 0)
		loop_stop(s->loop, 0);
}

static void
ask_endpoints(struct status *s)
{
	for (size_t i = 0; i < s->n_eps; i++) {
		struct ep *e = &s->eps[i];
		char *url = xasprintf("%s/v3/cluster/member/list", e->base);

		e->req = etcd_http_post_json(s->http, url, "{}", time_left(s),
		    on_members, e);
		free(url);
	}
	s->eps_left = s->n_eps;
}

/* ---- setup ------------------------------------------------------------- */

static void
on_signal(struct loop *l, int fd, int events, void *arg)
{
	struct status *s = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		/* No children here; USR1/USR2 mean nothing to us. */
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
		    sig == SIGQUIT) {
			s->signo = sig;
			loop_stop(l, 0);
		}
	}
}

static void
on_deadline(struct loop *l, void *arg)
{
	struct status *s = arg;

	s->deadline_timer = 0;
	loop_stop(l, 0);
}

/* Fills s->eps from --endpoints, or from this host's journal. Returns 0,
 * or an exit code with the sentence printed. */
static int
pick_endpoints(struct status *s)
{
	char **urls;
	size_t n;
	char err[1024];
	int rc = plan_command_endpoints(s->c, &urls, &n, err, sizeof(err));

	if (rc != 0) {
		fprintf(stderr, "zooinit status: %s\n", err);
		return rc;
	}
	s->n_eps = n;
	s->eps = xcalloc(n, sizeof(*s->eps));
	for (size_t i = 0; i < n; i++)
		s->eps[i] = (struct ep){ .s = s, .base = urls[i] };
	free(urls);
	return 0;
}

static void
status_free(struct status *s)
{
	for (size_t i = 0; i < s->n_eps; i++) {
		free(s->eps[i].base);
		free(s->eps[i].error);
	}
	free(s->eps);
	for (size_t i = 0; s->mems != NULL && i < s->members.n; i++) {
		struct mem *m = &s->mems[i];

		free(m->base);
		free(m->health_err);
		free(m->status_err);
		free(m->reason);
		free(m->detail);
	}
	free(s->mems);
	free(s->by_version);
	etcd_members_free(&s->members);
	for (size_t i = 0; i < s->n_svcs; i++) {
		free(s->svcs[i].name);
		free(s->svcs[i].error);
		free(s->svcs[i].nodes);
	}
	free(s->svcs);
	free(s->reg_error);
	free(s->note);
}

/* The files zooinit's own requests use: the given ones, else, with
 * ca_file, the client certificate bootstrap made in the state directory
 * of data_dir. */
static void
set_tls(struct etcd_http *h, const struct cfg *c)
{
	char *crt = NULL, *key = NULL;

	if (c->cert_file != NULL || c->ca_file == NULL) {
		etcd_http_set_tls(h, c->trusted_ca_file,
		    c->client_cert_auth == CFG_ON ? c->cert_file : NULL,
		    c->client_cert_auth == CFG_ON ? c->key_file : NULL);
		return;
	}
	if (c->data_dir != NULL) {
		crt = plan_tls_made_path(c->data_dir, PLAN_TLS_CLIENT_CRT);
		key = plan_tls_made_path(c->data_dir, PLAN_TLS_CLIENT_KEY);
		if (access(crt, R_OK) != 0 || access(key, R_OK) != 0) {
			free(crt);
			free(key);
			crt = key = NULL;
		}
	}
	etcd_http_set_tls(h, c->trusted_ca_file ? c->trusted_ca_file :
	    c->ca_file, crt, key);
	free(crt);
	free(key);
}

int
status_run(const struct cfg *c)
{
	struct status s = { .c = c };
	char err[256];
	int sigfd, code;

	code = pick_endpoints(&s);
	if (code != 0) {
		status_free(&s);
		return code;
	}
	sigfd = proc_signals_init(err, sizeof(err));
	if (sigfd < 0) {
		fprintf(stderr, "zooinit status: %s\n", err);
		status_free(&s);
		return EXIT_INTERNAL;
	}
	/* Signals are blocked first so that any thread libcurl starts (its
	 * threaded resolver, for endpoints given by name) inherits the mask
	 * and never takes them. */
	etcd_http_global_init();
	s.loop = loop_new();
	s.http = etcd_http_new(s.loop);
	set_tls(s.http, c);
	etcd_http_set_certinfo(s.http, true);
	loop_watch(s.loop, sigfd, LOOP_READ, on_signal, &s);
	s.deadline = loop_now_ms() + DEADLINE_MS;
	s.deadline_timer = loop_timer(s.loop, DEADLINE_MS, on_deadline, &s);

	ask_endpoints(&s);
	loop_run(s.loop);

	/* Whatever is still in flight is dropped without its callback. */
	etcd_kv_free(s.kv);
	s.kv = NULL;
	etcd_http_free(s.http);
	s.http = NULL;
	if (s.reg_base != NULL && !s.reg_done)
		s.reg_error = xasprintf("POST %s/v3/kv/range: no answer "
		    "within %d s", s.reg_base, DEADLINE_MS / 1000);
	if (s.signo != 0) {
		fprintf(stderr, "zooinit status: interrupted by SIG%s\n",
		    sigabbrev_np(s.signo));
		code = 128 + s.signo;
	} else if (!s.have_members) {
		status_print_no_answer(&s);
		code = EXIT_TEMPORARY;
	} else {
		if (c->data_dir != NULL)
			s.note = rejoin_note_read(c->data_dir);
		status_judge(&s);
		if (c->json)
			status_print_json(&s, stdout);
		else
			status_print_text(&s, stdout);
		code = s.healthy ? EXIT_OK : STATUS_UNHEALTHY;
	}
	if (fflush(stdout) != 0 && code == EXIT_OK) {
		fprintf(stderr, "zooinit status: cannot write the output: "
		    "%s\n", strerror(errno));
		code = EXIT_INTERNAL;
	}
	loop_cancel(s.loop, s.deadline_timer);
	loop_unwatch(s.loop, sigfd);
	loop_free(s.loop);
	close(sigfd);
	curl_global_cleanup();
	status_free(&s);
	return code;
}
