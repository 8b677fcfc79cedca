/* cfg_load() twice per input:
 *
 * 1. the whole input as the libconfig file given with -f;
 * 2. the input split on NUL bytes into the command line and the
 *    environment: a piece "ZOOINIT_KEY=VALUE" is an environment entry,
 *    any other piece an argument after the subcommand.
 *
 * A file named by -f, --config or ZOOINIT_CONFIG in pass 2 is always
 * fuzz_dir()/base.conf, and an @include in pass 1 must stay inside
 * fuzz_dir() (which holds base.conf, inc.conf and big.conf, see below),
 * so no input reads the rest of the file system (a FIFO or /dev/stdin
 * would hang the run).
 *
 * A configuration that loads is checked against the promises of
 * cfg.h and, when it has initial_cluster, planned with
 * plan_from_static() as bootstrap would (but for plan_check_tls(), which
 * opens the configured files: fuzz_srv covers it). */
#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <strings.h>

#include "agent/plan.h"
#include "config/cfg.h"
#include "config/svc.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_plan.h"
#include "lib/url.h"
#include "resolver/dnsname.h"
#include "resolver/localaddr.h"

#define MAX_PIECES 256

/* Files next to the input, for -f in pass 2 and for @include. */
static const struct {
	const char *name, *text;
} fixtures[] = {
	/* With a service, so that --services and ZOOINIT_SERVICES can
	 * name one (and ZOOINIT_DATA_DIR clash with its directory). */
	{ "base.conf", "domain = \"zl.test\";\nsize = 3;\n"
	  "data_dir = \"/var/lib/zooinit/etcd\";\n"
	  "service = { zk = { backend = \"zookeeper\"; size = 3; }; };\n" },
	{ "inc.conf", "# included\nclient_port = 2379;\n"
	  "dns_server = [ \"10.0.0.53\", \"[fd00::53]:5353\" ];\n" },
	/* 4294967301 reaches cfg.c as 5 through libconfig's atoi(). */
	{ "big.conf", "peer_port = 4294967301;\n" },
};

static char base_path[FUZZ_PATH];

static void
init(void)
{
	char path[FUZZ_PATH];

	if (base_path[0] != '\0')
		return;
	fuzz_init_common();
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir(),
		    fixtures[i].name);
		fuzz_write_file(path, fixtures[i].text,
		    strlen(fixtures[i].text));
	}
	snprintf(base_path, sizeof(base_path), "%s/base.conf", fuzz_dir());
}

/* libconfig opens INCLUDE_DIR/NAME for @include "NAME", where NAME may
 * span lines and hold \\ and \" escapes; refuse any include whose name
 * could leave the directory. (One naming a directory is cfg.c's to
 * refuse: fuzz/corpus/config/regress-include-dir.) */
static bool
includes_stay_inside(const uint8_t *d, size_t n)
{
	static const char kw[] = "@include";
	const size_t kl = sizeof(kw) - 1;

	for (size_t i = 0; i + kl <= n; i++) {
		int quotes = 0;

		if (memcmp(d + i, kw, kl) != 0)
			continue;
		for (size_t j = i + kl; j < n && quotes < 2; j++) {
			if (d[j] == '"') {
				quotes++;
			} else if (d[j] == '\\' || (d[j] == '.' && j + 1 < n &&
			    d[j + 1] == '.')) {
				return false;
			}
		}
	}
	return true;
}

/* The promises of cfg.h about a loaded configuration. */
static bool
url_check(const char *url)
{
	struct url_parts u;
	char err[128];

	return url_split(url, &u, err, sizeof(err)) == 0;
}

