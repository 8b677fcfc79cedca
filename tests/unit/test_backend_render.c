/* services/backend.c: the other backends' command lines and configs.
 * `consul agent`'s argv is checked against Consul's documented flags,
 * etcd's against `etcd --help` when etcd is installed, and Patroni's
 * patroni.yml is read back by PyYAML and checked by `patroni
 * --validate-config` when those are installed. The fixture, the helpers
 * and the member sets are in backend_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services/backend.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "tests/unit/backend_fix.h"

/* ---- helpers --------------------------------------------------------- */

static size_t
argc_of(char **argv)
{
	size_t n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

/* Runs argv (a path) with stdin on /dev/null and stdout+stderr captured
 * (up to 64 KiB); returns the wait status, or -1 if it could not run. */
static int
run_capture(char *const argv[], char **out)
{
	int p[2], status;
	pid_t pid;
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap + 1);

	if (pipe2(p, O_CLOEXEC) < 0) {
		free(buf);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		free(buf);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap)
			break;
	}
	close(p[0]);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return status;
}

/* ---- Consul ------------------------------------------------------------ */

/* Every flag zooinit passes to `consul agent`, checked against Consul's
 * own documentation and flag table:
 *  - website/content/docs/agent/config/cli-flags.mdx (hashicorp/consul,
 *    commit 03b47d00d53d5e58dbdad4b4d67a7196b5775169): -server,
 *    -bootstrap-expect ("requires -server mode"), -bind ("an IP address"),
 *    -advertise, -client, -data-dir, -datacenter, -node ("cannot contain
 *    whitespace or quotation marks"; DNS needs alphanumerics and '-'),
 *    -retry-join ("Literal IPv6 addresses must be enclosed in square
 *    brackets", may be given many times); -non-voting-server and
 *    -read-replica are Enterprise-only, so standbys are client agents.
 *  - agent/config/flags.go (commit 0e907f5aa8e9e4c34512a5cea427edcf0d454d2a):
 *    the same names registered with Go's flag package; "server" is a
 *    boolPtrValue with IsBoolFlag() (flagset.go), so it takes no value.
 *  - agent/config/builder.go: bind/advertise/client go through
 *    go-sockaddr templates and net.ParseIP (bare IPv6; "[::]" is the one
 *    bracketed form it special-cases), datacenter must match
 *    ^[a-z0-9_-]+$ (validateBasicName), bootstrap-expect 1 turns into
 *    bootstrap mode with a warning.
 * No consul binary is packaged for Debian, so the argv is checked against
 * this list rather than run. */
static const struct {
	const char *flag;
	bool takes_value;
} consul_flags[] = {
	{ "-server", false },
	{ "-bootstrap-expect", true },
	{ "-bind", true },
	{ "-advertise", true },
	{ "-client", true },
	{ "-data-dir", true },
	{ "-datacenter", true },
	{ "-node", true },
	{ "-retry-join", true },
};

static void
assert_consul_documented(char **argv)
{
	size_t n = argc_of(argv);

	assert_true(n >= 2);
	assert_string_equal(argv[1], "agent");
	for (size_t i = 2; i < n; i++) {
		size_t k;

		for (k = 0; k < sizeof(consul_flags) / sizeof(consul_flags[0]);
		    k++) {
			if (strcmp(argv[i], consul_flags[k].flag) == 0)
				break;
		}
		if (k == sizeof(consul_flags) / sizeof(consul_flags[0]))
			fail_msg("consul flag %s is not documented", argv[i]);
		if (consul_flags[k].takes_value) {
			assert_true(i + 1 < n);
			assert_true(argv[i + 1][0] != '-');
			i++;
		}
	}
}

