#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/xmalloc.h"
#include "config/cfg.h"
#include "config/cfg_file.h"
#include "config/svc.h"
#include "lib/str.h"
#include "resolver/dnsname.h"

/* A config file is a few kilobytes; the cap keeps a wrong -f (a log, a
 * device) from being slurped whole. */
#define CFG_FILE_MAX (1024 * 1024)

enum ktype {
	KT_STR,		/* one string, checked by valid() */
	KT_INT,		/* an int from min to max */
	KT_ENUM,	/* one of choices[]; stored as the index */
	KT_LIST		/* up to max strings, each checked by valid() */
};

struct key {
	const char *name;	/* file key; env and flag derive from it */
	enum ktype type;
	size_t off;		/* the field in struct cfg */
	size_t count_off;	/* KT_LIST: its size_t count */
	int min, max;		/* KT_INT range; KT_LIST most entries */
	const char *const *choices; /* KT_ENUM, NULL-terminated */
	bool (*valid)(const char *s);
	const char *expect;	/* what valid() accepts, for messages */
	bool strip_dot;		/* drop a trailing dot before storing */
	const char *def;	/* default as it would be typed, or NULL */
	const char *meta;	/* the flag's value in cfg_usage() */
	const char *help;
};

/* Enum fields are stored through an int pointer: the choice lists below
 * are in the enums' own order, and gcc gives these enums int's size. */
_Static_assert(sizeof(enum cfg_scheme) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_names) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_seed_keep) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_switch) == sizeof(int), "enum size");

static const char *const scheme_choices[] = { "auto", "http", "https", NULL };
static const char *const names_choices[] = { "label", "fqdn", NULL };
static const char *const seed_keep_choices[] = { "stop", "keep", NULL };
static const char *const switch_choices[] = { "off", "on", NULL };
static const char *const level_choices[] = {
	"error", "warn", "info", "debug", NULL
};

static bool valid_domain(const char *s);
static bool valid_dns_server(const char *s);
static bool valid_ip(const char *s);
static bool valid_name(const char *s);
static bool valid_ifname(const char *s);
static bool valid_netmask(const char *s);
static bool valid_ipv4(const char *s);
static bool valid_source(const char *s);
static bool valid_url(const char *s);
static bool valid_initial_cluster(const char *s);

#define OFF(f) offsetof(struct cfg, f)
#define PATH_EXPECT "a non-empty path of printable UTF-8 characters"
#define PROGRAM_EXPECT "a non-empty program name or path of printable UTF-8 " \
	"characters"

