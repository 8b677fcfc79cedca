/* services/backend.c: ZooKeeper's zoo.cfg and myid as be_zk_render()
 * renders them and be_zk_write() puts them on disk, its classpath and its
 * java command line. The fixture, the helpers and the member sets are in
 * backend_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/backend.h"
#include "lib/xmalloc.h"
#include "tests/unit/backend_fix.h"

/* ---- ZooKeeper config -------------------------------------------------- */

#define ZK_HEAD \
	"# Written by zooinit from the sealed member set; rewritten on " \
	"every start.\n" \
	"tickTime=2000\n" \
	"initLimit=10\n" \
	"syncLimit=5\n" \
	"dataDir=/var/lib/zooinit/zk\n" \
	"clientPort=2181\n"
#define ZK_FLAGS \
	"4lw.commands.whitelist=ruok,srvr,stat,mntr,conf\n" \
	"admin.enableServer=false\n" \
	"reconfigEnabled=false\n"

static const struct be_zk_opts zk_defaults = {
	.data_dir = "/var/lib/zooinit/zk",
};

static void
test_zk_render_three(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(three, 2);

	assert_int_equal(be_zk_render(&s, &zk_defaults, &f->s1, &f->s2,
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(f->s1, ZK_HEAD
	    "clientPortAddress=10.0.0.2\n"
	    ZK_FLAGS
	    "standaloneEnabled=false\n"
	    "server.1=10.0.0.1:2888:3888\n"
	    "server.2=10.0.0.2:2888:3888\n"
	    "server.3=10.0.0.3:2888:3888\n");
	assert_string_equal(f->s2, "2\n");
}

static void
test_zk_render_observers(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(five, 7);

	/* This node is a standby: peerType says so. */
	assert_int_equal(be_zk_render(&s, &zk_defaults, &f->s1, &f->s2,
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(f->s1, ZK_HEAD
	    "clientPortAddress=10.0.0.7\n"
	    ZK_FLAGS
	    "standaloneEnabled=false\n"
	    "peerType=observer\n"
	    "server.3=10.0.0.3:2888:3888\n"
	    "server.1=10.0.0.1:2888:3888\n"
	    "server.2=10.0.0.2:2888:3888\n"
	    "server.7=10.0.0.7:2888:3888:observer\n"
	    "server.5=10.0.0.5:2888:3888:observer\n");
	assert_string_equal(f->s2, "7\n");
	free(f->s1);
	free(f->s2);

	/* A participant lists the observers but is no observer itself. */
	s.self_id = 1;
	assert_int_equal(be_zk_render(&s, &zk_defaults, &f->s1, &f->s2,
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(f->s1, ZK_HEAD
	    "clientPortAddress=10.0.0.1\n"
	    ZK_FLAGS
	    "standaloneEnabled=false\n"
	    "server.3=10.0.0.3:2888:3888\n"
	    "server.1=10.0.0.1:2888:3888\n"
	    "server.2=10.0.0.2:2888:3888\n"
	    "server.7=10.0.0.7:2888:3888:observer\n"
	    "server.5=10.0.0.5:2888:3888:observer\n");
	assert_string_equal(f->s2, "1\n");
}

static void
test_zk_render_ipv6(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(six, 1);
	struct be_zk_opts o = {
		.data_dir = "/srv/zk data", .client_port = 12181,
		.quorum_port = 12888, .election_port = 13888, .tick_ms = 500,
		.init_limit = 20, .sync_limit = 4,
	};

	/* Addresses come out canonical: brackets in server lines, bare in
	 * clientPortAddress (both checked against a real ZooKeeper 3.8). */
	assert_int_equal(be_zk_render(&s, &o, &f->s1, &f->s2, f->err,
	    sizeof(f->err)), 0);
	assert_string_equal(f->s1,
	    "# Written by zooinit from the sealed member set; rewritten on "
	    "every start.\n"
	    "tickTime=500\n"
	    "initLimit=20\n"
	    "syncLimit=4\n"
	    "dataDir=/srv/zk data\n"
	    "clientPort=12181\n"
	    "clientPortAddress=2001:db8::1\n"
	    ZK_FLAGS
	    "standaloneEnabled=false\n"
	    "server.1=[2001:db8::1]:12888:13888\n"
	    "server.2=[2001:db8::2]:12888:13888\n"
	    "server.3=10.0.0.3:12888:13888\n");
	assert_string_equal(f->s2, "1\n");
}

static void
test_zk_render_single(void **state)
{
	struct fx *f = *state;
	static const struct be_member one[] = { { 4, "127.0.0.1", false } };
	struct be_set s = SET(one, 4);

	/* One member runs standalone: no server lines. */
	assert_int_equal(be_zk_render(&s, &zk_defaults, &f->s1, &f->s2,
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(f->s1, ZK_HEAD
	    "clientPortAddress=127.0.0.1\n"
	    ZK_FLAGS);
	assert_string_equal(f->s2, "4\n");
}

static void
bad_zk_opts(struct fx *f, const struct be_zk_opts *o, const char *needle)
{
	struct be_set s = SET(three, 1);
	char *cfg = (char *)1, *myid = (char *)1;

	assert_int_equal(be_zk_render(&s, o, &cfg, &myid, f->err,
	    sizeof(f->err)), -1);
	assert_null(cfg);
	assert_null(myid);
	if (strstr(f->err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", f->err, needle);
}

static void
test_zk_render_errors(void **state)
{
	struct fx *f = *state;
	struct be_zk_opts o = zk_defaults;
	struct be_set bad = SET(three, 8);
	char *cfg = (char *)1, *myid = (char *)1;

	assert_int_equal(be_zk_render(&bad, &o, &cfg, &myid, f->err,
	    sizeof(f->err)), -1);
	assert_null(cfg);
	assert_null(myid);
	o.client_port = 70000;
	bad_zk_opts(f, &o, "not a TCP port");
	o.client_port = 2888;
	bad_zk_opts(f, &o, "must differ");
	o.client_port = 0;
	o.tick_ms = -1;
	bad_zk_opts(f, &o, "out of range");
	o.tick_ms = 0;
	o.data_dir = "zk";
	bad_zk_opts(f, &o, "absolute path");
	o.data_dir = "/zk\\data";
	bad_zk_opts(f, &o, "backslash");
	o.data_dir = "/zk\nserver.9=x";
	bad_zk_opts(f, &o, "cannot write into config files");
	o.data_dir = NULL;
	bad_zk_opts(f, &o, "not set");
	bad_zk_opts(f, NULL, "no ZooKeeper options");
}

static void
test_zk_write(void **state)
{
	struct fx *f = *state;
	struct be_set s = SET(five, 7);
	struct be_zk_opts o = zk_defaults;
	char conf[256], data[256], path[300];
	struct stat st;
	char *text;

	make_dir(f);
	snprintf(conf, sizeof(conf), "%s/etc/zk", f->dir);
	snprintf(data, sizeof(data), "%s/var/lib/zk", f->dir);
	o.data_dir = data;
	assert_int_equal(be_zk_write(conf, &s, &o, f->err, sizeof(f->err)),
	    0);
	/* What is on disk is what be_zk_render says. */
	assert_int_equal(be_zk_render(&s, &o, &f->s1, &f->s2, f->err,
	    sizeof(f->err)), 0);
	snprintf(path, sizeof(path), "%s/zoo.cfg", conf);
	text = read_all(path);
	assert_non_null(text);
	assert_string_equal(text, f->s1);
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(path, sizeof(path), "%s/myid", data);
	text = read_all(path);
	assert_non_null(text);
	assert_string_equal(text, "7\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Created dirs, parents included, are private. */
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/var", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/zoo.cfg.tmp", conf);
	assert_int_equal(access(path, F_OK), -1);

	/* Writing again is fine: same member. */
	assert_int_equal(be_zk_write(conf, &s, &o, f->err, sizeof(f->err)),
	    0);

	/* Another member's data dir is refused and left alone. */
	s.self_id = 5;
	assert_int_equal(be_zk_write(conf, &s, &o, f->err, sizeof(f->err)),
	    -1);
	assert_non_null(strstr(f->err, "belongs to ZooKeeper member 7"));
	snprintf(path, sizeof(path), "%s/myid", data);
	text = read_all(path);
	assert_string_equal(text, "7\n");
	free(text);
	snprintf(path, sizeof(path), "%s/zoo.cfg", conf);
	text = read_all(path);
	assert_string_equal(text, f->s1);
	free(text);

	/* So is a myid that is no id at all. */
	snprintf(path, sizeof(path), "%s/myid", data);
	write_file(path, "replace this text\n");
	assert_int_equal(be_zk_write(conf, &s, &o, f->err, sizeof(f->err)),
	    -1);
	assert_non_null(strstr(f->err, "not a member id"));

	/* A file where a dir should be. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	write_file(path, "x");
	assert_int_equal(be_zk_write(path, &s, &o, f->err, sizeof(f->err)),
	    -1);
	assert_non_null(strstr(f->err, "not a directory"));
}

static void
test_zk_classpath(void **state)
{
	struct fx *f = *state;
	char jar[300], *cp;

	make_dir(f);
	cp = be_zk_classpath(f->dir, f->err, sizeof(f->err));
	assert_null(cp);
	assert_non_null(strstr(f->err, "zookeeper.jar"));
	assert_non_null(strstr(f->err, "libzookeeper-java"));

	snprintf(jar, sizeof(jar), "%s/zookeeper.jar", f->dir);
	write_file(jar, "");
	cp = be_zk_classpath(f->dir, f->err, sizeof(f->err));
	assert_non_null(cp);
	assert_string_equal(cp, jar);
	free(cp);

	snprintf(jar, sizeof(jar), "%s/slf4j-simple.jar", f->dir);
	write_file(jar, "");
	cp = be_zk_classpath(f->dir, f->err, sizeof(f->err));
	assert_non_null(cp);
	f->out = xasprintf("%s/zookeeper.jar:%s/slf4j-simple.jar", f->dir,
	    f->dir);
	assert_string_equal(cp, f->out);
	free(cp);

	assert_null(be_zk_classpath("/a:b", f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "without ':'"));

	/* Debian's own layout, when the package is installed. */
	if (access(BE_ZK_JAR_DIR "/zookeeper.jar", R_OK) == 0) {
		cp = be_zk_classpath(NULL, f->err, sizeof(f->err));
		assert_non_null(cp);
		assert_string_equal(cp, BE_ZK_JAR_DIR "/zookeeper.jar:"
		    BE_ZK_JAR_DIR "/slf4j-simple.jar");
		free(cp);
	}
}

static void
test_zk_argv(void **state)
{
	struct fx *f = *state;

	f->argv = be_zk_argv("/usr/bin/java", "/etc/zooinit/zk",
	    "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar");
	assert_argv(f->argv, "/usr/bin/java", "-XX:+ExitOnOutOfMemoryError",
	    "-Dzookeeper.jmx.log4j.disable=true", "-cp",
	    "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar",
	    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
	    "/etc/zooinit/zk/zoo.cfg", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_zk_render_three),
		T(test_zk_render_observers),
		T(test_zk_render_ipv6),
		T(test_zk_render_single),
		T(test_zk_render_errors),
		T(test_zk_write),
		T(test_zk_classpath),
		T(test_zk_argv),
#undef T
	};

	/* A peer closing early must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
