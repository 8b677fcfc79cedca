#ifndef ZOOINIT_ETCD_VERSION_H
#define ZOOINIT_ETCD_VERSION_H

#include <stdbool.h>
#include <stddef.h>

/* The etcd release zooinit drives, learnt once from `etcd --version`, so
 * the agent can adapt where releases differ (3.4 to 3.7). */
struct etcd_version {
	unsigned major, minor, patch;
};

/* Finds "etcd Version: X.Y.Z" in the output of `etcd --version`. Returns
 * 0, or -1 when text holds no such line. */
int etcd_version_parse(const char *text, struct etcd_version *v);

/* Runs `bin --version` (bin a path) and parses its output; waits at most
 * ETCD_VERSION_TIMEOUT_MS and reads at most 4 KiB. Returns 0, or -1 with
 * err set to one sentence naming bin and what went wrong. */
#define ETCD_VERSION_TIMEOUT_MS 5000
int etcd_version_probe(const char *bin, struct etcd_version *v, char *err,
    size_t errlen);

/* Negative, zero or positive as v is before, at or after major.minor. */
int etcd_version_cmp(const struct etcd_version *v, unsigned major,
    unsigned minor);

/* The v2 keys API (--enable-v2, etcd's v2 discovery protocol) exists up to
 * 3.5; 3.6 removed it. */
bool etcd_version_has_v2(const struct etcd_version *v);

/* Whether the etcd binary at path holds etcd's v2 discovery client
 * (`--discovery URL`, etcd 3.4 to 3.6; 3.7 removed it), without running
 * it: Go keeps every function's name in a binary for its stack traces,
 * and that client's entry point is .../etcdserver/api/v2discovery.
 * JoinCluster in all three releases. Reading the section that holds
 * the names (.gopclntab, 6 to 9 MB; the whole file if there is none)
 * takes a few milliseconds where `etcd --version` takes 70-90 ms of a
 * formation. false when the file
 * cannot be read. */
bool etcd_binary_has_v2_discovery(const char *path);

/* "3.6.16"; writes into buf and returns it. */
const char *etcd_version_str(const struct etcd_version *v, char *buf,
    size_t len);

#endif