static const struct key keys[] = {
	{ .name = "domain", .type = KT_STR, .off = OFF(domain),
	  .valid = valid_domain, .strip_dot = true,
	  .expect = "a DNS domain name (letters, digits and hyphens in "
	    "dot-separated labels of 1 to 63 bytes)",
	  .meta = "DOMAIN",
	  .help = "DNS domain holding the _etcd-server._tcp SRV records" },
	{ .name = "dns_server", .type = KT_LIST, .off = OFF(dns_servers),
	  .count_off = OFF(n_dns_servers), .max = CFG_MAX_DNS_SERVERS,
	  .valid = valid_dns_server,
	  .expect = "ADDR, ADDR:PORT or [IPV6]:PORT with ADDR an IP address "
	    "literal and PORT from 1 to 65535",
	  .meta = "ADDR[:PORT]",
	  .help = "DNS server instead of the system's (repeatable; env: a "
	    "comma list)" },
	{ .name = "size", .type = KT_INT, .off = OFF(size),
	  .min = 0, .max = CFG_MAX_MEMBERS, .def = "0", .meta = "N",
	  .help = "number of voting members; 0 counts the SRV records" },
	{ .name = "ip", .type = KT_STR, .off = OFF(ip),
	  .valid = valid_ip, .expect = "an IPv4 or IPv6 address literal",
	  .meta = "ADDR",
	  .help = "this host's address (or use interface, or netmask "
	    "with hint)" },
	{ .name = "name", .type = KT_STR, .off = OFF(name),
	  .valid = valid_name,
	  .expect = "a member name (letters, digits and hyphens in "
	    "dot-separated labels of 1 to 63 bytes, no trailing dot)",
	  .meta = "NAME",
	  .help = "this member's name; default: from this host's SRV "
	    "record" },
	{ .name = "interface", .type = KT_STR, .off = OFF(interface),
	  .valid = valid_ifname,
	  .expect = "a network interface name of 1 to 15 printable bytes "
	    "without '/', ':' or spaces",
	  .meta = "IFACE",
	  .help = "take this host's address from this interface" },
	{ .name = "netmask", .type = KT_STR, .off = OFF(netmask),
	  .valid = valid_netmask,
	  .expect = "a contiguous IPv4 netmask such as 255.255.255.0",
	  .meta = "MASK",
	  .help = "with hint: take the local address inside hint/netmask" },
	{ .name = "hint", .type = KT_STR, .off = OFF(hint),
	  .valid = valid_ipv4,
	  .expect = "a dotted IPv4 address such as 10.0.0.0",
	  .meta = "ADDR",
	  .help = "with netmask: an address in this host's network" },
	{ .name = "data_dir", .type = KT_STR, .off = OFF(data_dir),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .def = "/var/lib/zooinit/etcd", .meta = "DIR",
	  .help = "directory for etcd's data" },
	{ .name = "etcd", .type = KT_STR, .off = OFF(etcd),
	  .valid = cfg_valid_path, .expect = PROGRAM_EXPECT,
	  .def = "etcd", .meta = "PATH",
	  .help = "etcd binary, searched in PATH unless it has a slash" },
	{ .name = "client_port", .type = KT_INT, .off = OFF(client_port),
	  .min = 1, .max = 65535, .def = "2379", .meta = "PORT",
	  .help = "etcd's client port" },
	{ .name = "peer_port", .type = KT_INT, .off = OFF(peer_port),
	  .min = 0, .max = 65535, .def = "0", .meta = "PORT",
	  .help = "etcd's peer port; 0 takes it from this host's SRV record" },
	{ .name = "token", .type = KT_STR, .off = OFF(token),
	  .valid = cfg_valid_token,
	  .expect = "1 to 128 printable ASCII characters without spaces",
	  .meta = "TOKEN",
	  .help = "etcd's initial-cluster-token (default "
	    "zooinit-etcd-DOMAIN)" },
	{ .name = "scheme", .type = KT_ENUM, .off = OFF(scheme),
	  .choices = scheme_choices, .def = "auto",
	  .help = "scheme of etcd's URLs; auto follows the SRV records" },
	{ .name = "member_names", .type = KT_ENUM, .off = OFF(member_names),
	  .choices = names_choices, .def = "label",
	  .help = "name members by the first label of their SRV target or "
	    "by all of it" },
	{ .name = "resolve_timeout", .type = KT_INT,
	  .off = OFF(resolve_timeout), .min = 1, .max = 86400, .def = "120",
	  .meta = "SECONDS", .help = "how long to wait for the DNS records" },
	{ .name = "health_interval", .type = KT_INT,
	  .off = OFF(health_interval), .min = 1, .max = 3600, .def = "5",
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
	{ .name = "log_level", .type = KT_ENUM, .off = OFF(log_level),
	  .choices = level_choices, .def = "info",
	  .help = "least severe level that is logged" },
	{ .name = "sources", .type = KT_LIST, .off = OFF(sources),
	  .count_off = OFF(n_sources), .max = 3, .valid = valid_source,
	  .expect = "\"dns\", \"token\" or \"static\"",
	  .meta = "dns,token,static",
	  .help = "where to find the peers, tried in this order" },
	{ .name = "discovery", .type = KT_STR, .off = OFF(discovery),
	  .valid = valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL",
	  .help = "v2 discovery token URL (.../v2/keys/_etcd/registry/TOKEN)" },
	{ .name = "discovery_endpoints", .type = KT_LIST,
	  .off = OFF(discovery_endpoints),
	  .count_off = OFF(n_discovery_endpoints), .max = CFG_MAX_URLS,
	  .valid = valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL[,URL]",
	  .help = "v3 discovery: client URLs of the discovery etcd" },
	{ .name = "discovery_token", .type = KT_STR,
	  .off = OFF(discovery_token), .valid = cfg_valid_token,
	  .expect = "1 to 128 printable ASCII characters without spaces",
	  .meta = "TOKEN", .help = "v3 discovery: the token" },
	{ .name = "initial_cluster", .type = KT_STR,
	  .off = OFF(initial_cluster), .valid = valid_initial_cluster,
	  .expect = "NAME=URL[,NAME=URL...] without spaces",
	  .meta = "NAME=URL,...", .help = "static members, the last source" },
	{ .name = "seed_client_port", .type = KT_INT,
	  .off = OFF(seed_client_port), .min = 1, .max = 65535, .def = "4001",
	  .meta = "PORT", .help = "client port of the seed discovery etcd" },
	{ .name = "seed_peer_port", .type = KT_INT,
	  .off = OFF(seed_peer_port), .min = 1, .max = 65535, .def = "7001",
	  .meta = "PORT", .help = "peer port of the seed discovery etcd" },
	{ .name = "seed_data_dir", .type = KT_STR, .off = OFF(seed_data_dir),
	  .valid = cfg_valid_path, .expect = PATH_EXPECT,
	  .def = "/var/lib/zooinit/seed", .meta = "DIR",
	  .help = "data dir of the seed discovery etcd" },
	{ .name = "seed_keep", .type = KT_ENUM, .off = OFF(seed_keep),
	  .choices = seed_keep_choices, .def = "stop",
	  .help = "stop the seed once the cluster is healthy, or keep it" },
	{ .name = "seed_grace", .type = KT_INT, .off = OFF(seed_grace),
	  .min = 0, .max = 86400, .def = "60", .meta = "SECONDS",
	  .help = "seconds the seed outlives a healthy cluster" },
	{ .name = "endpoint", .type = KT_STR, .off = OFF(endpoint),
	  .valid = valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL",
	  .help = "discovery new: client URL of the etcd to hold the token" },
	{ .name = "endpoints", .type = KT_LIST, .off = OFF(endpoints),
	  .count_off = OFF(n_endpoints), .max = CFG_MAX_URLS,
	  .valid = valid_url,
	  .expect = "an http:// or https:// URL without spaces",
	  .meta = "URL[,URL]",
	  .help = "etcd client URLs for status (default: this host's) and "
	      "cluster" },
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
	/* The services themselves are groups of the file's "service" group
	 * (svc.c); which of them bootstrap starts is a key like any other,
	 * so one host can start fewer. */
	{ .name = "services", .type = KT_LIST, .off = OFF(services),
	  .count_off = OFF(n_services), .max = SVC_MAX,
	  .valid = svc_name_valid, .expect = SVC_NAME_EXPECT,
	  .meta = "NAME[,NAME]",
	  .help = "services bootstrap starts once etcd is healthy, in order" },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* The output under construction: it reaches the caller only when every
 * layer and every cross-key check has passed. */
struct load {
	struct cfg c;
	char *src[NKEYS];	/* where each key was set: for conflicts */
	char *err;
	size_t errlen;
};

/* The command line, split before anything else is read: -f decides
 * which file to read, but flags apply only after the environment. */
struct flags {
	size_t *key;		/* table index of each --key, argv order */
	const char **val;	/* its value; borrowed from argv */
	size_t n;
	const char *file;	/* -f / --config; borrowed */
	bool json, help;
	const char **args;	/* positional arguments; borrowed */
	size_t n_args;
};

static int fail(struct load *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(struct load *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

char *
cfg_quote(const char *s, char *out, size_t outlen)
{
	char q[CFG_QUOTE_MAX];

	snprintf(out, outlen, "\"%s\"", str_quote(s, q, sizeof(q)));
	return out;
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

static void
env_name(const struct key *k, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "ZOOINIT_");
	for (const char *p = k->name; *p != '\0' && o + 1 < outlen; p++) {
		char ch = *p;

		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		out[o++] = ch;
	}
	out[o] = '\0';
}

static void
flag_name(const struct key *k, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "--");
	for (const char *p = k->name; *p != '\0' && o + 1 < outlen; p++)
		out[o++] = *p == '_' ? '-' : *p;
	out[o] = '\0';
}

static const struct key *
key_by_name(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static size_t
key_index(const struct key *k)
{
	return (size_t)(k - keys);
}

/* Matches the flag name (without "--") of length len against a key; with
 * loose, '_' and '-' count as the same so a near miss can be pointed
 * out. */
static const struct key *
key_by_flag(const char *name, size_t len, bool loose)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *kn = keys[i].name;
		size_t j;

		if (strlen(kn) != len)
			continue;
		for (j = 0; j < len; j++) {
			char want = kn[j] == '_' ? '-' : kn[j];
			char got = name[j];

			if (loose && got == '_')
				got = '-';
			if (got != want)
				break;
		}
		if (j == len)
			return &keys[i];
	}
	return NULL;
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
	return fail(ld, "%s: expected %s, found %s", where, exp, found);
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

static bool
valid_domain(const char *s)
{
	return dns_hostname_valid(s);
}

static bool
valid_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

static bool
valid_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool
valid_port(const char *s)
{
	long long v;

	if (strspn(s, "0123456789") != strlen(s))
		return false;
	return parse_ll(s, &v) == 0 && v >= 1 && v <= 65535;
}

/* c-ares takes only literals, so a host name here could never work. */
static bool
valid_dns_server(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	char addr[64];
	const char *end;
	size_t len;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return false;
		len = (size_t)(end - s - 1);
		if (len == 0 || len >= sizeof(addr))
			return false;
		memcpy(addr, s + 1, len);
		addr[len] = '\0';
		return inet_pton(AF_INET6, addr, &a6) == 1 &&
		    valid_port(end + 2);
	}
	if (valid_ip(s))
		return true;
	end = strrchr(s, ':');
	if (end == NULL)
		return false;
	len = (size_t)(end - s);
	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, s, len);
	addr[len] = '\0';
	return inet_pton(AF_INET, addr, &a4) == 1 && valid_port(end + 1);
}

static bool
valid_name(const char *s)
{
	return dns_member_name_valid(s, true);
}

/* The kernel's own rule (dev_valid_name), narrowed to printable ASCII
 * because the name ends up in log lines. */
static bool
valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 15 || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == ':')
			return false;
	}
	return true;
}

