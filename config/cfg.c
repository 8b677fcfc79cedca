#include "lib/fmacros.h"

#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "config/cfg_file.h"
#include "config/cfg_key.h"
#include "config/cfg_valid.h"
#include "config/defaults.h"
#include "config/etcd_args.h"
#include "config/retention.h"
#include "config/svc.h"
#include "config/svc_file.h"
#include "lib/xmalloc.h"

/* The table of flat keys, setting a key from text, and the layers that
 * are not flags or environment: the defaults and the file. cfg_load()
 * runs the layers in order (cfg_flags.c has the upper two) and
 * cfg_check.c's checks last. */

/* Enum fields are stored through an int pointer: the choice lists below
 * are in the enums' own order, and gcc gives these enums int's size. */
_Static_assert(sizeof(enum cfg_scheme) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_names) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_seed_keep) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_switch) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_role) == sizeof(int), "enum size");

static const char *const scheme_choices[] = { "auto", "http", "https", NULL };
static const char *const names_choices[] = { "label", "fqdn", NULL };
static const char *const role_choices[] = { "auto", "member", "client",
	NULL };
static const char *const seed_keep_choices[] = { "stop", "keep", NULL };
static const char *const switch_choices[] = { "off", "on", NULL };
static const char *const level_choices[] = {
	"error", "warn", "info", "debug", NULL
};

#define OFF(f) offsetof(struct cfg, f)
#define PATH_EXPECT "a non-empty path of printable UTF-8 characters"
#define PROGRAM_EXPECT "a non-empty program name or path of printable UTF-8 " \
	"characters"

