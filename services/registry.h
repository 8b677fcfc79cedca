#ifndef ZOOINIT_REGISTRY_H
#define ZOOINIT_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd/kv.h"

/* The service registry in etcd v3: what one service's nodes write under
 * its prefix, and the pure logic over a snapshot of it. Nodes are known
 * by their address (canonical inet_ntop text), which is also the key
 * suffix. Under REG_ROOT "<service>/":
 *
 *   size            decimal: participants to wait for; created once,
 *                   by the first node (create-if-absent)
 *   nodes/<ip>      <ip>, lease-bound: the node is registered and alive
 *   sealed          JSON {"size":N,"members":[{"id":1,"ip":"..."},...]},
 *                   written once by transaction: the participants
 *   ids/<ip>        decimal id, permanent: participants and standbys;
 *                   the seal writes the first ones, any node the rest
 *                   (create-if-absent): the sealed value is the truth
 *   next_id         decimal: the next id for a standby; only grows, so an
 *                   id is never given to another host
 *   leader          <ip>, lease-bound: the live leader
 *   started/<ip>    decimal id, lease-bound: the service runs there and
 *                   passed OnPostStart
 *   booted/<ip>     "1", permanent: OnClusterBooted ran there
 *   hosts/<name>    <ip>, permanent: the address the etcd member <name>
 *                   registered from last; a host whose address changed
 *                   finds its old id through it (services/reg_move.c)
 *
 * Everything read back is checked: an address that is not a canonical
 * unicast literal, an id out of 1..REG_ID_MAX, a duplicate or a sealed
 * set that does not parse makes the snapshot invalid, with a sentence
 * that names the key. */

#define REG_ROOT "/zooinit/services/"
#define REG_ID_MAX 255
#define REG_MAX_NODES 255
#define REG_IP_MAX 46		/* INET6_ADDRSTRLEN */
#define REG_NAME_MAX 254	/* a member name: a DNS name at most */

struct reg_node {
	char ip[REG_IP_MAX];
	unsigned id;		/* 0: none (yet) */
	bool id_key;		/* ids/<ip> exists */
	bool alive;		/* nodes/<ip> exists */
	bool participant;	/* in the sealed set */
	bool started;		/* started/<ip> exists */
	bool booted;		/* booted/<ip> exists */
	int64_t create_revision; /* of nodes/<ip>; 0 when not alive */
	int64_t mod_revision;	/* of nodes/<ip>: its last write */
	char name[REG_NAME_MAX + 1];	/* hosts/<name> is this ip; "" none */
};

struct reg_view {
	unsigned size;		/* 0: not set yet */
	bool sealed;
	int64_t sealed_revision;	/* create_revision of sealed */
	int64_t sealed_mod;		/* its mod_revision: a host moved */
	unsigned next_id;	/* 0: not set yet */
	int64_t next_id_mod;	/* mod_revision of next_id; 0 absent */
	char leader[REG_IP_MAX]; /* "" when none */
	/* Every node any key mentions: sealed members first in sealed
	 * order, then the others by registration order. On the heap,
	 * as many as there are (at most REG_MAX_NODES): a fixed array
	 * cost each service about 90 KB, and its reader as much stack. */
	struct reg_node *nodes;
	size_t n_nodes;
	size_t cap;		/* room in nodes */
	size_t n_sealed;	/* the first n_sealed nodes are the set */
	int64_t revision;	/* of the read */
};

/* Key for a service: REG_ROOT "<service>/<rest>". Returns a new string. */
char *reg_key(const char *service, const char *rest);

/* Builds the view of one service from the pairs of a prefix read of
 * reg_key(service, ""). Unknown keys are ignored (a newer zooinit may
 * add some). *v must be zeroed or hold an earlier view, which is
 * replaced. Returns 0, or -1 with err naming the bad key (*v is then
 * empty). */
int reg_parse(const char *service, const struct etcd_kv_pair *kvs, size_t n,
    int64_t revision, struct reg_view *v, char *err, size_t errlen);

/* Frees v's nodes and empties it; v itself is the caller's. */
void reg_view_free(struct reg_view *v);

/* The node with address ip, or NULL. */
const struct reg_node *reg_find(const struct reg_view *v, const char *ip);

/* The node that hosts/<name> points at, or NULL. */
const struct reg_node *reg_find_name(const struct reg_view *v,
    const char *name);

/* Registered nodes that are alive. */
size_t reg_alive(const struct reg_view *v);

/* The set to seal: the first v->size alive nodes by registration order,
 * with ids 1..size. Returns the JSON value of the sealed key (a new
 * string) and fills ips[] (REG_MAX_NODES entries) with the chosen
 * addresses in id order, or returns NULL when fewer than size are
 * alive or size is 0. */
char *reg_seal_value(const struct reg_view *v, const char **ips, size_t *n);

/* Parses the value of the sealed key into ids and addresses (up to
 * REG_MAX_NODES). Returns the member count, or -1 with err set. */
int reg_parse_sealed(const char *value, size_t len, unsigned *ids,
    char (*ips)[REG_IP_MAX], size_t max, unsigned *size, char *err,
    size_t errlen);

/* True when every sealed participant has started/<ip>. */
bool reg_all_started(const struct reg_view *v);

/* Checks that s is a canonical IPv4 or IPv6 unicast literal as
 * inet_ntop writes it. */
bool reg_valid_ip(const char *s);

#endif
