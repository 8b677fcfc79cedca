#include "lib/fmacros.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "etcd/v2.h"
#include "lib/str.h"

static void
node_free(struct etcd_v2_node *n)
{
	free(n->key);
	free(n->value);
	memset(n, 0, sizeof(*n));
}

void
etcd_v2_reply_free(struct etcd_v2_reply *r)
{
	node_free(&r->node);
	for (size_t i = 0; i < r->n; i++)
		node_free(&r->nodes[i]);
	free(r->nodes);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

/* Indexes are JSON integers in v2; negative or fractional ones are lies. */
static int
get_index(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
parse_node(json_t *o, struct etcd_v2_node *n, uint64_t *max, const char **bad)
{
	json_t *key = json_object_get(o, "key");
	json_t *val = json_object_get(o, "value");
	json_t *dir = json_object_get(o, "dir");

	if (!json_is_object(o)) {
		*bad = "a node is not an object";
		return -1;
	}
	if (key != NULL && (!json_is_string(key) || json_string_length(key) > 1024)) {
		*bad = "a node's key is not a string of at most 1024 bytes";
		return -1;
	}
	if (val != NULL && (!json_is_string(val) ||
	    json_string_length(val) > ETCD_V2_MAX_VALUE ||
	    strlen(json_string_value(val)) != json_string_length(val))) {
		*bad = "a node's value is not a string of at most 4096 bytes";
		return -1;
	}
	if (dir != NULL && !json_is_boolean(dir)) {
		*bad = "a node's dir is not a boolean";
		return -1;
	}
	if (get_index(o, "createdIndex", &n->created) < 0 ||
	    get_index(o, "modifiedIndex", &n->modified) < 0) {
		*bad = "a node's index is not a non-negative integer";
		return -1;
	}
	n->key = key ? xstrdup(json_string_value(key)) : xstrdup("/");
	n->value = val ? xstrdup(json_string_value(val)) : NULL;
	n->dir = dir ? json_is_true(dir) : val == NULL;
	if (n->created > *max)
		*max = n->created;
	if (n->modified > *max)
		*max = n->modified;
	return 0;
}

int
etcd_v2_parse(const char *body, size_t len, struct etcd_v2_reply *out,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *o, *node, *nodes, *code;
	const char *bad = NULL;

	memset(out, 0, sizeof(*out));
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		char q[200];
		/* jansson quotes the offending input: untrusted bytes. */
		snprintf(err, errlen, "not a v2 keys answer: %s",
		    str_quote(je.text, q, sizeof(q)));
		return -1;
	}
	if (!json_is_object(o)) {
		bad = "the answer is not an object";
		goto out;
	}
	code = json_object_get(o, "errorCode");
	if (code != NULL) {
		const char *m = json_string_value(json_object_get(o, "message"));
		const char *c = json_string_value(json_object_get(o, "cause"));
		uint64_t idx;

		if (!json_is_integer(code) || json_integer_value(code) <= 0 ||
		    json_integer_value(code) > 999) {
			bad = "errorCode is not an integer from 1 to 999";
			goto out;
		}
		out->error_code = (int)json_integer_value(code);
		char qm[200], qc[200];
		/* Shown in logs: keep the server's control bytes out. */
		out->message = xasprintf("%s%s%s",
		    str_quote(m ? m : "error", qm, sizeof(qm)), c ? ": " : "",
		    c ? str_quote(c, qc, sizeof(qc)) : "");
		if (get_index(o, "index", &idx) == 0)
			out->max_index = idx;
		goto out;
	}
	node = json_object_get(o, "node");
	if (node == NULL) {
		bad = "the answer has no node";
		goto out;
	}
	if (parse_node(node, &out->node, &out->max_index, &bad) < 0)
		goto out;
	nodes = json_object_get(node, "nodes");
	if (nodes != NULL) {
		size_t i;
		json_t *child;

		if (!json_is_array(nodes)) {
			bad = "nodes is not an array";
			goto out;
		}
		if (json_array_size(nodes) > ETCD_V2_MAX_NODES) {
			bad = "the directory has more than 1024 nodes";
			goto out;
		}
		out->nodes = xcalloc(json_array_size(nodes) + 1,
		    sizeof(*out->nodes));
		json_array_foreach(nodes, i, child) {
			if (parse_node(child, &out->nodes[out->n], &out->max_index,
			    &bad) < 0)
				goto out;
			out->n++;
		}
	}
out:
	json_decref(o);
	if (bad != NULL) {
		snprintf(err, errlen, "malformed v2 keys answer: %s", bad);
		etcd_v2_reply_free(out);
		return -1;
	}
	return 0;
}