static const struct key table[] = {
	{ .name = "domain", .type = KT_STR, .off = OFF(domain),
	  .valid = cfg_valid_domain, .strip_dot = true,
	  .expect = "a DNS domain name (letters, digits and hyphens in "
	    "dot-separated labels of 1 to 63 bytes)",
	  .meta = "DOMAIN",
	  .help = "DNS domain holding the _etcd-server._tcp SRV records" },
	{ .name = "srv_name", .type = KT_STR, .off = OFF(srv_name),
	  .valid = cfg_valid_srv_name, .expect = CFG_SRV_NAME_EXPECT,
	  .meta = "NAME",
	  .help = "SRV records are _etcd-server-NAME._tcp: one cluster of "
	    "several" },
	{ .name = "dns_server", .type = KT_LIST, .off = OFF(dns_servers),
	  .count_off = OFF(n_dns_servers), .max = CFG_MAX_DNS_SERVERS,
	  .valid = cfg_valid_dns_server,
	  .expect = "ADDR, ADDR:PORT or [IPV6]:PORT with ADDR an IP address "
	    "literal and PORT from 1 to 65535",
	  .meta = "ADDR[:PORT]",
	  .help = "DNS server instead of the system's (repeatable; env: a "
	    "comma list)" },
	{ .name = "size", .type = KT_INT, .off = OFF(size),
	  .min = 0, .max = CFG_MAX_MEMBERS, .def = "0", .meta = "N",
	  .help = "number of voting members; 0 counts the SRV records" },
	{ .name = "ip", .type = KT_STR, .off = OFF(ip),
	  .valid = cfg_valid_ip, .expect = "an IPv4 or IPv6 address literal",
	  .meta = "ADDR",
	  .help = "this host's address (or use interface, or netmask "
	    "with hint)" },
	{ .name = "name", .type = KT_STR, .off = OFF(name),
	  .valid = cfg_valid_name,
	  .expect = "a member name (letters, digits and hyphens in "
	    "dot-separated labels of 1 to 63 bytes, no trailing dot)",
	  .meta = "NAME",
	  .help = "this member's name; default: from this host's SRV "
	    "record" },
	{ .name = "interface", .type = KT_STR, .off = OFF(interface),
	  .valid = cfg_valid_ifname,
	  .expect = "a network interface name of 1 to 15 printable bytes "
	    "without '/', ':' or spaces",
	  .meta = "IFACE",
	  .help = "take this host's address from this interface" },
	{ .name = "netmask", .type = KT_STR, .off = OFF(netmask),
	  .valid = cfg_valid_netmask,
	  .expect = "a contiguous IPv4 netmask such as 255.255.255.0",
	  .meta = "MASK",
	  .help = "with hint: take the local address inside hint/netmask" },
	{ .name = "hint", .type = KT_STR, .off = OFF(hint),
	  .valid = cfg_valid_ipv4,
	  .expect = "a dotted IPv4 address such as 10.0.0.0",
	  .meta = "ADDR",
	  .help = "with netmask: an address in this host's network" },
	{ .name = "data_dir", .type = KT_STR, .off = OFF(data_dir),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .def = CFG_ETCD_DATA_DIR, .meta = "DIR",
	  .help = "directory for etcd's data" },
	{ .name = "etcd", .type = KT_STR, .off = OFF(etcd),
	  .valid = cfg_valid_path, .expect = PROGRAM_EXPECT,
	  .def = CFG_ETCD_BIN, .meta = "PATH",
	  .help = "etcd binary, searched in PATH unless it has a slash" },
	{ .name = "client_port", .type = KT_INT, .off = OFF(client_port),
	  .min = 1, .max = 65535, .def = CFG_STR(CFG_ETCD_CLIENT_PORT),
	  .meta = "PORT",
	  .help = "etcd's client port" },
	{ .name = "peer_port", .type = KT_INT, .off = OFF(peer_port),
	  .min = 0, .max = 65535, .def = "0", .meta = "PORT",
	  .help = "etcd's peer port; 0 takes it from this host's SRV record" },
	{ .name = "token", .type = KT_STR, .off = OFF(token),
	  .valid = cfg_valid_token, .expect = CFG_TOKEN_EXPECT,
	  .meta = "TOKEN",
	  .help = "the cluster's token (default zooinit-etcd-DOMAIN)" },
	{ .name = "scheme", .type = KT_ENUM, .off = OFF(scheme),
	  .choices = scheme_choices, .def = "auto",
	  .help = "etcd's URL scheme; auto: the SRV records' (token: https "
	  "with a CA)" },
	{ .name = "member_names", .type = KT_ENUM, .off = OFF(member_names),
	  .choices = names_choices, .def = "label",
	  .help = "name members by the first label of their SRV target or "
	    "by all of it" },
	{ .name = "role", .type = KT_ENUM, .off = OFF(role),
	  .choices = role_choices, .def = "auto",
	  .help = "auto: a client (grpc-proxy) if the zone omits this host" },
	{ .name = "resolve_timeout", .type = KT_INT,
	  .off = OFF(resolve_timeout), .min = 1, .max = 86400, .def = "120",
	  .meta = "SECONDS", .help = "how long to wait for the DNS records" },
	{ .name = "health_interval", .type = KT_INT,
	  .off = OFF(health_interval), .min = 1, .max = 3600, .def = "10",
	  .meta = "SECONDS", .help = "seconds between health checks of etcd" },
	{ .name = "remove_after", .type = KT_INT, .off = OFF(remove_after),
	  .min = 0, .max = 86400 * 30, .def = "0", .meta = "SECONDS",
	  .help = "remove a voter unreachable this long (0: never)" },
	{ .name = "quorum_floor", .type = KT_INT, .off = OFF(quorum_floor),
	  .min = 1, .max = CFG_MAX_MEMBERS, .def = "2", .meta = "N",
	  .help = "never remove members below this many voters" },
	{ .name = "stop_timeout", .type = KT_INT, .off = OFF(stop_timeout),
	  .min = 1, .max = 3600, .def = "10", .meta = "SECONDS",
	  .help = "seconds from SIGTERM to SIGKILL when stopping etcd" },
	{ .name = "compact_retention", .type = KT_STR,
	  .off = OFF(compact_retention), .valid = retention_valid,
	  .expect = RETENTION_EXPECT, .def = "0", .meta = "REVS|TIME",
	  .help = "history etcd keeps: revisions or a time (10000, 1h; 0: "
	    "all)" },
	{ .name = "defrag_interval", .type = KT_INT,
	  .off = OFF(defrag_interval), .min = 0, .max = 86400 * 366,
	  .def = "0", .meta = "SECONDS",
	  .help = "defragment every member this often, leader last (0: "
	    "never)" },
	{ .name = "etcd_args", .type = KT_LIST, .off = OFF(etcd_args),
	  .count_off = OFF(n_etcd_args), .max = 64, .valid = eargs_valid,
	  .flags = true,
	  .expect = "an etcd flag: --flag, --flag=value or \"--flag value\"",
	  .meta = "--FLAG[=VALUE]",
	  .help = "extra flag for a member's etcd (repeatable; not one "
	    "zooinit sets)" },
	{ .name = "log_level", .type = KT_ENUM, .off = OFF(log_level),
	  .choices = level_choices, .def = "info",
	  .help = "least severe level that is logged" },
	{ .name = "metrics_listen", .type = KT_STR,
	  .off = OFF(metrics_listen), .valid = cfg_valid_listen,
	  .expect = "HOST:PORT (an IPv4 address, a host name or an IPv6 "
	    "address in brackets, [::1]:9100, and a port from 1 to 65535), "
	    "or \"\" for none",
	  .meta = "ADDR:PORT",
	  .help = "serve Prometheus metrics on http://ADDR:PORT/metrics "
	    "(empty: off)" },
	{ .name = "sources", .type = KT_LIST, .off = OFF(sources),
	  .count_off = OFF(n_sources), .max = 3, .valid = cfg_valid_source,
	  .expect = "\"dns\", \"token\" or \"static\"",
	  .meta = "dns,token,static",
	  .help = "where to find the peers, tried in this order" },
	{ .name = "discovery", .type = KT_STR, .off = OFF(discovery),
	  .valid = cfg_valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL",
	  .help = "v2 discovery token URL (.../v2/keys/_etcd/registry/TOKEN)" },
	{ .name = "discovery_endpoints", .type = KT_LIST,
	  .off = OFF(discovery_endpoints),
	  .count_off = OFF(n_discovery_endpoints), .max = CFG_MAX_URLS,
	  .valid = cfg_valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL[,URL]",
	  .help = "v3 discovery: client URLs of the discovery etcd" },
	{ .name = "discovery_token", .type = KT_STR,
	  .off = OFF(discovery_token), .valid = cfg_valid_url_token,
	  .expect = CFG_URL_TOKEN_EXPECT,
	  .meta = "TOKEN", .help = "v3 discovery: the token" },
	{ .name = "initial_cluster", .type = KT_STR,
	  .off = OFF(initial_cluster), .valid = cfg_valid_initial_cluster,
	  .expect = "NAME=URL[,NAME=URL...] without spaces",
	  .meta = "NAME=URL,...", .help = "static members, the last source" },
	{ .name = "seed_client_port", .type = KT_INT,
	  .off = OFF(seed_client_port), .min = 1, .max = 65535,
	  .def = CFG_STR(CFG_SEED_CLIENT_PORT), .meta = "PORT",
	  .help = "client port of the seed discovery etcd" },
	{ .name = "seed_peer_port", .type = KT_INT,
	  .off = OFF(seed_peer_port), .min = 1, .max = 65535,
	  .def = CFG_STR(CFG_SEED_PEER_PORT), .meta = "PORT",
	  .help = "peer port of the seed discovery etcd" },
	{ .name = "seed_data_dir", .type = KT_STR, .off = OFF(seed_data_dir),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .def = CFG_SEED_DATA_DIR, .meta = "DIR",
	  .help = "data dir of the seed discovery etcd" },
	{ .name = "seed_keep", .type = KT_ENUM, .off = OFF(seed_keep),
	  .choices = seed_keep_choices, .def = "stop",
	  .help = "stop the seed once the cluster is healthy, or keep it" },
	{ .name = "seed_grace", .type = KT_INT, .off = OFF(seed_grace),
	  .min = 0, .max = 86400, .def = "60", .meta = "SECONDS",
	  .help = "seconds the seed outlives a healthy cluster" },
	{ .name = "endpoint", .type = KT_STR, .off = OFF(endpoint),
	  .valid = cfg_valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL",
	  .help = "discovery new: client URL of the etcd to hold the token" },
	{ .name = "endpoints", .type = KT_LIST, .off = OFF(endpoints),
	  .count_off = OFF(n_endpoints), .max = CFG_MAX_URLS,
	  .valid = cfg_valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL[,URL]",
	  .help = "etcd client URLs for status (default: this host's) and "
	      "cluster" },
	/* Snapshots (agent/snapshot.h): taken by the leader's agent. */
	{ .name = "snapshot_dir", .type = KT_STR, .off = OFF(snapshot_dir),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .def = CFG_SNAPSHOT_DIR, .meta = "DIR",
	  .help = "where the leader's agent writes its snapshots" },
	{ .name = "snapshot_interval", .type = KT_INT,
	  .off = OFF(snapshot_interval), .min = 0, .max = 86400 * 30,
	  .def = "0", .meta = "SECONDS",
	  .help = "seconds between snapshots of the cluster (0: none)" },
	{ .name = "snapshot_keep", .type = KT_INT, .off = OFF(snapshot_keep),
	  .min = 1, .max = 100000, .def = "5", .meta = "N",
	  .help = "snapshots of this cluster kept in snapshot_dir" },
	{ .name = "snapshot_hook", .type = KT_STR, .off = OFF(snapshot_hook),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT, .meta = "PROGRAM",
	  .help = "program run with each new snapshot's path (to ship it)" },
	/* TLS. Paths only here: whether the files can be read is the
	 * plan's check, where the message can say what needs them. */
	{ .name = "cert_file", .type = KT_STR, .off = OFF(cert_file),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .meta = "FILE",
	  .help = "etcd's TLS certificate (PEM) for its https URLs" },
	{ .name = "key_file", .type = KT_STR, .off = OFF(key_file),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .meta = "FILE", .help = "the unencrypted key of cert_file (PEM)" },
	{ .name = "trusted_ca_file", .type = KT_STR,
	  .off = OFF(trusted_ca_file), .valid = cfg_valid_path,
	  .expect = PATH_EXPECT, .meta = "FILE",
	  .help = "CA bundle that verifies etcd's certificates (default: the "
	    "system's)" },
	{ .name = "peer_cert_file", .type = KT_STR,
	  .off = OFF(peer_cert_file), .valid = cfg_valid_path,
	  .expect = PATH_EXPECT, .meta = "FILE",
	  .help = "etcd's certificate for peer traffic (default: cert_file)" },
	{ .name = "peer_key_file", .type = KT_STR, .off = OFF(peer_key_file),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .meta = "FILE", .help = "the key of peer_cert_file (default: "
	    "key_file)" },
	{ .name = "peer_trusted_ca_file", .type = KT_STR,
	  .off = OFF(peer_trusted_ca_file), .valid = cfg_valid_path,
	  .expect = PATH_EXPECT, .meta = "FILE",
	  .help = "CA bundle for peer certificates (default: "
	    "trusted_ca_file)" },
	{ .name = "client_cert_auth", .type = KT_ENUM,
	  .off = OFF(client_cert_auth), .choices = switch_choices,
	  .def = "off",
	  .help = "on: etcd demands client certificates and zooinit presents "
	    "cert_file" },
	/* A CA instead of certificates: each agent mints its own. */
	{ .name = "ca_file", .type = KT_STR, .off = OFF(ca_file),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT, .meta = "FILE",
	  .help = "CA (PEM) that signs the certificates made here when "
	    "cert_file is unset" },
	{ .name = "ca_key_file", .type = KT_STR, .off = OFF(ca_key_file),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT, .meta = "FILE",
	  .help = "the unencrypted key of ca_file (PEM, mode 0600)" },
	{ .name = "cert_lifetime", .type = KT_INT, .off = OFF(cert_lifetime),
	  .min = 60, .max = 10 * 365 * 86400, .def = "31536000",
	  .meta = "SECONDS",
	  .help = "lifetime of the certificates made here; renewed at two "
	    "thirds" },
	/* Day 2. A path only here: the file is checked when a new cluster
	 * would restore it (agent/restore.c); a restart ignores it. */
	{ .name = "restore_from", .type = KT_STR, .off = OFF(restore_from),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT, .meta = "FILE",
	  .help = "etcd snapshot a new cluster's members restore before "
	    "etcd starts" },
	/* The services themselves are groups of the file's "service" group
	 * (svc.c); which of them bootstrap starts is a key like any other,
	 * so one host can start fewer. */
	{ .name = "services", .type = KT_LIST, .off = OFF(services),
	  .count_off = OFF(n_services), .max = SVC_MAX,
	  .valid = svc_name_valid, .expect = SVC_NAME_EXPECT,
	  .meta = "NAME[,NAME]",
	  .help = "services bootstrap starts once etcd is healthy, in order" },
};

