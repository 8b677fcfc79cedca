/* Unit tests for config/cfg.c: where settings come from. The defaults;
 * a config file, the environment and flags, and which wins; the forms a
 * flag takes; the errors of unknown flags, of a bad file (named by
 * FILE:LINE, also inside an @include) and of bad environment values. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "tests/unit/config_fix.h"

static void
test_defaults(void **state)
{
	struct cfg c;

	(void)state;
	expect_ok(&c, no_args, no_env);
	assert_null(c.config_file);
	assert_null(c.domain);
	assert_null(c.dns_servers);
	assert_int_equal(c.n_dns_servers, 0);
	assert_int_equal(c.size, 0);
	assert_null(c.ip);
	assert_null(c.name);
	assert_null(c.interface);
	assert_null(c.netmask);
	assert_null(c.hint);
	assert_string_equal(c.data_dir, "/var/lib/zooinit/etcd");
	assert_string_equal(c.etcd, "etcd");
	assert_int_equal(c.client_port, 2379);
	assert_int_equal(c.peer_port, 0);
	assert_null(c.token);
	assert_int_equal(c.scheme, CFG_SCHEME_AUTO);
	assert_int_equal(c.member_names, CFG_NAMES_LABEL);
	assert_int_equal(c.resolve_timeout, 120);
	assert_int_equal(c.health_interval, 10);
	assert_int_equal(c.stop_timeout, 10);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_false(c.json);
	assert_false(c.help);
	assert_null(c.args);
	assert_int_equal(c.n_args, 0);
	cfg_free(&c);

	/* A NULL environment and a bare argc of 0 are both fine. */
	assert_int_equal(cfg_load(&c, 0, NULL, NULL, NULL, 0), 0);
	assert_int_equal(c.client_port, 2379);
	cfg_free(&c);
}

static void
test_precedence_scalar(void **state)
{
	char path[64], cfgenv[96];
	struct cfg c;

	(void)state;
	write_tmp(path, sizeof(path), "size = 3;\nlog_level = \"warn\";\n");

	expect_ok(&c, ARGV("-f", path), no_env);
	assert_int_equal(c.size, 3);
	assert_int_equal(c.log_level, LOG_WARN);
	assert_string_equal(c.config_file, path);
	cfg_free(&c);

	expect_ok(&c, ARGV("-f", path), ENV("ZOOINIT_SIZE=5"));
	assert_int_equal(c.size, 5);
	assert_int_equal(c.log_level, LOG_WARN);
	cfg_free(&c);

	expect_ok(&c, ARGV("--size", "7", "-f", path), ENV("ZOOINIT_SIZE=5"));
	assert_int_equal(c.size, 7);
	cfg_free(&c);

	/* The file can come from the environment, and -f beats that. */
	snprintf(cfgenv, sizeof(cfgenv), "ZOOINIT_CONFIG=%s", path);
	expect_ok(&c, no_args, ENV(cfgenv));
	assert_int_equal(c.size, 3);
	assert_string_equal(c.config_file, path);
	cfg_free(&c);
	expect_error(ARGV("--config", "/nonexistent/zooinit.conf"),
	    ENV(cfgenv), "/nonexistent/zooinit.conf: cannot read: "
	    "No such file or directory");

	/* An empty variable is unset, not an empty value. */
	expect_ok(&c, ARGV("-f", path), ENV("ZOOINIT_SIZE=", "ZOOINIT_ETCD="));
	assert_int_equal(c.size, 3);
	assert_string_equal(c.etcd, "etcd");
	cfg_free(&c);

	unlink(path);
}

