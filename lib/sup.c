#include "lib/fmacros.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/sup.h"
#include "lib/xmalloc.h"

enum sup_event {
	EV_START = 0,	/* sup_start() */
	EV_EXIT,	/* the child exited */
	EV_TIMER,	/* backoff over, or stop deadline reached */
	EV_STOP,	/* sup_stop() */
	SUP_NEVENTS
};

struct sup {
	struct loop *loop;
	struct sup_opts o;
	char **argv;
	char **envp;		/* set over the agent's environment at
				   each start; NULL: none */
	uid_t uid;		/* (uid_t)-1: the agent's */
	gid_t gid;
	sup_notify_cb cb;
	void *arg;
	enum sup_state state;
	pid_t pid;
	int64_t started_at;
	int delay_ms;		/* next restart delay; 0: at once */
	uint64_t timer;
	unsigned starts;	/* since the argv was set */
	uint64_t restarts;	/* after an exit, over s's life */
	struct sup_exit last;	/* the exit being handled */
	int spawn_errno;
};

/* Each action returns the next state. */
typedef enum sup_state (*sup_action)(struct sup *s);

static void on_timer(struct loop *l, void *arg);

static int
spawn(struct sup *s)
{
	/* The agent's environment is read at each start rather than kept
	 * in a copy per child: only the entries set over it are kept. */
	char **env = s->envp != NULL ? strv_overlay(environ, s->envp) : NULL;

	s->pid = proc_spawn_as(s->argv, env, -1, -1, s->uid, s->gid);
	free(env);
	if (s->pid < 0) {
		s->spawn_errno = errno;
		log_error("cannot start %s (%s): %s", s->o.label, s->argv[0],
		    strerror(errno));
		return -1;
	}
	s->started_at = loop_now_ms();
	s->starts++;
	log_info("started %s (pid %d)", s->o.label, (int)s->pid);
	return 0;
}

static void
arm(struct sup *s, int ms)
{
	loop_cancel(s->loop, s->timer);
	s->timer = loop_timer(s->loop, ms, on_timer, s);
}

static void
disarm(struct sup *s)
{
	loop_cancel(s->loop, s->timer);
	s->timer = 0;
}

/* Kills whatever is left of the child's process group: a helper the
 * child forked must not outlive it. Runs from sup_reaped(), which the
 * owner calls while the child is still a zombie (proc_reap()), so the
 * group id cannot belong to anyone else yet; pid 0 after it, so nothing
 * signals the group once the owner has reaped the child. */
static void
sweep_group(struct sup *s)
{
	if (s->pid > 0)
		(void)kill(-s->pid, SIGKILL);
	s->pid = 0;
}

/* Waits the current delay before the next start, then makes the next
 * delay the floor (after a restart at once) or twice this one, up to the
 * ceiling. The delay carries over SUP_DONE, so an owner that stops and
 * starts its child again does not hammer with it. */
static enum sup_state
backoff(struct sup *s)
{
	arm(s, s->delay_ms);
	if (s->delay_ms == 0)
		s->delay_ms = s->o.backoff_min_ms;
	else
		s->delay_ms = s->delay_ms * 2 > s->o.backoff_max_ms ?
		    s->o.backoff_max_ms : s->delay_ms * 2;
	return SUP_BACKOFF;
}

static enum sup_state
act_start(struct sup *s)
{
	return spawn(s) == 0 ? SUP_RUNNING : SUP_IDLE;
}

/* The first exit after a stable run (or of a child never restarted
 * yet) restarts at once: a crash of a child that ran well is cured
 * fastest by starting it again. A second exit in a row waits the backoff
 * floor, and every further one twice as long. The restart goes through
 * SUP_BACKOFF even at once (a timer of 0 ms, after the owner was told):
 * an owner that stops the child when it learns of the exit cancels it. */
static enum sup_state
act_exited(struct sup *s)
{
	char how[96], when[48];
	int64_t ran = s->last.ran_ms;

	sweep_group(s);
	if (ran >= s->o.stable_ms)
		s->delay_ms = 0;
	if (s->delay_ms == 0)
		snprintf(when, sizeof(when), "at once");
	else
		snprintf(when, sizeof(when), "in %d.%d s", s->delay_ms / 1000,
		    s->delay_ms % 1000 / 100);
	log_warn("%s %s after %lld s; restarting %s", s->o.label,
	    proc_status_str(s->last.status, how, sizeof(how)),
	    (long long)ran / 1000, when);
	return backoff(s);
}

static enum sup_state
act_restart(struct sup *s)
{
	s->timer = 0;
	if (spawn(s) == 0) {
		s->restarts++;
		return SUP_RUNNING;
	}
	/* The binary may come back (a package upgrade); keep trying. */
	return backoff(s);
}

static enum sup_state
act_term(struct sup *s)
{
	log_info("stopping %s (pid %d): SIGTERM, SIGKILL in %d s", s->o.label,
	    (int)s->pid, s->o.stop_timeout_ms / 1000);
	(void)kill(-s->pid, SIGTERM);
	arm(s, s->o.stop_timeout_ms);
	return SUP_STOPPING;
}

