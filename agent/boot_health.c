#include "lib/fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/boot_int.h"
#include "config/cfg.h"
#include "etcd/diag.h"
#include "etcd/http.h"
#include "lib/loop.h"
#include "lib/sup.h"
#include "lib/xmalloc.h"

/* The bootstrap's health checks of its etcd (agent/boot_int.h): each
 * result is posted to the machine as EV_HEALTHY or EV_UNHEALTHY. */

#define STARTING_CHECK_MS 1000	/* health checks while not yet healthy */
#define FIRST_CHECK_MS 100	/* the first check after etcd started */

static void schedule_health(struct boot *b, int ms);

static void
on_check(void *arg, const struct etcd_check_result *r)
{
	struct boot *b = arg;

	b->check_id = 0;
	b->check = *r;
	boot_post(b, r->healthy ? EV_HEALTHY : EV_UNHEALTHY);
}

static void
on_proxy_health(void *arg, const struct etcd_http_result *r)
{
	struct boot *b = arg;
	struct etcd_check_result res;
	bool healthy = false;
	char err[128] = "";

	b->proxy_req = 0;
	if (!b->running_proxy && !b->plan.learner) {
		/* Promoted while this check ran: the full check says more. */
		schedule_health(b, STARTING_CHECK_MS);
		return;
	}
	memset(&res, 0, sizeof(res));
	if (r->status != 200 ||
	    etcd_parse_health(r->body, r->len, &healthy, err, sizeof(err)) < 0)
		snprintf(res.error, sizeof(res.error), "GET %s/health: %s",
		    plan_me(&b->plan)->client_url, r->error ? r->error :
		    err[0] ? err : "not healthy");
	else if (!healthy)
		snprintf(res.error, sizeof(res.error), "the proxy reports no "
		    "healthy endpoint");
	res.healthy = healthy;
	on_check(b, &res);
}

static void
on_health_timer(struct loop *l, void *arg)
{
	struct boot *b = arg;

	(void)l;
	b->health_timer = 0;
	if (sup_state(b->sup) != SUP_RUNNING)
		return;
	if (b->plan.learner)
		grow_try_promote(b);
	if (b->running_proxy || b->plan.learner) {
		/* etcd 3.4's grpc-proxy answers /health but not the JSON
		 * gateway that the full check uses; a learner refuses the
		 * member list. */
		char *url = xasprintf("%s/health", plan_me(&b->plan)->client_url);
		b->proxy_req = etcd_http_get(b->x->http, url, HEALTH_TIMEOUT_MS,
		    on_proxy_health, b);
		free(url);
		return;
	}
	b->check_id = etcd_check(b->x->http, plan_me(&b->plan)->client_url,
	    HEALTH_TIMEOUT_MS, b->check_lazy, on_check, b);
}

/* The check every health_interval may come up to a twentieth early or
 * late, and read its answers up to 20 ms late, to share wakeups with the
 * services' lease renewals; the quick checks of a starting etcd come on
 * time. */
static void
schedule_health(struct boot *b, int ms)
{
	loop_cancel(b->x->loop, b->health_timer);
	b->check_lazy = ms == b->c->health_interval * 1000;
	b->health_timer = b->check_lazy ?
	    loop_timer_slack(b->x->loop, ms, on_health_timer, b) :
	    loop_timer(b->x->loop, ms, on_health_timer, b);
}

void
boot_health_stop(struct boot *b)
{
	loop_cancel(b->x->loop, b->health_timer);
	b->health_timer = 0;
	if (b->check_id != 0)
		etcd_check_cancel(b->x->http, b->check_id);
	b->check_id = 0;
	if (b->proxy_req != 0)
		etcd_http_cancel(b->x->http, b->proxy_req);
	b->proxy_req = 0;
}

/* The next check: health_interval once etcd is a healthy voter; before
 * that (and while a learner waits for its promotion, which each check
 * asks for) soon, and sooner the younger etcd is: half its age, from
 * FIRST_CHECK_MS up to STARTING_CHECK_MS, so a restarted etcd is seen
 * healthy within a tenth of a second or so, and one that takes long is
 * asked once a second. */
void
boot_health_next(struct boot *b, bool healthy)
{
	int ms = b->c->health_interval * 1000;
	int64_t soon = sup_ran_ms(b->sup) / 2;

	if (soon < FIRST_CHECK_MS)
		soon = FIRST_CHECK_MS;
	if (soon > STARTING_CHECK_MS)
		soon = STARTING_CHECK_MS;
	schedule_health(b, (healthy && !b->plan.learner) || ms < soon ? ms :
	    (int)soon);
}

void
boot_health_first(struct boot *b)
{
	schedule_health(b, FIRST_CHECK_MS);
}
