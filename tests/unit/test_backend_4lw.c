/* services/backend.c: ZooKeeper's four-letter words. srvr answers
 * captured from a real ZooKeeper, parsed; be_4lw() against a closed port,
 * a listener that never answers, bad arguments, a fake ZooKeeper on the
 * test's own loop, cancels, and a real ZooKeeper when one is installed.
 * The fixture, the helpers and the member sets are in backend_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services/backend.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "tests/unit/backend_fix.h"

/* ---- srvr ------------------------------------------------------------ */

/* Answers captured from Debian's ZooKeeper 3.8.0 (configs rendered by
 * be_zk_render: a standalone node, and three participants plus one
 * observer on 127.0.0.151-154, after one create and after losing two
 * participants). */
#define ZK_VERSION "Zookeeper version: 3.8.0-${mvngit.commit.id}, built " \
	"on 2024-12-29 17:54 UTC\n"
static const char srvr_standalone[] = ZK_VERSION
	"Latency min/avg/max: 0/0.0/0\nReceived: 2\nSent: 1\n"
	"Connections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\n"
	"Node count: 5\n";
static const char srvr_leader[] = ZK_VERSION
	"Latency min/avg/max: 0/0.0/0\nReceived: 2\nSent: 1\n"
	"Connections: 1\nOutstanding: 0\nZxid: 0x100000002\nMode: leader\n"
	"Node count: 6\nProposal sizes last/min/max: 97/48/97\n";
static const char srvr_follower[] = ZK_VERSION
	"Latency min/avg/max: 17/18.0/19\nReceived: 4\nSent: 3\n"
	"Connections: 1\nOutstanding: 0\nZxid: 0x100000002\n"
	"Mode: follower\nNode count: 6\n";
static const char srvr_observer[] = ZK_VERSION
	"Latency min/avg/max: 0/0.0/0\nReceived: 2\nSent: 1\n"
	"Connections: 1\nOutstanding: 0\nZxid: 0x100000002\n"
	"Mode: observer\nNode count: 6\n";
static const char srvr_not_serving[] =
	"This ZooKeeper instance is not currently serving requests\n";

static void
test_srvr_parse(void **state)
{
	struct be_zk_srvr z;

	(void)state;
	assert_int_equal(be_zk_parse_srvr(srvr_standalone, &z), 0);
	assert_int_equal(z.mode, BE_ZK_STANDALONE);
	assert_int_equal(z.zxid, 0);
	assert_int_equal(z.nodes, 5);
	assert_string_equal(z.version, "3.8.0-${mvngit.commit.id}, built on "
	    "2024-12-29 17:54 UTC");

	assert_int_equal(be_zk_parse_srvr(srvr_leader, &z), 0);
	assert_int_equal(z.mode, BE_ZK_LEADER);
	assert_true(z.zxid == 0x100000002ULL);
	assert_int_equal(z.nodes, 6);
	assert_string_equal(be_zk_mode_str(z.mode), "leader");

	assert_int_equal(be_zk_parse_srvr(srvr_follower, &z), 0);
	assert_int_equal(z.mode, BE_ZK_FOLLOWER);
	assert_true(z.zxid == 0x100000002ULL);

	assert_int_equal(be_zk_parse_srvr(srvr_observer, &z), 0);
	assert_int_equal(z.mode, BE_ZK_OBSERVER);
	assert_string_equal(be_zk_mode_str(z.mode), "observer");

	assert_int_equal(be_zk_parse_srvr(srvr_not_serving, &z), 0);
	assert_int_equal(z.mode, BE_ZK_NOT_SERVING);
	assert_int_equal(z.nodes, 0);

	assert_int_equal(be_zk_parse_srvr("Zxid: 0x5\r\nMode: read-only\r\n"
	    "Node count: 7\r\n", &z), 0);
	assert_int_equal(z.mode, BE_ZK_READ_ONLY);
	assert_int_equal(z.zxid, 5);
	assert_int_equal(z.nodes, 7);

	/* Not srvr answers. */
	assert_int_equal(be_zk_parse_srvr("", &z), -1);
	assert_int_equal(be_zk_parse_srvr("imok", &z), -1);
	assert_int_equal(be_zk_parse_srvr(NULL, &z), -1);
	assert_int_equal(be_zk_parse_srvr("srvr is not executed because it "
	    "is not in the whitelist.\n", &z), -1);
	assert_int_equal(be_zk_parse_srvr("Mode: leader\nNode count: 5\n",
	    &z), -1);
	assert_int_equal(z.mode, BE_ZK_UNKNOWN);
	assert_int_equal(be_zk_parse_srvr("Zxid: 0x0\nMode: boss\n"
	    "Node count: 5\n", &z), -1);
	assert_int_equal(be_zk_parse_srvr("Zxid: 12\nMode: leader\n"
	    "Node count: 5\n", &z), -1);
	assert_int_equal(be_zk_parse_srvr("Zxid: 0xzz\nMode: leader\n"
	    "Node count: 5\n", &z), -1);
	assert_int_equal(be_zk_parse_srvr("Zxid: 0x1\nMode: leader\n"
	    "Node count: -5\n", &z), -1);
	/* A failed parse hands back nothing half-filled. */
	assert_int_equal(z.mode, BE_ZK_UNKNOWN);
	assert_int_equal(z.zxid, 0);
	assert_int_equal(be_zk_parse_srvr("Zxid: 0x1\nMode: leaderx\n"
	    "Node count: 5\n", &z), -1);
	assert_int_equal(be_zk_parse_srvr("Zxid: 0x1ffffffffffffffff\n"
	    "Mode: leader\nNode count: 5\n", &z), -1);
	assert_string_equal(be_zk_mode_str(BE_ZK_UNKNOWN), "unknown");

	/* The version is shown to users: no terminal escapes get through. */
	assert_int_equal(be_zk_parse_srvr("Zookeeper version: 3.8\x1b[31m\n"
	    "Zxid: 0x1\nMode: leader\nNode count: 1\n", &z), 0);
	assert_string_equal(z.version, "3.8?[31m");
}

