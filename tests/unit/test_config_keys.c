/* Unit tests for config/cfg.c: what each key accepts and how it says
 * no. Address methods, DNS servers, domain and names, choices, metrics,
 * peer sources and discovery, TLS, srv_name and role, the discovery
 * token; the example config, cfg_free() and the usage text. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "tests/unit/config_fix.h"

/* Like expect_error, for messages that are long prose: each of the
 * fragments must appear. */
static void
expect_error_has(char **argv, char **envp, const char *a, const char *b)
{
	static const struct cfg zero;
	struct cfg c;
	char err[512];

	assert_int_equal(load(&c, argv, envp, err, sizeof(err)), -1);
	if (strstr(err, a) == NULL || (b != NULL && strstr(err, b) == NULL))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err, a,
		    b ? b : "");
	assert_memory_equal(&c, &zero, sizeof(c));
	cfg_free(&c);
}

static void
test_address_methods(void **state)
{
	char path[64], want[256];
	struct cfg c;

	(void)state;
	expect_error_has(ARGV("--netmask", "255.255.255.0"), no_env,
	    "netmask (from --netmask) needs hint as well", NULL);
	expect_error_has(no_args, ENV("ZOOINIT_HINT=10.0.0.0"),
	    "hint (from environment ZOOINIT_HINT) needs netmask as well",
	    NULL);
	expect_ok(&c, ARGV("--netmask=255.255.255.0", "--hint=10.0.0.0"),
	    no_env);
	assert_string_equal(c.netmask, "255.255.255.0");
	assert_string_equal(c.hint, "10.0.0.0");
	cfg_free(&c);
	expect_error(ARGV("--netmask=255.0.255.0", "--hint=10.0.0.0"), no_env,
	    "--netmask: expected a contiguous IPv4 netmask such as "
	    "255.255.255.0, found \"255.0.255.0\"");
	expect_error(ARGV("--netmask=/24", "--hint=10.0.0.0"), no_env,
	    "--netmask: expected a contiguous IPv4 netmask such as "
	    "255.255.255.0, found \"/24\"");
	expect_error(ARGV("--netmask=255.255.255.0", "--hint=fd00::"), no_env,
	    "--hint: expected a dotted IPv4 address such as 10.0.0.0, found "
	    "\"fd00::\"");

	write_tmp(path, sizeof(path), "ip = \"10.0.0.11\";\n");
	snprintf(want, sizeof(want), "ip (from %s:1) and interface (from "
	    "--interface) are both set", path);
	expect_error_has(ARGV("-f", path, "--interface", "eth0"), no_env,
	    want, "ip, interface, or netmask with hint");
	unlink(path);
	expect_error_has(ARGV("--netmask=255.255.0.0", "--hint=10.1.0.0"),
	    ENV("ZOOINIT_INTERFACE=eth0"), "interface (from environment "
	    "ZOOINIT_INTERFACE) and netmask (from --netmask) are both set",
	    NULL);

	expect_error(ARGV("--ip", "1.2.3"), no_env,
	    "--ip: expected an IPv4 or IPv6 address literal, found \"1.2.3\"");
	expect_error(ARGV("--ip", "h1.zl.test"), no_env,
	    "--ip: expected an IPv4 or IPv6 address literal, found "
	    "\"h1.zl.test\"");
	expect_ok(&c, ARGV("--ip", "fd00::11"), no_env);
	assert_string_equal(c.ip, "fd00::11");
	cfg_free(&c);
	expect_ok(&c, ARGV("--ip", "10.0.0.11"), no_env);
	assert_string_equal(c.ip, "10.0.0.11");
	cfg_free(&c);

	expect_error(ARGV("--interface", "eth0/1"), no_env,
	    "--interface: expected a network interface name of 1 to 15 "
	    "printable bytes without '/', ':' or spaces, found \"eth0/1\"");
}

