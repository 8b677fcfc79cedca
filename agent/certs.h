#ifndef ZOOINIT_CERTS_H
#define ZOOINIT_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/plan.h"
#include "config/cfg.h"

/* This host's certificates, made from the CA of ca_file and ca_key_file
 * when a plan's TLS files are zooinit's own (plan->tls.made): a server
 * certificate for etcd's client URLs, a peer certificate (server and
 * client use) for its peer URLs and a client certificate for zooinit and
 * the services, each naming this member's address (IP), its SRV target
 * and its name. They are renewed on the loop after two thirds of their
 * lifetime, in place: etcd reads its files again on every TLS handshake
 * (etcd's transport package, 3.4 onwards), so it is not restarted. */

struct loop;
struct etcd_http;
struct certs;

/* Readies the TLS of plan p (after plan_check_tls()). Given certificate
 * files: logs which are used. Made ones: loads and checks the CA (a key
 * readable by group or others, a key that is not the CA's, an expired
 * CA: -1 with one sentence in err), then, unless plan_only, makes the
 * files, points h at the client certificate and starts renewing them;
 * *cp (freed first when set) is the renewal, to free with certs_free().
 * The CA is read and the files made in a child process (proc_isolate()),
 * at the start as at every renewal, so that what OpenSSL keeps after it
 * stays there; plan_only checks the CA in this process.
 * p and c are borrowed for the call. Returns 0, -1 (the CA refused,
 * the files not made: a fault to fix) or CERTS_UNRUN (no child process
 * could make them: to retry). */
#define CERTS_UNRUN (-2)
int certs_setup(struct certs **cp, struct loop *l, struct etcd_http *h,
    const struct plan *p, const struct cfg *c, bool plan_only, char *err,
    size_t errlen);

/* Stops renewing; NULL is ignored. */
void certs_free(struct certs *cs);

#endif