_Static_assert(sizeof(table) / sizeof(table[0]) == CFG_NKEYS,
    "CFG_NKEYS in cfg_key.h counts the table");
const struct key *const cfg_keys = table;

int
cfg_ld_fail(struct load *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static char **
str_field(struct cfg *c, const struct key *k)
{
	return (char **)(void *)((char *)c + k->off);
}

static int *
int_field(struct cfg *c, const struct key *k)
{
	return (int *)(void *)((char *)c + k->off);
}

static char ***
list_field(struct cfg *c, const struct key *k)
{
	return (char ***)(void *)((char *)c + k->off);
}

static size_t *
count_field(struct cfg *c, const struct key *k)
{
	return (size_t *)(void *)((char *)c + k->count_off);
}

const struct key *
cfg_key_by_name(const char *name)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	}
	return NULL;
}

size_t
cfg_key_index(const struct key *k)
{
	return (size_t)(k - cfg_keys);
}

/* "auto", "http" or "https" */
static void
choice_list(const struct key *k, char *out, size_t outlen)
{
	size_t n = 0, o = 0;

	while (k->choices[n] != NULL)
		n++;
	out[0] = '\0';
	for (size_t i = 0; i < n && o < outlen; i++) {
		const char *sep = i == 0 ? "" : (i + 1 == n ? " or " : ", ");

		o += (size_t)snprintf(out + o, outlen - o, "%s\"%s\"", sep,
		    k->choices[i]);
	}
}