/* ---- four-letter words ---------------------------------------------- */

struct got {
	int calls;
	bool ok;
	char *text;
	size_t len;
	char *error;
};

static void
got_cb(struct loop *l, const struct be_4lw_result *r, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->ok = r->ok;
	free(g->text);
	g->text = xstrdup(r->text);
	g->len = r->len;
	free(g->error);
	g->error = r->error != NULL ? xstrdup(r->error) : NULL;
	assert_true(r->ok == (r->error == NULL));
	loop_stop(l, 0);
}

static void
got_free(struct got *g)
{
	free(g->text);
	free(g->error);
	memset(g, 0, sizeof(*g));
}

static void
guard_cb(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l, -2);
}

/* Runs the loop until something stops it. A stopped loop stays stopped,
 * so the fixture gets a fresh one for whatever comes next. */
static int
run_loop(struct fx *f)
{
	int rc = loop_run(f->l);

	be_4lw_cancel_all(f->l);
	loop_free(f->l);
	f->l = loop_new();
	return rc;
}

/* Runs one request to its end; the callback must never run inside
 * be_4lw() and must run exactly once. */
static void
run_4lw(struct fx *f, const char *ip, int port, const char *word,
    int timeout_ms, struct got *g)
{
	uint64_t id;

	got_free(g);
	id = be_4lw(f->l, ip, port, word, timeout_ms, got_cb, g);
	assert_true(id > 0);
	assert_int_equal(g->calls, 0);
	loop_timer(f->l, 20000, guard_cb, NULL);
	assert_int_equal(run_loop(f), 0);
	assert_int_equal(g->calls, 1);
	/* Late cancels of a finished request are ignored. */
	be_4lw_cancel(f->l, id);
}

