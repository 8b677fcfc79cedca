#include "lib/fmacros.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/hook_event.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "config/cfg_file.h"
#include "config/cfg_valid.h"
#include "config/defaults.h"
#include "config/svc.h"
#include "config/svc_file.h"

/* The "service" group of the config file: one group per service, read
 * field by field from a table like cfg.c's keys, every value checked and
 * every message naming FILE:LINE and the dotted key. */

#define SECRET_MAX 256
#define PATRONI_PG_BIN_DIR "/usr/lib/postgresql/15/bin"
#define DATA_ROOT CFG_SVC_DATA_ROOT

enum ftype {
	F_BACKEND,	/* one of backends[]' names */
	F_INT,		/* min..max */
	F_DIR,		/* an absolute path */
	F_PROGRAM,	/* a program name, or a path */
	F_TOKEN,	/* as the flat token key */
	F_LABEL,	/* an RFC 1035 label */
	F_DC,		/* the same, lowercase: Consul's rule for datacenters */
	F_SECRET,	/* a password: never echoed in a message */
	F_USER,		/* a user name as useradd takes it */
	F_HOOKS		/* the group of event = argv */
};

/* The keys only some backends take; the others are every backend's. */
enum {
	K_BIN = 1u << 0,
	K_CLIENT_PORT = 1u << 1,
	K_PEER_PORT = 1u << 2,
	K_ELECTION_PORT = 1u << 3,
	K_REST_PORT = 1u << 4,
	K_TOKEN = 1u << 5,
	K_SCOPE = 1u << 6,
	K_PG_BIN_DIR = 1u << 7,
	K_SU_PASSWORD = 1u << 8,
	K_REPL_PASSWORD = 1u << 9,
	K_DATACENTER = 1u << 10,
};

/* What config knows of a backend: its name, the program it runs when bin
 * is not set (NULL: none, it runs only hooks and OnStart is the
 * service), the backend-specific keys it takes and those it needs. A key
 * a backend does not take is an error, as unknown keys are, rather than
 * silently ignored. What the backend writes and runs is services/be_*.c;
 * adding a backend is SVC_NAME in svc.h and one line here, and the
 * backend's file and line in services/. */
struct backend_keys {
	const char *name;
	const char *bin;
	unsigned takes;
	unsigned needs;
};

static const struct backend_keys backends[SVC_NBACKENDS] = {
	[SVC_CUSTOM] = { "custom", NULL, 0, 0 },
	[SVC_ZOOKEEPER] = { "zookeeper", "java", K_BIN | K_CLIENT_PORT |
	    K_PEER_PORT | K_ELECTION_PORT, 0 },
	[SVC_ETCD] = { "etcd", "etcd", K_BIN | K_CLIENT_PORT | K_PEER_PORT |
	    K_TOKEN, 0 },
	[SVC_CONSUL] = { "consul", "consul", K_BIN | K_DATACENTER, 0 },
	[SVC_PATRONI] = { "patroni", "patroni", K_BIN | K_CLIENT_PORT |
	    K_REST_PORT | K_SCOPE | K_PG_BIN_DIR | K_SU_PASSWORD |
	    K_REPL_PASSWORD, K_SU_PASSWORD | K_REPL_PASSWORD },
};

struct field {
	const char *name;
	enum ftype type;
	size_t off;		/* in struct svc_cfg */
	int min, max, def;	/* F_INT */
	unsigned key;		/* K_*: only the backends that take it;
				 * 0: all */
	const char *sdef;	/* a string's default when the backend takes
				 * the key, "%s" the service's name */
	const char *what;	/* what it is, for "needs" messages */
};

#define SOFF(f) offsetof(struct svc_cfg, f)

