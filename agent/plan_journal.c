#include "lib/fmacros.h"

#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/plan.h"
#include "agent/plan_impl.h"
#include "etcd/http.h"
#include "lib/exitcode.h"
#include "lib/file.h"
#include "lib/xmalloc.h"
#include "resolver/dnsname.h"

/* A journal of CFG_MAX_MEMBERS members is far below this. */
#define PLAN_JOURNAL_MAX (1024 * 1024)

/* The journal: the plan this host bootstrapped with, read back at every
 * restart. */

char *
plan_state_dir(const char *data_dir)
{
	size_t n = strlen(data_dir);

	while (n > 1 && data_dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, data_dir, PLAN_STATE_SUFFIX);
}

char *
plan_journal_path(const char *data_dir)
{
	char *dir = plan_state_dir(data_dir);
	char *path = xasprintf("%s/%s", dir, PLAN_JOURNAL);

	free(dir);
	return path;
}

int
plan_state_write(const char *data_dir, const char *name, const char *text,
    char *err, size_t errlen)
{
	char *dir = plan_state_dir(data_dir);
	char *path = xasprintf("%s/%s", dir, name);
	char *line = xasprintf("%s\n", text);
	int rc = file_mkdirs(dir, 0700, err, errlen);

	if (rc == 0)
		rc = file_write_atomic(path, line, 0600, err, errlen);
	free(line);
	free(path);
	free(dir);
	return rc;
}

int
plan_journal_write(const struct plan *p, const char *data_dir, char *err,
    size_t errlen)
{
	json_t *o = plan_to_json(p, false);
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc;

	json_decref(o);
	if (text == NULL)
		abort();	/* only on allocation failure */
	rc = plan_state_write(data_dir, PLAN_JOURNAL, text, err, errlen);
	free(text);
	return rc;
}

/* Moves an old DATA_DIR/zooinit.json into the state directory. Returns the
 * path to read: the new one, or the old one when it exists but could not be
 * moved (a read-only data dir still restarts). A new string. */
static char *
journal_migrate(const char *data_dir)
{
	char *path = plan_journal_path(data_dir);
	char *old = xasprintf("%s/%s", data_dir, PLAN_JOURNAL_OLD);
	char *dir = plan_state_dir(data_dir), *text = NULL, err[256];
	size_t len;
	FILE *f;

	if (access(path, F_OK) == 0 || access(old, F_OK) < 0)
		goto out;
	/* Copy, then remove: the state dir may be on another file system
	 * than the data dir (a volume mounted on it). */
	f = fopen(old, "re");
	if (f == NULL)
		goto keep_old;
	text = xmalloc(PLAN_JOURNAL_MAX + 1);
	len = fread(text, 1, PLAN_JOURNAL_MAX + 1, f);
	fclose(f);
	if (len > PLAN_JOURNAL_MAX || memchr(text, '\0', len) != NULL)
		goto keep_old;
	text[len] = '\0';
	if (file_mkdirs(dir, 0700, err, sizeof(err)) < 0 ||
	    file_write_atomic(path, text, 0600, err, sizeof(err)) < 0)
		goto keep_old;
	unlink(old);
	goto out;
keep_old:
	free(path);
	path = old;
	old = NULL;
out:
	free(text);
	free(old);
	free(dir);
	return path;
}

