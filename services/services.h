#ifndef ZOOINIT_SERVICES_H
#define ZOOINIT_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/loop.h"
#include "config/svc.h"
#include "services/service.h"

/* The ordered services of one agent: each starts once the one before it
 * runs (passed OnPostStart), and they stop in reverse order. A service
 * that fails stops the start of those after it; the others keep
 * running. */

struct etcd_http;
struct services;

/* Called once every service stopped after services_stop(), or when the
 * last running one failed on its own; code is the exit code the agent
 * should use for the services (0 when all stopped on request). */
typedef void (*services_done_cb)(void *arg, int code);

/* ip is this host's address, name its etcd member name (NULL: none),
 * by which a host whose address changed keeps its id; both copied. */
struct services *services_new(struct loop *l, struct etcd_http *h,
    const struct svc_cfg *const *cfgs, size_t n, const char *ip,
    const char *name, char *const *endpoints, size_t n_endpoints,
    services_done_cb cb, void *arg);
void services_free(struct services *ss);
/* Tells every service's hooks and program the TLS files for etcd
 * (ZOOINIT_ETCD_CA_FILE, _CERT_FILE, _KEY_FILE); copied, NULL: none.
 * Call before services_start(). */
void services_set_tls(struct services *ss, const char *ca_file,
    const char *cert_file, const char *key_file);

void services_start(struct services *ss);
/* Stops them, last first; done runs when all are down. A second call
 * kills what still runs. */
void services_stop(struct services *ss);
/* True while any service runs or stops. */
bool services_active(const struct services *ss);
bool services_reaped(struct services *ss, pid_t pid, int status);

/* For the metrics page. A service's state is one of services_states
 * (NULL-terminated): "waiting" (for the one before it), "starting"
 * (registering, waiting for its quorum, starting), "running" (passed
 * OnPostStart), "stopping", "stopped" (on request, or never started
 * because one before it failed) or "failed". */
extern const char *const services_states[];
/* How many services ss holds; 0 for NULL. */
size_t services_count(const struct services *ss);
/* Fills out for the i-th (i < services_count(ss)), state included;
 * borrowed strings as service_info() says. */
void services_info(const struct services *ss, size_t i,
    struct service_info *out);

#endif
