#ifndef ZOOINIT_ETCD_V2_SERVE_H
#define ZOOINIT_ETCD_V2_SERVE_H

#include <stddef.h>

/* The server side of etcd's v2 discovery protocol, for a cluster whose
 * members are all known before any etcd starts: the answers etcd 3.4 to
 * 3.6 (`--discovery URL`) needs to learn the whole cluster at once.
 *
 * etcd started with --discovery http://HOST:PORT/T asks, in order (v2
 * keys API paths, without the /v2/keys prefix; etcd's v2discovery):
 *   GET /T/_config/size      the size
 *   GET /T                   the members registered, as a directory
 *   PUT /T/ID?prevExist=false  registers itself (ID: its member ID)
 *   GET /T/ID?wait=true&waitIndex=N  waits to see its own key
 * and starts with the first size members by creation. Every member of
 * the registry is there from the start, under the ID etcd derives from
 * its peer URL and the discovery URL itself (etcd takes the discovery
 * URL as the initial cluster token): a member finds itself and every
 * other at once, and a PUT of a known ID succeeds however often it comes
 * (an etcd restarted before it wrote its data registers again). Nothing
 * is ever written: a PUT of an unknown ID, or any other write, is refused
 * (403), so an etcd with other peer
 * URLs than planned stops rather than form a cluster of its own. Pure: no
 * I/O. */

struct etcd_v2_registry;

/* A registry at discovery URL url ("http://HOST:PORT/T", T one path
 * segment) for the n members names[i] at peer URL urls[i] (borrowed;
 * each a valid member name and peer URL). Returns it (free with
 * etcd_v2_registry_free()), or NULL with err set. */
struct etcd_v2_registry *etcd_v2_registry_new(const char *url,
    char *const *names, char *const *urls, size_t n, char *err,
    size_t errlen);

/* Answers one request: method, and path without its query. Returns the
 * HTTP status and sets *body to a new JSON string (free with free()):
 * a node, or one of the v2 API's error objects. */
int etcd_v2_registry_answer(const struct etcd_v2_registry *r,
    const char *method, const char *path, char **body);

/* The X-Etcd-Index every answer carries. */
unsigned long long etcd_v2_registry_index(const struct etcd_v2_registry *r);

void etcd_v2_registry_free(struct etcd_v2_registry *r);

#endif
