/* A main() for the fuzz harnesses without libFuzzer (c-ares'
 * test/ares-fuzz.c does the same), so gcc builds them and CI replays the
 * committed corpus on every run:
 *
 *   replay_NAME FILE|DIR...
 *
 * feeds every regular file given, and every regular file directly in each
 * DIR (sorted by name, dot files skipped), to LLVMFuzzerTestOneInput()
 * once, then prints "fuzz NAME: N inputs replayed". A harness that finds
 * a bug aborts, so the exit status is what CI checks. Exits 1 when an
 * argument cannot be read or nothing was replayed. NAME is FUZZ_NAME if
 * defined, else the program's name without "replay_". */
#include "lib/fmacros.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Present when built with -fsanitize=address (or undefined): called
 * before a sanitizer ends the process. */
extern void __sanitizer_set_death_callback(void (*cb)(void))
	__attribute__((weak));

/* The input being run, named when the harness dies on it. */
static const char *current;

static void
say_current(void)
{
	if (current == NULL)
		return;
	/* Only async-signal-safe calls: this runs from a signal handler. */
	(void)!write(2, "replay: died on ", 16);
	(void)!write(2, current, strlen(current));
	(void)!write(2, "\n", 1);
}

static void
on_abort(int sig)
{
	say_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The corpus is small by policy; this only keeps a stray big file from
 * being slurped. */
#define REPLAY_MAX_INPUT (16u * 1024 * 1024)

static int
replay_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf;
	size_t len;
	struct stat st;

	if (f == NULL || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if ((uintmax_t)st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: larger than %u bytes\n", path,
		    REPLAY_MAX_INPUT);
		fclose(f);
		return -1;
	}
	/* An exact-size buffer, as libFuzzer gives, so that reading past
	 * the input is caught under -fsanitize=address. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL)
		abort();
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || len != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (getenv("REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	current = path;
	LLVMFuzzerTestOneInput(buf, len);
	current = NULL;
	free(buf);
	(*count)++;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				abort();
		}
		if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) &&
		    replay_file(names[i], count) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *name;
	size_t count = 0;
	int rc = 0;

#ifdef FUZZ_NAME
	name = FUZZ_NAME;
#else
	name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strncmp(name, "replay_", 7) == 0)
		name += 7;
#endif
	/* A harness reports a broken invariant with abort(); the
	 * sanitizers have their own handlers for the rest. */
	signal(SIGABRT, on_abort);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(say_current);
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				rc = 1;
		} else if (replay_file(argv[i], &count) < 0) {
			rc = 1;
		}
	}
	printf("fuzz %s: %zu inputs replayed\n", name, count);
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		rc = 1;
	}
	return rc;
}
