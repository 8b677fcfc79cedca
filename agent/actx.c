#include "lib/fmacros.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/actx.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "services/hooks.h"

/* Runs while pid is still a zombie (see proc_reap()), so its owner may
 * still kill the process group it led. */
static void
on_exited(void *arg, pid_t pid, int status)
{
	struct actx *x = arg;

	if (x->reaped != NULL && x->reaped(x->arg, pid, status))
		return;
	if (hook_reaped(pid, status))
		return;
	log_debug("reaped orphan pid %d", (int)pid);
}

void
actx_reap(struct actx *x)
{
	proc_reap(on_exited, x);
}

static void
on_signal(struct loop *l, int fd, int events, void *arg)
{
	struct actx *x = arg;
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		switch (sig) {
		case SIGCHLD:
			actx_reap(x);
			break;
		case SIGTERM:
		case SIGINT:
			x->stop(x->arg, sig);
			break;
		default:
			if (x->other != NULL)
				x->other(x->arg, sig);
			break;
		}
	}
}

int
actx_open(struct actx *x, const struct cfg *c, bool subreaper)
{
	char err[256];

	*x = (struct actx){ .c = c, .sigfd = -1 };
	log_set_level(c->log_level);
	x->sigfd = proc_signals_init(err, sizeof(err));
	if (x->sigfd < 0) {
		log_error("%s", err);
		return EXIT_INTERNAL;
	}
	/* Signals are blocked first so that any thread libcurl starts (its
	 * threaded resolver) inherits the mask and never takes them. */
	etcd_http_global_init();
	if (subreaper)
		proc_become_subreaper();
	x->loop = loop_new();
	x->http = etcd_http_new(x->loop);
	/* Certificates made from ca_file replace these once planned. */
	etcd_http_set_tls(x->http, c->trusted_ca_file ? c->trusted_ca_file :
	    c->ca_file,
	    c->client_cert_auth == CFG_ON ? c->cert_file : NULL,
	    c->client_cert_auth == CFG_ON ? c->key_file : NULL);
	loop_watch(x->loop, x->sigfd, LOOP_READ, on_signal, x);
	return 0;
}

int
actx_run(struct actx *x)
{
	loop_run(x->loop);
	return x->exit_code;
}

void
actx_finish(struct actx *x, int code)
{
	x->exit_code = code;
	loop_stop(x->loop, code);
}

void
actx_close(struct actx *x)
{
	x->reaped = NULL;
	hook_cancel_all();
	actx_reap(x);
	etcd_http_free(x->http);
	loop_free(x->loop);
	close(x->sigfd);
	curl_global_cleanup();
}