static const struct field fields[] = {
	{ .name = "backend", .type = F_BACKEND, .off = SOFF(backend) },
	{ .name = "size", .type = F_INT, .off = SOFF(size), .min = 1,
	  .max = 255 },
	{ .name = "data_dir", .type = F_DIR, .off = SOFF(data_dir),
	  .sdef = DATA_ROOT "%s" },
	{ .name = "bin", .type = F_PROGRAM, .off = SOFF(bin),
	  .key = K_BIN },
	/* Ports as svc.h lists their defaults per backend. */
	{ .name = "client_port", .type = F_INT, .off = SOFF(client_port),
	  .max = 65535, .key = K_CLIENT_PORT },
	{ .name = "peer_port", .type = F_INT, .off = SOFF(peer_port),
	  .max = 65535, .key = K_PEER_PORT },
	{ .name = "election_port", .type = F_INT, .off = SOFF(election_port),
	  .max = 65535, .key = K_ELECTION_PORT },
	{ .name = "rest_port", .type = F_INT, .off = SOFF(rest_port),
	  .max = 65535, .key = K_REST_PORT },
	{ .name = "user", .type = F_USER, .off = SOFF(user) },
	{ .name = "token", .type = F_TOKEN, .off = SOFF(token),
	  .key = K_TOKEN, .sdef = "zooinit-%s" },
	{ .name = "scope", .type = F_LABEL, .off = SOFF(scope),
	  .key = K_SCOPE, .sdef = "%s" },
	{ .name = "pg_bin_dir", .type = F_DIR, .off = SOFF(pg_bin_dir),
	  .key = K_PG_BIN_DIR, .sdef = PATRONI_PG_BIN_DIR },
	{ .name = "su_password", .type = F_SECRET, .off = SOFF(su_password),
	  .key = K_SU_PASSWORD,
	  .what = "the password of PostgreSQL's superuser" },
	{ .name = "repl_password", .type = F_SECRET,
	  .off = SOFF(repl_password), .key = K_REPL_PASSWORD,
	  .what = "the password of PostgreSQL's replication user" },
	{ .name = "datacenter", .type = F_DC, .off = SOFF(datacenter),
	  .key = K_DATACENTER },
	{ .name = "lease_ttl", .type = F_INT, .off = SOFF(lease_ttl),
	  .min = 2, .max = 3600, .def = 10 },
	{ .name = "quorum_timeout", .type = F_INT, .off = SOFF(quorum_timeout),
	  .min = 0, .max = 86400, .def = 0 },
	{ .name = "hook_timeout", .type = F_INT, .off = SOFF(hook_timeout),
	  .min = 1, .max = 3600, .def = 30 },
	{ .name = "start_timeout", .type = F_INT, .off = SOFF(start_timeout),
	  .min = 1, .max = 86400, .def = 120 },
	{ .name = "health_interval", .type = F_INT,
	  .off = SOFF(health_interval), .min = 1, .max = 3600, .def = 10 },
	{ .name = "health_failures", .type = F_INT,
	  .off = SOFF(health_failures), .min = 1, .max = 100, .def = 3 },
	{ .name = "stop_timeout", .type = F_INT, .off = SOFF(stop_timeout),
	  .min = 1, .max = 3600, .def = 10 },
	{ .name = "hooks", .type = F_HOOKS },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Enough for "service.NAME.hooks.EVENT" with NAME and EVENT checked. */
#define KEY_MAX 160

_Static_assert(sizeof(enum svc_backend) == sizeof(int), "enum size");

struct sload {
	const struct cfg_file *fx;
	char *err;
	size_t errlen;
	/* Each service's data_dir setting, NULL for the default, so a
	 * clash can point at the line. */
	const config_setting_t *dir_set[SVC_MAX];
};

/* Fails with "FILE:LINE: " of at, then the message. */
static int
failat(struct sload *sl, const config_setting_t *at, const char *fmt, ...)
{
	char msg[1024], *where;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where = cfg_file_where(sl->fx, at);
	str_seterr(sl->err, sl->errlen, "%s: %s", where, msg);
	free(where);
	return -1;
}

const char *
svc_backend_name(enum svc_backend b)
{
	if ((unsigned)b >= SVC_NBACKENDS)
		return "unknown";
	return backends[b].name;
}

const struct svc_cfg *
svc_find(const struct svc_cfg *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	}
	return NULL;
}

