#include "agent/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/proc.h"
#include "agent/xmalloc.h"

extern char **environ;

static const int handled[] = {
	SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
};

int
proc_signals_init(char *err, size_t errlen)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		sigaddset(&set, handled[i]);
		/* An ignored signal is dropped before it can queue, and a
		 * shell starts background jobs with SIGINT ignored: restore
		 * the default so the blocked signal reaches the signalfd. */
		signal(handled[i], SIG_DFL);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
		return -1;
	}
	/* A peer closing a socket must show up as an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
	return fd;
}

void
proc_become_subreaper(void)
{
	if (getpid() != 1)
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

static bool
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

char *
proc_find_binary(const char *name, char *err, size_t errlen)
{
	const char *path, *p;

	if (name[0] == '\0') {
		snprintf(err, errlen, "the etcd binary setting is empty");
		return NULL;
	}
	if (strchr(name, '/') != NULL) {
		if (executable(name))
			return xstrdup(name);
		snprintf(err, errlen, "%s is not an executable file; install "
		    "etcd or point --etcd at it", name);
		return NULL;
	}
	path = getenv("PATH");
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0';) {
		size_t len = strcspn(p, ":");
		char *cand = len ? xasprintf("%.*s/%s", (int)len, p, name) :
		    xasprintf("./%s", name);

		if (executable(cand))
			return cand;
		free(cand);
		p += len;
		if (*p == ':')
			p++;
	}
	snprintf(err, errlen, "%s not found in PATH (%s); install etcd "
	    "(Debian: apt-get install etcd-server) or point --etcd at it",
	    name, path);
	return NULL;
}

pid_t
proc_spawn(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	pid_t pid = -1;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	/* Descriptors of c-ares, libcurl and the signalfd stay ours. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pid;
}

const char *
proc_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "changed state (0x%x)", (unsigned)status);
	return buf;
}
