/* agent/restore.c: whether a plan restores restore_from, the file's
 * check, the tool beside etcd, its argv and environment, the reason a
 * failure gives; lib/file.c's file_remove_tree(), which clears a failed
 * restore; the plan's output of it. */
#include "lib/fmacros.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/plan.h"
#include "agent/restore.h"
#include "lib/file.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define IC3 "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2380," \
	"h3=http://10.0.0.3:2380"

/* A temp dir per test and a static plan of three, this host h2. */
struct fx {
	char dir[64];
	struct cfg c;
	struct local_addrs self;
	struct plan p;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char msg[512];

	snprintf(f->dir, sizeof(f->dir), "/tmp/zi-restore-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->c.initial_cluster = IC3;
	f->c.size = 3;
	f->c.data_dir = "/var/lib/zooinit/etcd";
	f->c.etcd = "/usr/bin/etcd";
	f->c.client_port = 2379;
	f->c.token = "tok-2";
	f->self.v = xcalloc(1, sizeof(*f->self.v));
	f->self.v[0] = xstrdup("10.0.0.2");
	f->self.n = 1;
	f->self.how = xstrdup("--ip 10.0.0.2");
	assert_int_equal(plan_from_static(&f->c, &f->self, &f->p, msg,
	    sizeof(msg)), PLAN_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char err[256];

	assert_int_equal(file_remove_tree(f->dir, err, sizeof(err)), 0);
	plan_free(&f->p);
	local_addrs_free(&f->self);
	free(f);
	return 0;
}

/* Writes n bytes of fill (the bbolt magic at 16 when magic is set) as
 * dir/name; returns the path (free it). */
static char *
write_file(const char *dir, const char *name, size_t n, int magic)
{
	char *path = xasprintf("%s/%s", dir, name);
	unsigned char *b = xcalloc(n + 1, 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	memset(b, 'x', n);
	if (magic && n >= 20)
		memcpy(b + 16, "\xed\xda\x0c\xed", 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
	free(b);
	return path;
}

static void
assert_contains(const char *s, const char *sub)
{
	if (strstr(s, sub) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", s, sub);
}

static void
test_skip_reason(void **state)
{
	struct fx *f = *state;
	char *why;

	/* A member of a new cluster restores. */
	assert_string_equal(f->p.state, "new");
	assert_null(restore_skip_reason(&f->p));

	plan_set_existing(&f->p, "restarting");
	why = restore_skip_reason(&f->p);
	assert_non_null(why);
	assert_contains(why, "has data already (/var/lib/zooinit/etcd/member)");
	free(why);

	f->p.learner = true;
	why = restore_skip_reason(&f->p);
	assert_contains(why, "joins a running cluster");
	free(why);

	f->p.learner = false;
	f->p.proxy = true;
	why = restore_skip_reason(&f->p);
	assert_contains(why, "client (etcd grpc-proxy)");
	free(why);
	f->p.proxy = false;
}

static void
test_check_file(void **state)
{
	struct fx *f = *state;
	char err[1024], *path;
	/* The smallest sound snapshot: 4 pages of 4 KiB and the hash. */
	size_t good = 4 * 4096 + 32;

	path = xasprintf("%s/missing.db", f->dir);
	assert_int_equal(restore_check_file(path, err, sizeof(err)), -1);
	assert_contains(err, "restore_from is set to");
	assert_contains(err, "missing.db\", which cannot be read: No such file");
	assert_contains(err, "etcdctl snapshot save");
	free(path);

	assert_int_equal(restore_check_file(f->dir, err, sizeof(err)), -1);
	assert_contains(err, "is not a regular file");

	path = write_file(f->dir, "short.db", 100, 1);
	assert_int_equal(restore_check_file(path, err, sizeof(err)), -1);
	assert_contains(err, "is 100 bytes, too short");
	free(path);

	path = write_file(f->dir, "text.db", good, 0);
	assert_int_equal(restore_check_file(path, err, sizeof(err)), -1);
	assert_contains(err, "is no etcd snapshot");
	free(path);

	/* A member's member/snap/db: whole pages, no hash. */
	path = write_file(f->dir, "copied.db", 4 * 4096, 1);
	assert_int_equal(restore_check_file(path, err, sizeof(err)), -1);
	assert_contains(err, "ends in no integrity hash (16384 bytes");
	assert_contains(err, "member/snap/db");
	free(path);

	path = write_file(f->dir, "cut.db", good - 7, 1);
	assert_int_equal(restore_check_file(path, err, sizeof(err)), -1);
	assert_contains(err, "cut short");
	free(path);

	path = write_file(f->dir, "good.db", good, 1);
	assert_int_equal(restore_check_file(path, err, sizeof(err)), 0);
	/* Unreadable: only without root's override. */
	if (geteuid() != 0) {
		chmod(path, 0);
		assert_int_equal(restore_check_file(path, err, sizeof(err)), -1);
		assert_contains(err, "Permission denied");
	}
	free(path);
}

/* Makes dir/name an executable (or not) file. */
static void
tool(const char *dir, const char *name, mode_t mode)
{
	char *path = write_file(dir, name, 4, 0);

	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

static void
test_find_tool(void **state)
{
	struct fx *f = *state;
	char err[1024], *etcd = xasprintf("%s/etcd", f->dir), *got, *want;

	/* Neither: the message names the directory and both tools. */
	assert_null(restore_find_tool(etcd, err, sizeof(err)));
	assert_contains(err, f->dir);
	assert_contains(err, "etcdutl (etcd 3.5 and later) or etcdctl (3.4)");

	/* etcd 3.4: etcdctl only. */
	tool(f->dir, "etcdctl", 0755);
	got = restore_find_tool(etcd, err, sizeof(err));
	want = xasprintf("%s/etcdctl", f->dir);
	assert_string_equal(got, want);
	assert_true(restore_tool_is_etcdctl(got));
	free(got);
	free(want);

	/* An etcdutl that cannot run is passed over. */
	tool(f->dir, "etcdutl", 0644);
	got = restore_find_tool(etcd, err, sizeof(err));
	assert_true(restore_tool_is_etcdctl(got));
	free(got);

	/* 3.5 and later: etcdutl first. */
	tool(f->dir, "etcdutl", 0755);
	got = restore_find_tool(etcd, err, sizeof(err));
	want = xasprintf("%s/etcdutl", f->dir);
	assert_string_equal(got, want);
	assert_false(restore_tool_is_etcdctl(got));
	free(got);
	free(want);
	free(etcd);

	/* etcd in /: the tools are /etcdutl, /etcdctl. */
	assert_null(restore_find_tool("/etcd-nowhere", err, sizeof(err)));
	assert_contains(err, "beside the etcd binary /etcd-nowhere");
	assert_true(restore_tool_is_etcdctl("etcdctl"));
	assert_false(restore_tool_is_etcdctl("/x/etcdctl.sh"));
}

static void
test_tmp_dir(void **state)
{
	char *t;

	(void)state;
	t = restore_tmp_dir("/var/lib/zooinit/etcd");
	assert_string_equal(t, "/var/lib/zooinit/etcd.restore");
	free(t);
	t = restore_tmp_dir("/data//");
	assert_string_equal(t, "/data.restore");
	free(t);
	t = restore_tmp_dir("rel");
	assert_string_equal(t, "rel.restore");
	free(t);
}

static void
test_argv(void **state)
{
	struct fx *f = *state;
	char **v = restore_argv("/usr/bin/etcdctl", "-odd name.db",
	    "/var/lib/zooinit/etcd.restore", &f->p);
	const char *want[] = {
		"/usr/bin/etcdctl", "snapshot", "restore",
		"--name", "h2",
		"--data-dir", "/var/lib/zooinit/etcd.restore",
		"--initial-cluster", IC3,
		"--initial-cluster-token", "http://127.0.0.1:2378/tok-2",
		"--initial-advertise-peer-urls", "http://10.0.0.2:2380",
		/* A file name that looks like a flag is none. */
		"--", "-odd name.db", NULL,
	};
	size_t i;

	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(v[i]);
		assert_string_equal(v[i], want[i]);
	}
	assert_null(v[i]);
	strv_free(v);
}

static void
test_env(void **state)
{
	char *base[] = { "PATH=/bin", "ETCDCTL_API=2", "HOME=/root",
		"ETCDCTL_API=", NULL };
	char **e;

	(void)state;
	e = restore_env(base);
	assert_int_equal(strv_len(e), 3);
	assert_string_equal(e[0], "PATH=/bin");
	assert_string_equal(e[1], "HOME=/root");
	assert_string_equal(e[2], "ETCDCTL_API=3");
	strv_free(e);
	e = restore_env(NULL);
	assert_int_equal(strv_len(e), 1);
	strv_free(e);
}

static void
test_reason(void **state)
{
	/* etcd 3.4's etcdctl: zap JSON lines, then cobra's error line. */
	static const char out34[] =
	    "{\"level\":\"info\",\"msg\":\"restoring snapshot\"}\n"
	    "Error: expected sha256 [24 55], got [25 244]\n";
	/* 3.5+: the error, then more log lines. */
	static const char out37[] =
	    "2026-12-04T18:32:11Z\tinfo\trestoring snapshot\n"
	    "Error: data-dir \"/d\" not empty or could not be read\n"
	    "2026-12-04T18:32:11Z\tinfo\tsomething after\n\n";
	char big[2 * RESTORE_REASON_MAX], *r;

	(void)state;
	r = restore_reason(out34, strlen(out34));
	assert_string_equal(r, "Error: expected sha256 [24 55], got [25 244]");
	free(r);
	r = restore_reason(out37, strlen(out37));
	assert_string_equal(r, "Error: data-dir \"/d\" not empty or could not "
	    "be read");
	free(r);
	/* No error line: the last line with text. */
	r = restore_reason("panic: boom\r\n  \n", 16);
	assert_string_equal(r, "panic: boom");
	free(r);
	r = restore_reason("", 0);
	assert_string_equal(r, "");
	free(r);
	/* Control characters and broken UTF-8 do not pass. */
	r = restore_reason("Error: a\x1b[31mb\xff\n", 16);
	assert_string_equal(r, "Error: a?[31mb?");
	free(r);
	/* Bounded. */
	memset(big, 'e', sizeof(big));
	r = restore_reason(big, sizeof(big));
	assert_int_equal(strlen(r), RESTORE_REASON_MAX + 3);
	assert_string_equal(r + RESTORE_REASON_MAX, "...");
	free(r);
}

static void
test_remove_tree(void **state)
{
	struct fx *f = *state;
	char err[512], *t = xasprintf("%s/t", f->dir);
	char *deep = xasprintf("%s/a/b", t), *outside, *link;

	assert_int_equal(file_mkdirs(deep, 0700, err, sizeof(err)), 0);
	free(write_file(deep, "db", 10, 0));
	outside = write_file(f->dir, "keep", 3, 0);
	link = xasprintf("%s/a/link", t);
	assert_int_equal(symlink(f->dir, link), 0);
	assert_int_equal(file_remove_tree(t, err, sizeof(err)), 0);
	assert_int_equal(access(t, F_OK), -1);
	/* The link went, not what it points at. */
	assert_int_equal(access(outside, F_OK), 0);
	/* Nothing there is fine. */
	assert_int_equal(file_remove_tree(t, err, sizeof(err)), 0);
	free(t);
	free(deep);
	free(outside);
	free(link);
}

static void
test_plan_output(void **state)
{
	struct fx *f = *state;
	json_t *o, *a;
	json_error_t je;
	char *s, *text = NULL;
	size_t len = 0;
	FILE *out;

	assert_string_equal(f->p.etcd, "/usr/bin/etcd");
	plan_build_argv(&f->p);
	s = plan_json(&f->p);
	o = json_loads(s, 0, &je);
	free(s);
	assert_non_null(o);
	assert_true(json_is_null(json_object_get(o, "restore_from")));
	assert_int_equal(json_array_size(json_object_get(o, "restore_argv")), 0);
	json_decref(o);

	f->p.restore_from = xstrdup("/b/s.db");
	f->p.restore_reason = xstrdup("a member of a new cluster");
	f->p.restore_argv = restore_argv("/usr/bin/etcdctl", "/b/s.db",
	    "/d.restore", &f->p);
	s = plan_json(&f->p);
	o = json_loads(s, 0, &je);
	free(s);
	assert_string_equal(json_string_value(json_object_get(o,
	    "restore_from")), "/b/s.db");
	assert_string_equal(json_string_value(json_object_get(o,
	    "restore_reason")), "a member of a new cluster");
	a = json_object_get(o, "restore_argv");
	assert_int_equal(json_array_size(a), 15);
	assert_string_equal(json_string_value(json_array_get(a, 14)),
	    "/b/s.db");
	json_decref(o);

	out = open_memstream(&text, &len);
	plan_print(&f->p, out);
	fclose(out);
	assert_contains(text, "restore:     /b/s.db (a member of a new cluster)");
	assert_contains(text, "restore tool: /usr/bin/etcdctl snapshot restore");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_skip_reason, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_find_tool, setup,
		    teardown),
		cmocka_unit_test(test_tmp_dir),
		cmocka_unit_test_setup_teardown(test_argv, setup, teardown),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_reason),
		cmocka_unit_test_setup_teardown(test_remove_tree, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plan_output, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