static void
test_precedence_list(void **state)
{
	char path[64];
	struct cfg c;

	(void)state;
	write_tmp(path, sizeof(path),
	    "dns_server = (\"127.0.0.1:5353\", \"10.0.0.2\");\n");

	expect_ok(&c, ARGV("-f", path), no_env);
	assert_int_equal(c.n_dns_servers, 2);
	assert_string_equal(c.dns_servers[0], "127.0.0.1:5353");
	assert_string_equal(c.dns_servers[1], "10.0.0.2");
	cfg_free(&c);

	/* The environment's list replaces the file's whole. */
	expect_ok(&c, ARGV("-f", path), ENV("ZOOINIT_DNS_SERVER=10.0.0.3"));
	assert_int_equal(c.n_dns_servers, 1);
	assert_string_equal(c.dns_servers[0], "10.0.0.3");
	cfg_free(&c);

	expect_ok(&c, ARGV("-f", path),
	    ENV("ZOOINIT_DNS_SERVER=10.0.0.3, [::1]:53,::1"));
	assert_int_equal(c.n_dns_servers, 3);
	assert_string_equal(c.dns_servers[0], "10.0.0.3");
	assert_string_equal(c.dns_servers[1], "[::1]:53");
	assert_string_equal(c.dns_servers[2], "::1");
	cfg_free(&c);

	/* Flags replace both; repeats accumulate. */
	expect_ok(&c, ARGV("-f", path, "--dns-server", "10.0.0.5",
	    "--dns-server=10.0.0.6:53"), ENV("ZOOINIT_DNS_SERVER=10.0.0.3"));
	assert_int_equal(c.n_dns_servers, 2);
	assert_string_equal(c.dns_servers[0], "10.0.0.5");
	assert_string_equal(c.dns_servers[1], "10.0.0.6:53");
	cfg_free(&c);
	unlink(path);

	/* A single string in the file is a list of one. */
	write_tmp(path, sizeof(path), "dns_server = \"10.9.9.9\";\n");
	expect_ok(&c, ARGV("-f", path), no_env);
	assert_int_equal(c.n_dns_servers, 1);
	assert_string_equal(c.dns_servers[0], "10.9.9.9");
	cfg_free(&c);
	unlink(path);
}

static void
test_flag_forms(void **state)
{
	struct cfg c;

	(void)state;
	expect_ok(&c, ARGV("--data-dir=/srv/etcd", "--scheme=https",
	    "--client-port", "12379", "--peer-port=12380",
	    "--etcd", "/opt/etcd",
	    "--token=abc-123", "--name", "h1.zl.test", "--domain=zl.test.",
	    "--member-names=fqdn", "--resolve-timeout=1",
	    "--health-interval", "3600", "--stop-timeout=1",
	    "--log-level", "debug", "--size=64"), no_env);
	assert_string_equal(c.data_dir, "/srv/etcd");
	assert_int_equal(c.scheme, CFG_SCHEME_HTTPS);
	assert_int_equal(c.client_port, 12379);
	assert_int_equal(c.peer_port, 12380);
	assert_string_equal(c.etcd, "/opt/etcd");
	assert_string_equal(c.token, "abc-123");
	assert_string_equal(c.name, "h1.zl.test");
	assert_string_equal(c.domain, "zl.test");
	assert_int_equal(c.member_names, CFG_NAMES_FQDN);
	assert_int_equal(c.resolve_timeout, 1);
	assert_int_equal(c.health_interval, 3600);
	assert_int_equal(c.stop_timeout, 1);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.size, 64);
	cfg_free(&c);

	/* A later flag wins over an earlier one. */
	expect_ok(&c, ARGV("--size=2", "--size", "4"), no_env);
	assert_int_equal(c.size, 4);
	cfg_free(&c);

	/* "--key=" is an empty value, which is then checked. */
	expect_error(ARGV("--size="), no_env,
	    "--size: expected an integer from 0 to 64, found \"\"");
	expect_error(ARGV("--size", "x"), no_env,
	    "--size: expected an integer from 0 to 64, found \"x\"");
	expect_error(ARGV("--size"), no_env, "--size needs a value");
	expect_error(ARGV("--data-dir", "--json"), no_env,
	    "--data-dir needs a value");
	expect_error(ARGV("-f"), no_env, "-f needs a value");
	expect_error(ARGV("--config="), no_env, "--config needs a value");
	expect_error(ARGV("--json=yes"), no_env, "--json takes no value");
	/* strtoll would take these; a user did not mean them. */
	expect_error(ARGV("--size", " 3"), no_env,
	    "--size: expected an integer from 0 to 64, found \" 3\"");
	expect_error(ARGV("--size", "+3"), no_env,
	    "--size: expected an integer from 0 to 64, found \"+3\"");
	expect_error(ARGV("--size", "3x"), no_env,
	    "--size: expected an integer from 0 to 64, found \"3x\"");
	expect_error(ARGV("--size", "-1"), no_env,
	    "--size: expected an integer from 0 to 64, found \"-1\"");
	expect_error(ARGV("--client-port", "99999999999999999999"), no_env,
	    "--client-port: expected an integer from 1 to 65535, found "
	    "\"99999999999999999999\"");
	expect_error(ARGV("--client-port=0"), no_env,
	    "--client-port: expected an integer from 1 to 65535, found \"0\"");
}