static void
expectation(const struct key *k, char *out, size_t outlen)
{
	switch (k->type) {
	case KT_INT:
		snprintf(out, outlen, "an integer from %d to %d", k->min,
		    k->max);
		break;
	case KT_ENUM:
		choice_list(k, out, outlen);
		break;
	case KT_STR:
	case KT_LIST:
		snprintf(out, outlen, "%s", k->expect);
		break;
	}
}

static int
bad_value(struct load *ld, const struct key *k, const char *where,
    const char *found)
{
	char exp[256];

	expectation(k, exp, sizeof(exp));
	return cfg_ld_fail(ld, "%s: expected %s, found %s", where, exp, found);
}

/* A whole decimal string; strtoll alone would take leading spaces, a
 * '+' and trailing junk. */
static int
parse_ll(const char *s, long long *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;
	long long v;

	if (*d < '0' || *d > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

void
cfg_list_clear(struct cfg *c, const struct key *k)
{
	char ***v = list_field(c, k);
	size_t *n = count_field(c, k);

	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

int
cfg_ld_check_count(struct load *ld, const struct key *k, size_t n,
    const char *where)
{
	if (n > (size_t)k->max)
		return cfg_ld_fail(ld, "%s: expected at most %d values, found "
		    "%zu", where, k->max, n);
	return 0;
}

void
cfg_ld_set_src(struct load *ld, const struct key *k, char *src)
{
	size_t i = cfg_key_index(k);

	free(ld->src[i]);
	ld->src[i] = src;
}

int
cfg_ld_set_text(struct load *ld, const struct key *k, const char *s,
    const char *where)
{
	char found[CFG_QUOTE_MAX + 2];
	long long v;

	cfg_quote(s, found, sizeof(found));
	switch (k->type) {
	case KT_INT:
		if (parse_ll(s, &v) == -1 || v < k->min || v > k->max)
			return bad_value(ld, k, where, found);
		*int_field(&ld->c, k) = (int)v;
		return 0;
	case KT_ENUM:
		for (int i = 0; k->choices[i] != NULL; i++) {
			if (strcmp(s, k->choices[i]) == 0) {
				*int_field(&ld->c, k) = i;
				return 0;
			}
		}
		return bad_value(ld, k, where, found);
	case KT_STR: {
		char **p = str_field(&ld->c, k);
		size_t len = strlen(s);

		if (!k->valid(s))
			return bad_value(ld, k, where, found);
		if (k->strip_dot && len > 0 && s[len - 1] == '.')
			len--;
		free(*p);
		*p = xstrndup(s, len);
		return 0;
	}
	case KT_LIST: {
		char ***p = list_field(&ld->c, k);
		size_t *n = count_field(&ld->c, k);

		if (!k->valid(s))
			return bad_value(ld, k, where, found);
		*p = xreallocarray(*p, *n + 1, sizeof(**p));
		(*p)[(*n)++] = xstrdup(s);
		return 0;
	}
	}
	return -1;
}

static int
load_defaults(struct load *ld)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].def == NULL)
			continue;
		if (cfg_ld_set_text(ld, &cfg_keys[i], cfg_keys[i].def,
		    "default") == -1)
			return -1;
	}
	return 0;
}

