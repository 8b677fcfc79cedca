/* services/backend.c: the member set check, the table of backends and
 * backend_prepare(), which makes a service's data dir, refuses the links
 * the service's user can plant there and hands that user copies of etcd's
 * TLS files (backend_tls_copies(), backend_tls_sync()). The fixture, the
 * helpers and the member sets are in backend_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "services/backend.h"
#include "lib/exitcode.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "tests/unit/backend_fix.h"

/* ---- sets ------------------------------------------------------------ */

static void
check_bad_set(const struct be_member *m, size_t n, unsigned self,
    const char *needle)
{
	struct be_set s = { m, n, self };
	char err[512] = "";

	assert_int_equal(be_set_check(&s, err, sizeof(err)), -1);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	/* Hostile text reaches messages only quoted. */
	assert_null(strchr(err, '\n'));
}

static void
test_set_check(void **state)
{
	char err[512];
	struct be_set ok3 = SET(three, 2), ok6 = SET(six, 1);

	(void)state;
	assert_int_equal(be_set_check(&ok3, err, sizeof(err)), 0);
	assert_int_equal(be_set_check(&ok6, err, sizeof(err)), 0);
	check_bad_set(NULL, 0, 1, "empty");
	check_bad_set(three, 3, 9, "id 9 is not in the member set");

	struct be_member m[3];

	memcpy(m, three, sizeof(m));
	m[1].id = 0;
	check_bad_set(m, 3, 1, "out of range");
	m[1].id = 256;
	check_bad_set(m, 3, 1, "out of range");
	m[1].id = 1;
	check_bad_set(m, 3, 1, "appears twice");
	m[1].id = 2;
	m[1].ip = "10.0.0.1";
	check_bad_set(m, 3, 1, "share the address 10.0.0.1");
	m[1].ip = "h2.zl.test";
	check_bad_set(m, 3, 1, "not an IPv4 or IPv6 literal");
	m[1].ip = "10.0.0.2\nserver.9=6.6.6.6:1:2";
	check_bad_set(m, 3, 1, "\\x0a");
	m[1].ip = "10.0.0.2 ";
	check_bad_set(m, 3, 1, "not an IPv4 or IPv6 literal");
	m[1].ip = "fe80::1%eth0";
	check_bad_set(m, 3, 1, "not an IPv4 or IPv6 literal");
	m[1].ip = "fe80::1";
	check_bad_set(m, 3, 1, "link-local");
	m[1].ip = "::ffff:10.0.0.2";
	check_bad_set(m, 3, 1, "IPv4-mapped");
	m[1].ip = "0.0.0.0";
	check_bad_set(m, 3, 1, "not a unicast");
	m[1].ip = "::";
	check_bad_set(m, 3, 1, "not a unicast");
	m[1].ip = "239.1.1.1";
	check_bad_set(m, 3, 1, "not a unicast");
	m[1].ip = NULL;
	check_bad_set(m, 3, 1, "no address");
	memcpy(m, three, sizeof(m));
	m[0].standby = m[1].standby = m[2].standby = true;
	check_bad_set(m, 3, 1, "only standbys");
}

/* ---- backends -------------------------------------------------------- */

/* Every backend config knows has its operations under the same name,
 * and custom runs OnStart, or nothing without one. */