static bool
valid_netmask(const char *s)
{
	struct in_addr a;
	uint32_t inv;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	/* Contiguous means the host part, inverted, is 2^n - 1. */
	inv = ~ntohl(a.s_addr);
	return (inv & (inv + 1)) == 0;
}

/* Paths reach etcd's argv, logs and the plan's JSON: non-empty UTF-8
 * without control characters. */
bool
cfg_valid_path(const char *s)
{
	return *s != '\0' && str_utf8_valid(s, true);
}

bool
cfg_valid_text(const char *s)
{
	return str_utf8_valid(s, true);
}

bool
cfg_valid_utf8(const char *s)
{
	return str_utf8_valid(s, false);
}

/* The token goes to etcd's command line and into member IDs. */
bool
cfg_valid_token(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 128)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch >= 0x7f)
			return false;
	}
	return true;
}

static bool
valid_source(const char *s)
{
	return strcmp(s, "dns") == 0 || strcmp(s, "token") == 0 ||
	    strcmp(s, "static") == 0;
}

/* Printable ASCII without spaces: URLs reach etcd's argv and logs. */
static bool
printable_word(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool
valid_url(const char *s)
{
	return printable_word(s, 512) && (strncmp(s, "http://", 7) == 0 ||
	    strncmp(s, "https://", 8) == 0) && strlen(s) > 8;
}

/* The full check (names, URLs, duplicates) is the plan's; here only the
 * shape, so a typo fails at load time. */
static bool
valid_initial_cluster(const char *s)
{
	return printable_word(s, 8192) && strchr(s, '=') != NULL;
}

static void
list_clear(struct cfg *c, const struct key *k)
{
	char ***v = list_field(c, k);
	size_t *n = count_field(c, k);

	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static int
check_count(struct load *ld, const struct key *k, size_t n,
    const char *where)
{
	if (n > (size_t)k->max)
		return fail(ld, "%s: expected at most %d values, found %zu",
		    where, k->max, n);
	return 0;
}

static void
set_src(struct load *ld, const struct key *k, char *src)
{
	size_t i = key_index(k);

	free(ld->src[i]);
	ld->src[i] = src;
}

/* Sets k from the text s (a default, an environment value or a flag's
 * value); a KT_LIST entry is appended. where names the source. */
static int
set_text(struct load *ld, const struct key *k, const char *s,
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
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].def == NULL)
			continue;
		if (set_text(ld, &keys[i], keys[i].def, "default") == -1)
			return -1;
	}
	return 0;
}