static enum sup_state
act_kill(struct sup *s)
{
	s->timer = 0;
	log_warn("%s (pid %d) did not stop in time; sending SIGKILL",
	    s->o.label, (int)s->pid);
	(void)kill(-s->pid, SIGKILL);
	return SUP_STOPPING;
}

static enum sup_state
act_kill_now(struct sup *s)
{
	disarm(s);
	return act_kill(s);
}

static enum sup_state
act_stopped(struct sup *s)
{
	char how[96];

	disarm(s);
	sweep_group(s);
	log_info("%s %s", s->o.label,
	    proc_status_str(s->last.status, how, sizeof(how)));
	return SUP_DONE;
}

static enum sup_state
act_cancel(struct sup *s)
{
	disarm(s);
	return SUP_DONE;
}

/* [state][event]: NULL means the event changes nothing in that state. */
static const sup_action table[SUP_NSTATES][SUP_NEVENTS] = {
	[SUP_IDLE] = { [EV_START] = act_start, [EV_STOP] = act_cancel },
	[SUP_RUNNING] = { [EV_EXIT] = act_exited, [EV_STOP] = act_term },
	[SUP_BACKOFF] = { [EV_TIMER] = act_restart, [EV_STOP] = act_cancel },
	[SUP_STOPPING] = { [EV_EXIT] = act_stopped, [EV_TIMER] = act_kill,
	    [EV_STOP] = act_kill_now },
	[SUP_DONE] = { [EV_START] = act_start },
};

static void
dispatch(struct sup *s, enum sup_event ev)
{
	enum sup_state from = s->state, to;
	struct sup_exit none = { .status = -1, .starts = s->starts };

	if (table[from][ev] == NULL)
		return;
	to = table[from][ev](s);
	s->state = to;
	if (to != from && s->cb != NULL)
		s->cb(s->arg, s, from, to, ev == EV_EXIT ? &s->last : &none);
}

static void
on_timer(struct loop *l, void *arg)
{
	struct sup *s = arg;

	(void)l;
	s->timer = 0;
	dispatch(s, EV_TIMER);
}

struct sup *
sup_new(struct loop *l, const struct sup_opts *o, char *const *argv,
    sup_notify_cb cb, void *arg)
{
	struct sup *s = xcalloc(1, sizeof(*s));

	s->argv = strv_dup(argv);
	s->loop = l;
	s->o = *o;
	s->o.label = xstrdup(o->label);
	s->cb = cb;
	s->arg = arg;
	s->delay_ms = 0;	/* the first exit restarts at once */
	s->uid = (uid_t)-1;
	s->gid = (gid_t)-1;
	s->last.status = -1;
	return s;
}

void
sup_free(struct sup *s)
{
	if (s == NULL)
		return;
	disarm(s);
	strv_free(s->argv);
	strv_free(s->envp);
	free((char *)s->o.label);
	free(s);
}

static bool
same_argv(char *const *a, char *const *b)
{
	size_t i;

	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return a[i] == NULL && b[i] == NULL;
}

void
sup_set_argv(struct sup *s, const char *label, char *const *argv)
{
	if (label != NULL) {
		free((char *)s->o.label);
		s->o.label = xstrdup(label);
	}
	/* The same flags again are no fresh start: the count goes on. */
	if (same_argv(s->argv, argv))
		return;
	strv_free(s->argv);
	s->argv = strv_dup(argv);
	s->starts = 0;
}

void
sup_set_env(struct sup *s, char *const *envp)
{
	strv_free(s->envp);
	s->envp = envp != NULL ? strv_dup(envp) : NULL;
}

void
sup_set_user(struct sup *s, uid_t uid, gid_t gid)
{
	s->uid = uid;
	s->gid = gid;
}

int
sup_start(struct sup *s)
{
	dispatch(s, EV_START);
	if (s->state == SUP_IDLE || s->state == SUP_DONE) {
		errno = s->spawn_errno;
		return -1;
	}
	return 0;
}

void
sup_stop(struct sup *s)
{
	dispatch(s, EV_STOP);
}

void
sup_signal(struct sup *s, int sig)
{
	if (s->pid > 0 && (s->state == SUP_RUNNING || s->state == SUP_STOPPING))
		(void)kill(-s->pid, sig);
}

bool
sup_reaped(struct sup *s, pid_t pid, int status)
{
	if (s->pid <= 0 || pid != s->pid)
		return false;
	s->last = (struct sup_exit){ .status = status,
	    .ran_ms = loop_now_ms() - s->started_at, .starts = s->starts };
	dispatch(s, EV_EXIT);
	return true;
}

enum sup_state
sup_state(const struct sup *s)
{
	return s->state;
}

pid_t
sup_pid(const struct sup *s)
{
	return s->state == SUP_RUNNING || s->state == SUP_STOPPING ? s->pid : 0;
}

int64_t
sup_ran_ms(const struct sup *s)
{
	if (s->state != SUP_RUNNING && s->state != SUP_STOPPING)
		return -1;
	return loop_now_ms() - s->started_at;
}

uint64_t
sup_restarts(const struct sup *s)
{
	return s->restarts;
}