static int
file_int(struct load *ld, const struct cfg_file *fx, const struct key *k,
    const config_setting_t *s, const char *where)
{
	char found[64];
	long long v;

	if (cfg_file_int(fx, s, &v, found, sizeof(found)) == -1 ||
	    v < k->min || v > k->max)
		return bad_value(ld, k, where, found);
	*int_field(&ld->c, k) = (int)v;
	return 0;
}

static int
file_list(struct load *ld, const struct cfg_file *fx, const struct key *k,
    const config_setting_t *s, const char *where)
{
	int type = config_setting_type(s), n;
	char found[CFG_QUOTE_MAX + 16];

	cfg_list_clear(&ld->c, k);
	if (type == CONFIG_TYPE_STRING)
		return cfg_ld_set_text(ld, k, config_setting_get_string(s),
		    where);
	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		cfg_describe(s, found, sizeof(found));
		return bad_value(ld, k, where, found);
	}
	n = config_setting_length(s);
	if (cfg_ld_check_count(ld, k, (size_t)n, where) == -1)
		return -1;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		char *src = cfg_file_where(fx, e);
		char *ewhere = xasprintf("%s: %s", src, k->name);
		int rc;

		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			rc = cfg_ld_set_text(ld, k,
			    config_setting_get_string(e), ewhere);
		} else {
			cfg_describe(e, found, sizeof(found));
			rc = bad_value(ld, k, ewhere, found);
		}
		free(ewhere);
		free(src);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* The services' own group has its own module and no env/flag. libconfig
 * allows one "service" per file; replacing is for safety. */
