#ifndef ZOOINIT_BOOT_H
#define ZOOINIT_BOOT_H

#include "config/cfg.h"

/* `zooinit plan`: resolves and validates exactly as bootstrap does, prints
 * the plan (JSON with c->json) and starts nothing. Returns an exit code. */
int boot_plan(const struct cfg *c);

/* `zooinit bootstrap`: plans, starts etcd, supervises it until SIGTERM or
 * SIGINT. Returns an exit code (agent/exitcode.h). */
int boot_run(const struct cfg *c);

#endif
