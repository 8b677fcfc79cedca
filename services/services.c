#include "lib/fmacros.h"

#include <stdlib.h>

#include "etcd/kv.h"
#include "lib/exitcode.h"
#include "lib/log.h"
#include "services/reg_watch.h"
#include "services/service.h"
#include "services/services.h"
#include "lib/xmalloc.h"

enum svc_state { S_IDLE = 0, S_STARTING, S_RUNNING, S_STOPPING, S_OVER };

struct services {
	struct service **v;
	enum svc_state *st;
	bool *failed;		/* ended with SERVICE_FAILED */
	size_t n;
	bool stopping;
	struct etcd_kv *kv;	/* the registry watch's */
	struct reg_watch *watch;	/* one for all of them */
	int code;		/* the first failure's exit code, or 0 */
	services_done_cb cb;
	void *arg;
};

static void step(struct services *ss);

static size_t
index_of(const struct services *ss, const struct service *s)
{
	size_t i = 0;

	while (i < ss->n && ss->v[i] != s)
		i++;
	return i;
}

static void
on_service(void *arg, struct service *s, enum service_event ev,
    const char *why)
{
	struct services *ss = arg;
	size_t i = index_of(ss, s);

	switch (ev) {
	case SERVICE_RUNNING:
		ss->st[i] = S_RUNNING;
		break;
	case SERVICE_FAILED:
		ss->st[i] = S_OVER;
		ss->failed[i] = true;
		if (ss->code == 0)
			ss->code = service_exit_code(s);
		if (!ss->stopping && i + 1 < ss->n && ss->st[i + 1] == S_IDLE)
			log_warn("services after %s are not started: %s "
			    "failed (%s)", service_name(s), service_name(s),
			    why);
		/* Those after a failed one never start. */
		for (size_t j = i + 1; j < ss->n; j++) {
			if (ss->st[j] == S_IDLE)
				ss->st[j] = S_OVER;
		}
		break;
	case SERVICE_STOPPED:
		ss->st[i] = S_OVER;
		break;
	}
	step(ss);
}

/* Starts the next idle service once the one before runs; while stopping,
 * stops the last one still up; reports when nothing is left. */
static void
step(struct services *ss)
{
	if (ss->stopping) {
		for (size_t i = ss->n; i-- > 0;) {
			if (ss->st[i] == S_STOPPING)
				return;
			if (ss->st[i] == S_STARTING || ss->st[i] == S_RUNNING) {
				ss->st[i] = S_STOPPING;
				service_stop(ss->v[i]);
				return;
			}
		}
	} else {
		for (size_t i = 0; i < ss->n; i++) {
			if (ss->st[i] == S_STARTING)
				return;
			if (ss->st[i] == S_IDLE) {
				ss->st[i] = S_STARTING;
				service_start(ss->v[i]);
				return;
			}
		}
		for (size_t i = 0; i < ss->n; i++) {
			if (ss->st[i] != S_OVER)
				return;
		}
	}
	if (ss->cb != NULL) {
		services_done_cb cb = ss->cb;
		ss->cb = NULL;
		cb(ss->arg, ss->code);
	}
}

struct services *
services_new(struct loop *l, struct etcd_http *h,
    const struct svc_cfg *const *cfgs, size_t n, const char *ip,
    const char *name, char *const *endpoints, size_t n_endpoints,
    services_done_cb cb, void *arg)
{
	struct services *ss = xcalloc(1, sizeof(*ss));

	ss->n = n;
	ss->v = xcalloc(n, sizeof(*ss->v));
	ss->st = xcalloc(n, sizeof(*ss->st));
	ss->failed = xcalloc(n, sizeof(*ss->failed));
	ss->cb = cb;
	ss->arg = arg;
	ss->kv = etcd_kv_new(h, endpoints, n_endpoints);
	ss->watch = reg_watch_new(l, ss->kv);
	for (size_t i = 0; i < n; i++) {
		struct service_opts o = { .cfg = cfgs[i], .ip = ip,
		    .name = name, .endpoints = endpoints,
		    .n_endpoints = n_endpoints, .watch = ss->watch,
		    .keep_kv = ss->kv };
		ss->v[i] = service_new(l, h, &o, on_service, ss);
	}
	return ss;
}

void
services_set_tls(struct services *ss, const char *ca_file,
    const char *cert_file, const char *key_file)
{
	for (size_t i = 0; i < ss->n; i++)
		service_set_tls(ss->v[i], ca_file, cert_file, key_file);
}

void
services_free(struct services *ss)
{
	if (ss == NULL)
		return;
	for (size_t i = 0; i < ss->n; i++)
		service_free(ss->v[i]);
	reg_watch_free(ss->watch);
	etcd_kv_free(ss->kv);
	free(ss->v);
	free(ss->st);
	free(ss->failed);
	free(ss);
}

void
services_start(struct services *ss)
{
	step(ss);
}

void
services_stop(struct services *ss)
{
	if (ss->stopping) {
		for (size_t i = 0; i < ss->n; i++) {
			if (ss->st[i] == S_STOPPING)
				service_stop(ss->v[i]);
		}
		return;
	}
	ss->stopping = true;
	for (size_t i = 0; i < ss->n; i++) {
		if (ss->st[i] == S_IDLE)
			ss->st[i] = S_OVER;
	}
	step(ss);
}

bool
services_active(const struct services *ss)
{
	for (size_t i = 0; ss != NULL && i < ss->n; i++) {
		if (ss->st[i] != S_IDLE && ss->st[i] != S_OVER)
			return true;
	}
	return false;
}

bool
services_reaped(struct services *ss, pid_t pid, int status)
{
	for (size_t i = 0; ss != NULL && i < ss->n; i++) {
		if (service_reaped(ss->v[i], pid, status))
			return true;
	}
	return false;
}

const char *const services_states[] = {
	"waiting", "starting", "running", "stopping", "stopped", "failed",
	NULL
};

size_t
services_count(const struct services *ss)
{
	return ss != NULL ? ss->n : 0;
}

void
services_info(const struct services *ss, size_t i, struct service_info *out)
{
	service_info(ss->v[i], out);
	switch (ss->st[i]) {
	case S_IDLE:
		out->state = services_states[0];
		break;
	case S_STARTING:
		out->state = services_states[1];
		break;
	case S_RUNNING:
		out->state = services_states[2];
		break;
	case S_STOPPING:
		out->state = services_states[3];
		break;
	case S_OVER:
		out->state = services_states[ss->failed[i] ? 5 : 4];
		break;
	}
}