static void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
svc_cfg_free(struct svc_cfg *s)
{
	free(s->name);
	free(s->where);
	free(s->data_dir);
	free(s->bin);
	free(s->token);
	free(s->user);
	free(s->scope);
	free(s->pg_bin_dir);
	secret_free(s->repl_password);
	secret_free(s->su_password);
	free(s->datacenter);
	for (int i = 0; i < HOOK_NEVENTS; i++)
		strv_free(s->hooks[i]);
	memset(s, 0, sizeof(*s));
}

/* An RFC 1035 label: a letter, then letters, digits and hyphens, not
 * ending in a hyphen, 1 to 63 bytes. */
static bool
label_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > SVC_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != len)
		return false;
	return s[len - 1] != '-';
}

bool
svc_name_valid(const char *s)
{
	return label_valid(s);
}

static const struct field *
field_by_name(const char *name)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	}
	return NULL;
}

static char **
str_at(struct svc_cfg *s, const struct field *f)
{
	return (char **)(void *)((char *)s + f->off);
}

static int *
int_at(struct svc_cfg *s, const struct field *f)
{
	return (int *)(void *)((char *)s + f->off);
}

/* True when backend b takes field f. */
static bool
takes(enum svc_backend b, const struct field *f)
{
	return f->key == 0 || (backends[b].takes & f->key) != 0;
}

/* "\"zookeeper\" or \"consul\"": the backends that take f, or all of
 * them for NULL. */
static void
backend_list(const struct field *f, char *out, size_t outlen)
{
	size_t n = 0, k = 0, o = 0;

	for (int b = 0; b < SVC_NBACKENDS; b++)
		n += f == NULL || takes((enum svc_backend)b, f);
	out[0] = '\0';
	for (int b = 0; b < SVC_NBACKENDS && o < outlen; b++) {
		if (f != NULL && !takes((enum svc_backend)b, f))
			continue;
		k++;
		o += (size_t)snprintf(out + o, outlen - o, "%s\"%s\"",
		    k == 1 ? "" : (k == n ? " or " : ", "), backends[b].name);
	}
}

static const char *
expect_of(enum ftype t)
{
	switch (t) {
	case F_DIR:
		return "an absolute path of printable UTF-8 characters";
	case F_PROGRAM:
		return "a non-empty program name or path of printable UTF-8 "
		    "characters";
	case F_TOKEN:
		return "1 to 128 printable ASCII characters without spaces";
	case F_LABEL:
		return "a DNS label (a letter, then letters, digits and "
		    "hyphens, at most 63 bytes, not ending in a hyphen)";
	case F_DC:
		return "a lowercase DNS label (a letter, then lowercase "
		    "letters, digits and hyphens, at most 63 bytes, not "
		    "ending in a hyphen), as Consul requires";
	case F_SECRET:
		return "1 to 256 bytes of UTF-8 text";
	case F_USER:
		return "a user name (a lowercase letter or '_', then lowercase "
		    "letters, digits, '_' and '-', at most 32 bytes)";
	default:
		return "";
	}
}

/* A password's setting described without its value, which would end up
 * in a log. */
static void
describe_secret(const config_setting_t *m, char *out, size_t outlen)
{
	switch (config_setting_type(m)) {
	case CONFIG_TYPE_STRING: {
		const char *v = config_setting_get_string(m);

		if (v[0] == '\0')
			snprintf(out, outlen, "an empty string");
		else if (!cfg_valid_utf8(v))
			snprintf(out, outlen, "a string that is not UTF-8");
		else
			snprintf(out, outlen, "a string of %zu bytes",
			    strlen(v));
		break;
	}
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(out, outlen, "an integer");
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(out, outlen, "a number");
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(out, outlen, "a boolean");
		break;
	default:
		cfg_describe(m, out, outlen);
		break;
	}
}

