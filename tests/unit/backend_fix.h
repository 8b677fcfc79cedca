/* Fixture and helpers shared by the services/backend.c tests
 * (tests/unit/test_backend_prepare.c, test_backend_zk.c,
 * test_backend_4lw.c and test_backend_render.c). Header-only: include it
 * after lib/fmacros.h, as each of them does.
 *
 * It holds the per-test fixture (struct fx, setup(), teardown(), which
 * undoes whatever a test left behind), the file, argv and socket helpers
 * more than one of them uses (make_dir(), read_all(), write_file(),
 * assert_argv(), free_port(), listener()) and the member sets they
 * render (three, five, six; SET()). */
#ifndef ZOOINIT_TESTS_BACKEND_FIX_H
#define ZOOINIT_TESTS_BACKEND_FIX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "services/backend.h"
#include "lib/loop.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* ---- fixture ------------------------------------------------------- */

/* Everything one test may leave behind; the teardown undoes it all, so a
 * failed assertion leaks no process, socket, file or memory. */
struct fx {
	char dir[64];		/* a mkdtemp dir, or "" */
	pid_t pid;		/* a child to kill, or 0 */
	int fds[4];		/* sockets to close, or -1 */
	struct loop *l;
	char err[1024];
	char *s1, *s2;		/* rendered texts */
	char **argv;
	char *out;		/* captured program output */
};

static inline int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	for (size_t i = 0; i < sizeof(f->fds) / sizeof(f->fds[0]); i++)
		f->fds[i] = -1;
	f->l = loop_new();
	*state = f;
	return 0;
}

static inline int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static inline void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Stops a child: SIGTERM, up to 10 s, then SIGKILL. */
static inline void
stop_child(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			return;
		pause_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static inline int
teardown(void **state)
{
	struct fx *f = *state;

	stop_child(f->pid);
	for (size_t i = 0; i < sizeof(f->fds) / sizeof(f->fds[0]); i++) {
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	}
	be_4lw_cancel_all(f->l);
	loop_free(f->l);
	if (f->dir[0] != '\0')
		nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->s1);
	free(f->s2);
	strv_free(f->argv);
	free(f->out);
	free(f);
	return 0;
}

static inline void
make_dir(struct fx *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/zooinit-backend-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
}

static inline char *
read_all(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	buf[fread(buf, 1, (size_t)n, fp)] = '\0';
	fclose(fp);
	return buf;
}

static inline void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Compares argv with the NULL-terminated list of expected elements. */
static inline void
assert_argv(char **argv, ...)
{
	va_list ap;
	size_t i = 0;
	const char *want;

	assert_non_null(argv);
	va_start(ap, argv);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want);
		i++;
	}
	va_end(ap);
	assert_null(argv[i]);
}

/* A TCP port on addr that was free a moment ago. */
static inline int
free_port(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A listening socket on 127.0.0.1 that never accepts; *port is set. */
static inline int
listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ---- sets ------------------------------------------------------------ */

static const struct be_member three[] = {
	{ 1, "10.0.0.1", false },
	{ 2, "10.0.0.2", false },
	{ 3, "10.0.0.3", false },
};

/* Sealed order is kept, not sorted by id. */
static const struct be_member five[] = {
	{ 3, "10.0.0.3", false },
	{ 1, "10.0.0.1", false },
	{ 2, "10.0.0.2", false },
	{ 7, "10.0.0.7", true },
	{ 5, "10.0.0.5", true },
};

static const struct be_member six[] = {
	{ 1, "2001:DB8:0:0::1", false },
	{ 2, "2001:db8::2", false },
	{ 3, "10.0.0.3", false },
};

#define SET(arr, self) \
	((struct be_set){ arr, sizeof(arr) / sizeof(arr[0]), self })

#endif
