/* Shared by the config/cfg.c unit tests (test_config_layers.c and
 * test_config_keys.c): argv and environment literals, and cfg_load()
 * wrapped so a test states what it expects in one call. Header-only;
 * include it after lib/fmacros.h. Both files use no_env and no_args. */
#ifndef ZOOINIT_TESTS_CONFIG_FIX_H
#define ZOOINIT_TESTS_CONFIG_FIX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"

/* argv as the agent hands it over: argv[0] is the subcommand. */
#define ARGV(...) ((char *[]){ "plan", __VA_ARGS__, NULL })
#define ENV(...) ((char *[]){ __VA_ARGS__, NULL })

static char *no_env[] = { NULL };
static char *no_args[] = { "plan", NULL };

static inline int
count(char **v)
{
	int n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

static inline int
load(struct cfg *c, char **argv, char **envp, char *err, size_t errlen)
{
	return cfg_load(c, count(argv), argv, envp, err, errlen);
}

/* Writes text to a new file under /tmp; the name goes into path. */
static inline void
write_tmp(char *path, size_t pathlen, const char *text)
{
	int fd;

	snprintf(path, pathlen, "/tmp/zooinit-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Loads with argv/envp, expects failure with exactly want in err and a
 * zeroed struct afterwards. */
static inline void
expect_error(char **argv, char **envp, const char *want)
{
	static const struct cfg zero;
	struct cfg c;
	char err[512];

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(load(&c, argv, envp, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_memory_equal(&c, &zero, sizeof(c));
	cfg_free(&c);
	cfg_free(&c);
}

static inline void
expect_ok(struct cfg *c, char **argv, char **envp)
{
	char err[512] = "";

	if (load(c, argv, envp, err, sizeof(err)) != 0)
		fail_msg("cfg_load failed: %s", err);
}

#endif /* ZOOINIT_TESTS_CONFIG_FIX_H */