static bool
string_ok(enum ftype t, const char *v)
{
	switch (t) {
	case F_DIR:
		return v[0] == '/' && cfg_valid_path(v);
	case F_PROGRAM:
		return cfg_valid_path(v);
	case F_TOKEN:
		return cfg_valid_token(v);
	case F_LABEL:
		return label_valid(v);
	case F_DC:
		return label_valid(v) && strpbrk(v,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == NULL;
	case F_SECRET:
		return v[0] != '\0' && strlen(v) <= SECRET_MAX &&
		    cfg_valid_utf8(v);
	case F_USER:
		return strlen(v) <= 32 && strchr("abcdefghijklmnopqrstuvwxyz_",
		    v[0]) != NULL && v[0] != '\0' &&
		    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
		    strlen(v);
	default:
		return false;
	}
}

static int
load_backend(struct sload *sl, struct svc_cfg *s, const config_setting_t *m)
{
	char found[CFG_QUOTE_MAX + 16], list[256];

	if (config_setting_type(m) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(m);

		for (int b = 0; b < SVC_NBACKENDS; b++) {
			if (strcmp(v, backends[b].name) == 0) {
				s->backend = (enum svc_backend)b;
				return 0;
			}
		}
	}
	cfg_describe(m, found, sizeof(found));
	backend_list(NULL, list, sizeof(list));
	return failat(sl, m, "service.%s.backend: expected %s, found %s",
	    s->name, list, found);
}

/* One hook: a string is the program alone, a list or array is argv. */
static int
load_argv(struct sload *sl, const config_setting_t *e, const char *key,
    char ***out)
{
	int type = config_setting_type(e);
	char found[CFG_QUOTE_MAX + 32], **argv;
	size_t n;

	if (type == CONFIG_TYPE_STRING)
		n = 1;
	else if (type == CONFIG_TYPE_LIST || type == CONFIG_TYPE_ARRAY)
		n = (size_t)config_setting_length(e);
	else
		n = 0;
	if (n == 0 || n > SVC_HOOK_ARGS) {
		if (n > SVC_HOOK_ARGS)
			snprintf(found, sizeof(found), "%zu values", n);
		else if (type == CONFIG_TYPE_LIST)
			snprintf(found, sizeof(found), "an empty list");
		else if (type == CONFIG_TYPE_ARRAY)
			snprintf(found, sizeof(found), "an empty array");
		else
			cfg_describe(e, found, sizeof(found));
		return failat(sl, e, "%s: expected a program's absolute path, "
		    "or a list of 1 to %d strings (the program's absolute "
		    "path, then its arguments), found %s", key, SVC_HOOK_ARGS,
		    found);
	}
	argv = xcalloc(n + 1, sizeof(*argv));
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *el = type == CONFIG_TYPE_STRING ? e :
		    config_setting_get_elem(e, (unsigned)i);
		const char *v;
		bool ok;

		if (config_setting_type(el) != CONFIG_TYPE_STRING) {
			cfg_describe(el, found, sizeof(found));
			ok = false;
		} else {
			v = config_setting_get_string(el);
			ok = i == 0 ? v[0] == '/' && cfg_valid_path(v) :
			    cfg_valid_text(v);
			cfg_quote(v, found, sizeof(found));
		}
		if (!ok) {
			strv_free(argv);
			if (i == 0)
				return failat(sl, el, "%s: expected the "
				    "program as an absolute path of printable "
				    "UTF-8 characters, found %s", key, found);
			return failat(sl, el, "%s: expected argument %zu as "
			    "a string of printable UTF-8 characters, found "
			    "%s", key, i, found);
		}
		argv[i] = xstrdup(v);
	}
	*out = argv;
	return 0;
}