static void
test_backend_table(void **state)
{
	struct be_member m[1] = { { .id = 1, .ip = "10.0.0.1" } };
	struct be_set set = { .m = m, .n = 1, .self_id = 1 };
	char *start[] = { (char *)"/bin/true", (char *)"-x", NULL };
	struct svc_cfg c = { .name = (char *)"c", .backend = SVC_CUSTOM,
	    .size = 1 };
	struct be_env e = { .cfg = &c, .set = &set, .uid = (uid_t)-1 };
	struct fx *f = *state;
	struct stat st;
	char err[256] = "", **argv = (char **)&argv;
	int code = 0, rc;
	mode_t mask;

	for (int b = 0; b < SVC_NBACKENDS; b++) {
		const struct backend_ops *ops =
		    backend_of((enum svc_backend)b);

		assert_string_equal(ops->name,
		    svc_backend_name((enum svc_backend)b));
		assert_non_null(ops->prepare);
	}
	assert_int_equal(backend_prepare(&e, false, &argv, &code, err,
	    sizeof(err)), 0);
	assert_null(argv);
	c.hooks[HOOK_START] = start;
	assert_int_equal(backend_prepare(&e, true, &argv, &code, err,
	    sizeof(err)), 0);
	assert_non_null(argv);
	assert_string_equal(argv[0], "/bin/true");
	assert_string_equal(argv[1], "-x");
	assert_null(argv[2]);
	strv_free(argv);
	/* etcd has no standbys: a standby runs nothing, before any check
	 * of its data dir or program. */
	c.hooks[HOOK_START] = NULL;
	c.backend = SVC_ETCD;
	c.bin = (char *)"/nonexistent/etcd";
	make_dir(f);
	f->s1 = xasprintf("%s/a/etcd", f->dir);
	c.data_dir = f->s1;
	argv = (char **)&argv;
	assert_int_equal(backend_prepare(&e, true, &argv, &code, err,
	    sizeof(err)), 0);
	assert_null(argv);
	mask = umask(022);
	rc = backend_prepare(&e, false, &argv, &code, err, sizeof(err));
	umask(mask);
	assert_int_equal(rc, -1);
	assert_int_equal(code, EXIT_NOTFOUND);
	assert_non_null(strstr(err, "etcd-server"));
	/* The data dir came first: 0700, its new parent 0755. */
	assert_int_equal(stat(f->s1, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	*strrchr(f->s1, '/') = '\0';
	assert_int_equal(stat(f->s1, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

/* ---- a data dir in the service user's hands -------------------------- */

/* Asserts that path is root's and still holds text. */
static void
assert_root_file(const char *path, const char *text)
{
	struct stat st;
	char *got = read_all(path);

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_non_null(got);
	assert_string_equal(got, text);
	free(got);
}

/* The data dir belongs to the service's user, who can plant links in it.
 * Preparing ZooKeeper as root must not read a myid that is a link (or a
 * second name) of a root-only file into a message, nor chown or overwrite
 * what a planted zoo.cfg (or zoo.cfg.tmp) points at. And a data dir under
 * a directory that user owns or can write is refused, before anything is
 * made there. */
static void
test_data_dir_links(void **state)
{
	struct fx *f = *state;
	struct be_member m[1] = { { .id = 1, .ip = "10.0.0.1" } };
	struct be_set set = { .m = m, .n = 1, .self_id = 1 };
	struct svc_cfg c = { .name = (char *)"zk", .backend = SVC_ZOOKEEPER,
	    .size = 1, .bin = (char *)"/bin/true", .user = (char *)"nobody" };
	struct be_env e = { .cfg = &c, .set = &set };
	char secret[128], target[128], data[128], path[160];
	struct passwd *pw = getpwnam("nobody");
	struct stat st;
	char **argv = NULL;
	int code = 0;

	if (geteuid() != 0 || pw == NULL)
		skip();
	e.uid = pw->pw_uid;
	e.gid = pw->pw_gid;
	make_dir(f);
	snprintf(secret, sizeof(secret), "%s/secret", f->dir);
	snprintf(target, sizeof(target), "%s/target", f->dir);
	snprintf(data, sizeof(data), "%s/srv/zk", f->dir);
	write_file(secret, "TOPSECRET\n");
	assert_int_equal(chmod(secret, 0600), 0);
	write_file(target, "KEEP\n");
	c.data_dir = data;
	/* First start: the data dir is made and handed over (without
	 * ZooKeeper's jars that is where it stops). */
	if (backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)) < 0)
		assert_non_null(strstr(f->err, "zookeeper.jar"));
	strv_free(argv);
	argv = NULL;
	assert_int_equal(stat(data, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	snprintf(path, sizeof(path), "%s/myid", data);
	assert_int_equal(unlink(path), 0);

	/* myid a link to a root-only file: refused, unread, untouched. */
	assert_int_equal(symlink(secret, path), 0);
	snprintf(path, sizeof(path), "%s/zoo.cfg", data);
	(void)unlink(path);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/zoo.cfg.tmp", data);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)), -1);
	assert_null(strstr(f->err, "TOPSECRET"));
	assert_non_null(strstr(f->err, "myid"));
	assert_root_file(secret, "TOPSECRET\n");
	assert_root_file(target, "KEEP\n");

	/* myid a second name of it: the same. */
	snprintf(path, sizeof(path), "%s/myid", data);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(link(secret, path), 0);
	assert_int_equal(backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)), -1);
	assert_null(strstr(f->err, "TOPSECRET"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_nlink, 1);

	/* Without the myid trap the links are replaced, not followed. */
	if (backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)) < 0)
		assert_non_null(strstr(f->err, "zookeeper.jar"));
	strv_free(argv);
	argv = NULL;
	assert_root_file(target, "KEEP\n");
	assert_root_file(secret, "TOPSECRET\n");
	snprintf(path, sizeof(path), "%s/zoo.cfg", data);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, pw->pw_uid);

	/* A data dir under a directory the user owns, or can write. */
	snprintf(path, sizeof(path), "%s/home", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chown(path, pw->pw_uid, pw->pw_gid), 0);
	snprintf(data, sizeof(data), "%s/home/zk", f->dir);
	assert_int_equal(backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, path));
	assert_non_null(strstr(f->err, "nobody owns"));
	assert_int_equal(access(data, F_OK), -1);
	snprintf(path, sizeof(path), "%s/pub", f->dir);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	snprintf(data, sizeof(data), "%s/pub/a/zk", f->dir);
	assert_int_equal(backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "nobody can write"));
	/* Through a link to it, too. */
	snprintf(path, sizeof(path), "%s/lnk", f->dir);
	snprintf(data, sizeof(data), "%s/home", f->dir);
	assert_int_equal(symlink(data, path), 0);
	snprintf(data, sizeof(data), "%s/lnk/zk", f->dir);
	assert_int_equal(backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "under"));
}