static void
assert_err(const struct got *g, const char *needle)
{
	assert_false(g->ok);
	assert_non_null(g->error);
	if (strstr(g->error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", g->error, needle);
}

static void
test_4lw_closed_port(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	int port = free_port("127.0.0.1");

	run_4lw(f, "127.0.0.1", port, "ruok", 2000, &g);
	assert_err(&g, "Connection refused");
	assert_err(&g, "127.0.0.1:");
	assert_string_equal(g.text, "");
	got_free(&g);
}

static void
test_4lw_timeout(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	int port;
	int64_t t0;

	/* Connects (the kernel queues it) but nobody ever answers. */
	f->fds[0] = listener(&port);
	t0 = loop_now_ms();
	run_4lw(f, "127.0.0.1", port, "srvr", 200, &g);
	assert_true(loop_now_ms() - t0 >= 190);
	assert_err(&g, "did not answer \"srvr\" within 200 ms");
	got_free(&g);
}

static void
test_4lw_bad_args(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };

	run_4lw(f, "zk1.zl.test", 2181, "ruok", 1000, &g);
	assert_err(&g, "not an IPv4 or IPv6 literal");
	run_4lw(f, NULL, 2181, "ruok", 1000, &g);
	assert_err(&g, "not an IPv4 or IPv6 literal");
	run_4lw(f, "127.0.0.1", 2181, "RUOK", 1000, &g);
	assert_err(&g, "not a ZooKeeper four-letter word");
	run_4lw(f, "127.0.0.1", 2181, "ruokk", 1000, &g);
	assert_err(&g, "not a ZooKeeper four-letter word");
	run_4lw(f, "127.0.0.1", 0, "ruok", 1000, &g);
	assert_err(&g, "port 0");
	run_4lw(f, "127.0.0.1", 2181, "ruok", 0, &g);
	assert_err(&g, "positive timeout");
	got_free(&g);
}

/* A one-connection fake ZooKeeper on the same loop: reads four bytes,
 * writes a canned answer (non-blocking, any size), closes. */
struct fake {
	int lfd, cfd;
	char word[5];
	size_t got;
	const char *answer;
	size_t len, sent;
};

static void fake_io(struct loop *l, int fd, int events, void *arg);

static void
fake_accept(struct loop *l, int fd, int events, void *arg)
{
	struct fake *k = arg;

	(void)events;
	k->cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(k->cfd >= 0);
	loop_unwatch(l, fd);
	loop_watch(l, k->cfd, LOOP_READ, fake_io, k);
}

static void
fake_io(struct loop *l, int fd, int events, void *arg)
{
	struct fake *k = arg;

	(void)events;
	if (k->got < 4) {
		ssize_t n = read(fd, k->word + k->got, 4 - k->got);

		if (n > 0)
			k->got += (size_t)n;
		if (k->got < 4)
			return;
		loop_watch(l, fd, LOOP_WRITE, fake_io, k);
		return;
	}
	while (k->sent < k->len) {
		ssize_t n = send(fd, k->answer + k->sent, k->len - k->sent,
		    MSG_NOSIGNAL);

		if (n < 0)
			return;	/* EAGAIN: wait for the next turn */
		k->sent += (size_t)n;
	}
	loop_unwatch(l, fd);
	close(fd);
	k->cfd = -1;
}

static void
fake_run(struct fx *f, struct fake *k, const char *answer, size_t len,
    const char *word, struct got *g)
{
	int port;

	memset(k, 0, sizeof(*k));
	k->cfd = -1;
	k->answer = answer;
	k->len = len;
	if (f->fds[1] >= 0)
		close(f->fds[1]);
	f->fds[1] = k->lfd = listener(&port);
	loop_watch(f->l, k->lfd, LOOP_READ, fake_accept, k);
	run_4lw(f, "127.0.0.1", port, word, 5000, g);
	if (k->cfd >= 0)
		close(k->cfd);
	assert_string_equal(k->word, word);
}

static void
test_4lw_fake_server(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	struct fake k;
	char *big = xmalloc(BE_4LW_MAX + 100);
	static const char refused[] =
	    "srvr is not executed because it is not in the whitelist.\n";

	fake_run(f, &k, srvr_leader, strlen(srvr_leader), "srvr", &g);
	assert_true(g.ok);
	assert_string_equal(g.text, srvr_leader);
	assert_int_equal(g.len, strlen(srvr_leader));

	fake_run(f, &k, "imok", 4, "ruok", &g);
	assert_true(g.ok);
	assert_string_equal(g.text, "imok");

	/* Exactly the cap is still an answer; one byte more is not. */
	memset(big, 'x', BE_4LW_MAX + 100);
	fake_run(f, &k, big, BE_4LW_MAX, "mntr", &g);
	assert_true(g.ok);
	assert_int_equal(g.len, BE_4LW_MAX);
	assert_int_equal(strlen(g.text), BE_4LW_MAX);
	fake_run(f, &k, big, BE_4LW_MAX + 1, "mntr", &g);
	assert_err(&g, "more than 65536 bytes");
	free(big);

	fake_run(f, &k, refused, strlen(refused), "srvr", &g);
	assert_err(&g, "add it to 4lw.commands.whitelist");
	assert_string_equal(g.text, refused);
	got_free(&g);
}

static void
never_cb(struct loop *l, const struct be_4lw_result *r, void *arg)
{
	(void)l;
	(void)r;
	(void)arg;
	fail_msg("a cancelled request called back");
}

static void
test_4lw_cancel(void **state)
{
	struct fx *f = *state;
	int port;
	uint64_t a, b, c;

	f->fds[0] = listener(&port);
	a = be_4lw(f->l, "127.0.0.1", port, "ruok", 100, never_cb, NULL);
	b = be_4lw(f->l, "127.0.0.1", port, "srvr", 100, never_cb, NULL);
	c = be_4lw(f->l, "bogus", port, "srvr", 100, never_cb, NULL);
	assert_true(a != b && b != c && a > 0);
	be_4lw_cancel(f->l, b);
	be_4lw_cancel(f->l, b);
	be_4lw_cancel(f->l, 0);
	be_4lw_cancel(f->l, c);
	/* A request on another loop is not touched by this one. */
	struct loop *other = loop_new();

	be_4lw_cancel(other, a);
	be_4lw_cancel_all(other);
	loop_free(other);
	be_4lw_cancel_all(f->l);
	/* Past every timeout: nothing may fire. */
	loop_timer(f->l, 300, guard_cb, NULL);
	assert_int_equal(run_loop(f), -2);
}

/* ---- a real ZooKeeper ------------------------------------------------ */

static bool
zk_present(void)
{
	return access(BE_ZK_JAR_DIR "/zookeeper.jar", R_OK) == 0 &&
	    access("/usr/bin/java", X_OK) == 0;
}

static void
wait_ms(struct fx *f, int ms)
{
	loop_timer(f->l, ms, guard_cb, NULL);
	run_loop(f);
}

static void
test_4lw_live_zookeeper(void **state)
{
	struct fx *f = *state;
	static const struct be_member one[] = { { 1, "127.0.0.1", false } };
	struct be_set s = SET(one, 1);
	struct be_zk_opts o = { 0 };
	struct be_zk_srvr z;
	struct got g = { 0 };
	char conf[256], data[256], log[300];
	char *cp;
	int64_t deadline;

	if (!zk_present()) {
		fprintf(stderr, "test_4lw_live_zookeeper: skipped, no "
		    BE_ZK_JAR_DIR "/zookeeper.jar or /usr/bin/java "
		    "(apt-get install zookeeper)\n");
		skip();
	}
	make_dir(f);
	snprintf(conf, sizeof(conf), "%s/conf", f->dir);
	snprintf(data, sizeof(data), "%s/data", f->dir);
	snprintf(log, sizeof(log), "%s/zookeeper.log", f->dir);
	o.data_dir = data;
	o.client_port = free_port("127.0.0.1");
	assert_int_equal(be_zk_write(conf, &s, &o, f->err, sizeof(f->err)),
	    0);
	cp = be_zk_classpath(NULL, f->err, sizeof(f->err));
	assert_non_null(cp);
	f->argv = be_zk_argv("/usr/bin/java", conf, cp);
	free(cp);

	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);

		/* Dies with the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(f->argv[0], f->argv);
		_exit(127);
	}

	/* The JVM takes a moment; ask until it answers or 60 s pass. */
	deadline = loop_now_ms() + 60000;
	for (;;) {
		int status;

		run_4lw(f, "127.0.0.1", o.client_port, "ruok", 2000, &g);
		if (g.ok && strcmp(g.text, "imok") == 0)
			break;
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = 0;
			f->out = read_all(log);
			fail_msg("ZooKeeper exited early:\n%s",
			    f->out != NULL ? f->out : "");
		}
		if (loop_now_ms() > deadline) {
			f->out = read_all(log);
			fail_msg("ZooKeeper did not answer ruok in 60 s (%s):"
			    "\n%s", g.error != NULL ? g.error : g.text,
			    f->out != NULL ? f->out : "");
		}
		wait_ms(f, 200);
	}

	/* "imok" means running, not serving: right after start srvr may
	 * still say "not currently serving requests". */
	for (;;) {
		run_4lw(f, "127.0.0.1", o.client_port, "srvr", 5000, &g);
		assert_true(g.ok);
		assert_int_equal(be_zk_parse_srvr(g.text, &z), 0);
		if (z.mode != BE_ZK_NOT_SERVING)
			break;
		if (loop_now_ms() > deadline)
			fail_msg("ZooKeeper answers but never serves");
		wait_ms(f, 100);
	}
	assert_int_equal(z.mode, BE_ZK_STANDALONE);
	assert_true(z.nodes >= 1);
	assert_non_null(strstr(z.version, "3."));

	/* Words outside the whitelist are refused by name. */
	run_4lw(f, "127.0.0.1", o.client_port, "dump", 5000, &g);
	assert_err(&g, "add it to 4lw.commands.whitelist");

	/* ZooKeeper listens on this node's address only. */
	run_4lw(f, "127.0.0.2", o.client_port, "ruok", 2000, &g);
	assert_err(&g, "Connection refused");
	got_free(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_srvr_parse),
		T(test_4lw_closed_port),
		T(test_4lw_timeout),
		T(test_4lw_bad_args),
		T(test_4lw_fake_server),
		T(test_4lw_cancel),
		T(test_4lw_live_zookeeper),
#undef T
	};

	/* A peer closing early must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