static void
check_cfg(const struct cfg *c)
{
	FUZZ_CHECK(c->size >= 0 && c->size <= CFG_MAX_MEMBERS);
	FUZZ_CHECK(c->client_port >= 1 && c->client_port <= 65535);
	FUZZ_CHECK(c->peer_port >= 0 && c->peer_port <= 65535);
	FUZZ_CHECK(c->seed_client_port >= 1 && c->seed_client_port <= 65535);
	FUZZ_CHECK(c->seed_peer_port >= 1 && c->seed_peer_port <= 65535);
	FUZZ_CHECK(c->resolve_timeout >= 1 && c->health_interval >= 1 &&
	    c->stop_timeout >= 1 && c->seed_grace >= 0);
	FUZZ_CHECK(c->data_dir != NULL && c->data_dir[0] != '\0');
	FUZZ_CHECK(c->seed_data_dir != NULL && c->seed_data_dir[0] != '\0');
	FUZZ_CHECK(c->etcd != NULL && c->etcd[0] != '\0');
	FUZZ_CHECK((unsigned)c->scheme <= CFG_SCHEME_HTTPS);
	FUZZ_CHECK((unsigned)c->member_names <= CFG_NAMES_FQDN);
	FUZZ_CHECK((unsigned)c->seed_keep <= CFG_SEED_KEEP);
	FUZZ_CHECK((unsigned)c->log_level <= LOG_DEBUG);
	FUZZ_CHECK(strcmp(cfg_scheme_name(c->scheme), "invalid") != 0);
	if (c->domain != NULL) {
		size_t len = strlen(c->domain);

		FUZZ_CHECK(dns_hostname_valid(c->domain));
		FUZZ_CHECK(len > 0 && c->domain[len - 1] != '.');
	}
	if (c->name != NULL)
		FUZZ_CHECK(dns_member_name_valid(c->name, true));
	if (c->ip != NULL) {
		unsigned char b[16];

		FUZZ_CHECK(inet_pton(AF_INET, c->ip, b) == 1 ||
		    inet_pton(AF_INET6, c->ip, b) == 1);
	}
	/* The discovery token goes into URLs unescaped: escaping must be a
	 * no-op on it. */
	if (c->discovery_token != NULL) {
		char *e = url_escape(c->discovery_token);

		FUZZ_CHECK(strcmp(e, c->discovery_token) == 0);
		free(e);
	}
	/* Every URL key splits as its users split it. */
	for (size_t i = 0; i < c->n_endpoints; i++)
		FUZZ_CHECK(url_check(c->endpoints[i]));
	for (size_t i = 0; i < c->n_discovery_endpoints; i++)
		FUZZ_CHECK(url_check(c->discovery_endpoints[i]));
	FUZZ_CHECK(c->discovery == NULL || url_check(c->discovery));
	FUZZ_CHECK(c->endpoint == NULL || url_check(c->endpoint));
	FUZZ_CHECK(c->n_dns_servers <= CFG_MAX_DNS_SERVERS);
	FUZZ_CHECK(c->n_sources <= 3);
	FUZZ_CHECK(c->n_discovery_endpoints <= CFG_MAX_URLS);
	FUZZ_CHECK(c->n_endpoints <= CFG_MAX_URLS);
	for (size_t i = 0; i < c->n_dns_servers; i++)
		FUZZ_CHECK(c->dns_servers[i] != NULL);
	for (size_t i = 0; i < c->n_args; i++)
		FUZZ_CHECK(c->args[i] != NULL);
	/* The address-finding methods exclude each other. */
	FUZZ_CHECK((c->ip != NULL) + (c->interface != NULL) +
	    (c->netmask != NULL) <= 1);
	FUZZ_CHECK((c->netmask == NULL) == (c->hint == NULL));
}

/* A service name as svc.h states it: a letter, then letters, digits and
 * hyphens, not ending in one, at most SVC_NAME_MAX bytes. */
static bool
svc_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > SVC_NAME_MAX || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		bool letter = (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z');

		if (!letter && (i == 0 || !((ch >= '0' && ch <= '9') ||
		    ch == '-')))
			return false;
	}
	return true;
}

static bool
in_range(int v, int lo, int hi)
{
	return v >= lo && v <= hi;
}