static int
load_hooks(struct sload *sl, struct svc_cfg *s, const config_setting_t *h)
{
	const config_setting_t *seen[HOOK_NEVENTS] = { NULL };
	char found[CFG_QUOTE_MAX + 16], key[KEY_MAX];

	if (config_setting_type(h) != CONFIG_TYPE_GROUP) {
		cfg_describe(h, found, sizeof(found));
		return failat(sl, h, "service.%s.hooks: expected a group of "
		    "event = program settings such as { OnPostStart = "
		    "[\"/usr/local/bin/ready\", \"--wait\"]; }, found %s",
		    s->name, found);
	}
	for (int i = 0; i < config_setting_length(h); i++) {
		const config_setting_t *e = config_setting_get_elem(h,
		    (unsigned)i);
		const char *name = config_setting_name(e);
		enum hook_event ev;

		if (hook_event_parse(name, &ev) == -1) {
			char list[512];
			size_t o = 0;

			for (int j = 0; j < HOOK_NEVENTS; j++)
				o += (size_t)snprintf(list + o,
				    sizeof(list) - o, "%s%s", j == 0 ? "" :
				    j + 1 == HOOK_NEVENTS ? " and " : ", ",
				    hook_event_name((enum hook_event)j));
			return failat(sl, e, "service.%s.hooks: unknown event "
			    "%s; the events are %s, in any case", s->name,
			    cfg_quote(name, found, sizeof(found)), list);
		}
		/* Only a name that parsed gets here: short and plain. */
		snprintf(key, sizeof(key), "service.%s.hooks.%s", s->name,
		    name);
		if (seen[ev] != NULL) {
			char *prev = cfg_file_where(sl->fx, seen[ev]);
			int rc = failat(sl, e, "%s: %s is already set at %s "
			    "(event names ignore case); set each event once",
			    key, hook_event_name(ev), prev);

			free(prev);
			return rc;
		}
		/* A backend with a program of its own runs the service. */
		if (ev == HOOK_START && backends[s->backend].bin != NULL)
			return failat(sl, e, "%s: OnStart is the service "
			    "itself and only for backend \"custom\", but "
			    "backend \"%s\" runs the service on its own; "
			    "remove the hook or set backend = \"custom\"", key,
			    backends[s->backend].name);
		if (load_argv(sl, e, key, &s->hooks[ev]) == -1)
			return -1;
		seen[ev] = e;
	}
	return 0;
}

static int
load_field(struct sload *sl, struct svc_cfg *s, const struct field *f,
    const config_setting_t *m)
{
	char found[CFG_QUOTE_MAX + 32], key[KEY_MAX];
	const char *v;
	long long n;

	snprintf(key, sizeof(key), "service.%s.%s", s->name, f->name);
	switch (f->type) {
	case F_BACKEND:
		return load_backend(sl, s, m);
	case F_HOOKS:
		return load_hooks(sl, s, m);
	case F_INT:
		if (cfg_file_int(sl->fx, m, &n, found, sizeof(found)) == -1 ||
		    n < f->min || n > f->max)
			return failat(sl, m, "%s: expected an integer from %d "
			    "to %d, found %s", key, f->min, f->max, found);
		*int_at(s, f) = (int)n;
		return 0;
	default:
		break;
	}
	v = config_setting_type(m) == CONFIG_TYPE_STRING ?
	    config_setting_get_string(m) : NULL;
	if (v == NULL || !string_ok(f->type, v)) {
		if (f->type == F_SECRET)
			describe_secret(m, found, sizeof(found));
		else
			cfg_describe(m, found, sizeof(found));
		return failat(sl, m, "%s: expected %s, found %s", key,
		    expect_of(f->type), found);
	}
	free(*str_at(s, f));
	*str_at(s, f) = xstrdup(v);
	return 0;
}

static void
set_defaults(struct svc_cfg *s)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];

		if (f->sdef != NULL && takes(s->backend, f) &&
		    *str_at(s, f) == NULL)
			*str_at(s, f) = xasprintf(f->sdef, s->name);
	}
	if (s->bin == NULL && backends[s->backend].bin != NULL)
		s->bin = xstrdup(backends[s->backend].bin);
}

/* True when s's backend needs f and s has no value for it. */
static bool
missing(const struct svc_cfg *s, const struct field *f)
{
	return (f->key & backends[s->backend].needs) != 0 &&
	    *(char *const *)(const void *)((const char *)s + f->off) == NULL;
}

/* The keys the backend needs and s lacks, all in one message at g. */
static int
check_needs(struct sload *sl, const config_setting_t *g,
    const struct svc_cfg *s)
{
	char msg[1024];
	size_t o = 0, n = 0, k = 0;

	for (size_t i = 0; i < NFIELDS; i++)
		n += missing(s, &fields[i]);
	for (size_t i = 0; i < NFIELDS && n > 0 && o < sizeof(msg); i++) {
		const struct field *f = &fields[i];

		if (!missing(s, f))
			continue;
		k++;
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s, %s",
		    k == 1 ? "" : k == n ? ", and " : ", ", f->name, f->what);
	}
	if (n == 0)
		return 0;
	return failat(sl, g, "service.%s: backend \"%s\" needs %s; set %s in "
	    "this group", s->name, backends[s->backend].name, msg,
	    n == 1 ? "it" : "them");
}