/* Returns a borrowed string member of o, or NULL if missing or not one. */
static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int
plan_journal_read(const struct cfg *c, struct plan *p, char *err, size_t errlen)
{
	char *path = journal_migrate(c->data_dir);
	json_error_t je;
	json_t *o, *members, *m;
	const char *name, *token, *scheme_s = "http", *bad = NULL;
	size_t i;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			free(path);
			return 1;
		}
		snprintf(err, errlen, "%s:%d: %s; move the file away to plan "
		    "from DNS again", path, je.line, je.text);
		free(path);
		return -1;
	}
	name = jstr(o, "name");
	token = jstr(o, "token");
	members = json_object_get(o, "members");
	if (name == NULL || !dns_member_name_valid(name, true))
		bad = "name";
	else if (token == NULL || token[0] == '\0')
		bad = "token";
	else if (!json_is_array(members) || json_array_size(members) == 0 ||
	    json_array_size(members) > CFG_MAX_MEMBERS)
		bad = "members";
	p->m = xcalloc(json_array_size(members) + 1, sizeof(*p->m));
	json_array_foreach(members, i, m) {
		const char *mn = jstr(m, "name"), *pu = jstr(m, "peer_url"),
		    *cu = jstr(m, "client_url"), *host = jstr(m, "host");
		char sch[8], sch2[8], addr[64], addr2[64];
		unsigned port, port2;

		if (bad != NULL)
			break;
		if (mn == NULL || !dns_member_name_valid(mn, true) ||
		    pu == NULL || cu == NULL ||
		    plan_parse_url(pu, sch, sizeof(sch), addr, sizeof(addr),
		    &port) < 0 ||
		    plan_parse_url(cu, sch2, sizeof(sch2), addr2, sizeof(addr2),
		    &port2) < 0 ||
		    (host != NULL && !dns_hostname_valid(host))) {
			bad = "members";
			break;
		}
		const char *ms = strcmp(sch, "https") == 0 ? "https" : "http";
		/* One scheme for all URLs, and unique names. */
		bool clash = strcmp(sch, sch2) != 0 ||
		    (p->n > 0 && strcmp(ms, scheme_s) != 0);
		for (size_t k = 0; k < p->n && !clash; k++)
			clash = strcmp(p->m[k].name, mn) == 0;
		if (clash) {
			bad = "members";
			break;
		}
		scheme_s = ms;
		struct plan_member *pm = &p->m[p->n++];
		pm->name = xstrdup(mn);
		pm->host = host ? xstrdup(host) : NULL;
		pm->addr = xstrdup(addr);
		pm->peer_port = port;
		pm->peer_url = xstrdup(pu);
		pm->client_url = xstrdup(cu);
		pm->self = strcmp(mn, name) == 0;
	}
	if (bad == NULL) {
		bad = "name";
		for (i = 0; i < p->n; i++)
			if (p->m[i].self)
				bad = NULL;
	}
	if (bad == NULL && plan_check_endpoints(p, err, errlen) != PLAN_OK)
		bad = "members";
	if (bad != NULL) {
		snprintf(err, errlen, "%s: field \"%s\" is missing or invalid; "
		    "move the file away to plan from DNS again", path, bad);
		plan_free(p);
		goto out;
	}
	p->learner = json_is_true(json_object_get(o, "learner"));
	const char *mid = jstr(o, "member_id");
	if (mid != NULL && mid[0] >= '0' && mid[0] <= '9')
		p->member_id = strtoull(mid, NULL, 10);
	p->source = "journal";
	p->source_detail = xstrdup(path);
	p->scheme = scheme_s;
	p->token = xstrdup(token);
	p->data_dir = xstrdup(c->data_dir);
	p->etcd = xstrdup(c->etcd);
	plan_finish(p);
	plan_set_existing(p, "restarting the member this host bootstrapped "
	    "(zooinit's journal)");
	rc = 0;
out:
	json_decref(o);
	free(path);
	return rc;
}

int
plan_command_endpoints(const struct cfg *c, char ***eps, size_t *n,
    char *err, size_t errlen)
{
	struct plan p;
	char why[768], *jp;
	int rc;

	if (c->n_endpoints > 0) {
		*n = c->n_endpoints;
		*eps = xcalloc(*n, sizeof(**eps));
		for (size_t i = 0; i < *n; i++)
			(*eps)[i] = etcd_http_base(c->endpoints[i]);
		return 0;
	}
	rc = plan_journal_read(c, &p, why, sizeof(why));
	if (rc > 0) {
		jp = plan_journal_path(c->data_dir);
		snprintf(err, errlen, "no endpoint to ask: pass --endpoints "
		    "URL[,URL] (or ZOOINIT_ENDPOINTS), or run it on a member "
		    "host whose --data-dir (now %s) has zooinit's journal %s",
		    c->data_dir, jp);
		free(jp);
		return EXIT_USAGE;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot take this host's client URL from "
		    "the journal (or pass --endpoints): %s", why);
		return EXIT_USAGE;
	}
	*n = 1;
	*eps = xcalloc(1, sizeof(**eps));
	(*eps)[0] = etcd_http_base(p.m[p.self].client_url);
	plan_free(&p);
	return 0;
}