static void
test_args_and_options(void **state)
{
	struct cfg c;

	(void)state;
	expect_ok(&c, ARGV("one", "--json", "two", "--size", "3", "-",
	    "--", "--size", "-h"), no_env);
	assert_true(c.json);
	assert_false(c.help);
	assert_int_equal(c.size, 3);
	assert_int_equal(c.n_args, 5);
	assert_string_equal(c.args[0], "one");
	assert_string_equal(c.args[1], "two");
	assert_string_equal(c.args[2], "-");
	assert_string_equal(c.args[3], "--size");
	assert_string_equal(c.args[4], "-h");
	cfg_free(&c);

	expect_ok(&c, ARGV("-h"), no_env);
	assert_true(c.help);
	cfg_free(&c);
	expect_ok(&c, ARGV("--help"), no_env);
	assert_true(c.help);
	cfg_free(&c);

	/* Command options exist only as flags. */
	expect_ok(&c, no_args, ENV("ZOOINIT_JSON=1", "ZOOINIT_HELP=1"));
	assert_false(c.json);
	assert_false(c.help);
	cfg_free(&c);
}

static void
test_unknown_flag(void **state)
{
	(void)state;
	expect_error(ARGV("--colour", "red"), no_env,
	    "unknown flag \"--colour\"; run \"zooinit help\" for the list of "
	    "flags");
	expect_error(ARGV("--colour=red"), no_env,
	    "unknown flag \"--colour\"; run \"zooinit help\" for the list of "
	    "flags");
	expect_error(ARGV("-x"), no_env,
	    "unknown flag \"-x\"; run \"zooinit help\" for the list of flags");
	expect_error(ARGV("--data_dir=/x"), no_env,
	    "unknown flag \"--data_dir\" (did you mean --data-dir?); run "
	    "\"zooinit help\" for the list of flags");
	/* A hostile flag is quoted, not echoed raw. */
	expect_error(ARGV("--a\033[2J"), no_env,
	    "unknown flag \"--a\\x1b[2J\"; run \"zooinit help\" for the list "
	    "of flags");
}