/* The promises of svc.h and cfg.h about the services. */
static void
check_svcs(const struct cfg *c)
{
	FUZZ_CHECK(c->n_svcs <= SVC_MAX);
	FUZZ_CHECK((c->svcs == NULL) == (c->n_svcs == 0));
	for (size_t i = 0; i < c->n_svcs; i++) {
		const struct svc_cfg *s = &c->svcs[i];

		FUZZ_CHECK(s->name != NULL && svc_name_ok(s->name));
		FUZZ_CHECK(s->where != NULL && s->where[0] != '\0');
		FUZZ_CHECK(svc_find(c->svcs, c->n_svcs, s->name) == s);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcasecmp(c->svcs[j].name, s->name) != 0);
		FUZZ_CHECK((unsigned)s->backend < SVC_NBACKENDS);
		FUZZ_CHECK(strcmp(svc_backend_name(s->backend),
		    "unknown") != 0);
		FUZZ_CHECK(in_range(s->size, 1, 255));
		FUZZ_CHECK(s->data_dir != NULL && s->data_dir[0] == '/');
		/* Each service has a directory of its own. */
		FUZZ_CHECK(strcmp(s->data_dir, c->data_dir) != 0 &&
		    strcmp(s->data_dir, c->seed_data_dir) != 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->svcs[j].data_dir,
			    s->data_dir) != 0);
		FUZZ_CHECK((s->bin == NULL) == (s->backend == SVC_CUSTOM));
		FUZZ_CHECK(s->bin == NULL || s->bin[0] != '\0');
		FUZZ_CHECK((s->token != NULL) == (s->backend == SVC_ETCD));
		FUZZ_CHECK(s->token == NULL || s->token[0] != '\0');
		if (s->backend == SVC_PATRONI) {
			FUZZ_CHECK(s->scope != NULL && s->pg_bin_dir != NULL &&
			    s->pg_bin_dir[0] == '/');
			FUZZ_CHECK(s->repl_password != NULL &&
			    s->repl_password[0] != '\0');
			FUZZ_CHECK(s->su_password != NULL &&
			    s->su_password[0] != '\0');
		} else {
			FUZZ_CHECK(s->scope == NULL && s->pg_bin_dir == NULL &&
			    s->repl_password == NULL &&
			    s->su_password == NULL);
		}
		FUZZ_CHECK(s->datacenter == NULL || s->backend == SVC_CONSUL);
		FUZZ_CHECK(s->user == NULL || (s->user[0] != '\0' &&
		    strlen(s->user) <= 32));
		FUZZ_CHECK(in_range(s->client_port, 0, 65535) &&
		    in_range(s->peer_port, 0, 65535) &&
		    in_range(s->election_port, 0, 65535) &&
		    in_range(s->rest_port, 0, 65535));
		FUZZ_CHECK(in_range(s->lease_ttl, 2, 3600) &&
		    in_range(s->quorum_timeout, 0, 86400) &&
		    in_range(s->hook_timeout, 1, 3600) &&
		    in_range(s->start_timeout, 1, 86400) &&
		    in_range(s->health_interval, 1, 3600) &&
		    in_range(s->health_failures, 1, 100) &&
		    in_range(s->stop_timeout, 1, 3600));
		for (int ev = 0; ev < HOOK_NEVENTS; ev++) {
			char **argv = s->hooks[ev];
			size_t n = 0;

			if (argv == NULL)
				continue;
			/* OnStart is the service: custom only. */
			FUZZ_CHECK(ev != HOOK_START ||
			    s->backend == SVC_CUSTOM);
			FUZZ_CHECK(argv[0] != NULL && argv[0][0] == '/');
			while (n <= SVC_HOOK_ARGS && argv[n] != NULL)
				n++;
			FUZZ_CHECK(n >= 1 && n <= SVC_HOOK_ARGS);
		}
	}
	FUZZ_CHECK(c->n_services <= SVC_MAX);
	for (size_t i = 0; i < c->n_services; i++) {
		FUZZ_CHECK(c->services[i] != NULL);
		FUZZ_CHECK(svc_find(c->svcs, c->n_svcs, c->services[i]) !=
		    NULL);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->services[j],
			    c->services[i]) != 0);
	}
}

/* What bootstrap's static source does with the configuration. The plan
 * keeps c's data_dir (only the journal round trip writes, and it writes
 * into fuzz_dir()). */
