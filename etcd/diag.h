#ifndef ZOOINIT_ETCD_DIAG_H
#define ZOOINIT_ETCD_DIAG_H

#include <stdbool.h>

#include "lib/sup.h"

/* Why a supervised etcd exited, from how it exited. */

/* An exit this soon after the first start of an argv is etcd refusing
 * what it was given, not a crash. */
#define ETCD_AT_ONCE_MS 1000

/* True when etcd exited with status 2 within ETCD_AT_ONCE_MS of the first
 * start of its argv: Go's flag parsing (an unknown flag, as etcd 3.6+
 * answers --enable-v2, or a bad value) exits 2, every later failure of
 * etcd (a port taken, a stale member) exits 1. etcd's own message goes to
 * the agent's stderr just before. A restart with the same flags cannot
 * help. */
bool etcd_refused_flags(const struct sup_exit *ex);

/* True when etcd exited within ETCD_AT_ONCE_MS of the first start of its
 * argv, with any status (it refused something in its flags). */
bool etcd_exited_at_once(const struct sup_exit *ex);

/* True when etcd exited with status 0 within ETCD_AT_ONCE_MS of a start,
 * the first one or any restart. etcd exits 0 on its own only when it
 * stops cleanly, and a stop the agent did not ask for means its member
 * was removed from the cluster ("the member has been permanently removed
 * from the cluster"): a restart exits the same way at once. Restarting it
 * cannot help; the membership must be asked for. */
bool etcd_exited_zero_at_once(const struct sup_exit *ex);

/* True when etcd exited with status 0 (after any run): see above. */
bool etcd_exited_zero(const struct sup_exit *ex);

#endif