static void
test_consul_argv(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(five, 1);
	struct be_consul_opts o = { .data_dir = "/var/lib/zooinit/consul",
		.datacenter = "zl_1" };

	f->argv = be_consul_argv("/usr/bin/consul", &s, &o, f->err,
	    sizeof(f->err));
	assert_argv(f->argv, "/usr/bin/consul", "agent", "-server",
	    "-bootstrap-expect", "3", "-bind", "10.0.0.1", "-advertise",
	    "10.0.0.1", "-client", "10.0.0.1", "-data-dir",
	    "/var/lib/zooinit/consul", "-datacenter", "zl_1", "-node", "n1",
	    "-retry-join", "10.0.0.3", "-retry-join", "10.0.0.2", NULL);
	assert_consul_documented(f->argv);
	strv_free(f->argv);

	/* A standby is a client agent that joins every participant. */
	s.self_id = 5;
	o.node = "zk-five";
	o.datacenter = NULL;
	f->argv = be_consul_argv("/usr/bin/consul", &s, &o, f->err,
	    sizeof(f->err));
	assert_argv(f->argv, "/usr/bin/consul", "agent", "-bind", "10.0.0.5",
	    "-advertise", "10.0.0.5", "-client", "10.0.0.5", "-data-dir",
	    "/var/lib/zooinit/consul", "-node", "zk-five", "-retry-join",
	    "10.0.0.3", "-retry-join", "10.0.0.1", "-retry-join", "10.0.0.2",
	    NULL);
	assert_consul_documented(f->argv);
	strv_free(f->argv);

	/* IPv6: bare where Consul parses an IP, bracketed for -retry-join. */
	struct be_set s6 = SET(six, 2);

	o.node = NULL;
	f->argv = be_consul_argv("consul", &s6, &o, f->err, sizeof(f->err));
	assert_argv(f->argv, "consul", "agent", "-server",
	    "-bootstrap-expect", "3", "-bind", "2001:db8::2", "-advertise",
	    "2001:db8::2", "-client", "2001:db8::2", "-data-dir",
	    "/var/lib/zooinit/consul", "-node", "n2", "-retry-join",
	    "[2001:db8::1]", "-retry-join", "10.0.0.3", NULL);
	assert_consul_documented(f->argv);
	strv_free(f->argv);
	f->argv = NULL;

	/* What Consul would refuse or mangle is refused here. */
	o.datacenter = "ZL1";
	assert_null(be_consul_argv("consul", &s6, &o, f->err,
	    sizeof(f->err)));
	assert_non_null(strstr(f->err, "lowercase"));
	o.datacenter = NULL;
	o.node = "n 1";
	assert_null(be_consul_argv("consul", &s6, &o, f->err,
	    sizeof(f->err)));
	assert_non_null(strstr(f->err, "node name"));
	o.node = NULL;
	o.data_dir = "consul";
	assert_null(be_consul_argv("consul", &s6, &o, f->err,
	    sizeof(f->err)));
	assert_non_null(strstr(f->err, "absolute"));
	s6.self_id = 9;
	assert_null(be_consul_argv("consul", &s6, &o, f->err,
	    sizeof(f->err)));
	assert_null(be_consul_argv("consul", &s, NULL, f->err,
	    sizeof(f->err)));
}

/* ---- etcd -------------------------------------------------------------- */

static void
test_etcd_argv(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(five, 2);
	struct be_etcd_opts o = { .data_dir = "/var/lib/zooinit/etcd2",
		.token = "zl-services" };

	f->argv = be_etcd_argv("/usr/bin/etcd", &s, &o, f->err,
	    sizeof(f->err));
	assert_argv(f->argv, "/usr/bin/etcd", "--name", "n2", "--data-dir",
	    "/var/lib/zooinit/etcd2",
	    "--listen-peer-urls", "http://10.0.0.2:22380",
	    "--initial-advertise-peer-urls", "http://10.0.0.2:22380",
	    "--listen-client-urls", "http://10.0.0.2:22379",
	    "--advertise-client-urls", "http://10.0.0.2:22379",
	    "--initial-cluster", "n3=http://10.0.0.3:22380,"
	    "n1=http://10.0.0.1:22380,n2=http://10.0.0.2:22380",
	    "--initial-cluster-token", "zl-services",
	    "--initial-cluster-state", "new", NULL);

	/* Every flag is one Debian's etcd knows. */
	if (access("/usr/bin/etcd", X_OK) == 0) {
		char *help[] = { "/usr/bin/etcd", "--help", NULL };

		assert_int_equal(run_capture(help, &f->out), 0);
		for (char **a = f->argv + 1; *a != NULL; a++) {
			char want[80];

			if (strncmp(*a, "--", 2) != 0)
				continue;
			snprintf(want, sizeof(want), "\n  %s ", *a);
			if (strstr(f->out, want) == NULL)
				fail_msg("etcd --help lacks %s", *a);
		}
	}
	strv_free(f->argv);
	f->argv = NULL;

	/* Standbys are no members of this etcd. */
	s.self_id = 7;
	assert_null(be_etcd_argv("etcd", &s, &o, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "standby"));

	struct be_set s6 = SET(six, 1);

	o.client_port = 32379;
	o.peer_port = 32380;
	f->argv = be_etcd_argv("etcd", &s6, &o, f->err, sizeof(f->err));
	assert_non_null(f->argv);
	assert_string_equal(f->argv[6], "http://[2001:db8::1]:32380");
	assert_string_equal(f->argv[10], "http://[2001:db8::1]:32379");
	assert_string_equal(f->argv[14], "n1=http://[2001:db8::1]:32380,"
	    "n2=http://[2001:db8::2]:32380,n3=http://10.0.0.3:32380");

	o.token = "has space";
	assert_null(be_etcd_argv("etcd", &s6, &o, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "token"));
	o.token = NULL;
	assert_null(be_etcd_argv("etcd", &s6, &o, f->err, sizeof(f->err)));
	o.token = "t";
	o.peer_port = 32379;
	assert_null(be_etcd_argv("etcd", &s6, &o, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "must differ"));
}