/* metrics_listen: HOST:PORT from each layer, "" for none. */
static void
test_metrics_listen(void **state)
{
	char *env[] = { "ZOOINIT_METRICS_LISTEN=[::1]:9100", NULL };
	char path[64];
	struct cfg c;

	(void)state;
	expect_ok(&c, no_args, no_env);
	assert_null(c.metrics_listen);
	cfg_free(&c);
	expect_ok(&c, ARGV("--metrics-listen", "10.0.0.1:9100"), no_env);
	assert_string_equal(c.metrics_listen, "10.0.0.1:9100");
	cfg_free(&c);
	expect_ok(&c, no_args, env);
	assert_string_equal(c.metrics_listen, "[::1]:9100");
	cfg_free(&c);
	expect_ok(&c, ARGV("--metrics-listen=localhost:1"), env);
	assert_string_equal(c.metrics_listen, "localhost:1");
	cfg_free(&c);
	write_tmp(path, sizeof(path), "metrics_listen = \"\";\n");
	expect_ok(&c, ARGV("-f", path), no_env);
	assert_string_equal(c.metrics_listen, "");
	cfg_free(&c);
	unlink(path);
	expect_error_has(ARGV("--metrics-listen", "::1:9100"), no_env,
	    "--metrics-listen: expected HOST:PORT", "found \"::1:9100\"");
	expect_error_has(ARGV("--metrics-listen", "10.0.0.1"), no_env,
	    "[::1]:9100", "found \"10.0.0.1\"");
}

static void
test_dns_servers(void **state)
{
	static const char *const good[] = {
		"10.0.0.1", "10.0.0.1:53", "127.0.0.1:5353", "[::1]:53", "::1",
		"fd00::53", "[fd00::53]:65535",
	};
	static const char *const bad[] = {
		"1.2.3.4:0", "host.example:53", "host.example", "1.2.3.4:65536",
		"1.2.3.4:", "[::1]", "[::1]:", "[1.2.3.4]:53", ":53", "",
		"1.2.3.4:+53", "1.2.3.4: 53", "[::1]x53",
	};
	char flag[64], want[256];
	struct cfg c;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(flag, sizeof(flag), "--dns-server=%s", good[i]);
		expect_ok(&c, ARGV(flag), no_env);
		assert_int_equal(c.n_dns_servers, 1);
		assert_string_equal(c.dns_servers[0], good[i]);
		cfg_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(flag, sizeof(flag), "--dns-server=%s", bad[i]);
		snprintf(want, sizeof(want), "--dns-server: expected ADDR, "
		    "ADDR:PORT or [IPV6]:PORT with ADDR an IP address literal "
		    "and PORT from 1 to 65535, found \"%s\"", bad[i]);
		expect_error(ARGV(flag), no_env, want);
	}
	expect_error(ARGV("--dns-server=1.1.1.1", "--dns-server=1.1.1.2",
	    "--dns-server=1.1.1.3", "--dns-server=1.1.1.4",
	    "--dns-server=1.1.1.5", "--dns-server=1.1.1.6",
	    "--dns-server=1.1.1.7", "--dns-server=1.1.1.8",
	    "--dns-server=1.1.1.9"), no_env,
	    "--dns-server: expected at most 8 values, found 9");
}

