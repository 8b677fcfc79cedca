#include "lib/fmacros.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/metrics.h"
#include "lib/exitcode.h"
#include "lib/log.h"

int
metrics_serve(struct actx *x, httpd_page_cb page, void *arg,
    struct httpd **out)
{
	const char *addr = x->c->metrics_listen;
	char err[512];

	*out = NULL;
	if (addr == NULL || addr[0] == '\0')
		return EXIT_OK;
	*out = httpd_new(x->loop, addr, "/metrics", PROM_CTYPE, page, arg,
	    err, sizeof(err));
	if (*out == NULL) {
		int e = errno;

		log_error("metrics_listen: %s: free the port or pick another "
		    "address", err);
		return e == EADDRINUSE || e == EADDRNOTAVAIL ? EXIT_TEMPORARY :
		    EXIT_PERMANENT;
	}
	log_info("serving metrics on http://%s/metrics", addr);
	return EXIT_OK;
}

void
metrics_write_start(struct prom *p, int64_t start_unix)
{
	prom_one(p, "zooinit_start_time_seconds", PROM_GAUGE,
	    "When the agent started, in seconds since the Unix epoch.",
	    (double)start_unix);
}

void
metrics_write_day2(struct prom *p, const struct day2_stats *d)
{
	const struct snap_stats *s = &d->snap;
	const struct maint_stats *m = &d->maint;

	prom_one(p, "zooinit_snapshot_last_timestamp_seconds", PROM_GAUGE,
	    "When this agent's last good snapshot was written (Unix seconds; "
	    "0: never).", (double)s->last_unix);
	prom_one(p, "zooinit_snapshot_last_size_bytes", PROM_GAUGE,
	    "Size of this agent's last good snapshot.",
	    (double)s->last_bytes);
	prom_one(p, "zooinit_snapshot_last_revision", PROM_GAUGE,
	    "The etcd revision this agent's last good snapshot holds.",
	    (double)s->last_revision);
	prom_one(p, "zooinit_snapshot_last_duration_seconds", PROM_GAUGE,
	    "How long this agent's last good snapshot took.",
	    s->last_seconds);
	prom_one(p, "zooinit_snapshots_taken_total", PROM_COUNTER,
	    "Snapshots this agent wrote and checked.",
	    (double)s->taken_total);
	prom_one(p, "zooinit_snapshots_failed_total", PROM_COUNTER,
	    "Snapshot attempts of this agent that ended without a file.",
	    (double)s->failed_total);
	prom_one(p, "zooinit_snapshot_hook_failures_total", PROM_COUNTER,
	    "Runs of snapshot_hook that failed or could not start.",
	    (double)s->hook_failed_total);
	prom_one(p, "zooinit_compactions_total", PROM_COUNTER,
	    "Compactions of the keyspace this agent made.",
	    (double)m->compactions_total);
	prom_one(p, "zooinit_compact_last_revision", PROM_GAUGE,
	    "The revision this agent last compacted up to (0: never).",
	    (double)m->last_compact_revision);
	prom_one(p, "zooinit_defrags_total", PROM_COUNTER,
	    "Members this agent defragmented.", (double)m->defrags_total);
	prom_one(p, "zooinit_defrag_failures_total", PROM_COUNTER,
	    "Defragmentations of a member that failed.",
	    (double)m->defrag_failures_total);
	prom_one(p, "zooinit_nospace_alarms_total", PROM_COUNTER,
	    "NOSPACE alarms this agent saw.",
	    (double)m->nospace_alarms_total);
	prom_one(p, "zooinit_alarms_disarmed_total", PROM_COUNTER,
	    "Alarms this agent disarmed.", (double)m->alarms_disarmed_total);
}

/* One family over every service, one sample each. */
enum svc_field { F_LEADER, F_HEALTHY, F_RESTARTS };

static void
per_service(struct prom *p, const struct services *ss, const char *name,
    enum prom_type t, const char *help, enum svc_field f)
{
	struct service_info si;
	double v;

	prom_family(p, name, t, help);
	for (size_t i = 0; i < services_count(ss); i++) {
		services_info(ss, i, &si);
		v = f == F_LEADER ? si.leader : f == F_HEALTHY ? si.healthy :
		    (double)si.restarts;
		prom_sample(p, (const char *[]){ "service", si.name, NULL }, v);
	}
}

void
metrics_write_services(struct prom *p, const struct services *ss)
{
	static const char *const roles[] = { "participant", "standby", NULL };
	struct service_info si;
	size_t n = services_count(ss);

	prom_family(p, "zooinit_service_state", PROM_GAUGE,
	    "1 for the state each service is in: waiting, starting, running, "
	    "stopping, stopped or failed.");
	for (size_t i = 0; i < n; i++) {
		services_info(ss, i, &si);
		for (size_t k = 0; services_states[k] != NULL; k++)
			prom_sample(p, (const char *[]){ "service", si.name,
			    "backend", si.backend, "state", services_states[k],
			    NULL }, si.state == services_states[k]);
	}
	prom_family(p, "zooinit_service_role", PROM_GAUGE,
	    "1 for this node's role in each service: a participant (in the "
	    "sealed set) or a standby; all 0 until it has an id.");
	for (size_t i = 0; i < n; i++) {
		services_info(ss, i, &si);
		for (size_t k = 0; roles[k] != NULL; k++)
			prom_sample(p, (const char *[]){ "service", si.name,
			    "role", roles[k], NULL },
			    strcmp(si.role, roles[k]) == 0);
	}
	per_service(p, ss, "zooinit_service_leader", PROM_GAUGE,
	    "1 when this node holds the service's leader key.", F_LEADER);
	per_service(p, ss, "zooinit_service_healthy", PROM_GAUGE,
	    "1 when the service runs and its last health check passed.",
	    F_HEALTHY);
	per_service(p, ss, "zooinit_service_restarts_total", PROM_COUNTER,
	    "Times the service's process was started again after it exited.",
	    F_RESTARTS);
	prom_family(p, "zooinit_hook_failures_total", PROM_COUNTER,
	    "Runs of a service's hook that failed (exit status not 0, a "
	    "signal, a timeout, or it could not start), by event.");
	for (size_t i = 0; i < n; i++) {
		services_info(ss, i, &si);
		for (int ev = 0; ev < HOOK_NEVENTS; ev++) {
			if (si.has_hook[ev])
				prom_sample(p, (const char *[]){ "service",
				    si.name, "event", hook_event_name(ev),
				    NULL }, (double)si.hook_failures[ev]);
		}
	}
}