static void
plan_static(const struct cfg *c)
{
	char *v[2], addr[64], msg[1024];
	struct local_addrs self = { v, 0, (char *)"addresses" };
	struct plan p;
	enum plan_result res;

	if (c->initial_cluster == NULL)
		return;
	if (c->ip != NULL && addr_normalise(c->ip, addr, sizeof(addr)) == 0) {
		v[self.n++] = addr;
		self.how = (char *)"--ip";
	} else {
		v[self.n++] = (char *)"10.0.0.1";
		v[self.n++] = (char *)"fd00::1";
	}
	msg[0] = '\0';
	res = plan_from_static(c, &self, &p, msg, sizeof(msg));
	FUZZ_CHECK(res == PLAN_OK || res == PLAN_FAIL);
	FUZZ_CHECK(memchr(msg, '\0', sizeof(msg)) != NULL && msg[0] != '\0');
	if (res == PLAN_OK) {
		FUZZ_CHECK(strcmp(p.source, "static") == 0);
		/* A client's plan lists the members only; plan_client_me()
		 * (host name, routes) gives it its own entry later. */
		for (size_t i = 0; i < p.n; i++)
			FUZZ_CHECK(!(p.proxy && p.m[i].self));
		if (!p.proxy)
			fuzz_plan_exercise(&p, c, true);
		plan_free(&p);
	}
}

static void
load(int argc, char **argv, char **envp)
{
	char err[FUZZ_ERRLEN];
	struct cfg c;

	fuzz_err_reset(err);
	if (cfg_load(&c, argc, argv, envp, err, sizeof(err)) == 0) {
		check_cfg(&c);
		check_svcs(&c);
		plan_static(&c);
	} else {
		fuzz_err_check(err);
		/* "c is then left freed and zeroed" */
		FUZZ_CHECK(c.domain == NULL && c.data_dir == NULL &&
		    c.etcd == NULL && c.args == NULL && c.n_args == 0);
		FUZZ_CHECK(c.svcs == NULL && c.n_svcs == 0 &&
		    c.services == NULL && c.n_services == 0);
	}
	cfg_free(&c);
}

static char *
redirect(const char *piece, char **owned, size_t *n_owned)
{
	char *s;

	if (strncmp(piece, "-f", 2) == 0)
		s = malloc(strlen(base_path) + 3);
	else if (strncmp(piece, "--config", 8) == 0)
		s = malloc(strlen(base_path) + 10);
	else if (strncmp(piece, "ZOOINIT_CONFIG=", 15) == 0 &&
	    piece[15] != '\0')
		s = malloc(strlen(base_path) + 16);
	else
		return (char *)piece;
	if (s == NULL)
		abort();
	if (piece[1] == 'f')
		sprintf(s, "-f%s", base_path);
	else if (piece[1] == '-')
		sprintf(s, "--config=%s", base_path);
	else
		sprintf(s, "ZOOINIT_CONFIG=%s", base_path);
	owned[(*n_owned)++] = s;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[FUZZ_PATH];
	char *argv[MAX_PIECES + 2], *envp[MAX_PIECES + 1];
	char *owned[MAX_PIECES];
	size_t n_owned = 0;
	int argc = 0, envc = 0;
	char *text, *p, *end;

	init();

	/* Pass 1: a file. */
	if (includes_stay_inside(data, size)) {
		fuzz_temp_file("input", data, size, path);
		argv[0] = (char *)"run";
		argv[1] = (char *)"-f";
		argv[2] = path;
		argv[3] = NULL;
		envp[0] = NULL;
		load(3, argv, envp);
		unlink(path);
	}

	/* Pass 2: arguments and environment. */
	text = fuzz_strndup(data, size);
	argv[argc++] = (char *)"run";
	for (p = text, end = text + size; p <= end; p += strlen(p) + 1) {
		if (argc + envc >= MAX_PIECES)
			break;
		if (strncmp(p, "ZOOINIT_", 8) == 0 && strchr(p, '=') != NULL)
			envp[envc++] = redirect(p, owned, &n_owned);
		else if (p < end)
			argv[argc++] = redirect(p, owned, &n_owned);
	}
	argv[argc] = NULL;
	envp[envc] = NULL;
	load(argc, argv, envp);
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(text);
	return 0;
}