/* Reads a whole text file; on failure returns -1 with a reason in why. */
static int
read_text(const char *path, char **out, char *why, size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap, got;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		fclose(f);
		return -1;
	}
	/* fopen() opens a directory, and libconfig would then report a
	 * puzzling syntax error instead. */
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s", strerror(EISDIR));
		fclose(f);
		return -1;
	}
	cap = 4096;
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0 || len > CFG_FILE_MAX)
			break;
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s", strerror(EIO));
		goto bad;
	}
	if (len > CFG_FILE_MAX) {
		snprintf(why, whylen, "larger than %d bytes", CFG_FILE_MAX);
		goto bad;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whylen, "not a text file (it has a NUL byte)");
		goto bad;
	}
	buf[len] = '\0';
	fclose(f);
	*out = buf;
	return 0;
bad:
	fclose(f);
	free(buf);
	return -1;
}

/* libconfig names the main file NULL (it is read from a string here) and
 * an included one by its @include text, which it opened relative to the
 * include dir. Returns a new string. */
static char *
source_path(const struct cfg_file *fx, const char *file)
{
	if (file == NULL)
		return xstrdup(fx->path);
	return xasprintf("%s/%s", fx->dir, file);
}

/* Parses the integer literal at p as libconfig would, but in 64 bits:
 * optional sign, decimal or 0x hex, optional L/LL. Returns -1 when p
 * holds no literal; sets *overflow when it exceeds even 64 bits. */
static int
parse_literal(const char *p, long long *v, bool *overflow, char *lit,
    size_t litlen)
{
	const char *d = (*p == '-' || *p == '+') ? p + 1 : p;
	int base = (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) ? 16 : 10;
	char *end;

	errno = 0;
	*v = strtoll(p, &end, base);
	if (end == p)
		return -1;
	*overflow = errno == ERANGE;
	end += strspn(end, "L");
	snprintf(lit, litlen, "%.*s", (int)(end - p), p);
	return 0;
}

/* libconfig 1.5 reads a decimal literal beyond int range through atoi():
 * 99999999999 arrives as a CONFIG_TYPE_INT holding 1215752191 and
 * 4294967301 as 5, which is even in range. Only the text says what the
 * user wrote, so find the (skip+1)th "key = literal" from the setting's
 * line on and parse the literal again. Returns -1 when it cannot be
 * found. */
