#ifndef ZOOINIT_SEED_H
#define ZOOINIT_SEED_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/cfg.h"
#include "lib/loop.h"

struct etcd_http;

/* The seed: a one-member etcd holding discovery tokens. zooinit starts it
 * for `discovery serve`, and in bootstrap on the host that owns the
 * discovery address when no discovery service answers. Once it is healthy
 * the seed creates the token's _config/size key (create-if-absent, so a
 * restart keeps what is there), in one of two layouts:
 *  - v2: etcd runs with --enable-v2 and the key is
 *    /v2/keys/_etcd/registry/TOKEN/_config/size (etcd 3.4 and 3.5 only);
 *  - v3: /_etcd/registry/TOKEN/_config/size in the v3 keyspace, which
 *    every etcd from 3.4 serves and the only one 3.6 and later have. */

enum seed_layout {
	SEED_ANY,	/* v2 where the etcd has it, else v3 */
	SEED_V2,	/* v2 or nothing: a v2 token URL is configured */
	SEED_V3,
};

struct seed_opts {
	const char *etcd;	/* etcd binary, a path */
	const char *addr;	/* IP literal to listen on */
	int client_port, peer_port;
	const char *data_dir;
	const char *token;	/* the token to create */
	int size;		/* its size, 1..64 */
	int stop_timeout_ms;
	enum seed_layout layout;	/* SEED_V2 or SEED_V3 */
};

enum seed_event {
	/* Healthy, and the token exists; msg is what a user passes to
	 * bootstrap: the token URL (v2), or "--discovery-endpoints URL
	 * --discovery-token TOKEN" (v3). */
	SEED_READY,
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
 * seed_data_dir, size, stop_timeout) on addr:client_port for token, in
 * layout; SEED_ANY and SEED_V2 ask the etcd for its version first. Returns
 * 0 with *out set, or an exit code with the reason logged: EXIT_NOTFOUND,
 * EXIT_NOEXEC, or EXIT_PERMANENT for SEED_V2 on an etcd without v2. */
int seed_start_cfg(struct loop *l, struct etcd_http *h, const struct cfg *c,
    const char *addr, int client_port, const char *token,
    enum seed_layout layout, seed_cb cb, void *arg, struct seed **out);
/* Stops it: SIGTERM, the stop timeout, SIGKILL; SEED_STOPPED follows. A
 * second call kills at once. */
void seed_stop(struct seed *s);
/* True if pid was the seed's etcd (its status is taken). */
bool seed_reaped(struct seed *s, pid_t pid, int status);
/* True when the seed's etcd is not running any more. */
bool seed_stopped(const struct seed *s);
void seed_free(struct seed *s);

#endif
