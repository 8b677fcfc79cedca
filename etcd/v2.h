#ifndef ZOOINIT_ETCD_V2_H
#define ZOOINIT_ETCD_V2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The part of etcd's v2 keys API that the discovery protocol uses:
 * answers to GET (a key or a directory), PUT and wait (long-poll watch).
 * Answers come from the network; they are parsed strictly and capped. */

#define ETCD_V2_MAX_NODES 1024	/* children of one directory */
#define ETCD_V2_MAX_VALUE 4096	/* bytes of one value */

/* etcd's v2 error codes that the protocol acts on or answers. */
#define ETCD_V2_KEY_NOT_FOUND 100
#define ETCD_V2_NOT_FILE 104
#define ETCD_V2_NODE_EXIST 105
#define ETCD_V2_INDEX_CLEARED 401

struct etcd_v2_node {
	char *key;		/* "/_etcd/registry/T/h1" */
	char *value;		/* NULL for a directory */
	bool dir;
	uint64_t created, modified;
};

struct etcd_v2_reply {
	int error_code;		/* 0, or etcd's errorCode */
	char *message;		/* for errors: message and cause */
	struct etcd_v2_node node;	/* the node asked about */
	struct etcd_v2_node *nodes;	/* a directory's direct children */
	size_t n;
	uint64_t max_index;	/* largest index in the answer (for waits) */
};

/* Parses one v2 answer (success or error object). Returns 0 with *out
 * filled (free with etcd_v2_reply_free()), or -1 with err set and *out
 * zeroed. */
int etcd_v2_parse(const char *body, size_t len, struct etcd_v2_reply *out,
    char *err, size_t errlen);
void etcd_v2_reply_free(struct etcd_v2_reply *r);

#endif
