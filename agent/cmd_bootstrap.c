#include "lib/fmacros.h"

#include "agent/actx.h"
#include "agent/boot.h"
#include "agent/cmd.h"
#include "agent/metrics.h"

/* bootstrap and plan run the same machine (agent/boot.c); plan stops it
 * once the plan is settled, so it resolves exactly as bootstrap would. */
static int
run_machine(const struct cfg *c, bool plan_only)
{
	struct actx x;
	struct boot *b;
	struct httpd *m = NULL;
	int code = actx_open(&x, c, !plan_only);

	if (code != 0)
		return code;
	b = boot_new(&x, plan_only);
	if (!plan_only)
		code = metrics_serve(&x, boot_metrics_page, b, &m);
	if (code == 0) {
		boot_start(b);
		code = actx_run(&x);
	}
	httpd_free(m);
	boot_free(b);
	actx_close(&x);
	return code;
}

int
cmd_bootstrap(const struct cfg *c)
{
	return run_machine(c, false);
}

int
cmd_plan(const struct cfg *c)
{
	return run_machine(c, true);
}