static int
rescan_int(const char *text, unsigned line, const char *key, unsigned skip,
    long long *v, bool *overflow, char *lit, size_t litlen)
{
	const char *p = text, *q;
	size_t klen = strlen(key);

	for (unsigned l = 1; l < line; l++) {
		p = strchr(p, '\n');
		if (p == NULL)
			return -1;
		p++;
	}
	while (*p != '\0') {
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			q = strstr(p + 2, "*/");
			if (q == NULL)
				return -1;
			p = q + 2;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '"')
				p++;
		} else if ((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || *p == '*') {
			q = p;
			p += strspn(p, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-*");
			if ((size_t)(p - q) != klen ||
			    memcmp(q, key, klen) != 0)
				continue;
			q = p + strspn(p, " \t\r\n");
			if (*q != '=' && *q != ':')
				continue;
			if (skip > 0) {
				skip--;
				continue;
			}
			q++;
			q += strspn(q, " \t\r\n");
			return parse_literal(q, v, overflow, lit, litlen);
		} else {
			p++;
		}
	}
	return -1;
}

void
cfg_describe(const config_setting_t *s, char *out, size_t outlen)
{
	char q[CFG_QUOTE_MAX + 2];

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(out, outlen, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(out, outlen, "the number %g",
		    config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(out, outlen, "%s",
		    config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		snprintf(out, outlen, "the string %s",
		    cfg_quote(config_setting_get_string(s), q, sizeof(q)));
		break;
	case CONFIG_TYPE_GROUP:
		snprintf(out, outlen, "a group");
		break;
	case CONFIG_TYPE_ARRAY:
		snprintf(out, outlen, "an array");
		break;
	case CONFIG_TYPE_LIST:
		snprintf(out, outlen, "a list");
		break;
	default:
		snprintf(out, outlen, "nothing");
		break;
	}
}

static bool
same_file(const config_setting_t *a, const config_setting_t *b)
{
	const char *fa = config_setting_source_file(a);
	const char *fb = config_setting_source_file(b);

	return fa == fb || (fa != NULL && fb != NULL && strcmp(fa, fb) == 0);
}

/* Counts the settings named like s on s's line that come before it, in
 * file order; returns true once s is reached. The rescan must skip as many
 * "name =" as in a = { size = 3; }; b = { size = 4294967301; };. Only
 * what precedes s is walked, and that has passed the checks (no unknown
 * keys, capped lists), so the walk stays short. */
static bool
count_before(const config_setting_t *at, const config_setting_t *s,
    unsigned *n)
{
	const char *name = config_setting_name(at);

	if (at == s)
		return true;
	if (name != NULL && strcmp(name, config_setting_name(s)) == 0 &&
	    config_setting_source_line(at) == config_setting_source_line(s) &&
	    same_file(at, s))
		(*n)++;
	if (config_setting_is_aggregate(at)) {
		for (int i = 0; i < config_setting_length(at); i++) {
			if (count_before(config_setting_get_elem(at,
			    (unsigned)i), s, n))
				return true;
		}
	}
	return false;
}

int
cfg_file_int(const struct cfg_file *fx, const config_setting_t *s,
    long long *out, char *found, size_t foundlen)
{
	int type = config_setting_type(s);
	const char *name = config_setting_name(s);
	long long v, lv;
	bool overflow = false;
	char lit[64], why[128];
	char *other = NULL, *path;
	const char *text = fx->text;
	unsigned skip = 0;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		cfg_describe(s, found, foundlen);
		return -1;
	}
	v = config_setting_get_int64(s);
	snprintf(found, foundlen, "%lld", v);
	if (type == CONFIG_TYPE_INT && name != NULL) {
		if (config_setting_source_file(s) != NULL) {
			path = source_path(fx, config_setting_source_file(s));
			if (read_text(path, &other, why, sizeof(why)) == 0)
				text = other;
			else
				text = NULL;
			free(path);
		}
		if (fx->root != NULL)
			count_before(fx->root, s, &skip);
		/* Trust the rescan only where it agrees with libconfig in
		 * the low 32 bits that atoi() kept, so a scanner slip can
		 * never reject a good file. Beyond 64 bits strtoll() gave
		 * LLONG_MAX or LLONG_MIN, out of every range. */
		if (text != NULL && rescan_int(text,
		    config_setting_source_line(s), name, skip, &lv, &overflow,
		    lit, sizeof(lit)) == 0 &&
		    (overflow || (uint32_t)lv == (uint32_t)v)) {
			snprintf(found, foundlen, "%s", lit);
			v = lv;
		}
		free(other);
	}
	*out = v;
	return 0;
}

char *
cfg_file_where(const struct cfg_file *fx, const config_setting_t *s)
{
	char *file = source_path(fx, config_setting_source_file(s));
	char *where = xasprintf("%s:%u", file, config_setting_source_line(s));

	free(file);
	return where;
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

	list_clear(&ld->c, k);
	if (type == CONFIG_TYPE_STRING)
		return set_text(ld, k, config_setting_get_string(s), where);
	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		cfg_describe(s, found, sizeof(found));
		return bad_value(ld, k, where, found);
	}
	n = config_setting_length(s);
	if (check_count(ld, k, (size_t)n, where) == -1)
		return -1;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		char *src = cfg_file_where(fx, e);
		char *ewhere = xasprintf("%s: %s", src, k->name);
		int rc;

		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			rc = set_text(ld, k, config_setting_get_string(e),
			    ewhere);
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

	/* The services' own group has its own module and no env/flag. */
	if (strcmp(name, "service") == 0) {
		free(src);
		return svc_load_file(&ld->c, fx, s, ld->err, ld->errlen);
	}
	k = key_by_name(name);
	if (k == NULL) {
		fail(ld, "%s: unknown key %s", src,
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
			rc = set_text(ld, k, config_setting_get_string(s),
			    where);
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
	set_src(ld, k, src);
	return 0;
}

/* libconfig 1.5 opens an @include that names a directory ("", ".")
 * without complaint, then its scanner fails to read it and calls exit(2)
 * with no file or line. So every @include line (one that starts with it,
 * as libconfig's scanner wants) of text, and of the files it includes in
 * turn, is checked first: an existing name that is not a regular file is
 * an error here. Names that do not exist are left to libconfig, which
 * reports them. */
static int
check_includes(struct load *ld, const char *file, const char *text,
    const char *dir, int depth)
{
	const char *p = text;
	unsigned line = 1;

	if (depth > 10)
		return 0;	/* libconfig stops deeper includes itself */
	for (; *p != '\0'; p++) {
		const char *q = p + strspn(p, " \t");
		char *name, *path, *sub = NULL, why[128];
		struct stat st;
		size_t n = 0;
		int rc = 0;

		if (strncmp(q, "@include", 8) == 0 &&
		    (q[8] == ' ' || q[8] == '\t')) {
			q += 8 + strspn(q + 8, " \t");
			if (*q == '"') {
				name = xmalloc(strlen(q));
				for (q++; *q != '\0' && *q != '"' && *q != '\n';
				    q++) {
					if (*q == '\\' && q[1] != '\0')
						q++;
					name[n++] = *q;
				}
				name[n] = '\0';
				path = xasprintf("%s/%s", dir, name);
				if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
					rc = fail(ld, "%s:%u: @include \"%s\": not "
					    "a regular file", file, line, name);
				else if (stat(path, &st) == 0 &&
				    read_text(path, &sub, why, sizeof(why)) == 0)
					rc = check_includes(ld, path, sub, dir,
					    depth + 1);
				free(sub);
				free(path);
				free(name);
				if (rc < 0)
					return -1;
			}
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		line++;
	}
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

	if (read_text(path, &text, why, sizeof(why)) == -1)
		return fail(ld, "%s: cannot read: %s", path, why);
	/* @include is relative to the file, not to wherever we run. */
	copy = xstrdup(path);
	dir = xstrdup(dirname(copy));
	free(copy);
	if (check_includes(ld, path, text, dir, 0) < 0) {
		free(dir);
		free(text);
		return -1;
	}
	config_init(&cf);
	config_set_include_dir(&cf, dir);
	fx = (struct cfg_file){ path, dir, text, NULL };
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		char *file = source_path(&fx, config_error_file(&cf));

		fail(ld, "%s:%d: %s", file, config_error_line(&cf),
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

/* The first value of name in envp, or NULL; empty counts as unset so
 * "ZOOINIT_SIZE= zooinit ..." can blank out an inherited value. */
static const char *
env_get(char **envp, const char *name)
{
	size_t len = strlen(name);

	for (char **e = envp; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return (*e)[len + 1] != '\0' ? *e + len + 1 : NULL;
	}
	return NULL;
}

static int
env_list(struct load *ld, const struct key *k, const char *val,
    const char *where)
{
	size_t n = 1;
	int rc = 0;

	for (const char *p = val; *p != '\0'; p++)
		n += *p == ',';
	if (check_count(ld, k, n, where) == -1)
		return -1;
	list_clear(&ld->c, k);
	for (const char *p = val; rc == 0; p++) {
		size_t len = strcspn(p, ",");
		char *item;

		/* "a, b" is how people write lists. */
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		item = xstrndup(p, len);
		rc = set_text(ld, k, item, where);
		free(item);
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
	}
	return rc;
}

static int
load_env(struct load *ld, char **envp)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		char name[64], *where;
		const char *val;
		int rc;

		env_name(k, name, sizeof(name));
		val = env_get(envp, name);
		if (val == NULL)
			continue;
		where = xasprintf("environment %s", name);
		if (k->type == KT_LIST)
			rc = env_list(ld, k, val, where);
		else
			rc = set_text(ld, k, val, where);
		if (rc == -1) {
			free(where);
			return -1;
		}
		set_src(ld, k, where);
	}
	return 0;
}

static void
flags_free(struct flags *f)
{
	free(f->key);
	free(f->val);
	free(f->args);
}

static int
unknown_flag(struct load *ld, const char *arg, size_t len)
{
	const struct key *k = NULL;
	char *name = xstrndup(arg, len);
	char q[CFG_QUOTE_MAX + 2], hint[96] = "";

	if (len > 2 && arg[1] == '-')
		k = key_by_flag(arg + 2, len - 2, true);
	if (k != NULL) {
		char fn[64];

		flag_name(k, fn, sizeof(fn));
		snprintf(hint, sizeof(hint), " (did you mean %s?)", fn);
	}
	fail(ld, "unknown flag %s%s; run \"zooinit help\" for the list of "
	    "flags", cfg_quote(name, q, sizeof(q)), hint);
	free(name);
	return -1;
}

/* A value is the next argument unless that is missing or itself a long
 * flag: "--data-dir --json" is a forgotten value far more often than a
 * directory named "--json" (which --data-dir=--json still allows). */
static const char *
next_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
		return NULL;
	return argv[++*i];
}

static int
parse_argv(struct load *ld, struct flags *f, int argc, char **argv)
{
	bool dashdash = false;
	size_t cap = argc > 0 ? (size_t)argc : 1;

	f->key = xreallocarray(NULL, cap, sizeof(*f->key));
	f->val = xreallocarray(NULL, cap, sizeof(*f->val));
	f->args = xreallocarray(NULL, cap, sizeof(*f->args));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val;
		const struct key *k;
		size_t len;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			f->args[f->n_args++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(a, "-h") == 0) {
			f->help = true;
			continue;
		}
		if (strncmp(a, "-f", 2) == 0) {
			f->file = a[2] != '\0' ? a + 2 : next_value(argc, argv,
			    &i);
			if (f->file == NULL || f->file[0] == '\0')
				return fail(ld, "-f needs a value");
			continue;
		}
		if (a[1] != '-')
			return unknown_flag(ld, a, strlen(a));

		name = a + 2;
		eq = strchr(name, '=');
		len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		val = eq != NULL ? eq + 1 : NULL;
		if ((len == 4 && strncmp(name, "json", 4) == 0) ||
		    (len == 4 && strncmp(name, "help", 4) == 0)) {
			if (val != NULL)
				return fail(ld, "--%.*s takes no value",
				    (int)len, name);
			if (name[0] == 'j')
				f->json = true;
			else
				f->help = true;
			continue;
		}
		if (len == 6 && strncmp(name, "config", 6) == 0) {
			f->file = val != NULL ? val :
			    next_value(argc, argv, &i);
			if (f->file == NULL || f->file[0] == '\0')
				return fail(ld, "--config needs a value");
			continue;
		}
		k = key_by_flag(name, len, false);
		if (k == NULL)
			return unknown_flag(ld, a, len + 2);
		if (val == NULL)
			val = next_value(argc, argv, &i);
		if (val == NULL)
			return fail(ld, "--%.*s needs a value", (int)len, name);
		f->key[f->n] = key_index(k);
		f->val[f->n] = val;
		f->n++;
	}
	return 0;
}

static int
load_flags(struct load *ld, const struct flags *f)
{
	bool seen[NKEYS] = { false };

	for (size_t i = 0; i < f->n; i++) {
		const struct key *k = &keys[f->key[i]];
		char where[64];

		flag_name(k, where, sizeof(where));
		/* A list on the command line replaces the lower layers'
		 * list as a whole; repeats add to it, and each value may
		 * itself be a comma list, as in the environment. */
		if (k->type == KT_LIST) {
			if (seen[f->key[i]])
				continue;
			seen[f->key[i]] = true;
			char *all = xstrdup(f->val[i]);
			for (size_t j = i + 1; j < f->n; j++) {
				if (f->key[j] != f->key[i])
					continue;
				char *more = xasprintf("%s,%s", all, f->val[j]);
				free(all);
				all = more;
			}
			int rc = env_list(ld, k, all, where);
			free(all);
			if (rc == -1)
				return -1;
			set_src(ld, k, xstrdup(where));
			continue;
		}
		seen[f->key[i]] = true;
		if (set_text(ld, k, f->val[i], where) == -1)
			return -1;
		set_src(ld, k, xstrdup(where));
	}
	return 0;
}

/* Checks between keys, once every layer is in, so a message can name the
 * layer each side came from. */
static int
check_cross(struct load *ld)
{
	size_t ip = key_index(key_by_name("ip"));
	size_t iface = key_index(key_by_name("interface"));
	size_t mask = key_index(key_by_name("netmask"));
	size_t hint = key_index(key_by_name("hint"));
	size_t set[3], n = 0;

	if ((ld->src[mask] == NULL) != (ld->src[hint] == NULL)) {
		bool has_mask = ld->src[mask] != NULL;

		return fail(ld, "%s (from %s) needs %s as well: the local "
		    "address is picked inside hint/netmask, so give both or "
		    "neither", has_mask ? "netmask" : "hint",
		    ld->src[has_mask ? mask : hint],
		    has_mask ? "hint" : "netmask");
	}
	if (ld->src[ip] != NULL)
		set[n++] = ip;
	if (ld->src[iface] != NULL)
		set[n++] = iface;
	if (ld->src[mask] != NULL)
		set[n++] = mask;
	if (n > 1)
		return fail(ld, "%s (from %s) and %s (from %s) are both set; "
		    "choose one way to find this host's address: ip, "
		    "interface, or netmask with hint", keys[set[0]].name,
		    ld->src[set[0]], keys[set[1]].name, ld->src[set[1]]);

	size_t disc = key_index(key_by_name("discovery"));
	size_t dend = key_index(key_by_name("discovery_endpoints"));
	size_t dtok = key_index(key_by_name("discovery_token"));
	/* The token alone names what discovery serve/new create. */
	if (ld->src[dend] != NULL && ld->src[dtok] == NULL)
		return fail(ld, "discovery_endpoints (from %s) needs "
		    "discovery_token as well: v3 discovery asks those endpoints "
		    "about that token", ld->src[dend]);
	if (ld->src[disc] != NULL && ld->src[dend] != NULL)
		return fail(ld, "discovery (from %s) and discovery_endpoints "
		    "(from %s) are both set; use the v2 URL or the v3 "
		    "endpoints and token, not both", ld->src[disc],
		    ld->src[dend]);

	/* A certificate is useless without its key and the reverse; a peer
	 * pair half set would pair one file with the other's default. */
	static const char *const pairs[][2] = {
		{ "cert_file", "key_file" },
		{ "peer_cert_file", "peer_key_file" },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		size_t a = key_index(key_by_name(pairs[i][0]));
		size_t b = key_index(key_by_name(pairs[i][1]));

		if ((ld->src[a] == NULL) == (ld->src[b] == NULL))
			continue;
		bool has_a = ld->src[a] != NULL;
		return fail(ld, "%s (from %s) needs %s as well: a certificate "
		    "and its key go together, so set both or neither",
		    keys[has_a ? a : b].name, ld->src[has_a ? a : b],
		    keys[has_a ? b : a].name);
	}

	struct svc_srcs ss = {
		.services = ld->src[key_index(key_by_name("services"))],
		.data_dir = ld->src[key_index(key_by_name("data_dir"))],
		.seed_data_dir =
		    ld->src[key_index(key_by_name("seed_data_dir"))],
	};
	return svc_check(&ld->c, &ss, ld->err, ld->errlen);
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
	if (parse_argv(&ld, &f, argc, argv) == -1)
		goto out;
	file = f.file != NULL ? f.file : env_get(envp, "ZOOINIT_CONFIG");
	if (load_defaults(&ld) == -1)
		goto out;
	if (file != NULL && load_file(&ld, file) == -1)
		goto out;
	if (load_env(&ld, envp) == -1 || load_flags(&ld, &f) == -1)
		goto out;
	if (check_cross(&ld) == -1)
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
	for (size_t i = 0; i < NKEYS; i++)
		free(ld.src[i]);
	flags_free(&f);
	return rc;
}

void
cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].type == KT_STR)
			free(*str_field(c, &keys[i]));
		else if (keys[i].type == KT_LIST)
			list_clear(c, &keys[i]);
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