/* A service with a user gets copies of the etcd TLS files it can read:
 * 0600, the user's, in its data dir (a custom service's OnStart too, its
 * data dir made for them); a renewal (a newer source) is
 * copied again, an unchanged source is not, and a link planted in place
 * of a copy is replaced, not followed. */
static void
test_tls_copies(void **state)
{
	struct fx *f = *state;
	struct be_member m[1] = { { .id = 1, .ip = "10.0.0.1" } };
	struct be_set set = { .m = m, .n = 1, .self_id = 1 };
	char *start[] = { (char *)"/bin/true", NULL };
	struct svc_cfg c = { .name = (char *)"app", .backend = SVC_CUSTOM,
	    .size = 1, .user = (char *)"nobody" };
	struct be_env e = { .cfg = &c, .set = &set };
	char ca[128], crt[128], key[128], data[128], target[128];
	struct passwd *pw = getpwnam("nobody");
	struct timespec later[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	struct stat st;
	char **argv = NULL, *got, *copy;
	int code = 0, n = -1;

	if (geteuid() != 0 || pw == NULL)
		skip();
	c.hooks[HOOK_START] = start;
	e.uid = pw->pw_uid;
	e.gid = pw->pw_gid;
	make_dir(f);
	snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
	snprintf(crt, sizeof(crt), "%s/client.crt", f->dir);
	snprintf(key, sizeof(key), "%s/client.key", f->dir);
	snprintf(target, sizeof(target), "%s/target", f->dir);
	snprintf(data, sizeof(data), "%s/srv/app", f->dir);
	write_file(ca, "CA\n");
	write_file(crt, "CERT 1\n");
	write_file(key, "KEY\n");
	write_file(target, "KEEP\n");
	assert_int_equal(chmod(key, 0600), 0);
	c.data_dir = data;
	e.tls[BE_TLS_CA] = ca;
	e.tls[BE_TLS_CERT] = crt;
	e.tls[BE_TLS_KEY] = key;
	assert_true(backend_tls_copies(&e));
	assert_int_equal(backend_prepare(&e, false, &argv, &code, f->err,
	    sizeof(f->err)), 0);
	strv_free(argv);
	for (int i = 0; i < BE_TLS_N; i++) {
		static const char *const text[] = { "CA\n", "CERT 1\n",
			"KEY\n" };

		copy = backend_tls_path(&c, i);
		assert_int_equal(lstat(copy, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(st.st_uid, pw->pw_uid);
		got = read_all(copy);
		assert_string_equal(got, text[i]);
		free(got);
		free(copy);
	}
	copy = backend_tls_path(&c, BE_TLS_KEY);
	assert_non_null(strstr(copy, "/srv/app/etcd-client.key"));
	free(copy);

	/* Nothing changed: nothing copied. */
	assert_int_equal(backend_tls_sync(&e, &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n, 0);
	/* A renewal of the same size, newer: copied again. */
	write_file(crt, "CERT 2\n");
	clock_gettime(CLOCK_REALTIME, &later[1]);
	later[1].tv_sec += 5;
	assert_int_equal(utimensat(AT_FDCWD, crt, later, 0), 0);
	assert_int_equal(backend_tls_sync(&e, &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n, 1);
	copy = backend_tls_path(&c, BE_TLS_CERT);
	got = read_all(copy);
	assert_string_equal(got, "CERT 2\n");
	free(got);

	/* The user swaps its copy for a link to a root file. */
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(symlink(target, copy), 0);
	assert_int_equal(backend_tls_sync(&e, &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n, 1);
	assert_root_file(target, "KEEP\n");
	assert_int_equal(lstat(copy, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	free(copy);

	/* No user, or no program: the files themselves (hooks run as
	 * the agent). */
	c.hooks[HOOK_START] = NULL;
	assert_false(backend_tls_copies(&e));
	c.hooks[HOOK_START] = start;
	e.uid = (uid_t)-1;
	assert_false(backend_tls_copies(&e));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_set_check),
		T(test_backend_table),
		T(test_data_dir_links),
		T(test_tls_copies),
#undef T
	};

	/* A peer closing early must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
