#ifndef ZOOINIT_PROC_H
#define ZOOINIT_PROC_H

#include <stdbool.h>

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* Blocks the signals the agent handles through a signalfd (SIGCHLD,
 * SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) and ignores SIGPIPE.
 * Must run before anything starts a thread (libcurl's resolver does), so
 * every thread inherits the mask. Returns the signalfd (non-blocking,
 * close-on-exec) or -1 with err set. */
int proc_signals_init(char *err, size_t errlen);

/* Makes this process the reaper of orphaned descendants even when it is
 * not PID 1, so an etcd helper that double-forks is still reaped here. */
void proc_become_subreaper(void);

/* Whether path is an executable regular file. */
bool proc_executable(const char *path);

/* Finds an executable: a name with a slash is checked as it is, any other
 * name is searched in PATH. Returns a new string (free with free()), or
 * NULL with err set. */
char *proc_find_binary(const char *name, char *err, size_t errlen);

/* Starts argv[0] (a path) as a child in its own process group with the
 * default signal mask and dispositions, stdin on /dev/null, stdout and
 * stderr shared with the agent and every other descriptor closed. The
 * child gets SIGTERM when the agent dies (PR_SET_PDEATHSIG, set after any
 * change of identity, which would clear it), so an agent killed with
 * SIGKILL takes its etcd and services along. Returns the pid, or -1 with
 * errno set (ENOENT, EACCES, ENOEXEC, ...) when it could not be exec'd. */
pid_t proc_spawn(char *const argv[]);

/* Like proc_spawn(), with envp as the environment (NULL: the agent's) and
 * stdout and stderr on out_fd and err_fd (-1: shared with the agent; the
 * same descriptor twice is fine). Both should be 3 or above; they stay the
 * caller's and are closed in the child after the dup2. Returns the pid,
 * or -1 with errno set (ENOENT, EACCES, ENOEXEC, ...). */
pid_t proc_spawn_io(char *const argv[], char *const envp[], int out_fd,
    int err_fd);

/* Like proc_spawn_io(), run as uid with gid as its only group (after the
 * descriptors are set up, before exec); uid (uid_t)-1 keeps the agent's
 * identity. */
pid_t proc_spawn_as(char *const argv[], char *const envp[], int out_fd,
    int err_fd, uid_t uid, gid_t gid);

/* Work for proc_isolate(): returns 0 or -1 and leaves a string in out
 * (its result or its error). */
typedef int (*proc_isolate_fn)(void *arg, char *out, size_t outlen);

/* Runs fn(arg, out, outlen) in a forked child and waits for it; what fn
 * left in out comes back in the caller's out. What the child allocates
 * dies with it: for work whose libraries keep caches a long-lived agent
 * would otherwise carry for good (OpenSSL's, after making certificates).
 * Blocks the caller, loop and all, until the child exits: for work of
 * milliseconds. The child is reaped here; proc_reap() never sees it.
 * Returns fn's return (0 or -1), or PROC_ISOLATE_UNRUN with out saying
 * why the child did not finish (no pipe or fork, killed): a condition to
 * retry, where fn's -1 is its own verdict. outlen must be at least 1. */
#define PROC_ISOLATE_UNRUN (-2)
int proc_isolate(proc_isolate_fn fn, void *arg, char *out, size_t outlen);

/* Told of one exited child by proc_reap(); status is its wait status. */
typedef void (*proc_reap_cb)(void *arg, pid_t pid, int status);

/* Reaps every child that has exited, without blocking, and tells cb of
 * each one first, while it is still a zombie: until it is reaped its pid,
 * and so the process group it leads, cannot be handed to anyone else, so
 * cb may still signal that group to sweep what the child left in it.
 * Nothing may signal the group after cb returns. Meant to be the
 * process's only reaper (from its SIGCHLD handling). */
void proc_reap(proc_reap_cb cb, void *arg);

/* Describes a wait status: "exited with status 1", "was killed by signal
 * 9 (Killed)". Writes into buf and returns it. */
const char *proc_status_str(int status, char *buf, size_t len);

#endif
