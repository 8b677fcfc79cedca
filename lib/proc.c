#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

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

bool
proc_executable(const char *path)
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
		if (proc_executable(name))
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

		if (proc_executable(cand))
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
	return proc_spawn_io(argv, NULL, -1, -1);
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

/* The wait status waitpid() would give for what waitid() saw. */
static int
wait_status(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return (si->si_status & 0xff) << 8;
	case CLD_DUMPED:
		return (si->si_status & 0x7f) | 0x80;
	default:	/* CLD_KILLED */
		return si->si_status & 0x7f;
	}
}

void
proc_reap(proc_reap_cb cb, void *arg)
{
	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		/* WNOWAIT: look, but leave the zombie (and its pid) in place
		 * until cb has swept its group. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0)
			return;
		cb(arg, si.si_pid, wait_status(&si));
		if (waitpid(si.si_pid, NULL, WNOHANG) == 0)
			return;	/* cannot be: it exited; never spin on it */
	}
}

/* The child's side of proc_spawn_as(), between vfork() and execve(): it
 * shares the agent's memory and runs on its stack, with every signal
 * blocked, so it makes only system calls and writes no memory but its
 * own stack frames and errno. setgroups, setgid and setuid go straight
 * to the kernel: glibc's, in a process with threads, take the thread
 * list's lock and signal every thread to change too, in memory the child
 * shares with the agent. On failure it sends errno through ep (a pipe,
 * which also works where vfork() is a fork, as under valgrind) and exits
 * 127. */
static void __attribute__((noreturn))
child(char *const argv[], char *const envp[], int out_fd, int err_fd,
    int ep, pid_t parent, uid_t uid, gid_t gid)
{
	/* The kernel's struct sigaction: glibc's sigaction() will not touch
	 * the two signals it keeps for itself (32 and 33), which an agent
	 * started with them ignored would hand on. */
	const struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} dfl = { .handler = SIG_DFL };
	sigset_t none;
	int fd, e;

	(void)setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL,
		    sizeof(dfl.mask));
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		(void)dup2(fd, 0);
		(void)close(fd);
	}
	if (out_fd >= 0)
		(void)dup2(out_fd, 1);
	if (err_fd >= 0)
		(void)dup2(err_fd, 2);
	/* Everything else of the agent's stays behind; ep closes on exec. */
	if (ep > 3)
		(void)close_range(3, (unsigned)ep - 1, 0);
	(void)close_range((unsigned)ep + 1, ~0U, 0);
	if (uid != (uid_t)-1 && (syscall(SYS_setgroups, 1, &gid) < 0 ||
	    syscall(SYS_setgid, gid) < 0 || syscall(SYS_setuid, uid) < 0))
		goto out;
	/* etcd, services and hooks die with their agent: a restarted agent
	 * must never find an orphan holding its ports and data dir. The
	 * kernel clears this on a change of credentials, so it comes after
	 * setuid(); and an agent that died before it was set has already
	 * handed us to another parent, so look. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	execve(argv[0], argv, envp != NULL ? envp : environ);
out:
	e = errno;
	(void)write(ep, &e, sizeof(e));
	_exit(127);
}

pid_t
proc_spawn_io(char *const argv[], char *const envp[], int out_fd, int err_fd)
{
	return proc_spawn_as(argv, envp, out_fd, err_fd, (uid_t)-1, (gid_t)-1);
}

pid_t
proc_spawn_as(char *const argv[], char *const envp[], int out_fd, int err_fd,
    uid_t uid, gid_t gid)
{
	pid_t parent = getpid(), pid;
	sigset_t all, old;
	int ep[2], e = 0;
	ssize_t n;

	if (pipe2(ep, O_CLOEXEC) < 0)
		return -1;
	/* vfork(): the agent waits only until the child has called execve,
	 * without copying its page tables first (4 ms and more for etcd's
	 * start, on the way to every member's first start). No handler of
	 * the agent's may run in the child, which shares its memory. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		child(argv, envp, out_fd, err_fd, ep[1], parent, uid, gid);
	e = errno;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(ep[1]);
	if (pid < 0) {
		close(ep[0]);
		errno = e;
		return -1;
	}
	/* Both sides set the group, so signals to it cannot race ahead. */
	(void)setpgid(pid, pid);
	do {
		n = read(ep[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		(void)waitpid(pid, NULL, 0);
		errno = e;
		return -1;
	}
	return pid;
}

/* The child's side of proc_isolate(): out is its own copy. */
static void
isolated(proc_isolate_fn fn, void *arg, char *out, size_t outlen, int fd)
{
	int rc;

	out[0] = '\0';
	rc = fn(arg, out, outlen);
	(void)file_write_all(fd, out, strnlen(out, outlen - 1));
	/* _exit: neither the agent's atexit handlers nor its stdio
	 * buffers are the child's to run or flush. */
	_exit(rc == 0 ? 0 : 1);
}

int
proc_isolate(proc_isolate_fn fn, void *arg, char *out, size_t outlen)
{
	char why[64], buf[256];
	size_t got = 0;
	ssize_t n;
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		str_seterr(out, outlen, "cannot make a pipe: %s",
		    strerror(errno));
		return PROC_ISOLATE_UNRUN;
	}
	pid = fork();
	if (pid < 0) {
		str_seterr(out, outlen, "cannot fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return PROC_ISOLATE_UNRUN;
	}
	if (pid == 0) {
		close(p[0]);
		isolated(fn, arg, out, outlen, p[1]);
	}
	close(p[1]);
	/* Read to the end, keeping what fits. */
	for (;;) {
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && got + 1 < outlen; i++)
			out[got++] = buf[i];
	}
	out[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			str_seterr(out, outlen, "cannot wait for the child "
			    "process: %s", strerror(errno));
			return PROC_ISOLATE_UNRUN;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && got > 0)
		return -1;
	str_seterr(out, outlen, "the child process %s",
	    proc_status_str(st, why, sizeof(why)));
	return PROC_ISOLATE_UNRUN;
}