/* Reads group g, service number idx, into s (zeroed). On failure s may
 * hold part of it: the caller frees it. */
static int
load_one(struct sload *sl, const config_setting_t *g, struct svc_cfg *prev,
    size_t idx, struct svc_cfg *s)
{
	const char *name = config_setting_name(g);
	char found[CFG_QUOTE_MAX + 16];
	const config_setting_t *b;

	if (!svc_name_valid(name))
		return failat(sl, g, "service.%.80s: expected %s as the "
		    "group's name, found %s", name, SVC_NAME_EXPECT,
		    cfg_quote(name, found, sizeof(found)));
	/* Names become directories, etcd keys and labels, where case may
	 * not tell them apart. */
	for (size_t j = 0; j < idx; j++) {
		if (strcasecmp(prev[j].name, name) == 0)
			return failat(sl, g, "service.%s: the name differs "
			    "from service.%s (%s) only in case; give the "
			    "services names that differ in more", name,
			    prev[j].name, prev[j].where);
	}
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfg_describe(g, found, sizeof(found));
		return failat(sl, g, "service.%s: expected a group of the "
		    "service's settings such as { backend = \"zookeeper\"; "
		    "size = 3; }, found %s", name, found);
	}
	s->name = xstrdup(name);
	s->where = cfg_file_where(sl->fx, g);
	s->backend = SVC_CUSTOM;
	for (size_t i = 0; i < NFIELDS; i++) {
		if (fields[i].type == F_INT)
			*int_at(s, &fields[i]) = fields[i].def;
	}
	/* The backend first: it decides which other keys apply. */
	b = config_setting_get_member(g, "backend");
	if (b != NULL && load_backend(sl, s, b) == -1)
		return -1;
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g,
		    (unsigned)i);
		const struct field *f = field_by_name(config_setting_name(m));

		if (f == NULL)
			return failat(sl, m, "service.%s: unknown key %s", name,
			    cfg_quote(config_setting_name(m), found,
			    sizeof(found)));
		if (f->type == F_BACKEND)
			continue;
		if (!takes(s->backend, f)) {
			char list[128];

			backend_list(f, list, sizeof(list));
			return failat(sl, m, "service.%s.%s: applies only to "
			    "backend %s, not to \"%s\"; remove it", name,
			    f->name, list, backends[s->backend].name);
		}
		if (load_field(sl, s, f, m) == -1)
			return -1;
		if (strcmp(f->name, "data_dir") == 0)
			sl->dir_set[idx] = m;
	}
	if (s->size == 0)
		return failat(sl, g, "service.%s: size is missing; set it to "
		    "the number of participants, 1 to 255", name);
	if (check_needs(sl, g, s) == -1)
		return -1;
	set_defaults(s);
	return 0;
}

/* The same directory, give or take trailing slashes. */
static bool
same_dir(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

/* "FILE:LINE" of service i's data_dir setting, or of its group when it
 * has the default; a new string. */
static char *
dir_where(struct sload *sl, const struct svc_cfg *v, size_t i)
{
	if (sl->dir_set[i] != NULL)
		return cfg_file_where(sl->fx, sl->dir_set[i]);
	return xstrdup(v[i].where);
}

static int
check_dirs(struct sload *sl, const struct svc_cfg *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			char q[CFG_QUOTE_MAX + 2], *wi, *wj;
			int rc;

			if (!same_dir(v[i].data_dir, v[j].data_dir))
				continue;
			wi = dir_where(sl, v, i);
			wj = dir_where(sl, v, j);
			rc = str_seterr(sl->err, sl->errlen, "%s: service.%s."
			    "data_dir: %s%s is also service.%s's data_dir "
			    "(%s%s); give each service its own directory",
			    wi, v[i].name,
			    sl->dir_set[i] == NULL ? "the default " : "",
			    cfg_quote(v[i].data_dir, q, sizeof(q)), v[j].name,
			    wj, sl->dir_set[j] == NULL ? ", its default" : "");
			free(wi);
			free(wj);
			return rc;
		}
	}
	return 0;
}