static void
test_domain_and_names(void **state)
{
	char label64[80], flag[96], want[256];
	struct cfg c;

	(void)state;
	expect_error(ARGV("--domain", "a;b"), no_env,
	    "--domain: expected a DNS domain name (letters, digits and hyphens "
	    "in dot-separated labels of 1 to 63 bytes), found \"a;b\"");
	expect_error_has(ARGV("--domain", "x/y"), no_env,
	    "found \"x/y\"", NULL);
	expect_error_has(ARGV("--domain", "."), no_env, "found \".\"", NULL);
	expect_error_has(ARGV("--domain", "-a.example"), no_env,
	    "found \"-a.example\"", NULL);
	memset(label64, 'a', 64);
	snprintf(label64 + 64, sizeof(label64) - 64, ".example");
	snprintf(flag, sizeof(flag), "--domain=%s", label64);
	snprintf(want, sizeof(want), "found \"%s\"", label64);
	expect_error_has(ARGV(flag), no_env, want, NULL);
	/* 63 is the limit, not 64. */
	snprintf(flag, sizeof(flag), "--domain=%s", label64 + 1);
	expect_ok(&c, ARGV(flag), no_env);
	assert_string_equal(c.domain, label64 + 1);
	cfg_free(&c);
	expect_ok(&c, ARGV("--domain", "ZL.test."), no_env);
	assert_string_equal(c.domain, "ZL.test");
	cfg_free(&c);

	expect_ok(&c, ARGV("--name", "h1"), no_env);
	assert_string_equal(c.name, "h1");
	cfg_free(&c);
	expect_error_has(ARGV("--name", "h1."), no_env,
	    "--name: expected a member name", "found \"h1.\"");
	expect_error_has(ARGV("--name", "h_1"), no_env,
	    "--name: expected a member name", "found \"h_1\"");

	expect_error(ARGV("--token", "two words"), no_env,
	    "--token: expected 1 to 128 printable ASCII characters without "
	    "spaces, found \"two words\"");
	memset(label64, 'x', 79);
	label64[79] = '\0';
	expect_ok(&c, ARGV("--token", label64), no_env);
	assert_string_equal(c.token, label64);
	cfg_free(&c);
	expect_error_has(ARGV("--token", "caf\xc3\xa9"), no_env,
	    "found \"caf\\xc3\\xa9\"", NULL);
}

static void
test_choices(void **state)
{
	struct cfg c;

	(void)state;
	expect_ok(&c, ARGV("--member-names", "fqdn", "--scheme", "http",
	    "--log-level", "error"), no_env);
	assert_int_equal(c.member_names, CFG_NAMES_FQDN);
	assert_int_equal(c.scheme, CFG_SCHEME_HTTP);
	assert_int_equal(c.log_level, LOG_ERROR);
	cfg_free(&c);
	expect_ok(&c, no_args, ENV("ZOOINIT_MEMBER_NAMES=label",
	    "ZOOINIT_SCHEME=https", "ZOOINIT_LOG_LEVEL=warn"));
	assert_int_equal(c.member_names, CFG_NAMES_LABEL);
	assert_int_equal(c.scheme, CFG_SCHEME_HTTPS);
	assert_int_equal(c.log_level, LOG_WARN);
	cfg_free(&c);

	expect_error(ARGV("--member-names", "full"), no_env,
	    "--member-names: expected \"label\" or \"fqdn\", found \"full\"");
	expect_error(ARGV("--scheme", "HTTPS"), no_env,
	    "--scheme: expected \"auto\", \"http\" or \"https\", found "
	    "\"HTTPS\"");
	expect_error(ARGV("--log-level", "trace"), no_env,
	    "--log-level: expected \"error\", \"warn\", \"info\" or "
	    "\"debug\", found \"trace\"");

	assert_string_equal(cfg_scheme_name(CFG_SCHEME_AUTO), "auto");
	assert_string_equal(cfg_scheme_name(CFG_SCHEME_HTTP), "http");
	assert_string_equal(cfg_scheme_name(CFG_SCHEME_HTTPS), "https");
}

static void
test_example_loads(void **state)
{
	struct cfg c;

	(void)state;
	expect_ok(&c, ARGV("-f", "config/zooinit.conf.example"), no_env);
	assert_string_equal(c.config_file, "config/zooinit.conf.example");
	assert_string_equal(c.domain, "cluster.example.com");
	assert_string_equal(c.data_dir, "/var/lib/zooinit/etcd");
	assert_int_equal(c.client_port, 2379);
	cfg_free(&c);
}