static int
file_services(struct load *ld, const struct cfg_file *fx,
    const config_setting_t *group)
{
	struct svc_cfg *v;
	size_t n;

	if (svc_load_file(fx, group, &v, &n, ld->err, ld->errlen) == -1)
		return -1;
	for (size_t i = 0; i < ld->c.n_svcs; i++)
		svc_cfg_free(&ld->c.svcs[i]);
	free(ld->c.svcs);
	ld->c.svcs = v;
	ld->c.n_svcs = n;
	return 0;
}

static int
file_setting(struct load *ld, const struct cfg_file *fx,
    const config_setting_t *s)
{
	const char *name = config_setting_name(s);
	char *src = cfg_file_where(fx, s);
	char found[CFG_QUOTE_MAX + 16];
	const struct key *k;
	char *where = NULL;
	int rc;

	if (strcmp(name, "service") == 0) {
		free(src);
		return file_services(ld, fx, s);
	}
	k = cfg_key_by_name(name);
	if (k == NULL) {
		cfg_ld_fail(ld, "%s: unknown key %s", src,
		    cfg_quote(name, found, sizeof(found)));
		free(src);
		return -1;
	}
	where = xasprintf("%s: %s", src, k->name);
	switch (k->type) {
	case KT_INT:
		rc = file_int(ld, fx, k, s, where);
		break;
	case KT_LIST:
		rc = file_list(ld, fx, k, s, where);
		break;
	default:
		if (config_setting_type(s) == CONFIG_TYPE_STRING) {
			rc = cfg_ld_set_text(ld, k,
			    config_setting_get_string(s), where);
		} else {
			cfg_describe(s, found, sizeof(found));
			rc = bad_value(ld, k, where, found);
		}
		break;
	}
	free(where);
	if (rc == -1) {
		free(src);
		return -1;
	}
	cfg_ld_set_src(ld, k, src);
	return 0;
}

