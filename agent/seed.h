#ifndef ZOOINIT_SEED_H
#define ZOOINIT_SEED_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/cfg.h"
#include "lib/loop.h"

struct etcd_http;

/* The seed: a one-member etcd with the v2 keys API, holding discovery
 * tokens. zooinit starts it for `discovery serve`, and in bootstrap on the
 * host that owns the discovery address when no discovery service answers.
 * Once it is healthy the seed creates the token's _config/size key
 * (create-if-absent, so a restart keeps what is there). */

struct seed_opts {
	const char *etcd;	/* etcd binary, a path */
	const char *addr;	/* IP literal to listen on */
	int client_port, peer_port;
	const char *data_dir;
	const char *token;	/* the token to create */
	int size;		/* its size, 1..64 */
	int stop_timeout_ms;
};

enum seed_event {
	SEED_READY,	/* healthy, and the token exists */
	SEED_FAILED,	/* cannot start or create the token: see msg */
	SEED_STOPPED,	/* stopped after seed_stop() */
};

typedef void (*seed_cb)(void *arg, enum seed_event ev, const char *msg);

/* Starts the seed; strings are copied. Returns NULL with err set when
 * etcd cannot be spawned. */
struct seed *seed_start(struct loop *l, struct etcd_http *h,
    const struct seed_opts *o, seed_cb cb, void *arg, char *err,
    size_t errlen);
/* Starts the seed as c configures it (the etcd binary, seed_peer_port,
 * seed_data_dir, size, stop_timeout) on addr:client_port for token. Returns
 * 0 with *out set, or an exit code (EXIT_NOTFOUND, EXIT_NOEXEC) with the
 * reason logged. */
int seed_start_cfg(struct loop *l, struct etcd_http *h, const struct cfg *c,
    const char *addr, int client_port, const char *token, seed_cb cb,
    void *arg, struct seed **out);
/* Stops it: SIGTERM, the stop timeout, SIGKILL; SEED_STOPPED follows. A
 * second call kills at once. */
void seed_stop(struct seed *s);
/* True if pid was the seed's etcd (its status is taken). */
bool seed_reaped(struct seed *s, pid_t pid, int status);
/* True when the seed's etcd is not running any more. */
bool seed_stopped(const struct seed *s);
void seed_free(struct seed *s);

#endif
