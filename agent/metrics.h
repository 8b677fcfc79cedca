#ifndef ZOOINIT_METRICS_H
#define ZOOINIT_METRICS_H

#include <stdint.h>

#include "agent/actx.h"
#include "agent/day2_stats.h"
#include "lib/httpd.h"
#include "lib/prom.h"
#include "services/services.h"

/* The metrics page of the long-running commands: served by lib/httpd.h
 * on the command's loop at c->metrics_listen, written with lib/prom.h.
 * Each command builds its page from what it knows (agent/boot_metrics.c
 * for bootstrap, agent/cmd_cluster.c for cluster) with the writers
 * below, which share the names and help of the families. */

/* Serves page(arg) at /metrics on x->c->metrics_listen (x, arg and the
 * page's data must outlive the server). Returns 0 with *out set (NULL
 * when metrics_listen is unset or ""), or an exit code with the reason
 * logged: EXIT_TEMPORARY when the address is in use or not (yet) this
 * host's, EXIT_PERMANENT otherwise. Free *out with httpd_free(). */
int metrics_serve(struct actx *x, httpd_page_cb page, void *arg,
    struct httpd **out);

/* zooinit_start_time_seconds: the agent's start (unix seconds). */
void metrics_write_start(struct prom *p, int64_t start_unix);
/* The day-2 families: snapshots, compactions, defrags, alarms. */
void metrics_write_day2(struct prom *p, const struct day2_stats *d);
/* The services' families (none for NULL or no services). */
void metrics_write_services(struct prom *p, const struct services *ss);

#endif