/* ---- Patroni ------------------------------------------------------------ */

static const char *const etcd_urls[] = {
	"http://10.0.0.1:22379", "http://10.0.0.2:22379/",
	"http://[2001:DB8::9]:22379", "http://etcd.zl.test:22379", NULL,
};

/* Quotes, backslashes, YAML and pg_hba syntax, a newline, a tab, a
 * non-ASCII letter, U+2028 (a YAML line break if left raw) and an emoji. */
static const char hostile[] = "p\"a's\\s: #x\n- {y}\t%\xc3\xa9\xe2\x80\xa8"
	"\xf0\x9f\x90\x98";

static void
bad_patroni(struct fx *f, const struct be_set *s,
    const struct be_patroni_opts *o, const char *needle)
{
	char *y = be_patroni_render(s, o, f->err, sizeof(f->err));

	if (y != NULL) {
		free(y);
		fail_msg("rendered despite \"%s\"", needle);
	}
	if (strstr(f->err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", f->err, needle);
}

static void
test_patroni_render(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(five, 1);
	struct be_patroni_opts o = {
		.scope = "zl-pg", .etcd_urls = etcd_urls,
		.data_dir = "/var/lib/postgresql/15/zl",
		.repl_password = "rep", .su_password = "su",
	};

	f->s1 = be_patroni_render(&s, &o, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	static const char *const lines[] = {
		"\nscope: \"zl-pg\"\n",
		"\nname: \"n1\"\n",
		"\nrestapi:\n  listen: \"10.0.0.1:8008\"\n"
		"  connect_address: \"10.0.0.1:8008\"\n",
		"\netcd3:\n  hosts:\n    - \"10.0.0.1:22379\"\n"
		"    - \"10.0.0.2:22379\"\n    - \"[2001:db8::9]:22379\"\n"
		"    - \"etcd.zl.test:22379\"\n  protocol: \"http\"\n",
		"\nbootstrap:\n  dcs:\n    ttl: 30\n",
		"\n  initdb:\n",
		"\npostgresql:\n  listen: \"10.0.0.1:5432\"\n"
		"  connect_address: \"10.0.0.1:5432\"\n"
		"  data_dir: \"/var/lib/postgresql/15/zl\"\n"
		"  bin_dir: \"/usr/lib/postgresql/15/bin\"\n",
		"\n    replication:\n      username: \"replicator\"\n"
		"      password: \"rep\"\n",
		"\n    superuser:\n      username: \"postgres\"\n"
		"      password: \"su\"\n",
		"\n    rewind:\n      username: \"postgres\"\n",
		"\n  pg_hba:\n    - \"local all all peer\"\n"
		"    - \"host replication replicator 127.0.0.1/32 "
		"scram-sha-256\"\n"
		"    - \"host all postgres 127.0.0.1/32 scram-sha-256\"\n"
		"    - \"host replication replicator ::1/128 "
		"scram-sha-256\"\n"
		"    - \"host all postgres ::1/128 scram-sha-256\"\n"
		"    - \"host replication replicator 10.0.0.3/32 "
		"scram-sha-256\"\n"
		"    - \"host all postgres 10.0.0.3/32 scram-sha-256\"\n",
		"    - \"host all postgres 10.0.0.5/32 scram-sha-256\"\n"
		"postgresql:\n",
		"\ntags:\n  nofailover: false\n",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (strstr(f->s1, lines[i]) == NULL)
			fail_msg("patroni.yml lacks\n%s\nin\n%s", lines[i],
			    f->s1);
	}
	assert_null(strstr(f->s1, "pgpass"));
	for (const char *c = f->s1; *c != '\0'; c++)
		assert_true(*c == '\n' || (*c >= 0x20 && *c < 0x7f));
	free(f->s1);

	/* A standby never becomes the leader. */
	s.self_id = 7;
	f->s1 = be_patroni_render(&s, &o, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	assert_non_null(strstr(f->s1, "\ntags:\n  nofailover: true\n"));
	assert_non_null(strstr(f->s1, "listen: \"10.0.0.7:5432\"\n"));
	free(f->s1);

	/* IPv6 self: brackets in host:port, /128 in pg_hba. */
	struct be_set s6 = SET(six, 2);

	o.pgpass = "/var/lib/zooinit/pgpass";
	o.name = "pg-two";
	o.pg_port = 15432;
	o.rest_port = 18008;
	f->s1 = be_patroni_render(&s6, &o, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	assert_non_null(strstr(f->s1, "\nname: \"pg-two\"\n"));
	assert_non_null(strstr(f->s1, "listen: \"[2001:db8::2]:18008\"\n"));
	assert_non_null(strstr(f->s1, "listen: \"[2001:db8::2]:15432\"\n"));
	assert_non_null(strstr(f->s1, "\"host replication replicator "
	    "2001:db8::1/128 scram-sha-256\""));
	assert_non_null(strstr(f->s1, "\n  pgpass: "
	    "\"/var/lib/zooinit/pgpass\"\n"));
	free(f->s1);
	f->s1 = NULL;
}

/* Options Patroni's file cannot be written from, each refused with its
 * sentence. */
static void
test_patroni_refusals(void **state)
{
	struct fx *f = *state;
	struct be_set s6 = SET(six, 2);
	const struct be_patroni_opts o = {
		.scope = "zl-pg", .etcd_urls = etcd_urls,
		.data_dir = "/var/lib/postgresql/15/zl",
		.repl_password = "rep", .su_password = "su",
		.pgpass = "/var/lib/zooinit/pgpass", .name = "pg-two",
		.pg_port = 15432, .rest_port = 18008,
	};
	struct be_patroni_opts b = o;

	b.scope = "zl pg";
	bad_patroni(f, &s6, &b, "scope");
	b = o;
	b.name = "a:b";
	bad_patroni(f, &s6, &b, "member name");
	b = o;
	b.repl_user = "Rep";
	bad_patroni(f, &s6, &b, "\"Rep\" is not a plain role");
	b.repl_user = "pg_repl";
	bad_patroni(f, &s6, &b, "not a plain role");
	b.repl_user = "postgres";
	bad_patroni(f, &s6, &b, "Patroni needs two roles");
	b = o;
	b.su_password = "bad \xc3\x28 utf8";
	bad_patroni(f, &s6, &b, "valid UTF-8");
	b.su_password = "";
	bad_patroni(f, &s6, &b, "must be set");
	b = o;
	b.rest_port = 15432;
	bad_patroni(f, &s6, &b, "must differ");
	b = o;
	b.etcd_urls = NULL;
	bad_patroni(f, &s6, &b, "at least one etcd");
	static const char *const mixed[] = { "http://10.0.0.1:2379",
		"https://10.0.0.2:2379", NULL };
	b.etcd_urls = mixed;
	bad_patroni(f, &s6, &b, "mix http and https");
	static const char *const bad_urls[] = { "10.0.0.1:2379",
		"http://10.0.0.1", "http://10.0.0.1:0",
		"http://10.0.0.1:2379/v3",
		"http://[::1:2379", "http://h_1:2379", "ftp://10.0.0.1:21",
		"http://10.0.0.1:2379\n", "http://:2379", NULL };
	for (size_t i = 0; bad_urls[i] != NULL; i++) {
		const char *one[] = { bad_urls[i], NULL };

		b.etcd_urls = one;
		bad_patroni(f, &s6, &b, "is not http(s)://HOST:PORT");
	}
	b = o;
	b.data_dir = "pgdata";
	bad_patroni(f, &s6, &b, "absolute");
	bad_patroni(f, &s6, NULL, "no Patroni options");
}

/* Over https the etcd3 section names the CA and the client certificate
 * (Patroni's python-etcd3 takes cacert, cert and key); over http it
 * names none. */
static void
test_patroni_tls(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(five, 1);
	static const char *const tls_urls[] = { "https://10.0.0.1:2379",
		"https://10.0.0.2:2379", NULL };
	struct be_patroni_opts o = {
		.scope = "zl-pg", .etcd_urls = tls_urls,
		.data_dir = "/var/lib/zooinit/pg/data",
		.repl_password = "rep", .su_password = "su",
		.cacert = "/var/lib/zooinit/pg/etcd-ca.crt",
		.cert = "/var/lib/zooinit/pg/etcd-client.crt",
		.key = "/var/lib/zooinit/pg/etcd-client.key",
	};
	struct be_patroni_opts b;

	f->s1 = be_patroni_render(&s, &o, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	if (strstr(f->s1, "\netcd3:\n  hosts:\n    - \"10.0.0.1:2379\"\n"
	    "    - \"10.0.0.2:2379\"\n  protocol: \"https\"\n"
	    "  cacert: \"/var/lib/zooinit/pg/etcd-ca.crt\"\n"
	    "  cert: \"/var/lib/zooinit/pg/etcd-client.crt\"\n"
	    "  key: \"/var/lib/zooinit/pg/etcd-client.key\"\n") == NULL)
		fail_msg("no TLS etcd3 section in\n%s", f->s1);
	free(f->s1);

	/* A CA alone (etcd demands no client certificate). */
	b = o;
	b.cert = b.key = NULL;
	f->s1 = be_patroni_render(&s, &b, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	assert_non_null(strstr(f->s1, "  protocol: \"https\"\n  cacert: "));
	assert_null(strstr(f->s1, "  cert: "));
	assert_null(strstr(f->s1, "  key: "));
	free(f->s1);

	/* http: the files are not Patroni's business. */
	b = o;
	b.etcd_urls = etcd_urls;
	f->s1 = be_patroni_render(&s, &b, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	assert_null(strstr(f->s1, "cacert"));
	assert_null(strstr(f->s1, "etcd-client"));
	free(f->s1);
	f->s1 = NULL;

	b = o;
	b.key = NULL;
	bad_patroni(f, &s, &b, "given together");
	b = o;
	b.cert = "etcd-client.crt";
	bad_patroni(f, &s, &b, "absolute");
	b = o;
	b.cacert = "/ca\n.crt";
	bad_patroni(f, &s, &b, "etcd CA file");
}

/* The rendered YAML read back by a real YAML parser (PyYAML, Patroni's
 * own), so quoting is checked by what Patroni will see. */
static void
test_patroni_yaml_roundtrip(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(six, 3);
	struct be_patroni_opts o = {
		.scope = "zl-pg", .etcd_urls = etcd_urls,
		.data_dir = "/var/lib/postgresql/15/zl",
		.repl_password = hostile, .su_password = "x\"\\\x7f",
	};
	char path[300];
	json_t *j, *v;
	json_error_t je;

	if (access("/usr/bin/python3", X_OK) < 0) {
		fprintf(stderr, "test_patroni_yaml_roundtrip: skipped, no "
		    "/usr/bin/python3\n");
		skip();
	}
	make_dir(f);
	f->s1 = be_patroni_render(&s, &o, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	snprintf(path, sizeof(path), "%s/patroni.yml", f->dir);
	write_file(path, f->s1);
	char *py[] = { "/usr/bin/python3", "-c",
		"import sys, json, yaml\n"
		"print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
		path, NULL };
	int status = run_capture(py, &f->out);

	if (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
	    strstr(f->out, "No module named 'yaml'") != NULL) {
		fprintf(stderr, "test_patroni_yaml_roundtrip: skipped, no "
		    "PyYAML (apt-get install python3-yaml)\n");
		skip();
	}
	if (status != 0)
		fail_msg("PyYAML could not read patroni.yml: %s", f->out);
	j = json_loads(f->out, 0, &je);
	if (j == NULL)
		fail_msg("not JSON: %s", f->out);
	v = json_object_get(json_object_get(json_object_get(json_object_get(
	    j, "postgresql"), "authentication"), "replication"), "password");
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), hostile);
	v = json_object_get(json_object_get(json_object_get(json_object_get(
	    j, "postgresql"), "authentication"), "rewind"), "password");
	assert_string_equal(json_string_value(v), "x\"\\\x7f");
	v = json_object_get(json_object_get(j, "tags"), "nofailover");
	assert_true(json_is_false(v));
	v = json_object_get(json_object_get(j, "etcd3"), "hosts");
	assert_int_equal(json_array_size(v), 4);
	assert_string_equal(json_string_value(json_array_get(v, 2)),
	    "[2001:db8::9]:22379");
	v = json_object_get(json_object_get(j, "postgresql"), "pg_hba");
	assert_int_equal(json_array_size(v), 11);
	assert_string_equal(json_string_value(json_array_get(v, 0)),
	    "local all all peer");
	assert_string_equal(json_string_value(json_array_get(v, 1)),
	    "host replication replicator 127.0.0.1/32 scram-sha-256");
	assert_string_equal(json_string_value(json_array_get(v, 5)),
	    "host replication replicator 2001:db8::1/128 scram-sha-256");
	assert_true(json_equal(v, json_object_get(json_object_get(j,
	    "bootstrap"), "pg_hba")));
	v = json_object_get(json_object_get(json_object_get(j, "bootstrap"),
	    "dcs"), "ttl");
	assert_int_equal(json_integer_value(v), 30);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
	    "n3");
	json_decref(j);
}

/* Patroni 3.0.2's own validator (`patroni --validate-config`) on a
 * rendered file. It checks reachability, so this node is 127.0.0.2 (the
 * validator rejects 127.0.0.1 as a connect address), its REST and
 * PostgreSQL ports are free there, and the etcd "cluster" is a listening
 * socket on 127.0.0.1 that accepts connections. */
static void
test_patroni_validate(void **state)
{
	struct fx *f = *state;
	struct be_member m[] = {
		{ 1, "127.0.0.2", false },
		{ 2, "10.0.0.2", true },
	};
	struct be_set s = { m, 2, 1 };
	char url[64], data[300], path[300];
	const char *urls[] = { url, NULL };
	int port;

	if (access("/usr/bin/patroni", X_OK) < 0 ||
	    access("/usr/lib/postgresql/15/bin/postgres", X_OK) < 0) {
		fprintf(stderr, "test_patroni_validate: skipped, needs "
		    "/usr/bin/patroni and PostgreSQL 15 (apt-get install "
		    "patroni postgresql-15)\n");
		skip();
	}
	make_dir(f);
	f->fds[0] = listener(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	snprintf(data, sizeof(data), "%s/pgdata", f->dir);
	struct be_patroni_opts o = {
		.scope = "zl-pg", .etcd_urls = urls, .data_dir = data,
		.repl_password = hostile, .su_password = "s3cret",
		.pg_port = free_port("127.0.0.2"),
		.rest_port = free_port("127.0.0.2"),
	};

	if (o.pg_port == o.rest_port)
		o.rest_port = free_port("127.0.0.2");
	f->s1 = be_patroni_render(&s, &o, f->err, sizeof(f->err));
	assert_non_null(f->s1);
	snprintf(path, sizeof(path), "%s/patroni.yml", f->dir);
	write_file(path, f->s1);
	char *argv[] = { "/usr/bin/patroni", "--validate-config", path, NULL };
	int status = run_capture(argv, &f->out);

	if (status != 0)
		fail_msg("patroni --validate-config failed (%d):\n%s\n---\n%s",
		    status, f->out, f->s1);
	/* And it does fail when something is wrong: nothing on etcd. */
	close(f->fds[0]);
	f->fds[0] = -1;
	free(f->out);
	f->out = NULL;
	status = run_capture(argv, &f->out);
	assert_true(status != 0);
	assert_non_null(strstr(f->out, "not reachable"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_consul_argv),
		T(test_etcd_argv),
		T(test_patroni_render),
		T(test_patroni_refusals),
		T(test_patroni_tls),
		T(test_patroni_yaml_roundtrip),
		T(test_patroni_validate),
#undef T
	};

	/* A peer closing early must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
