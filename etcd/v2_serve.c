#include "lib/fmacros.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/json.h"
#include "etcd/member_id.h"
#include "etcd/v2.h"
#include "etcd/v2_serve.h"
#include "lib/str.h"
#include "lib/url.h"
#include "lib/xmalloc.h"

struct reg_member {
	char *key;		/* "/T/ID" */
	char *value;		/* "NAME=PEER_URL" */
	unsigned long long created;
};

struct etcd_v2_registry {
	char *dir;		/* "/T" */
	char *size_key;		/* "/T/_config/size" */
	struct reg_member *m;
	size_t n;
};

/* Splits url into u; its path must be one segment ("/T"), with no query
 * or fragment beside it. */
static int
split_token_url(const char *url, struct url_parts *u)
{
	char err[160];

	if (url_split(url, u, err, sizeof(err)) < 0 || u->path[0] != '/' ||
	    u->path[1] == '\0' || strchr(u->path + 1, '/') != NULL ||
	    strpbrk(url, "?#%") != NULL)
		return -1;
	return 0;
}

struct etcd_v2_registry *
etcd_v2_registry_new(const char *url, char *const *names, char *const *urls,
    size_t n, char *err, size_t errlen)
{
	struct url_parts u;
	struct etcd_v2_registry *r;

	if (split_token_url(url, &u) < 0 || n == 0) {
		str_seterr(err, errlen, "%s is not a discovery URL with one "
		    "token segment, or there are no members", url);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->dir = xstrdup(u.path);
	r->size_key = xasprintf("%s/_config/size", u.path);
	r->m = xcalloc(n, sizeof(*r->m));
	for (size_t i = 0; i < n; i++) {
		char ids[ETCD_MEMBER_ID_LEN];
		uint64_t id;

		if (etcd_member_id(&urls[i], 1, url, &id, err, errlen) < 0) {
			etcd_v2_registry_free(r);
			return NULL;
		}
		r->m[i].key = xasprintf("%s/%s", u.path,
		    etcd_member_id_str(id, ids));
		r->m[i].value = xasprintf("%s=%s", names[i], urls[i]);
		r->m[i].created = 2 + i;	/* the size key is 1 */
		r->n++;
	}
	return r;
}

unsigned long long
etcd_v2_registry_index(const struct etcd_v2_registry *r)
{
	return 1 + r->n;
}

static json_t *
node(const char *key, const char *value, unsigned long long index)
{
	json_t *o = ej_obj();

	ej_set(o, "key", json_string(key));
	if (value != NULL)
		ej_set(o, "value", json_string(value));
	else
		ej_set(o, "dir", json_true());
	ej_set(o, "modifiedIndex", json_integer((json_int_t)index));
	ej_set(o, "createdIndex", json_integer((json_int_t)index));
	return o;
}

static char *
reply(const char *action, json_t *n)
{
	json_t *o = ej_obj();

	ej_set(o, "action", json_string(action));
	ej_set(o, "node", n);
	return ej_dump(o);
}

/* One of the v2 API's error objects. */
static char *
reg_error(const struct etcd_v2_registry *r, int code, const char *message,
    const char *cause)
{
	json_t *o = ej_obj();

	ej_set(o, "errorCode", json_integer(code));
	ej_set(o, "message", json_string(message));
	ej_set(o, "cause", json_string(cause));
	ej_set(o, "index",
	    json_integer((json_int_t)etcd_v2_registry_index(r)));
	return ej_dump(o);
}

static const struct reg_member *
find(const struct etcd_v2_registry *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->m[i].key, key) == 0)
			return &r->m[i];
	return NULL;
}

static char *
listing(const struct etcd_v2_registry *r)
{
	json_t *d = node(r->dir, NULL, 1), *kids = ej_arr();
	char *cfg = xasprintf("%s/_config", r->dir);

	ej_append(kids, node(cfg, NULL, 1));
	for (size_t i = 0; i < r->n; i++)
		ej_append(kids, node(r->m[i].key, r->m[i].value,
		    r->m[i].created));
	ej_set(d, "nodes", kids);
	free(cfg);
	return reply("get", d);
}

int
etcd_v2_registry_answer(const struct etcd_v2_registry *r, const char *method,
    const char *path, char **body)
{
	bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0;
	const struct reg_member *m = find(r, path);
	char size[24];

	if (get && strcmp(path, r->size_key) == 0) {
		snprintf(size, sizeof(size), "%zu", r->n);
		*body = reply("get", node(r->size_key, size, 1));
		return 200;
	}
	if (get && strcmp(path, r->dir) == 0) {
		*body = listing(r);
		return 200;
	}
	/* A member's key, read or waited on (it exists already), or
	 * registered: as etcd answers the PUT that created it. */
	if ((get || put) && m != NULL) {
		*body = reply("create", node(m->key, m->value, m->created));
		return put ? 201 : 200;
	}
	if (!get) {
		*body = reg_error(r, ETCD_V2_NOT_FILE, "Not a file: this "
		    "registry is read-only and lists the planned members only",
		    path);
		return 403;
	}
	*body = reg_error(r, ETCD_V2_KEY_NOT_FOUND, "Key not found", path);
	return 404;
}

void
etcd_v2_registry_free(struct etcd_v2_registry *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->m[i].key);
		free(r->m[i].value);
	}
	free(r->m);
	free(r->dir);
	free(r->size_key);
	free(r);
}
