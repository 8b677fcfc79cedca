/* The "service" group and the "services" key of the config file
 * (config/svc.h): what cfg_load() makes of them, and every error it
 * names by FILE:LINE and dotted key. */
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

#include "services/hooks.h"
#include "config/cfg.h"
#include "config/svc.h"

#define ARGV(...) ((char *[]){ "bootstrap", __VA_ARGS__, NULL })
#define ENV(...) ((char *[]){ __VA_ARGS__, NULL })

static char *no_env[] = { NULL };

/* Writes text to a new file under /tmp; the name goes into path. */
static void
write_tmp(char *path, size_t pathlen, const char *text)
{
	int fd;

	snprintf(path, pathlen, "/tmp/zooinit-svc-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Loads text as the file (-f), plus argv and envp. */
static int
load_text(struct cfg *c, const char *text, char **argv, char **envp,
    char *path, size_t pathlen, char *err, size_t errlen)
{
	char *av[32];
	int n = 0, rc;

	write_tmp(path, pathlen, text);
	av[n++] = (char *)"bootstrap";
	av[n++] = (char *)"-f";
	av[n++] = path;
	for (int i = 1; argv != NULL && argv[i] != NULL && n < 31; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	rc = cfg_load(c, n, av, envp, err, errlen);
	unlink(path);
	return rc;
}

static void
ok_text(struct cfg *c, const char *text, char **argv, char **envp)
{
	char path[64], err[512] = "";

	if (load_text(c, text, argv, envp, path, sizeof(path), err,
	    sizeof(err)) != 0)
		fail_msg("cfg_load failed: %s", err);
}

/* Expects exactly "FILE:LINE: rest" and a zeroed struct. */
static void
bad_text(const char *text, int line, const char *rest)
{
	static const struct cfg zero;
	char path[64], err[512], want[768];
	struct cfg c;

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(load_text(&c, text, NULL, no_env, path, sizeof(path),
	    err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, rest);
	assert_string_equal(err, want);
	assert_memory_equal(&c, &zero, sizeof(c));
	cfg_free(&c);
}

/* Expects a message holding each fragment ("%s" in a stands for the
 * file's path). */
static void
bad_text_has(const char *text, char **argv, char **envp, const char *a,
    const char *b)
{
	char path[64], err[512], want[256];
	struct cfg c;

	assert_int_equal(load_text(&c, text, argv, envp, path, sizeof(path),
	    err, sizeof(err)), -1);
	snprintf(want, sizeof(want), a, path);
	if (strstr(err, want) == NULL || (b != NULL && strstr(err, b) == NULL))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err, want,
		    b ? b : "");
	assert_null(c.svcs);
	cfg_free(&c);
}

static void
assert_argv(char **argv, const char *const *want)
{
	size_t i;

	assert_non_null(argv);
	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

static const char full[] =
    "domain = \"zl.test\";\n"
    "services = [\"zk\", \"pg\", \"app\"];\n"
    "service = {\n"
    "  zk = {\n"
    "    backend = \"zookeeper\";\n"
    "    size = 3;\n"
    "    data_dir = \"/srv/zk\";\n"
    "    bin = \"/opt/java/bin/java\";\n"
    "    client_port = 12181; peer_port = 12888; election_port = 13888;\n"
    "    lease_ttl = 2; quorum_timeout = 86400; hook_timeout = 3600;\n"
    "    start_timeout = 86400; health_interval = 1;\n"
    "    health_failures = 100; stop_timeout = 3600;\n"
    "    hooks = {\n"
    "      OnPreRegist = \"/usr/lib/zk/pre\";\n"
    "      onpostregist = [\"/usr/lib/zk/post\", \"--flag\", \"\"];\n"
    "      ONREACHQURORUMNUM = (\"/q\", \"caf\xc3\xa9\");\n"
    "      OnPreStart = \"/a\"; OnPostStart = \"/b\";\n"
    "      OnClusterBooted = \"/c\"; OnHealthCheck = \"/d\";\n"
    "      OnStop = \"/e\"; OnLeaderChange = \"/f\";\n"
    "    };\n"
    "  };\n"
    "  kv = { backend = \"etcd\"; size = 5; token = \"tok-1\";\n"
    "    client_port = 0; peer_port = 65535; };\n"
    "  registry = { backend = \"consul\"; size = 1; datacenter = \"dc-2\";\n"
    "    user = \"consul\"; };\n"
    "  pg = {\n"
    "    backend = \"patroni\"; size = 2; scope = \"main\";\n"
    "    pg_bin_dir = \"/usr/lib/postgresql/16/bin\"; rest_port = 8009;\n"
    "    su_password = \"s3cr\xc3\xa9t \\\"quoted\\\"\";\n"
    "    repl_password = \"r\";\n"
    "  };\n"
    "  app = { size = 255; hooks = { OnStart = [\"/usr/bin/app\", \"-f\"]; "
    "}; };\n"
    "};\n";

static void
test_full_round_trip(void **state)
{
	static const char *const post[] = { "/usr/lib/zk/post", "--flag", "",
		NULL };
	static const char *const reach[] = { "/q", "caf\xc3\xa9", NULL };
	static const char *const one[] = { "/usr/lib/zk/pre", NULL };
	static const char *const app[] = { "/usr/bin/app", "-f", NULL };
	const struct svc_cfg *s;
	struct cfg c;
	char where[64];

	(void)state;
	ok_text(&c, full, NULL, no_env);
	assert_int_equal(c.n_services, 3);
	assert_string_equal(c.services[0], "zk");
	assert_string_equal(c.services[1], "pg");
	assert_string_equal(c.services[2], "app");
	/* Every group, in file order. */
	assert_int_equal(c.n_svcs, 5);
	assert_string_equal(c.svcs[0].name, "zk");
	assert_string_equal(c.svcs[1].name, "kv");
	assert_string_equal(c.svcs[2].name, "registry");
	assert_string_equal(c.svcs[3].name, "pg");
	assert_string_equal(c.svcs[4].name, "app");

	s = svc_find(c.svcs, c.n_svcs, "zk");
	assert_ptr_equal(s, &c.svcs[0]);
	snprintf(where, sizeof(where), "%s:4", c.config_file);
	assert_string_equal(s->where, where);
	assert_int_equal(s->backend, SVC_ZOOKEEPER);
	assert_int_equal(s->size, 3);
	assert_string_equal(s->data_dir, "/srv/zk");
	assert_string_equal(s->bin, "/opt/java/bin/java");
	assert_int_equal(s->client_port, 12181);
	assert_int_equal(s->peer_port, 12888);
	assert_int_equal(s->election_port, 13888);
	assert_int_equal(s->rest_port, 0);
	assert_null(s->token);
	assert_null(s->scope);
	assert_null(s->pg_bin_dir);
	assert_null(s->su_password);
	assert_null(s->repl_password);
	assert_null(s->datacenter);
	assert_int_equal(s->lease_ttl, 2);
	assert_int_equal(s->quorum_timeout, 86400);
	assert_int_equal(s->hook_timeout, 3600);
	assert_int_equal(s->start_timeout, 86400);
	assert_int_equal(s->health_interval, 1);
	assert_int_equal(s->health_failures, 100);
	assert_int_equal(s->stop_timeout, 3600);
	/* A single string is an argv of one; names ignore case. */
	assert_argv(s->hooks[HOOK_PRE_REGIST], one);
	assert_argv(s->hooks[HOOK_POST_REGIST], post);
	assert_argv(s->hooks[HOOK_REACH_QURORUM_NUM], reach);
	assert_string_equal(s->hooks[HOOK_PRE_START][0], "/a");
	assert_null(s->hooks[HOOK_START]);
	assert_string_equal(s->hooks[HOOK_POST_START][0], "/b");
	assert_string_equal(s->hooks[HOOK_CLUSTER_BOOTED][0], "/c");
	assert_string_equal(s->hooks[HOOK_HEALTH_CHECK][0], "/d");
	assert_string_equal(s->hooks[HOOK_STOP][0], "/e");
	assert_string_equal(s->hooks[HOOK_LEADER_CHANGE][0], "/f");

	s = svc_find(c.svcs, c.n_svcs, "kv");
	assert_int_equal(s->backend, SVC_ETCD);
	assert_int_equal(s->size, 5);
	assert_string_equal(s->token, "tok-1");
	assert_string_equal(s->bin, "etcd");
	assert_string_equal(s->data_dir, "/var/lib/zooinit/services/kv");
	assert_int_equal(s->client_port, 0);
	assert_int_equal(s->peer_port, 65535);

	s = svc_find(c.svcs, c.n_svcs, "registry");
	assert_int_equal(s->backend, SVC_CONSUL);
	assert_string_equal(s->datacenter, "dc-2");
	assert_string_equal(s->bin, "consul");
	assert_string_equal(s->user, "consul");

	s = svc_find(c.svcs, c.n_svcs, "pg");
	assert_int_equal(s->backend, SVC_PATRONI);
	assert_string_equal(s->scope, "main");
	assert_string_equal(s->pg_bin_dir, "/usr/lib/postgresql/16/bin");
	assert_int_equal(s->rest_port, 8009);
	assert_string_equal(s->su_password, "s3cr\xc3\xa9t \"quoted\"");
	assert_string_equal(s->repl_password, "r");
	assert_string_equal(s->bin, "patroni");

	s = svc_find(c.svcs, c.n_svcs, "app");
	assert_int_equal(s->backend, SVC_CUSTOM);
	assert_int_equal(s->size, 255);
	assert_null(s->bin);
	assert_argv(s->hooks[HOOK_START], app);

	assert_null(svc_find(c.svcs, c.n_svcs, "ZK"));
	assert_null(svc_find(c.svcs, c.n_svcs, "nope"));
	cfg_free(&c);
	assert_null(c.svcs);
	assert_int_equal(c.n_svcs, 0);
	assert_null(c.services);
	cfg_free(&c);
}

static void
test_defaults(void **state)
{
	struct cfg c;
	const struct svc_cfg *s;

	(void)state;
	ok_text(&c, "service = {\n"
	    "  a = { size = 1; };\n"
	    "  z = { backend = \"zookeeper\"; size = 1; };\n"
	    "  e = { backend = \"etcd\"; size = 1; };\n"
	    "  k = { backend = \"consul\"; size = 1; };\n"
	    "  p = { backend = \"patroni\"; size = 1; su_password = \"s\";\n"
	    "        repl_password = \"r\"; };\n"
	    "};\n", NULL, no_env);
	/* Groups alone start nothing: services is the list. */
	assert_int_equal(c.n_services, 0);
	assert_null(c.services);
	assert_int_equal(c.n_svcs, 5);
	for (size_t i = 0; i < c.n_svcs; i++) {
		char dir[64];

		s = &c.svcs[i];
		snprintf(dir, sizeof(dir), "/var/lib/zooinit/services/%s", s->name);
		assert_string_equal(s->data_dir, dir);
		assert_int_equal(s->client_port, 0);
		assert_int_equal(s->peer_port, 0);
		assert_int_equal(s->election_port, 0);
		assert_int_equal(s->rest_port, 0);
		assert_int_equal(s->lease_ttl, 10);
		assert_int_equal(s->quorum_timeout, 0);
		assert_int_equal(s->hook_timeout, 30);
		assert_int_equal(s->start_timeout, 120);
		assert_int_equal(s->health_interval, 10);
		assert_int_equal(s->health_failures, 3);
		assert_int_equal(s->stop_timeout, 10);
		for (int ev = 0; ev < HOOK_NEVENTS; ev++)
			assert_null(s->hooks[ev]);
	}
	s = svc_find(c.svcs, c.n_svcs, "a");
	assert_int_equal(s->backend, SVC_CUSTOM);
	assert_null(s->bin);
	assert_null(s->token);
	s = svc_find(c.svcs, c.n_svcs, "z");
	assert_string_equal(s->bin, "java");
	assert_null(s->token);
	s = svc_find(c.svcs, c.n_svcs, "e");
	assert_string_equal(s->bin, "etcd");
	assert_string_equal(s->token, "zooinit-e");
	s = svc_find(c.svcs, c.n_svcs, "k");
	assert_string_equal(s->bin, "consul");
	assert_null(s->datacenter);
	s = svc_find(c.svcs, c.n_svcs, "p");
	assert_string_equal(s->bin, "patroni");
	assert_string_equal(s->scope, "p");
	assert_string_equal(s->pg_bin_dir, "/usr/lib/postgresql/15/bin");
	assert_null(s->token);
	cfg_free(&c);

	/* No file, or a file without services: none. */
	ok_text(&c, "size = 3;\n", NULL, no_env);
	assert_null(c.svcs);
	assert_int_equal(c.n_svcs, 0);
	cfg_free(&c);
	ok_text(&c, "service = {};\n", NULL, no_env);
	assert_int_equal(c.n_svcs, 0);
	cfg_free(&c);

	assert_string_equal(svc_backend_name(SVC_CUSTOM), "custom");
	assert_string_equal(svc_backend_name(SVC_ZOOKEEPER), "zookeeper");
	assert_string_equal(svc_backend_name(SVC_ETCD), "etcd");
	assert_string_equal(svc_backend_name(SVC_CONSUL), "consul");
	assert_string_equal(svc_backend_name(SVC_PATRONI), "patroni");
	assert_string_equal(svc_backend_name(SVC_NBACKENDS), "unknown");
}

static void
test_value_errors(void **state)
{
	(void)state;
	bad_text("service = {\n  zk = {\n    size = 300;\n  };\n};\n", 3,
	    "service.zk.size: expected an integer from 1 to 255, found 300");
	bad_text("service = { zk = { size = 0; }; };\n", 1,
	    "service.zk.size: expected an integer from 1 to 255, found 0");
	/* libconfig 1.5 would hand these over as 3 and 5. */
	bad_text("service = {\n zk = { size = 4294967299; };\n};\n", 2,
	    "service.zk.size: expected an integer from 1 to 255, found "
	    "4294967299");
	bad_text("size = 3; service = { a = { size = 3; }; b = { size = "
	    "4294967301; }; };\n", 1, "service.b.size: expected an integer "
	    "from 1 to 255, found 4294967301");
	bad_text("service = { zk = { size = 3; lease_ttl = "
	    "99999999999999999999999; }; };\n", 1, "service.zk.lease_ttl: "
	    "expected an integer from 2 to 3600, found "
	    "99999999999999999999999");
	bad_text("service = { zk = { size = 3;\n stop_timeout = -1; }; };\n",
	    2, "service.zk.stop_timeout: expected an integer from 1 to 3600, "
	    "found -1");
	bad_text("service = { zk = { size = \"3\"; }; };\n", 1,
	    "service.zk.size: expected an integer from 1 to 255, found the "
	    "string \"3\"");
	bad_text("service = { zk = { size = 3; hook_timeout = 1.5; }; };\n", 1,
	    "service.zk.hook_timeout: expected an integer from 1 to 3600, "
	    "found the number 1.5");
	bad_text("service = { zk = { size = 3; lease_ttl = 1; }; };\n", 1,
	    "service.zk.lease_ttl: expected an integer from 2 to 3600, "
	    "found 1");
	bad_text("service = { zk = { size = 3; quorum_timeout = 86401; }; "
	    "};\n", 1, "service.zk.quorum_timeout: expected an integer from "
	    "0 to 86400, found 86401");
	bad_text("service = { zk = { size = 3; start_timeout = 0; }; };\n", 1,
	    "service.zk.start_timeout: expected an integer from 1 to 86400, "
	    "found 0");
	bad_text("service = { zk = { size = 3; health_interval = 3601; }; "
	    "};\n", 1, "service.zk.health_interval: expected an integer from "
	    "1 to 3600, found 3601");
	bad_text("service = { zk = { size = 3; health_failures = 101; }; };\n",
	    1, "service.zk.health_failures: expected an integer from 1 to "
	    "100, found 101");
	bad_text("service = { zk = { backend = \"zookeeper\"; size = 3;\n"
	    "  client_port = 65536; }; };\n", 2, "service.zk.client_port: "
	    "expected an integer from 0 to 65535, found 65536");

	bad_text("service = {\n zk = {\n  backend = \"zk\"; size = 3; };\n};\n",
	    3, "service.zk.backend: expected \"custom\", \"zookeeper\", "
	    "\"etcd\", \"consul\" or \"patroni\", found the string \"zk\"");
	bad_text("service = { zk = { size = 3; data_dir = \"var/zk\"; }; };\n",
	    1, "service.zk.data_dir: expected an absolute path of printable "
	    "UTF-8 characters, found the string \"var/zk\"");
	bad_text("service = { zk = { size = 3; data_dir = \"/v/\\x01\"; }; "
	    "};\n", 1, "service.zk.data_dir: expected an absolute path of "
	    "printable UTF-8 characters, found the string \"/v/\\x01\"");
	bad_text("service = { zk = { backend = \"zookeeper\"; size = 3; "
	    "bin = \"\"; }; };\n", 1, "service.zk.bin: expected a non-empty "
	    "program name or path of printable UTF-8 characters, found the "
	    "string \"\"");
	bad_text("service = { e = { backend = \"etcd\"; size = 3;\n"
	    "token = \"two words\"; }; };\n", 2, "service.e.token: expected 1 "
	    "to 128 printable ASCII characters without spaces, found the "
	    "string \"two words\"");
	bad_text("service = { k = { backend = \"consul\"; size = 3;\n"
	    "datacenter = \"dc_1\"; }; };\n", 2, "service.k.datacenter: "
	    "expected a lowercase DNS label (a letter, then lowercase "
	    "letters, digits and hyphens, at most 63 bytes, not ending in a "
	    "hyphen), as Consul requires, found the string \"dc_1\"");
	bad_text_has("service = { k = { backend = \"consul\"; size = 3;\n"
	    "datacenter = \"DC1\"; }; };\n", NULL, no_env,
	    "%s:2: service.k.datacenter: expected a lowercase DNS label",
	    "found the string \"DC1\"");
	bad_text("service = { p = { backend = \"patroni\"; size = 3;\n"
	    "scope = \"1pg\"; }; };\n", 2, "service.p.scope: expected a DNS "
	    "label (a letter, then letters, digits and hyphens, at most 63 "
	    "bytes, not ending in a hyphen), found the string \"1pg\"");
	bad_text("service = { p = { backend = \"patroni\"; size = 3;\n"
	    "pg_bin_dir = \"bin\"; }; };\n", 2, "service.p.pg_bin_dir: "
	    "expected an absolute path of printable UTF-8 characters, found "
	    "the string \"bin\"");
	bad_text("service = { zk = { size = [3]; }; };\n", 1,
	    "service.zk.size: expected an integer from 1 to 255, found an "
	    "array");
}

/* Passwords never appear in a message. */
static void
test_passwords(void **state)
{
	char text[1024], big[300];

	(void)state;
	memset(big, 'x', 257);
	big[257] = '\0';
	snprintf(text, sizeof(text), "service = { p = { backend = "
	    "\"patroni\"; size = 3;\n su_password = \"%s\"; }; };\n", big);
	bad_text(text, 2, "service.p.su_password: expected 1 to 256 bytes of "
	    "UTF-8 text, found a string of 257 bytes");
	big[256] = '\0';
	snprintf(text, sizeof(text), "service = { p = { backend = "
	    "\"patroni\"; size = 3;\n su_password = \"%s\";\n"
	    " repl_password = \"\\x01\\n\"; }; };\n", big);
	struct cfg c;
	ok_text(&c, text, NULL, no_env);
	assert_int_equal(strlen(c.svcs[0].su_password), 256);
	assert_string_equal(c.svcs[0].repl_password, "\x01\n");
	cfg_free(&c);

	bad_text("service = { p = { backend = \"patroni\"; size = 3;\n"
	    "repl_password = 123456; }; };\n", 2, "service.p.repl_password: "
	    "expected 1 to 256 bytes of UTF-8 text, found an integer");
	bad_text("service = { p = { backend = \"patroni\"; size = 3;\n"
	    "repl_password = \"\"; }; };\n", 2, "service.p.repl_password: "
	    "expected 1 to 256 bytes of UTF-8 text, found an empty string");
	bad_text("service = { p = { backend = \"patroni\"; size = 3;\n"
	    "repl_password = \"\\xff\"; }; };\n", 2, "service.p.repl_password: "
	    "expected 1 to 256 bytes of UTF-8 text, found a string that is "
	    "not UTF-8");

	bad_text("service = {\n p = { backend = \"patroni\"; size = 3; };\n"
	    "};\n", 2, "service.p: backend \"patroni\" needs su_password, the "
	    "password of PostgreSQL's superuser, and repl_password, the "
	    "password of PostgreSQL's replication user; set them in this "
	    "group");
	bad_text("service = {\n p = { backend = \"patroni\"; size = 3;\n"
	    " repl_password = \"r\"; };\n};\n", 2, "service.p: backend "
	    "\"patroni\" needs su_password, the password of PostgreSQL's "
	    "superuser; set it in this group");
	bad_text("service = {\n p = { backend = \"patroni\"; size = 3;\n"
	    " su_password = \"s\"; };\n};\n", 2, "service.p: backend "
	    "\"patroni\" needs repl_password, the password of PostgreSQL's "
	    "replication user; set it in this group");
}

static void
test_structure_errors(void **state)
{
	char text[2048];
	size_t o;

	(void)state;
	bad_text("size = 3;\nservice = {\n  zk = {\n    size = 3;\n"
	    "    colour = \"red\";\n  };\n};\n", 5,
	    "service.zk: unknown key \"colour\"");
	bad_text("service = {\n  zk = { backend = \"zookeeper\"; };\n};\n", 2,
	    "service.zk: size is missing; set it to the number of "
	    "participants, 1 to 255");
	bad_text("# services\nservice = 5;\n", 2, "service: expected a group "
	    "with one group per service, such as service = { zk = { backend "
	    "= \"zookeeper\"; size = 3; }; };, found 5");
	bad_text("service = {\n zk = \"zookeeper\";\n};\n", 2, "service.zk: "
	    "expected a group of the service's settings such as { backend = "
	    "\"zookeeper\"; size = 3; }, found the string \"zookeeper\"");
	bad_text("service = {\n my_svc = { size = 1; };\n};\n", 2,
	    "service.my_svc: expected a service name (a letter, then "
	    "letters, digits and hyphens, at most 63 bytes, not ending in a "
	    "hyphen) as the group's name, found \"my_svc\"");
	bad_text("service = {\n svc- = { size = 1; };\n};\n", 2,
	    "service.svc-: expected a service name (a letter, then "
	    "letters, digits and hyphens, at most 63 bytes, not ending in a "
	    "hyphen) as the group's name, found \"svc-\"");
	o = (size_t)snprintf(text, sizeof(text), "service = {\n");
	for (int i = 0; i <= SVC_MAX; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "  s%d = { size = 1; };\n", i);
	snprintf(text + o, sizeof(text) - o, "};\n");
	bad_text(text, 1, "service: expected at most 16 services, found 17");
}

/* bad_text() cannot put the path in the middle; this one can. */
static void
test_errors_naming_two_places(void **state)
{
	(void)state;
	bad_text_has("service = {\n zk = { size = 1; };\n ZK = { size = 1; };"
	    "\n};\n", NULL, no_env, "%s:3: service.ZK: the name differs from "
	    "service.zk (", ":2) only in case; give the services names that "
	    "differ in more");
	bad_text_has("service = {\n a = { size = 1; data_dir = \"/srv/x\"; };\n"
	    " b = { size = 1;\n   data_dir = \"/srv/x/\"; };\n};\n", NULL,
	    no_env, "%s:4: service.b.data_dir: \"/srv/x/\" is also "
	    "service.a's data_dir (", ":2); give each service its own "
	    "directory");
	/* The default counts: b's is /var/lib/zooinit/services/b. */
	bad_text_has("service = {\n a = { size = 1;\n data_dir = "
	    "\"/var/lib/zooinit/services/b\"; };\n b = { size = 1; };\n};\n",
	    NULL, no_env, "%s:4: service.b.data_dir: the default "
	    "\"/var/lib/zooinit/services/b\" is also service.a's data_dir (",
	    ":3); give each service its own directory");
	bad_text_has("service = {\n a = { size = 1; };\n b = { size = 1;\n "
	    "data_dir = \"/var/lib/zooinit/services/a\"; };\n};\n", NULL,
	    no_env, "%s:4: service.b.data_dir: "
	    "\"/var/lib/zooinit/services/a\" is also "
	    "service.a's data_dir (", ":2, its default); give each service "
	    "its own directory");
	/* etcd's own directory, from any layer; the defaults never meet
	 * (services live under /var/lib/zooinit/services/). */
	bad_text_has("service = {\n e = { size = 1; data_dir = \"/e\"; };\n"
	    "};\n", ARGV("--data-dir", "/e/"), no_env, "%s:2: "
	    "service.e.data_dir: \"/e\" is also data_dir (from --data-dir), "
	    "etcd's own directory", NULL);
	bad_text_has("service = {\n s = { size = 1; data_dir = "
	    "\"/var/lib/zooinit/seed\"; };\n};\n", NULL, no_env, "%s:2: "
	    "service.s.data_dir: \"/var/lib/zooinit/seed\" is also "
	    "seed_data_dir (the default), the seed etcd's own directory",
	    NULL);
	struct cfg c;
	ok_text(&c, "service = {\n etcd = { size = 1; };\n seed = { size = 1; "
	    "};\n};\n", NULL, no_env);
	assert_string_equal(c.svcs[0].data_dir,
	    "/var/lib/zooinit/services/etcd");
	cfg_free(&c);
}

static void
test_backend_keys(void **state)
{
	(void)state;
	bad_text("service = { zk = { backend = \"zookeeper\"; size = 3;\n"
	    " token = \"t\"; }; };\n", 2, "service.zk.token: applies only to "
	    "backend \"etcd\", not to \"zookeeper\"; remove it");
	/* The backend may come after the key: it is read first. */
	bad_text("service = { zk = { size = 3;\n rest_port = 1;\n"
	    " backend = \"zookeeper\"; }; };\n", 2, "service.zk.rest_port: "
	    "applies only to backend \"patroni\", not to \"zookeeper\"; "
	    "remove it");
	bad_text("service = { e = { backend = \"etcd\"; size = 3;\n"
	    " election_port = 1; }; };\n", 2, "service.e.election_port: "
	    "applies only to backend \"zookeeper\", not to \"etcd\"; remove "
	    "it");
	bad_text("service = { a = { size = 3;\n bin = \"/bin/app\"; }; };\n", 2,
	    "service.a.bin: applies only to backend \"zookeeper\", \"etcd\", "
	    "\"consul\" or \"patroni\", not to \"custom\"; remove it");
	bad_text("service = { a = { size = 3; su_password = \"x\"; }; };\n", 1,
	    "service.a.su_password: applies only to backend \"patroni\", not "
	    "to \"custom\"; remove it");
}

static void
test_hooks(void **state)
{
	char text[4096];
	size_t o;
	struct cfg c;

	(void)state;
	/* OnStart is the custom backend's service; the others run their
	 * own. */
	bad_text("service = {\n zk = {\n  backend = \"zookeeper\"; size = 3;\n"
	    "  hooks = {\n   OnStart = \"/usr/bin/zk\";\n  };\n };\n};\n", 5,
	    "service.zk.hooks.OnStart: OnStart is the service itself and only "
	    "for backend \"custom\", but backend \"zookeeper\" runs the "
	    "service on its own; remove the hook or set backend = "
	    "\"custom\"");
	bad_text("service = { p = { backend = \"patroni\"; size = 3;\n hooks = "
	    "{ onstart = [\"/x\"]; }; }; };\n", 2, "service.p.hooks.onstart: "
	    "OnStart is the service itself and only for backend \"custom\", "
	    "but backend \"patroni\" runs the service on its own; remove the "
	    "hook or set backend = \"custom\"");
	bad_text("service = { a = { size = 1;\n hooks = {\n OnBoot = \"/x\";"
	    " }; }; };\n", 3, "service.a.hooks: unknown event \"OnBoot\"; the "
	    "events are OnPreRegist, OnPostRegist, OnReachQurorumNum, "
	    "OnPreStart, OnStart, OnPostStart, OnClusterBooted, "
	    "OnHealthCheck, OnStop and OnLeaderChange, in any case");
	bad_text("service = { a = { size = 1;\n hooks = \"/x\"; }; };\n", 2,
	    "service.a.hooks: expected a group of event = program settings "
	    "such as { OnPostStart = [\"/usr/local/bin/ready\", \"--wait\"]; "
	    "}, found the string \"/x\"");
	bad_text("service = { a = { size = 1; hooks = {\n OnStop = \"x\"; }; };"
	    " };\n", 2, "service.a.hooks.OnStop: expected the program as an "
	    "absolute path of printable UTF-8 characters, found \"x\"");
	bad_text("service = { a = { size = 1; hooks = {\n OnStop = [\n"
	    "  \"/bin/stop\",\n  \"a\\nb\" ]; }; }; };\n", 4,
	    "service.a.hooks.OnStop: expected argument 1 as a string of "
	    "printable UTF-8 characters, found \"a\\x0ab\"");
	bad_text("service = { a = { size = 1; hooks = {\n OnStop = "
	    "(\"/bin/stop\", 5); }; }; };\n", 2, "service.a.hooks.OnStop: "
	    "expected argument 1 as a string of printable UTF-8 characters, "
	    "found 5");
	bad_text("service = { a = { size = 1; hooks = {\n OnStop = (); }; }; "
	    "};\n", 2, "service.a.hooks.OnStop: expected a program's absolute "
	    "path, or a list of 1 to 64 strings (the program's absolute path, "
	    "then its arguments), found an empty list");
	bad_text("service = { a = { size = 1; hooks = {\n OnStop = true; }; }; "
	    "};\n", 2, "service.a.hooks.OnStop: expected a program's absolute "
	    "path, or a list of 1 to 64 strings (the program's absolute path, "
	    "then its arguments), found true");
	bad_text_has("service = { a = { size = 1; hooks = {\n OnStop = \"/a\";"
	    "\n onSTOP = \"/b\"; }; }; };\n", NULL, no_env, "%s:3: "
	    "service.a.hooks.onSTOP: OnStop is already set at ", ":2 (event "
	    "names ignore case); set each event once");

	/* SVC_HOOK_ARGS in all, the program included. */
	o = (size_t)snprintf(text, sizeof(text), "service = { a = { size = 1; "
	    "hooks = { OnStop = [\"/bin/stop\"");
	for (int i = 1; i < SVC_HOOK_ARGS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, ", \"%d\"",
		    i);
	snprintf(text + o, sizeof(text) - o, "]; }; }; };\n");
	ok_text(&c, text, NULL, no_env);
	assert_string_equal(c.svcs[0].hooks[HOOK_STOP][SVC_HOOK_ARGS - 1],
	    "63");
	assert_null(c.svcs[0].hooks[HOOK_STOP][SVC_HOOK_ARGS]);
	cfg_free(&c);
	snprintf(text + o, sizeof(text) - o, ", \"x\"]; }; }; };\n");
	bad_text(text, 1, "service.a.hooks.OnStop: expected a program's "
	    "absolute path, or a list of 1 to 64 strings (the program's "
	    "absolute path, then its arguments), found 65 values");

	/* Case-insensitive names, a single string, OnStart on custom. */
	ok_text(&c, "service = { a = { size = 1; hooks = {\n"
	    " onhealthcheck = \"/bin/ok\"; ONSTART = [\"/bin/app\", \"-v\"];\n"
	    " OnLeaderchange = [\"/bin/lead\"]; }; }; };\n", NULL, no_env);
	assert_string_equal(c.svcs[0].hooks[HOOK_HEALTH_CHECK][0], "/bin/ok");
	assert_null(c.svcs[0].hooks[HOOK_HEALTH_CHECK][1]);
	assert_string_equal(c.svcs[0].hooks[HOOK_START][0], "/bin/app");
	assert_string_equal(c.svcs[0].hooks[HOOK_START][1], "-v");
	assert_null(c.svcs[0].hooks[HOOK_START][2]);
	assert_string_equal(c.svcs[0].hooks[HOOK_LEADER_CHANGE][0],
	    "/bin/lead");
	assert_null(c.svcs[0].hooks[HOOK_POST_START]);
	cfg_free(&c);
}

static void
test_services_key(void **state)
{
	static const char two[] = "service = {\n zk = { size = 3; };\n"
	    " pg = { size = 1; };\n};\n";
	struct cfg c;

	(void)state;
	/* From the environment, a comma list; it replaces the file's. */
	ok_text(&c, "services = \"zk\";\n" "service = {\n zk = { size = 3; };\n"
	    " pg = { size = 1; };\n};\n", NULL,
	    ENV("ZOOINIT_SERVICES=pg, zk"));
	assert_int_equal(c.n_services, 2);
	assert_string_equal(c.services[0], "pg");
	assert_string_equal(c.services[1], "zk");
	cfg_free(&c);
	/* Flags, repeated. */
	ok_text(&c, two, ARGV("--services", "zk", "--services=pg"),
	    ENV("ZOOINIT_SERVICES=pg"));
	assert_int_equal(c.n_services, 2);
	assert_string_equal(c.services[0], "zk");
	assert_string_equal(c.services[1], "pg");
	cfg_free(&c);

	bad_text_has("services = [\"zk\", \"kafka\"];\n" "service = {\n zk = "
	    "{ size = 3; };\n pg = { size = 1; };\n};\n", NULL, no_env,
	    "services (from %s:1) names \"kafka\", which is not a group in "
	    "service; ", "defines \"zk\" and \"pg\"");
	bad_text_has(two, NULL, ENV("ZOOINIT_SERVICES=zk,db"),
	    "services (from environment ZOOINIT_SERVICES) names \"db\", which "
	    "is not a group in service; %s defines \"zk\" and \"pg\"", NULL);
	bad_text_has("size = 3;\n", ARGV("--services", "zk"), no_env,
	    "services (from --services) names \"zk\", which is not a group "
	    "in service; %s defines no services", NULL);
	bad_text_has(two, ARGV("--services", "zk,pg,zk"), no_env,
	    "services (from --services) names \"zk\" twice; list each "
	    "service once", NULL);

	/* No file at all. */
	char err[512];
	char *av[] = { "bootstrap", "--services", "zk", NULL };
	assert_int_equal(cfg_load(&c, 3, av, no_env, err, sizeof(err)), -1);
	assert_string_equal(err, "services (from --services) names \"zk\", "
	    "which is not a group in service; no config file was read, and "
	    "services are defined only in a file's service group");
	char *bad[] = { "bootstrap", "--services", "zk_1", NULL };
	assert_int_equal(cfg_load(&c, 3, bad, no_env, err, sizeof(err)), -1);
	assert_string_equal(err, "--services: expected a service name (a "
	    "letter, then letters, digits and hyphens, at most 63 bytes, not "
	    "ending in a hyphen), found \"zk_1\"");
	char *many[] = { "bootstrap", "--services",
	    "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", NULL };
	assert_int_equal(cfg_load(&c, 3, many, no_env, err, sizeof(err)), -1);
	assert_string_equal(err, "--services: expected at most 16 values, "
	    "found 17");

	/* Nested settings have no environment variable or flag. */
	assert_int_equal(cfg_load(&c, 3, (char *[]){ "bootstrap", "--service",
	    "zk", NULL }, no_env, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown flag \"--service\"; run \"zooinit "
	    "help\" for the list of flags");
}

/* Errors inside an included file name that file and line. */
static void
test_include(void **state)
{
	char inc[64], path[64], text[256], want[256], err[512];
	struct cfg c;
	char *av[] = { "bootstrap", "-f", path, NULL };

	(void)state;
	write_tmp(inc, sizeof(inc), "# zk\n  zk = { size = 3;\n"
	    "  client_port = 4294967296; };\n");
	snprintf(text, sizeof(text), "service = {\n@include \"%s\"\n};\n",
	    strrchr(inc, '/') + 1);
	write_tmp(path, sizeof(path), text);
	assert_int_equal(cfg_load(&c, 3, av, no_env, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: service.zk.client_port: applies "
	    "only to backend \"zookeeper\", \"etcd\" or \"patroni\", not to "
	    "\"custom\"; remove it", inc);
	assert_string_equal(err, want);
	unlink(inc);

	write_tmp(inc, sizeof(inc), "# zk\n  zk = { size = 3;\n"
	    "  backend = \"zookeeper\"; client_port = 4294967296; };\n");
	snprintf(text, sizeof(text), "service = {\n@include \"%s\"\n};\n",
	    strrchr(inc, '/') + 1);
	unlink(path);
	write_tmp(path, sizeof(path), text);
	assert_int_equal(cfg_load(&c, 3, av, no_env, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: service.zk.client_port: expected "
	    "an integer from 0 to 65535, found 4294967296", inc);
	assert_string_equal(err, want);
	unlink(inc);
	unlink(path);
}

static void
test_usage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	cfg_usage(f);
	fclose(f);
	assert_non_null(strstr(buf, "  --services NAME[,NAME]\n"));
	assert_non_null(strstr(buf, "(ZOOINIT_SERVICES, key services)\n"));
	free(buf);
}

/* The example's commented services section, uncommented, is a working
 * configuration: every key it documents parses. */
static void
test_example_services(void **state)
{
	char *text, *line, path[64], err[512], *av[4];
	bool in = false;
	size_t len = 0;
	FILE *f, *out;
	struct cfg c;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	(void)state;
	f = fopen("config/zooinit.conf.example", "r");
	assert_non_null(f);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	while ((n = getline(&buf, &cap, f)) > 0) {
		line = buf;
		if (strncmp(line, "#services = ", 12) == 0)
			in = true;
		if (in && line[0] == '#')
			line++;
		fputs(line, out);
		if (in && strcmp(buf, "#};\n") == 0)
			in = false;
	}
	free(buf);
	fclose(f);
	fclose(out);
	assert_non_null(strstr(text, "\nservices = "));
	assert_non_null(strstr(text, "\nservice = {\n"));
	write_tmp(path, sizeof(path), text);
	free(text);
	av[0] = "bootstrap";
	av[1] = "-f";
	av[2] = path;
	av[3] = NULL;
	if (cfg_load(&c, 3, av, no_env, err, sizeof(err)) != 0)
		fail_msg("the example's services do not load: %s", err);
	unlink(path);
	assert_true(c.n_services >= 1);
	assert_int_equal(c.n_svcs, 5);
	for (int b = 0; b < SVC_NBACKENDS; b++) {
		bool seen = false;

		for (size_t i = 0; i < c.n_svcs; i++)
			seen = seen || c.svcs[i].backend == (enum svc_backend)b;
		if (!seen)
			fail_msg("the example has no %s service",
			    svc_backend_name((enum svc_backend)b));
	}
	cfg_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_errors_naming_two_places),
		cmocka_unit_test(test_backend_keys),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_services_key),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_example_services),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