static void
test_free_twice(void **state)
{
	static const struct cfg zero;
	struct cfg c;
	char err[16];

	(void)state;
	expect_ok(&c, ARGV("--dns-server=10.0.0.1", "x"), no_env);
	cfg_free(&c);
	assert_memory_equal(&c, &zero, sizeof(c));
	cfg_free(&c);

	/* A short buffer truncates the message but still fails cleanly. */
	assert_int_equal(load(&c, ARGV("--size=x"), no_env, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "--size: expecte");
	assert_memory_equal(&c, &zero, sizeof(c));
	cfg_free(&c);
}

/* The peer sources and discovery keys added for token and static. */
static void
test_sources_and_discovery(void **state)
{
	struct cfg c;

	(void)state;
	expect_ok(&c, ARGV("--sources", "token,static"), no_env);
	assert_int_equal(c.n_sources, 2);
	assert_string_equal(c.sources[0], "token");
	assert_string_equal(c.sources[1], "static");
	assert_int_equal(c.seed_client_port, 4001);
	assert_int_equal(c.seed_peer_port, 7001);
	assert_int_equal(c.seed_grace, 60);
	assert_int_equal(c.seed_keep, CFG_SEED_STOP);
	cfg_free(&c);

	/* A list flag repeated and comma-separated at once. */
	expect_ok(&c, ARGV("--discovery-endpoints", "http://10.0.0.1:2379,"
	    "http://10.0.0.2:2379", "--discovery-endpoints=http://10.0.0.3:2379",
	    "--discovery-token", "t1"), no_env);
	assert_int_equal(c.n_discovery_endpoints, 3);
	assert_string_equal(c.discovery_endpoints[2], "http://10.0.0.3:2379");
	cfg_free(&c);

	/* The token alone names what discovery serve/new create. */
	expect_ok(&c, ARGV("--discovery-token", "abc"), no_env);
	cfg_free(&c);

	expect_error(ARGV("--sources", "dns,carrier-pigeon"), no_env,
	    "--sources: expected \"dns\", \"token\" or \"static\", "
	    "found \"carrier-pigeon\"");
	expect_error(ARGV("--sources", "dns,token,static,dns"), no_env,
	    "--sources: expected at most 3 values, found 4");
	expect_error_has(ARGV("--discovery", "ftp://x/v2/keys/t"), no_env,
	    "--discovery: expected an http:// or https:// URL", NULL);
	expect_error_has(ARGV("--discovery", "http://a b/"), no_env,
	    "--discovery: expected an http:// or https:// URL", NULL);
	expect_error_has(ARGV("--discovery-endpoints", "http://10.0.0.1:2379"),
	    no_env, "discovery_endpoints (from --discovery-endpoints) needs "
	    "discovery_token", NULL);
	expect_error_has(ARGV("--discovery", "http://10.0.0.1:4001/v2/keys/t",
	    "--discovery-endpoints", "http://10.0.0.1:2379",
	    "--discovery-token", "t"), no_env, "are both set", NULL);
	expect_error_has(ARGV("--initial-cluster", "no-equals-sign"), no_env,
	    "--initial-cluster: expected NAME=URL", NULL);
	expect_error_has(ARGV("--seed-keep", "forever"), no_env,
	    "--seed-keep: expected \"stop\" or \"keep\"", NULL);
	expect_error_has(ARGV("--seed-grace", "-1"), no_env,
	    "--seed-grace: expected an integer from 0 to 86400", NULL);

	/* Paths reach argv and JSON: printable UTF-8 only (found by the
	 * fuzzer: a \xff vanished from plan --json). */
	expect_error(ARGV("--data-dir", "/var/lib/\xff"), no_env,
	    "--data-dir: expected a non-empty path of printable UTF-8 "
	    "characters, found \"/var/lib/\\xff\"");
	expect_error_has(ARGV("--etcd", "/usr/bin/et\ncd"), no_env,
	    "--etcd: expected a non-empty program name or path", NULL);
	expect_ok(&c, ARGV("--data-dir", "/srv/\xc3\xa9tcd"), no_env);
	cfg_free(&c);
}

static void
test_usage(void **state)
{
	char *buf = NULL, *line;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	cfg_usage(f);
	fclose(f);
	line = strstr(buf, "  --data-dir DIR\n");
	assert_non_null(line);
	assert_non_null(strstr(line, "directory for etcd's data\n"));
	assert_non_null(strstr(line, "(ZOOINIT_DATA_DIR, key data_dir, "
	    "default /var/lib/zooinit/etcd)\n"));
	assert_non_null(strstr(buf, "--scheme auto|http|https\n"));
	assert_non_null(strstr(buf, "(ZOOINIT_DNS_SERVER, key "
	    "dns_server)"));
	/* Every line fits 80 columns. */
	for (char *p = buf; *p != '\0'; p = strchr(p, '\n') + 1)
		assert_true(strchr(p, '\n') - p <= 80);
	free(buf);
}

/* TLS: six paths and a switch, checked for shape only; whether the files
 * can be read is the plan's business. */
static void
test_tls_keys(void **state)
{
	char path[64], want[256];
	struct cfg c;

	(void)state;
	expect_ok(&c, no_args, no_env);
	assert_null(c.cert_file);
	assert_null(c.key_file);
	assert_null(c.trusted_ca_file);
	assert_null(c.peer_cert_file);
	assert_null(c.peer_key_file);
	assert_null(c.peer_trusted_ca_file);
	assert_int_equal(c.client_cert_auth, CFG_OFF);
	cfg_free(&c);

	/* Flags; nothing needs to exist yet. */
	expect_ok(&c, ARGV("--cert-file", "/etc/zi/h1.pem", "--key-file",
	    "/etc/zi/h1.key", "--trusted-ca-file=/etc/zi/ca.pem",
	    "--peer-cert-file", "/etc/zi/p.pem", "--peer-key-file",
	    "/etc/zi/p.key", "--peer-trusted-ca-file", "/etc/zi/pca.pem",
	    "--client-cert-auth", "on"), no_env);
	assert_string_equal(c.cert_file, "/etc/zi/h1.pem");
	assert_string_equal(c.key_file, "/etc/zi/h1.key");
	assert_string_equal(c.trusted_ca_file, "/etc/zi/ca.pem");
	assert_string_equal(c.peer_cert_file, "/etc/zi/p.pem");
	assert_string_equal(c.peer_key_file, "/etc/zi/p.key");
	assert_string_equal(c.peer_trusted_ca_file, "/etc/zi/pca.pem");
	assert_int_equal(c.client_cert_auth, CFG_ON);
	cfg_free(&c);

	/* The file, overridden by the environment, overridden by flags; a
	 * certificate in one layer pairs with its key in another. */
	write_tmp(path, sizeof(path), "cert_file = \"/f/h.pem\";\n"
	    "client_cert_auth = \"on\";\ntrusted_ca_file = \"/f/ca.pem\";\n");
	expect_ok(&c, ARGV("-f", path), ENV("ZOOINIT_KEY_FILE=/e/h.key",
	    "ZOOINIT_TRUSTED_CA_FILE=/e/ca.pem"));
	assert_string_equal(c.cert_file, "/f/h.pem");
	assert_string_equal(c.key_file, "/e/h.key");
	assert_string_equal(c.trusted_ca_file, "/e/ca.pem");
	assert_int_equal(c.client_cert_auth, CFG_ON);
	cfg_free(&c);
	expect_ok(&c, ARGV("-f", path, "--client-cert-auth=off",
	    "--trusted-ca-file", "/a/ca.pem"), ENV("ZOOINIT_KEY_FILE=/e/h.key",
	    "ZOOINIT_CLIENT_CERT_AUTH=on", "ZOOINIT_TRUSTED_CA_FILE=/e/ca.pem"));
	assert_int_equal(c.client_cert_auth, CFG_OFF);
	assert_string_equal(c.trusted_ca_file, "/a/ca.pem");
	cfg_free(&c);
	unlink(path);

	/* Bad values name their source. */
	expect_error(ARGV("--client-cert-auth", "yes"), no_env,
	    "--client-cert-auth: expected \"off\" or \"on\", found \"yes\"");
	expect_error(ARGV("--cert-file="), no_env,
	    "--cert-file: expected a non-empty path of printable UTF-8 "
	    "characters, found \"\"");
	write_tmp(path, sizeof(path), "# tls\nclient_cert_auth = true;\n");
	snprintf(want, sizeof(want), "%s:2: client_cert_auth: expected "
	    "\"off\" or \"on\", found true", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);
	write_tmp(path, sizeof(path), "peer_trusted_ca_file = \"\";\n");
	snprintf(want, sizeof(want), "%s:1: peer_trusted_ca_file: expected a "
	    "non-empty path of printable UTF-8 characters, found \"\"", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	/* A certificate without its key, or the reverse, either pair. */
	expect_error(ARGV("--cert-file", "/etc/zi/h1.pem"), no_env,
	    "cert_file (from --cert-file) needs key_file as well: a "
	    "certificate and its key go together, so set both or neither");
	expect_error(ARGV("--trusted-ca-file", "/c.pem"),
	    ENV("ZOOINIT_KEY_FILE=/k"), "key_file (from environment "
	    "ZOOINIT_KEY_FILE) needs cert_file as well: a certificate and its "
	    "key go together, so set both or neither");
	expect_error_has(ARGV("--cert-file", "/c", "--key-file", "/k",
	    "--peer-key-file", "/pk"), no_env, "peer_key_file (from "
	    "--peer-key-file) needs peer_cert_file as well", NULL);
	/* The peer pair alone is fine: the plan says what https needs. */
	expect_ok(&c, ARGV("--peer-cert-file", "/pc", "--peer-key-file",
	    "/pk"), no_env);
	cfg_free(&c);
}

static void
test_tls_usage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	cfg_usage(f);
	fclose(f);
	assert_non_null(strstr(buf, "  --client-cert-auth off|on\n"));
	assert_non_null(strstr(buf, "(ZOOINIT_CLIENT_CERT_AUTH, key "
	    "client_cert_auth, default off)\n"));
	assert_non_null(strstr(buf, "  --peer-trusted-ca-file FILE\n"));
	assert_non_null(strstr(buf, "(ZOOINIT_PEER_TRUSTED_CA_FILE, key "
	    "peer_trusted_ca_file)\n"));
	free(buf);
}

/* srv_name is one DNS label that still fits "_etcd-server-ssl-NAME";
 * role is auto, member or client; both from env and flags alike. */
static void
test_srv_name_and_role(void **state)
{
	char n46[48], n47[49];
	struct cfg c;

	(void)state;
	expect_ok(&c, no_args, no_env);
	assert_null(c.srv_name);
	assert_int_equal(c.role, CFG_ROLE_AUTO);
	cfg_free(&c);
	expect_ok(&c, ARGV("--srv-name", "blue-1", "--role", "client"),
	    no_env);
	assert_string_equal(c.srv_name, "blue-1");
	assert_int_equal(c.role, CFG_ROLE_CLIENT);
	cfg_free(&c);
	expect_ok(&c, no_args, ENV("ZOOINIT_SRV_NAME=red",
	    "ZOOINIT_ROLE=member"));
	assert_string_equal(c.srv_name, "red");
	assert_int_equal(c.role, CFG_ROLE_MEMBER);
	cfg_free(&c);
	memset(n46, 'a', 46);
	n46[46] = '\0';
	expect_ok(&c, ARGV("--srv-name", n46), no_env);
	cfg_free(&c);
	memset(n47, 'a', 47);
	n47[47] = '\0';
	expect_error_has(ARGV("--srv-name", n47), no_env,
	    "--srv-name: expected 1 to 46 letters", NULL);
	expect_error_has(ARGV("--srv-name", "-blue"), no_env, "--srv-name",
	    "one DNS label");
	expect_error_has(ARGV("--srv-name", "a.b"), no_env, "--srv-name",
	    NULL);
	expect_error_has(ARGV("--srv-name", "a_b"), no_env, "--srv-name",
	    NULL);
	expect_error_has(ARGV("--role", "proxy"), no_env, "--role", NULL);
}

/* The discovery token becomes a URL path segment (discovery new and
 * serve build .../v2/keys/_etcd/registry/TOKEN) and a segment of the v3
 * key prefix /_etcd/registry/TOKEN/, unescaped: anything a URL does not
 * carry as it is must fail at load, naming the key where it was set
 * (issue #11, item 6). */
static void
test_discovery_token_url_safe(void **state)
{
	static const char *const bad[] = {
		"a#b", "a?b", "a/b", "a%41", "a&b", "a=b", "a+b", "a:b",
		"a@b", "a;b", "a!b", "a*b", "a'b", "a\"b", "a[b]", ".", "..",
		"...", "a b", "caf\xc3\xa9",
	};
	char want[256], path[64], text[128], var[64];
	char t129[130];
	struct cfg c;

	(void)state;
	expect_ok(&c, ARGV("--discovery-token", "Tok-1.2_3~x"), no_env);
	assert_string_equal(c.discovery_token, "Tok-1.2_3~x");
	cfg_free(&c);
	memset(t129, 'a', 128);
	t129[128] = '\0';
	expect_ok(&c, ARGV("--discovery-token", t129), no_env);
	cfg_free(&c);
	t129[128] = 'a';
	t129[129] = '\0';
	expect_error_has(ARGV("--discovery-token", t129), no_env,
	    "--discovery-token: expected 1 to 128 letters", NULL);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char q[64];

		/* Quoted as the message quotes it: '"' and '\\' escaped. */
		if (strcmp(bad[i], "a\"b") == 0)
			snprintf(q, sizeof(q), "\"a\\x22b\"");
		else if (strcmp(bad[i], "caf\xc3\xa9") == 0)
			snprintf(q, sizeof(q), "\"caf\\xc3\\xa9\"");
		else
			snprintf(q, sizeof(q), "\"%s\"", bad[i]);
		snprintf(want, sizeof(want), "--discovery-token: expected 1 to "
		    "128 letters, digits, '-', '.', '_' or '~', not dots alone "
		    "(the token goes into URLs as it is), found %s", q);
		expect_error(ARGV("--discovery-token", (char *)bad[i]), no_env,
		    want);

		snprintf(var, sizeof(var), "ZOOINIT_DISCOVERY_TOKEN=%s",
		    bad[i]);
		expect_error_has(no_args, ENV(var),
		    "environment ZOOINIT_DISCOVERY_TOKEN: expected 1 to 128 "
		    "letters, digits, '-', '.', '_' or '~'", NULL);
	}

	/* In a file: FILE:LINE and the key. */
	snprintf(text, sizeof(text), "size = 3;\ndiscovery_token = "
	    "\"t#frag\";\n");
	write_tmp(path, sizeof(path), text);
	snprintf(want, sizeof(want), "%s:2: discovery_token: expected 1 to "
	    "128 letters, digits, '-', '.', '_' or '~'", path);
	expect_error_has(ARGV("-f", path), no_env, want, "found \"t#frag\"");
	unlink(path);

	/* The etcd token only reaches etcd's argv: it keeps its rule. */
	expect_ok(&c, ARGV("--token", "a/b?c#d"), no_env);
	assert_string_equal(c.token, "a/b?c#d");
	cfg_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_methods),
		cmocka_unit_test(test_dns_servers),
		cmocka_unit_test(test_domain_and_names),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_metrics_listen),
		cmocka_unit_test(test_free_twice),
		cmocka_unit_test(test_sources_and_discovery),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_tls_keys),
		cmocka_unit_test(test_tls_usage),
		cmocka_unit_test(test_discovery_token_url_safe),
		cmocka_unit_test(test_srv_name_and_role),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