int
svc_load_file(const struct cfg_file *fx, const config_setting_t *group,
    struct svc_cfg **out, size_t *n_out, char *err, size_t errlen)
{
	struct sload sl = { .fx = fx, .err = err, .errlen = errlen };
	char found[CFG_QUOTE_MAX + 16];
	struct svc_cfg *v;
	size_t n;

	if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
		cfg_describe(group, found, sizeof(found));
		return failat(&sl, group, "service: expected a group with one "
		    "group per service, such as service = { zk = { backend = "
		    "\"zookeeper\"; size = 3; }; };, found %s", found);
	}
	n = (size_t)config_setting_length(group);
	if (n > SVC_MAX)
		return failat(&sl, group, "service: expected at most %d "
		    "services, found %zu", SVC_MAX, n);
	v = n > 0 ? xcalloc(n, sizeof(*v)) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (load_one(&sl, config_setting_get_elem(group, (unsigned)i),
		    v, i, &v[i]) == -1)
			goto bad;
	}
	if (check_dirs(&sl, v, n) == -1)
		goto bad;
	*out = v;
	*n_out = n;
	return 0;
bad:
	/* Zeroed entries past the failing one free as nothing. */
	for (size_t i = 0; i < n; i++)
		svc_cfg_free(&v[i]);
	free(v);
	return -1;
}

/* "the file F defines \"a\", \"b\" and \"c\"" */
static void
defined_names(const struct svc_cfg *v, size_t n, const char *config_file,
    char *out, size_t outlen)
{
	size_t o;

	if (config_file == NULL) {
		snprintf(out, outlen, "no config file was read, and services "
		    "are defined only in a file's service group");
		return;
	}
	if (n == 0) {
		snprintf(out, outlen, "%s defines no services", config_file);
		return;
	}
	o = (size_t)snprintf(out, outlen, "%s defines ", config_file);
	for (size_t i = 0; i < n && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s\"%s\"",
		    i == 0 ? "" : (i + 1 == n ? " and " : ", "), v[i].name);
}

int
svc_check(const struct svc_cfg *v, size_t n, const struct svc_flat *f,
    char *err, size_t errlen)
{
	const char *from = f->services_src != NULL ? f->services_src :
	    "default";

	for (size_t i = 0; i < f->n_services; i++) {
		const char *name = f->services[i];
		char names[1024];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(f->services[j], name) == 0)
				return str_seterr(err, errlen, "services (from %s) "
				    "names \"%s\" twice; list each service "
				    "once", from, name);
		}
		if (svc_find(v, n, name) != NULL)
			continue;
		defined_names(v, n, f->config_file, names, sizeof(names));
		return str_seterr(err, errlen, "services (from %s) names \"%s\", "
		    "which is not a group in service; %s", from, name, names);
	}

	/* A service in etcd's own directory would wreck both. The flat
	 * keys may come from any layer, so this waits for all of them. */
	const struct {
		const char *key, *owner, *dir, *src;
	} dirs[] = {
		{ "data_dir", "etcd's", f->data_dir, f->data_dir_src },
		{ "seed_data_dir", "the seed etcd's", f->seed_data_dir,
		  f->seed_data_dir_src },
	};
	for (size_t i = 0; i < n; i++) {
		const struct svc_cfg *s = &v[i];

		for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
			char q[CFG_QUOTE_MAX + 2], dfrom[512];

			if (dirs[d].dir == NULL ||
			    !same_dir(s->data_dir, dirs[d].dir))
				continue;
			if (dirs[d].src != NULL)
				snprintf(dfrom, sizeof(dfrom), "from %s",
				    dirs[d].src);
			else
				snprintf(dfrom, sizeof(dfrom), "the default");
			return str_seterr(err, errlen, "%s: service.%s.data_dir: %s "
			    "is also %s (%s), %s own directory; give the "
			    "service a directory of its own", s->where,
			    s->name, cfg_quote(s->data_dir, q, sizeof(q)),
			    dirs[d].key, dfrom, dirs[d].owner);
		}
	}
	return 0;
}
