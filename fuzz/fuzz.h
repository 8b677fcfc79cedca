/* Helpers shared by the fuzz harnesses (fuzz/fuzz_*.c). Header-only, so
 * each harness stays one file that builds both as a libFuzzer target
 * (clang) and with fuzz/replay.c (gcc).
 *
 * Files: every harness that needs one writes only inside a private
 * directory made once per process with mkdtemp() under $TMPDIR (default
 * /tmp) and removed at exit; inputs go to mkstemp() files there that are
 * unlinked after each run. */
#ifndef ZOOINIT_FUZZ_H
#define ZOOINIT_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Short enough that every path made from it fits in FUZZ_PATH. */
#define FUZZ_DIR_MAX 256
#define FUZZ_PATH 512
static char fuzz_dir_path[FUZZ_DIR_MAX];
static pid_t fuzz_dir_pid;

static inline int
fuzz_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static inline void
fuzz_dir_cleanup(void)
{
	/* A forked child (none today) must not remove its parent's dir. */
	if (fuzz_dir_path[0] != '\0' && getpid() == fuzz_dir_pid)
		(void)nftw(fuzz_dir_path, fuzz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A harness found a broken invariant (and said which on stderr): remove
 * the private directory and crash, so libFuzzer keeps the input and the
 * replay fails. */
static inline void __attribute__((noreturn))
fuzz_fail(void)
{
	fuzz_dir_cleanup();
	abort();
}

#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n",\
			    __FILE__, __LINE__, #cond);			\
			fuzz_fail();					\
		}							\
	} while (0)

/* The process's private directory, made on first use. */
static inline const char *
fuzz_dir(void)
{
	const char *tmp;

	if (fuzz_dir_path[0] != '\0')
		return fuzz_dir_path;
	tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 200)
		tmp = "/tmp";
	snprintf(fuzz_dir_path, sizeof(fuzz_dir_path),
	    "%s/zooinit-fuzz-XXXXXX", tmp);
	if (mkdtemp(fuzz_dir_path) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	fuzz_dir_pid = getpid();
	atexit(fuzz_dir_cleanup);
	return fuzz_dir_path;
}

static inline void
fuzz_write_fd(int fd, const char *path, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "fuzz: write %s: %s\n", path,
			    strerror(errno));
			abort();
		}
		p += n;
		size -= (size_t)n;
	}
}

/* Writes data to path (inside fuzz_dir()), replacing it. */
static inline void
fuzz_write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		fprintf(stderr, "fuzz: open %s: %s\n", path, strerror(errno));
		abort();
	}
	fuzz_write_fd(fd, path, data, size);
	close(fd);
}

/* Writes data to a new mkstemp() file named prefix-XXXXXX in fuzz_dir();
 * path (size FUZZ_PATH) receives its name. Unlink it when done. */
static inline void
fuzz_temp_file(const char *prefix, const void *data, size_t size,
    char *path)
{
	int fd;

	snprintf(path, FUZZ_PATH, "%s/%s-XXXXXX", fuzz_dir(), prefix);
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "fuzz: mkstemp %s: %s\n", path,
		    strerror(errno));
		abort();
	}
	fuzz_write_fd(fd, path, data, size);
	close(fd);
}

/* A subdirectory of fuzz_dir(), made on first use; path gets FUZZ_PATH. */
static inline void
fuzz_subdir(const char *name, char *path)
{
	snprintf(path, FUZZ_PATH, "%s/%s", fuzz_dir(), name);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "fuzz: mkdir %s: %s\n", path, strerror(errno));
		abort();
	}
}

/* One-time process setup every harness wants: a fixed jansson hash seed
 * (jansson otherwise seeds from /dev/urandom, so runs would differ). */
static inline void
fuzz_init_common(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	json_object_seed(0x5eed);
}

/* A NUL-terminated copy of data; free with free(). */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An exact-size copy (no NUL after it), so a parser that reads past len
 * trips AddressSanitizer; free with free(). */
static inline char *
fuzz_memdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size > 0 ? size : 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	return s;
}

/* An error buffer pre-filled with junk: a parser that fails must leave
 * a terminated, non-empty sentence in it. */
#define FUZZ_ERRLEN 256
static inline void
fuzz_err_reset(char *err)
{
	memset(err, 'X', FUZZ_ERRLEN);
}

static inline void
fuzz_err_check(const char *err)
{
	FUZZ_CHECK(memchr(err, '\0', FUZZ_ERRLEN) != NULL);
	FUZZ_CHECK(err[0] != '\0');
}

#endif