struct usage_row {
	char opt[136];
	char src[128];
	const char *help;
};

/* Keys only: -f/--config, --json and -h are the command's to describe,
 * next to the subcommands they belong to. */
void
cfg_usage(FILE *out)
{
	struct usage_row rows[NKEYS];

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		struct usage_row *r = &rows[i];
		char flag[64], env[64], meta[64], def[96] = "";

		flag_name(k, flag, sizeof(flag));
		env_name(k, env, sizeof(env));
		if (k->type == KT_ENUM) {
			size_t o = 0;

			meta[0] = '\0';
			for (size_t j = 0; k->choices[j] != NULL &&
			    o < sizeof(meta); j++)
				o += (size_t)snprintf(meta + o,
				    sizeof(meta) - o, "%s%s", j == 0 ? "" : "|",
				    k->choices[j]);
		} else {
			snprintf(meta, sizeof(meta), "%s", k->meta);
		}
		if (k->def != NULL)
			snprintf(def, sizeof(def), ", default %s", k->def);
		snprintf(r->opt, sizeof(r->opt), "%s %s", flag, meta);
		snprintf(r->src, sizeof(r->src), "(%s, key %s%s)", env,
		    k->name, def);
		r->help = k->help;
	}
	/* Three lines a flag keep the text within 80 columns. */
	for (size_t i = 0; i < NKEYS; i++)
		fprintf(out, "  %s\n      %s\n      %s\n", rows[i].opt,
		    rows[i].help, rows[i].src);
}

const char *
cfg_scheme_name(enum cfg_scheme s)
{
	if ((unsigned)s >= sizeof(scheme_choices) / sizeof(*scheme_choices) - 1)
		return "invalid";
	return scheme_choices[s];
}