static int
load_file(struct load *ld, const char *path)
{
	config_setting_t *root;
	struct cfg_file fx;
	char why[128], *text = NULL, *copy, *dir;
	config_t cf;
	int rc = -1;

	if (cfg_file_read(path, &text, why, sizeof(why)) == -1)
		return cfg_ld_fail(ld, "%s: cannot read: %s", path, why);
	/* @include is relative to the file, not to wherever we run. */
	copy = xstrdup(path);
	dir = xstrdup(dirname(copy));
	free(copy);
	if (cfg_file_check_includes(path, text, dir, ld->err,
	    ld->errlen) < 0) {
		free(dir);
		free(text);
		return -1;
	}
	config_init(&cf);
	config_set_include_dir(&cf, dir);
	fx = (struct cfg_file){ path, dir, text, NULL };
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		char *file = cfg_file_source(&fx,
		    config_error_file(&cf));

		cfg_ld_fail(ld, "%s:%d: %s", file, config_error_line(&cf),
		    config_error_text(&cf));
		free(file);
		goto out;
	}
	root = config_root_setting(&cf);
	fx.root = root;
	for (int i = 0; i < config_setting_length(root); i++) {
		if (file_setting(ld, &fx,
		    config_setting_get_elem(root, (unsigned)i)) == -1)
			goto out;
	}
	ld->c.config_file = xstrdup(path);
	rc = 0;
out:
	config_destroy(&cf);
	free(dir);
	free(text);
	return rc;
}


int
cfg_load(struct cfg *c, int argc, char **argv, char **envp, char *err,
    size_t errlen)
{
	struct load ld = { .err = err, .errlen = errlen };
	struct flags f = { 0 };
	const char *file;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (errlen > 0)
		err[0] = '\0';
	if (cfg_flags_parse(&ld, &f, argc, argv) == -1)
		goto out;
	file = f.file != NULL ? f.file : cfg_env_get(envp, "ZOOINIT_CONFIG");
	if (load_defaults(&ld) == -1)
		goto out;
	if (file != NULL && load_file(&ld, file) == -1)
		goto out;
	if (cfg_ld_env(&ld, envp) == -1 ||
	    cfg_ld_flags(&ld, &f) == -1)
		goto out;
	if (cfg_ld_check(&ld) == -1)
		goto out;

	ld.c.json = f.json;
	ld.c.help = f.help;
	if (f.n_args > 0) {
		ld.c.args = xreallocarray(NULL, f.n_args, sizeof(char *));
		for (size_t i = 0; i < f.n_args; i++)
			ld.c.args[i] = xstrdup(f.args[i]);
		ld.c.n_args = f.n_args;
	}
	*c = ld.c;
	memset(&ld.c, 0, sizeof(ld.c));
	rc = 0;
out:
	cfg_free(&ld.c);
	for (size_t i = 0; i < CFG_NKEYS; i++)
		free(ld.src[i]);
	cfg_flags_free(&f);
	return rc;
}

void
cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].type == KT_STR)
			free(*str_field(c, &cfg_keys[i]));
		else if (cfg_keys[i].type == KT_LIST)
			cfg_list_clear(c, &cfg_keys[i]);
	}
	for (size_t i = 0; i < c->n_svcs; i++)
		svc_cfg_free(&c->svcs[i]);
	free(c->svcs);
	free(c->config_file);
	for (size_t i = 0; i < c->n_args; i++)
		free(c->args[i]);
	free(c->args);
	memset(c, 0, sizeof(*c));
}

const char *
cfg_scheme_name(enum cfg_scheme s)
{
	if ((unsigned)s >= sizeof(scheme_choices) / sizeof(*scheme_choices) - 1)
		return "invalid";
	return scheme_choices[s];
}