static void
test_file_errors(void **state)
{
	char path[64], want[256];

	(void)state;
	write_tmp(path, sizeof(path), "size = 3;\n\ncolour = \"red\";\n");
	snprintf(want, sizeof(want), "%s:3: unknown key \"colour\"", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "size = 3;\ndomain = ;\n");
	snprintf(want, sizeof(want), "%s:2: syntax error", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "size = 3;\nsize = 4;\n");
	snprintf(want, sizeof(want), "%s:2: duplicate setting name", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "# zooinit\nsize = 100;\n");
	snprintf(want, sizeof(want), "%s:2: size: expected an integer from 0 "
	    "to 64, found 100", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	/* libconfig 1.5 keeps only the low 32 bits of such literals. */
	write_tmp(path, sizeof(path), "# zooinit\n\nsize = 99999999999;\n");
	snprintf(want, sizeof(want), "%s:3: size: expected an integer from 0 "
	    "to 64, found 99999999999", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	/* 2^32 + 5: libconfig alone would report a valid 5. */
	write_tmp(path, sizeof(path), "etcd = \"size = 1\"; size =\n"
	    "  4294967301; # size = 2\n");
	snprintf(want, sizeof(want), "%s:1: size: expected an integer from 0 "
	    "to 64, found 4294967301", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "client_port = 0x100000050;\n");
	snprintf(want, sizeof(want), "%s:1: client_port: expected an integer "
	    "from 1 to 65535, found 0x100000050", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "stop_timeout = 99999999999L;\n");
	snprintf(want, sizeof(want), "%s:1: stop_timeout: expected an integer "
	    "from 1 to 3600, found 99999999999", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "size = 99999999999999999999999;\n");
	snprintf(want, sizeof(want), "%s:1: size: expected an integer from 0 "
	    "to 64, found 99999999999999999999999", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	/* Wrong types. */
	write_tmp(path, sizeof(path), "size = \"3\";\n");
	snprintf(want, sizeof(want), "%s:1: size: expected an integer from 0 "
	    "to 64, found the string \"3\"", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "domain = 5;\n");
	snprintf(want, sizeof(want), "%s:1: domain: expected a DNS domain "
	    "name (letters, digits and hyphens in dot-separated labels of 1 "
	    "to 63 bytes), found 5", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "scheme = true;\n");
	snprintf(want, sizeof(want), "%s:1: scheme: expected \"auto\", "
	    "\"http\" or \"https\", found true", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "dns_server = (\"10.0.0.1\",\n 53);\n");
	snprintf(want, sizeof(want), "%s:2: dns_server: expected ADDR, "
	    "ADDR:PORT or [IPV6]:PORT with ADDR an IP address literal and "
	    "PORT from 1 to 65535, found 53", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	write_tmp(path, sizeof(path), "stop_timeout = 1.5;\n");
	snprintf(want, sizeof(want), "%s:1: stop_timeout: expected an integer "
	    "from 1 to 3600, found the number 1.5", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);

	/* Unreadable files. */
	expect_error(ARGV("-f", "/tmp"), no_env,
	    "/tmp: cannot read: Is a directory");
	write_tmp(path, sizeof(path), "size = 3;\n");
	assert_int_equal(truncate(path, 2 * 1024 * 1024), 0);
	snprintf(want, sizeof(want), "%s: cannot read: larger than 1048576 "
	    "bytes", path);
	expect_error(ARGV("-f", path), no_env, want);
	assert_int_equal(truncate(path, 12), 0);
	snprintf(want, sizeof(want), "%s: cannot read: not a text file (it "
	    "has a NUL byte)", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);
}

static void
test_file_include(void **state)
{
	char inc[64], path[64], text[128], want[256];
	const char *base;
	struct cfg c;

	(void)state;
	write_tmp(inc, sizeof(inc), "peer_port = 2380;\n");
	base = strrchr(inc, '/') + 1;
	snprintf(text, sizeof(text), "size = 3;\n@include \"%s\"\n", base);
	write_tmp(path, sizeof(path), text);
	/* Run from the repo root: the include must resolve against /tmp. */
	expect_ok(&c, ARGV("-f", path), no_env);
	assert_int_equal(c.size, 3);
	assert_int_equal(c.peer_port, 2380);
	cfg_free(&c);
	unlink(inc);

	/* Errors inside an included file name that file. */
	write_tmp(inc, sizeof(inc), "\npeer_port = 99999999999;\n");
	base = strrchr(inc, '/') + 1;
	snprintf(text, sizeof(text), "size = 3;\n@include \"%s\"\n", base);
	unlink(path);
	write_tmp(path, sizeof(path), text);
	snprintf(want, sizeof(want), "%s:2: peer_port: expected an integer "
	    "from 0 to 65535, found 99999999999", inc);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(inc);
	unlink(path);

	/* A directory: libconfig 1.5 would exit(2) inside its scanner. */
	write_tmp(path, sizeof(path), "size = 3;\n  @include \".\"\n");
	snprintf(want, sizeof(want), "%s:2: @include \".\": not a regular "
	    "file", path);
	expect_error(ARGV("-f", path), no_env, want);
	unlink(path);
}

static void
test_env_errors(void **state)
{
	(void)state;
	expect_error(no_args, ENV("ZOOINIT_SIZE=abc"),
	    "environment ZOOINIT_SIZE: expected an integer from 0 to 64, "
	    "found \"abc\"");
	expect_error(no_args, ENV("ZOOINIT_LOG_LEVEL=trace"),
	    "environment ZOOINIT_LOG_LEVEL: expected \"error\", \"warn\", "
	    "\"info\" or \"debug\", found \"trace\"");
	expect_error(no_args, ENV("ZOOINIT_DNS_SERVER=10.0.0.1,,10.0.0.2"),
	    "environment ZOOINIT_DNS_SERVER: expected ADDR, ADDR:PORT or "
	    "[IPV6]:PORT with ADDR an IP address literal and PORT from 1 to "
	    "65535, found \"\"");
	expect_error(no_args, ENV("ZOOINIT_DNS_SERVER=1.1.1.1,2.2.2.2,"
	    "3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9"),
	    "environment ZOOINIT_DNS_SERVER: expected at most 8 values, "
	    "found 9");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_precedence_scalar),
		cmocka_unit_test(test_precedence_list),
		cmocka_unit_test(test_flag_forms),
		cmocka_unit_test(test_args_and_options),
		cmocka_unit_test(test_unknown_flag),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_include),
		cmocka_unit_test(test_env_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
