#include "lib/fmacros.h"

#include "agent/boot.h"
#include "agent/boot_int.h"
#include "agent/metrics.h"
#include "lib/prom.h"
#include "lib/sup.h"

/* The metrics page of zooinit bootstrap: what the machine knows of the
 * cluster from its plan, its supervisor and its last health check, then
 * the day-2 counters and the services. Families are written in this
 * order, each once. */

static void
write_formation(struct prom *p, const struct boot *b)
{
	if (b->plan.source != NULL) {
		prom_family(p, "zooinit_cluster_formation_info", PROM_GAUGE,
		    "1, labelled with the source of the plan etcd runs with: "
		    "dns, token, static or journal (a restart).");
		prom_sample(p, (const char *[]){ "source", b->plan.source,
		    NULL }, 1);
	}
	/* Absent until then: a gauge of 0 would read as an instant start. */
	if (b->healthy_ms != 0)
		prom_one(p, "zooinit_cluster_formation_seconds", PROM_GAUGE,
		    "Seconds from the agent's start to its first healthy "
		    "check of etcd.",
		    (double)(b->healthy_ms - b->started_ms) / 1000.0);
}

static void
write_etcd(struct prom *p, const struct boot *b)
{
	const struct etcd_check_result *r = &b->check;
	bool running = b->sup != NULL && sup_state(b->sup) == SUP_RUNNING;

	prom_one(p, "zooinit_etcd_running", PROM_GAUGE,
	    "1 while the supervised etcd (or its grpc-proxy on a client "
	    "host) runs.", running);
	prom_one(p, "zooinit_etcd_restarts_total", PROM_COUNTER,
	    "Times the supervisor started etcd again after it exited.",
	    b->sup != NULL ? (double)sup_restarts(b->sup) : 0);
	prom_one(p, "zooinit_cluster_healthy", PROM_GAUGE,
	    "1 when etcd runs and the agent's last health check of it "
	    "passed.", running && r->healthy);
	/* A client host's proxy and a learner are checked through /health
	 * only, and a failed check may not have got the member list. */
	if (r->members > 0) {
		prom_one(p, "zooinit_cluster_members", PROM_GAUGE,
		    "Members of the cluster (voters and learners) at the last "
		    "health check.", (double)r->members);
		prom_one(p, "zooinit_cluster_voters", PROM_GAUGE,
		    "Voting members at the last health check.",
		    (double)r->voters);
		prom_one(p, "zooinit_cluster_learners", PROM_GAUGE,
		    "Learners at the last health check.", (double)r->learners);
	}
	prom_one(p, "zooinit_member_is_leader", PROM_GAUGE,
	    "1 when this host's etcd member was the leader at the last "
	    "health check.", running && !b->running_proxy &&
	    r->leader_id != 0 && r->leader_id == r->member_id);
}

char *
boot_metrics_page(void *arg)
{
	const struct boot *b = arg;
	struct prom p = { 0 };

	metrics_write_start(&p, b->start_unix);
	write_formation(&p, b);
	write_etcd(&p, b);
	metrics_write_day2(&p, &b->day2);
	metrics_write_services(&p, b->svcs);
	return prom_take(&p);
}
