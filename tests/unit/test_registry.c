#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/reg_watch.h"
#include "services/registry.h"
#include "lib/xmalloc.h"
#include "etcd/kv.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ZK REG_ROOT "zk/"

/* A prefix read as reg_parse() gets it: pairs with their own copies of
 * keys and values (bytes plus a NUL, as etcd/kv.c hands them out). */
struct kvs {
	struct etcd_kv_pair p[600];
	size_t n;
};

static char err[512];

static void
put_n(struct kvs *b, const char *key, size_t klen, const char *val,
    size_t vlen, int64_t create)
{
	struct etcd_kv_pair *p;

	assert_true(b->n < LEN(b->p));
	p = &b->p[b->n++];
	memset(p, 0, sizeof(*p));
	p->key = xmalloc(klen + 1);
	memcpy(p->key, key, klen);
	p->key[klen] = '\0';
	p->key_len = klen;
	p->value = xmalloc(vlen + 1);
	memcpy(p->value, val, vlen);
	p->value[vlen] = '\0';
	p->value_len = vlen;
	p->create_revision = create;
	p->mod_revision = create;
	p->version = 1;
}

/* Adds key (a full key) = val, created at revision create. */
static void
put(struct kvs *b, const char *key, const char *val, int64_t create)
{
	put_n(b, key, strlen(key), val, strlen(val), create);
}

static void
kvs_free(struct kvs *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->p[i].key);
		free(b->p[i].value);
	}
	b->n = 0;
}

/* Drops the pair with this key; fails when there is none. */
static void
drop(struct kvs *b, const char *key)
{
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->p[i].key, key) != 0)
			continue;
		free(b->p[i].key);
		free(b->p[i].value);
		memmove(&b->p[i], &b->p[i + 1], (b->n - i - 1) *
		    sizeof(b->p[0]));
		b->n--;
		return;
	}
	fail_msg("no key %s", key);
}

/* Replaces the value of key (created when absent). */
static void
set(struct kvs *b, const char *key, const char *val)
{
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->p[i].key, key) == 0) {
			free(b->p[i].value);
			b->p[i].value = xstrdup(val);
			b->p[i].value_len = strlen(val);
			return;
		}
	}
	put(b, key, val, 100);
}

static const char SEALED3[] =
    "{\"size\":3,\"members\":[{\"id\":1,\"ip\":\"10.0.0.3\"},"
    "{\"id\":2,\"ip\":\"10.0.0.2\"},{\"id\":3,\"ip\":\"10.0.0.1\"}]}";

/* A sealed set of three (registered .3, .2, .1 in that order, so ids
 * 1, 2, 3 go against key order), a standby .4 with id 4, a leader, all
 * started, .3 booted; in key order as etcd answers, with unknown keys and
 * keys of services zk-a and zk2 that sort around zk's. */
static void
sealed_set(struct kvs *b)
{
	b->n = 0;
	put(b, REG_ROOT "zk-a/leader", "not an address", 2);
	put(b, REG_ROOT "zk-a/nodes/010.0.0.1", "x", 2);
	put(b, ZK "booted/10.0.0.3", "1", 20);
	put(b, ZK "future/thing", "whatever", 21);
	put(b, ZK "ids/10.0.0.1", "3", 11);
	put(b, ZK "ids/10.0.0.2", "2", 11);
	put(b, ZK "ids/10.0.0.3", "1", 11);
	put(b, ZK "ids/10.0.0.4", "4", 13);
	put(b, ZK "leader", "10.0.0.2", 15);
	put(b, ZK "next_id", "5", 13);
	b->p[b->n - 1].mod_revision = 14;
	put(b, ZK "nodes/10.0.0.1", "10.0.0.1", 9);
	put(b, ZK "nodes/10.0.0.2", "10.0.0.2", 7);
	put(b, ZK "nodes/10.0.0.3", "10.0.0.3", 5);
	put(b, ZK "nodes/10.0.0.4", "10.0.0.4", 12);
	put(b, ZK "sealed", SEALED3, 11);
	put(b, ZK "size", "3", 4);
	put(b, ZK "started/10.0.0.1", "3", 16);
	put(b, ZK "started/10.0.0.2", "2", 17);
	put(b, ZK "started/10.0.0.3", "1", 18);
	put(b, ZK "version", "7", 3);
	put(b, REG_ROOT "zk2/nodes/10.0.0.9", "10.0.0.9", 30);
	put(b, REG_ROOT "zk2/sealed", "not json", 31);
	put(b, REG_ROOT "zkk", "a key right under the root", 32);
}

static int
parse(const struct kvs *b, struct reg_view *v)
{
	err[0] = '\0';
	return reg_parse("zk", b->p, b->n, 42, v, err, sizeof(err));
}

/* reg_parse() must refuse b with an error that holds every needle (the
 * key first, usually), and leave an empty view. */
static void
parse_bad(const struct kvs *b, const char *needle1, const char *needle2)
{
	struct reg_view *v = xcalloc(1, sizeof(*v));

	if (parse(b, v) == 0)
		fail_msg("accepted; wanted an error with \"%s\"", needle1);
	if (strstr(err, needle1) == NULL ||
	    (needle2 != NULL && strstr(err, needle2) == NULL))
		fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", err, needle1,
		    needle2 != NULL ? needle2 : "");
	assert_int_equal(v->n_nodes, 0);
	assert_false(v->sealed);
	assert_int_equal(v->size, 0);
	assert_string_equal(v->leader, "");
	reg_view_free(v);
	free(v);
}

static const struct reg_node *
must_find(const struct reg_view *v, const char *ip)
{
	const struct reg_node *nd = reg_find(v, ip);

	if (nd == NULL)
		fail_msg("no node %s", ip);
	return nd;
}

static void
test_valid_ip(void **state)
{
	static const char *const good[] = {
		"10.1.1.1", "192.168.0.1", "1.0.0.0", "223.255.255.255",
		"127.0.0.1", "169.254.1.1",
		"2001:db8::1", "fd00::a", "::1", "::2", "fec0::1",
		/* As inet_ntop writes them: canonical, so accepted. */
		"::ffff:1.2.3.4", "::1.2.3.4",
		"2001:db8:1:2:3:4:5:6",
	};
	static const char *const bad[] = {
		"", "x", "010.1.1.1", "10.01.1.1", "10.1.1.1;rm", "../x",
		"10.1.1", "10.1.1.1.1", "256.1.1.1", " 10.1.1.1", "10.1.1.1 ",
		"10.1.1.1\n", "10.1.1.1/24", "10.1.1.1:2181", "0x0a.1.1.1",
		"10", "ten.one.one.one",
		/* unspecified, "this network", multicast, broadcast */
		"0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.255",
		"240.0.0.1", "255.255.255.255",
		/* IPv6 not as inet_ntop writes it */
		"2001:DB8::1", "2001:0db8::1", "2001:db8:0:0:0:0:0:1",
		"2001:db8::0:1", "::0:1", "[2001:db8::1]", "2001:db8::1%eth0",
		":::1", "1::2::3",
		"1111:2222:3333:4444:5555:6666:123.123.123.123",
		/* unspecified, multicast, link-local (needs a zone) */
		"::", "ff02::1", "ff05::2", "fe80::1", "febf::1", "fe80::1%2",
		/* as long as the buffer and longer */
		"1111:2222:3333:4444:5555:6666:123.123.123.1234",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	(void)state;
	for (size_t i = 0; i < LEN(good); i++) {
		if (!reg_valid_ip(good[i]))
			fail_msg("refused \"%s\"", good[i]);
	}
	for (size_t i = 0; i < LEN(bad); i++) {
		if (reg_valid_ip(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

static void
test_key(void **state)
{
	char *k;

	(void)state;
	k = reg_key("zk", "nodes/10.0.0.1");
	assert_string_equal(k, "/zooinit/services/zk/nodes/10.0.0.1");
	free(k);
	k = reg_key("zk", "");
	assert_string_equal(k, ZK);
	free(k);
}

static void
test_sealed_set(void **state)
{
	struct kvs b;
	struct reg_view *v = xcalloc(1, sizeof(*v));
	const struct reg_node *nd;
	const char *ips[REG_MAX_NODES];
	size_t n = 99;

	(void)state;
	sealed_set(&b);
	assert_int_equal(parse(&b, v), 0);
	assert_true(v->revision == 42);
	assert_int_equal(v->size, 3);
	assert_true(v->sealed);
	assert_true(v->sealed_revision == 11);
	assert_int_equal(v->n_sealed, 3);
	assert_int_equal(v->next_id, 5);
	assert_true(v->next_id_mod == 14);
	assert_string_equal(v->leader, "10.0.0.2");
	/* The set in sealed order, then the standby; zk2's .9 is not here. */
	assert_int_equal(v->n_nodes, 4);
	assert_string_equal(v->nodes[0].ip, "10.0.0.3");
	assert_string_equal(v->nodes[1].ip, "10.0.0.2");
	assert_string_equal(v->nodes[2].ip, "10.0.0.1");
	assert_string_equal(v->nodes[3].ip, "10.0.0.4");
	for (unsigned i = 0; i < 4; i++) {
		nd = &v->nodes[i];
		assert_int_equal(nd->id, i + 1);
		assert_true(nd->alive);
		assert_int_equal(nd->participant, i < 3);
		assert_int_equal(nd->started, i < 3);
		assert_int_equal(nd->booted, i == 0);
		assert_true(nd->id_key);
	}
	assert_true(v->nodes[0].create_revision == 5);
	assert_true(v->nodes[1].create_revision == 7);
	assert_true(v->nodes[2].create_revision == 9);
	assert_true(v->nodes[3].create_revision == 12);
	assert_ptr_equal(reg_find(v, "10.0.0.4"), &v->nodes[3]);
	assert_ptr_equal(reg_find(v, "10.0.0.3"), &v->nodes[0]);
	assert_null(reg_find(v, "10.0.0.9"));
	assert_null(reg_find(v, "10.0.0.5"));
	assert_null(reg_find(v, ""));
	assert_int_equal(reg_alive(v), 4);
	assert_true(reg_all_started(v));
	/* Sealed already: nothing to seal. */
	assert_null(reg_seal_value(v, ips, &n));
	assert_int_equal(n, 99);

	/* A participant's ids/<ip> missing (the seal had no room for it,
	 * or its writer died): the id still comes from the sealed value,
	 * and the view says the key is missing, whatever other keys of
	 * that node (started/, booted/, sorting after ids/) say. */
	drop(&b, ZK "ids/10.0.0.3");
	assert_int_equal(parse(&b, v), 0);
	nd = must_find(v, "10.0.0.3");
	assert_false(nd->id_key);
	assert_int_equal(nd->id, 1);
	assert_true(nd->participant);
	assert_true(must_find(v, "10.0.0.2")->id_key);
	put(&b, ZK "ids/10.0.0.3", "1", 11);

	/* A standby not started does not matter; a participant does. */
	drop(&b, ZK "started/10.0.0.2");
	assert_int_equal(parse(&b, v), 0);
	assert_false(must_find(v, "10.0.0.2")->started);
	assert_false(reg_all_started(v));

	/* A participant gone (its lease expired) keeps its place and id. */
	drop(&b, ZK "nodes/10.0.0.2");
	drop(&b, ZK "leader");
	assert_int_equal(parse(&b, v), 0);
	assert_string_equal(v->leader, "");
	assert_int_equal(v->n_nodes, 4);
	nd = &v->nodes[1];
	assert_string_equal(nd->ip, "10.0.0.2");
	assert_false(nd->alive);
	assert_true(nd->participant);
	assert_int_equal(nd->id, 2);
	assert_true(nd->create_revision == 0);
	assert_int_equal(reg_alive(v), 3);

	/* The sealed size wins over the size key. */
	set(&b, ZK "size", "5");
	assert_int_equal(parse(&b, v), 0);
	assert_int_equal(v->size, 3);
	kvs_free(&b);
	reg_view_free(v);
	free(v);
}

/* Nodes come in registration order (create_revision), not key order;
 * the first size of them are sealed with ids 1..size. */
static void
test_registration_order(void **state)
{
	static const char want[] =
	    "{\"size\":3,\"members\":[{\"id\":1,\"ip\":\"10.0.0.2\"},"
	    "{\"id\":2,\"ip\":\"10.0.0.10\"},{\"id\":3,\"ip\":\"10.0.0.3\"}]}";
	struct kvs b = { .n = 0 };
	struct reg_view *v = xcalloc(1, sizeof(*v)), *w = xcalloc(1, sizeof(*v));
	const char *ips[REG_MAX_NODES];
	unsigned ids[REG_MAX_NODES], size;
	char got[REG_MAX_NODES][REG_IP_MAX];
	size_t n = 0;
	char *text;

	(void)state;
	put(&b, ZK "nodes/10.0.0.1", "10.0.0.1", 9);
	put(&b, ZK "nodes/10.0.0.10", "10.0.0.10", 5);
	put(&b, ZK "nodes/10.0.0.2", "10.0.0.2", 4);
	put(&b, ZK "nodes/10.0.0.3", "10.0.0.3", 7);
	put(&b, ZK "size", "3", 2);
	assert_int_equal(parse(&b, v), 0);
	assert_false(v->sealed);
	assert_int_equal(v->size, 3);
	assert_int_equal(v->n_nodes, 4);
	assert_int_equal(v->n_sealed, 0);
	assert_string_equal(v->nodes[0].ip, "10.0.0.2");
	assert_string_equal(v->nodes[1].ip, "10.0.0.10");
	assert_string_equal(v->nodes[2].ip, "10.0.0.3");
	assert_string_equal(v->nodes[3].ip, "10.0.0.1");
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(v->nodes[i].id, 0);
		assert_false(v->nodes[i].participant);
	}
	assert_false(reg_all_started(v));

	text = reg_seal_value(v, ips, &n);
	assert_non_null(text);
	assert_string_equal(text, want);
	assert_int_equal(n, 3);
	assert_string_equal(ips[0], "10.0.0.2");
	assert_string_equal(ips[1], "10.0.0.10");
	assert_string_equal(ips[2], "10.0.0.3");
	/* What is sealed parses back. */
	assert_int_equal(reg_parse_sealed(text, strlen(text), ids, got,
	    REG_MAX_NODES, &size, err, sizeof(err)), 3);
	assert_int_equal(size, 3);
	assert_int_equal(ids[1], 2);
	assert_string_equal(got[1], "10.0.0.10");

	/* Once sealed, the set leads in sealed order; .1 is a standby. */
	put(&b, ZK "sealed", text, 10);
	free(text);
	assert_int_equal(parse(&b, w), 0);
	assert_true(w->sealed);
	assert_int_equal(w->n_sealed, 3);
	assert_string_equal(w->nodes[0].ip, "10.0.0.2");
	assert_string_equal(w->nodes[2].ip, "10.0.0.3");
	assert_string_equal(w->nodes[3].ip, "10.0.0.1");
	assert_false(w->nodes[3].participant);
	assert_int_equal(w->nodes[3].id, 0);

	/* Ties (one transaction) go by key order; a node named only by
	 * ids/ or started/ (not alive) comes after the living ones. */
	kvs_free(&b);
	put(&b, ZK "ids/10.0.0.7", "7", 3);
	put(&b, ZK "nodes/10.0.0.5", "10.0.0.5", 8);
	put(&b, ZK "nodes/10.0.0.6", "10.0.0.6", 8);
	put(&b, ZK "nodes/10.0.0.8", "10.0.0.8", 6);
	put(&b, ZK "size", "2", 2);
	put(&b, ZK "started/10.0.0.9", "1", 3);
	assert_int_equal(parse(&b, v), 0);
	assert_int_equal(v->n_nodes, 5);
	assert_string_equal(v->nodes[0].ip, "10.0.0.8");
	assert_string_equal(v->nodes[1].ip, "10.0.0.5");
	assert_string_equal(v->nodes[2].ip, "10.0.0.6");
	assert_string_equal(v->nodes[3].ip, "10.0.0.7");
	assert_false(v->nodes[3].alive);
	assert_int_equal(v->nodes[3].id, 7);
	assert_string_equal(v->nodes[4].ip, "10.0.0.9");
	assert_false(v->nodes[4].alive);
	assert_true(v->nodes[4].started);
	assert_int_equal(reg_alive(v), 3);
	text = reg_seal_value(v, ips, &n);
	assert_non_null(text);
	assert_string_equal(text, "{\"size\":2,\"members\":[{\"id\":1,\"ip\":"
	    "\"10.0.0.8\"},{\"id\":2,\"ip\":\"10.0.0.5\"}]}");
	free(text);

	/* Fewer alive than size, or no size yet: nothing to seal. */
	set(&b, ZK "size", "4");
	assert_int_equal(parse(&b, v), 0);
	assert_null(reg_seal_value(v, ips, &n));
	drop(&b, ZK "size");
	assert_int_equal(parse(&b, v), 0);
	assert_int_equal(v->size, 0);
	assert_null(reg_seal_value(v, ips, &n));
	kvs_free(&b);
	reg_view_free(v);
	free(v);
	reg_view_free(w);
	free(w);
}

static void
test_empty_and_ignored(void **state)
{
	struct kvs b = { .n = 0 };
	struct reg_view *v = xcalloc(1, sizeof(*v));

	(void)state;
	assert_int_equal(parse(&b, v), 0);
	assert_int_equal(v->n_nodes, 0);
	assert_false(v->sealed);
	assert_int_equal(v->size, 0);
	assert_int_equal(reg_alive(v), 0);
	assert_false(reg_all_started(v));

	/* Keys zooinit does not write (yet), however they look. */
	put(&b, ZK, "", 2);
	put(&b, ZK "ids", "1", 2);
	put(&b, ZK "nodes", "1", 2);
	put(&b, ZK "nodesx/10.0.0.1", "1", 2);
	put(&b, ZK "sealed/x", "1", 2);
	put(&b, ZK "sealedx", "1", 2);
	put(&b, ZK "Size", "0", 2);
	put(&b, ZK "leaders/x", "", 2);
	put(&b, ZK "x/nodes/010.0.0.1", "", 2);
	put(&b, REG_ROOT "zk", "", 2);
	put(&b, REG_ROOT "z", "", 2);
	put(&b, REG_ROOT "zk-b/sealed", "[]", 2);
	put(&b, REG_ROOT "zk/../zk-b/x", "", 2);
	put(&b, "/other/zk/nodes/010.0.0.1", "", 2);
	/* A NUL makes them other keys than size, leader, sealed. */
	put_n(&b, ZK "size\0x", sizeof(ZK "size\0x") - 1, "0", 1, 2);
	put_n(&b, ZK "leader\0", sizeof(ZK "leader\0") - 1, "x", 1, 2);
	put_n(&b, ZK "sealed\0", sizeof(ZK "sealed\0") - 1, "x", 1, 2);
	assert_int_equal(parse(&b, v), 0);
	assert_int_equal(v->n_nodes, 0);
	assert_int_equal(v->size, 0);
	assert_false(v->sealed);
	assert_string_equal(v->leader, "");
	kvs_free(&b);
	reg_view_free(v);
	free(v);
}

static void
test_parse_sealed(void **state)
{
	static const struct {
		const char *json;
		const char *needle;
	} bad[] = {
		{ "", "sealed: empty" },
		{ "not json", "sealed: invalid JSON" },
		{ "[]", "sealed: expected a JSON object" },
		{ "null", "sealed: expected a JSON object" },
		{ "\"x\"", "sealed: expected a JSON object" },
		{ "{}", "sealed: expected {\"size\":N" },
		{ "{\"size\":3}", "sealed: expected" },
		{ "{\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"}]}",
		    "sealed: expected" },
		/* size does not match the members */
		{ "{\"size\":2,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"}]}",
		    "sealed: expected" },
		{ "{\"size\":1,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"},"
		    "{\"id\":2,\"ip\":\"10.0.0.2\"}]}", "sealed: expected" },
		{ "{\"size\":0,\"members\":[]}", "sealed: expected" },
		{ "{\"size\":\"1\",\"members\":[{\"id\":1,\"ip\":"
		    "\"10.0.0.1\"}]}",
		    "sealed: expected" },
		{ "{\"size\":1.0,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"}]}",
		    "sealed: expected" },
		{ "{\"size\":-1,\"members\":[]}", "sealed: expected" },
		{ "{\"size\":1,\"members\":{\"id\":1,\"ip\":\"10.0.0.1\"}}",
		    "sealed: expected" },
		/* members */
		{ "{\"size\":1,\"members\":[{\"id\":0,\"ip\":\"10.0.0.1\"}]}",
		    "sealed: member 1: expected an id from 1 to 255" },
		{ "{\"size\":1,\"members\":[{\"id\":256,\"ip\":\"10.0.0.1\"}]}",
		    "member 1: expected" },
		{ "{\"size\":1,\"members\":[{\"id\":-1,\"ip\":\"10.0.0.1\"}]}",
		    "member 1: expected" },
		{ "{\"size\":1,\"members\":[{\"id\":\"1\",\"ip\":"
		    "\"10.0.0.1\"}]}",
		    "member 1: expected" },
		{ "{\"size\":1,\"members\":[{\"ip\":\"10.0.0.1\"}]}",
		    "member 1: expected" },
		{ "{\"size\":1,\"members\":[{\"id\":1}]}", "found no ip" },
		{ "{\"size\":1,\"members\":[{\"id\":1,\"ip\":10}]}",
		    "found no ip" },
		{ "{\"size\":1,\"members\":[1]}", "member 1: expected" },
		{ "{\"size\":1,\"members\":[{\"id\":1,\"ip\":\"010.0.0.1\"}]}",
		    "found 010.0.0.1" },
		{ "{\"size\":2,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"},"
		    "{\"id\":2,\"ip\":\"10.0.0.1;rm\"}]}",
		    "member 2: expected" },
		{ "{\"size\":1,\"members\":[{\"id\":1,\"ip\":"
		    "\"224.0.0.1\"}]}",
		    "found 224.0.0.1" },
		{ "{\"size\":1,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\\u0000"
		    "x\"}]}", "sealed" },
		/* duplicates */
		{ "{\"size\":2,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"},"
		    "{\"id\":1,\"ip\":\"10.0.0.2\"}]}",
		    "member 2 repeats id 1 or address 10.0.0.1" },
		{ "{\"size\":2,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"},"
		    "{\"id\":2,\"ip\":\"10.0.0.1\"}]}", "member 2 repeats" },
		{ "{\"size\":1,\"size\":1,\"members\":[{\"id\":1,\"ip\":"
		    "\"10.0.0.1\"}]}", "sealed: invalid JSON" },
		{ "{\"size\":1,\"members\":[{\"id\":1,\"ip\":\"10.0.0.1\"}]} x",
		    "sealed: invalid JSON" },
	};
	unsigned ids[REG_MAX_NODES], size = 77;
	char ips[REG_MAX_NODES][REG_IP_MAX];

	(void)state;
	assert_int_equal(reg_parse_sealed(SEALED3, strlen(SEALED3), ids, ips,
	    REG_MAX_NODES, &size, err, sizeof(err)), 3);
	assert_int_equal(size, 3);
	assert_int_equal(ids[0], 1);
	assert_string_equal(ips[0], "10.0.0.3");
	assert_int_equal(ids[2], 3);
	assert_string_equal(ips[2], "10.0.0.1");
	/* Ids need not be 1..size in order; other fields are ignored. */
	static const char odd[] = "{\"v\":2,\"members\":[{\"id\":9,\"ip\":"
	    "\"2001:db8::1\",\"x\":[]},{\"ip\":\"10.0.0.1\",\"id\":4}],"
	    "\"size\":2}";
	assert_int_equal(reg_parse_sealed(odd, strlen(odd), ids, ips,
	    REG_MAX_NODES, &size, err, sizeof(err)), 2);
	assert_int_equal(ids[0], 9);
	assert_string_equal(ips[0], "2001:db8::1");
	assert_int_equal(ids[1], 4);
	/* More members than the caller has room for. */
	assert_int_equal(reg_parse_sealed(SEALED3, strlen(SEALED3), ids, ips,
	    2, &size, err, sizeof(err)), -1);

	for (size_t i = 0; i < LEN(bad); i++) {
		size = 77;
		err[0] = '\0';
		if (reg_parse_sealed(bad[i].json, strlen(bad[i].json), ids,
		    ips, REG_MAX_NODES, &size, err, sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i].json);
		if (strstr(err, bad[i].needle) == NULL)
			fail_msg("error \"%s\" for %s lacks \"%s\"", err,
			    bad[i].json, bad[i].needle);
		assert_int_equal(size, 77);
	}
	/* A NUL byte in the text itself. */
	assert_int_equal(reg_parse_sealed("{\"size\":1\0}", 11, ids, ips,
	    REG_MAX_NODES, &size, err, sizeof(err)), -1);
}

/* 255 members fit in a sealed set; 256 do not. */
static void
test_parse_sealed_limit(void **state)
{
	unsigned ids[REG_MAX_NODES], size = 77;
	char ips[REG_MAX_NODES][REG_IP_MAX];
	char big[REG_MAX_NODES * 40 + 64];
	size_t k;

	(void)state;
	for (unsigned n = 255; n <= 256; n++) {
		k = (size_t)snprintf(big, sizeof(big), "{\"size\":%u,"
		    "\"members\":[", n);
		for (unsigned i = 1; i <= n; i++)
			k += (size_t)snprintf(big + k, sizeof(big) - k,
			    "%s{\"id\":%u,\"ip\":\"10.0.%u.%u\"}",
			    i > 1 ? "," : "", i, i / 200, i % 200 + 1);
		k += (size_t)snprintf(big + k, sizeof(big) - k, "]}");
		assert_true(k < sizeof(big));
		assert_int_equal(reg_parse_sealed(big, k, ids, ips,
		    REG_MAX_NODES, &size, err, sizeof(err)),
		    n == 255 ? 255 : -1);
	}
	assert_int_equal(ids[254], 255);
	assert_string_equal(ips[254], "10.0.1.56");
}

/* One broken key added to (or changed in) the sealed set each time; the
 * error names the key. */
static void
test_parse_hostile(void **state)
{
	static const struct {
		const char *key;	/* under zk/ */
		const char *value;
		const char *needle;
	} t[] = {
		{ "nodes/010.1.1.1", "x", "expected a unicast IP address "
		    "after nodes/" },
		{ "nodes/10.1.1.1;rm", "x", "after nodes/" },
		{ "nodes/../x", "x", "after nodes/" },
		{ "nodes/", "x", "after nodes/" },
		{ "nodes/10.0.0.5/", "x", "after nodes/" },
		{ "nodes/224.0.0.1", "x", "after nodes/" },
		{ "nodes/0.0.0.0", "x", "after nodes/" },
		{ "nodes/fe80::1", "x", "after nodes/" },
		{ "nodes/::", "x", "after nodes/" },
		{ "nodes/2001:DB8::1", "x", "after nodes/" },
		{ "ids/10.0.0.5", "0", "expected an id from 1 to 255" },
		{ "ids/10.0.0.5", "256", "expected an id from 1 to 255" },
		{ "ids/10.0.0.5", "1x", "expected an id" },
		{ "ids/10.0.0.5", "01", "expected an id" },
		{ "ids/10.0.0.5", "", "expected an id" },
		{ "ids/10.0.0.5", "-5", "expected an id" },
		{ "ids/10.0.0.5", " 5", "expected an id" },
		{ "ids/10.0.0.5", "99999999999", "expected an id" },
		{ "ids/010.0.0.5", "5", "expected a unicast IP address at "
		    "the end" },
		{ "ids/", "5", "at the end" },
		{ "ids/10.0.0.5;rm", "5", "at the end" },
		{ "started/../x", "1", "at the end" },
		{ "started/ff02::1", "1", "at the end" },
		{ "booted/10.1.1.1;rm", "1", "at the end" },
		{ "booted/10.0.0.1 ", "1", "at the end" },
		{ "size", "0", "expected a number from 1 to 255" },
		{ "size", "256", "expected a number from 1 to 255" },
		{ "size", "three", "expected a number" },
		{ "size", "3\n", "expected a number" },
		{ "next_id", "0", "expected a number from 1 to 256" },
		{ "next_id", "257", "expected a number from 1 to 256" },
		{ "next_id", "1x", "expected a number" },
		{ "leader", "010.0.0.1", "expected an IP address" },
		{ "leader", "10.0.0.1\n", "expected an IP address" },
		{ "leader", "", "expected an IP address" },
		{ "leader", "1111:2222:3333:4444:5555:6666:7777:8888:9999",
		    "expected an IP address" },
		/* ids/ disagreeing with the sealed set */
		{ "ids/10.0.0.1", "1", "says id 1 but the sealed set gives "
		    "this node id 3" },
		{ "ids/10.0.0.3", "4", "says id 4 but the sealed set" },
	};
	struct kvs b;
	char key[128], want[160];

	(void)state;
	for (size_t i = 0; i < LEN(t); i++) {
		sealed_set(&b);
		snprintf(key, sizeof(key), ZK "%s", t[i].key);
		set(&b, key, t[i].value);
		snprintf(want, sizeof(want), "registry key %s: ", key);
		parse_bad(&b, want, t[i].needle);
		kvs_free(&b);
	}
}

static void
test_parse_hostile_sets(void **state)
{
	struct kvs b;
	char key[64];

	(void)state;
	/* A sealed value that does not parse. */
	static const char *const sealed_bad[] = {
		"not json",
		"{\"size\":2,\"members\":[{\"id\":1,\"ip\":\"10.0.0.3\"},"
		    "{\"id\":2,\"ip\":\"10.0.0.2\"},{\"id\":3,\"ip\":"
		    "\"10.0.0.1\"}]}",
		"{\"size\":3,\"members\":[{\"id\":1,\"ip\":\"10.0.0.3\"},"
		    "{\"id\":1,\"ip\":\"10.0.0.2\"},{\"id\":3,\"ip\":"
		    "\"10.0.0.1\"}]}",
		"{\"size\":3,\"members\":[{\"id\":1,\"ip\":\"10.0.0.3\"},"
		    "{\"id\":2,\"ip\":\"10.0.0.02\"},{\"id\":3,\"ip\":"
		    "\"10.0.0.1\"}]}",
	};
	static const char *const sealed_why[] = {
		"invalid JSON", "expected {\"size\":N,",
		"member 2 repeats id 1", "member 2: expected",
	};
	for (size_t i = 0; i < LEN(sealed_bad); i++) {
		sealed_set(&b);
		set(&b, ZK "sealed", sealed_bad[i]);
		/* The key, once, then reg_parse_sealed()'s reason. */
		parse_bad(&b, "registry key " ZK "sealed: ", sealed_why[i]);
		assert_null(strstr(err, "sealed: sealed"));
		kvs_free(&b);
	}

	/* The same id in two ids/ entries (standbys). */
	sealed_set(&b);
	put(&b, ZK "ids/10.0.0.5", "4", 14);
	parse_bad(&b, "registry key " ZK "ids/10.0.0.5: id 4 is given to both "
	    "10.0.0.4 and 10.0.0.5", NULL);
	kvs_free(&b);
	/* A standby with a participant's id. */
	sealed_set(&b);
	set(&b, ZK "ids/10.0.0.4", "2");
	parse_bad(&b, "registry key " ZK "ids/10.0.0.4: id 2 is given to both "
	    "10.0.0.2 and 10.0.0.4", NULL);
	kvs_free(&b);
	/* Unsealed: two registrations claim one id. */
	b.n = 0;
	put(&b, ZK "ids/10.0.0.1", "1", 3);
	put(&b, ZK "ids/2001:db8::1", "1", 4);
	parse_bad(&b, "registry key " ZK "ids/2001:db8::1: id 1 is given to "
	    "both 10.0.0.1 and 2001:db8::1", NULL);
	kvs_free(&b);

	/* A NUL inside a per-node key: never taken for the address before
	 * it, whichever of the two registered first. */
	for (int64_t rev = 1; rev <= 20; rev += 19) {
		sealed_set(&b);
		put_n(&b, ZK "nodes/10.0.0.1\0x", sizeof(ZK "nodes/10.0.0.1\0x")
		    - 1, "x", 1, rev);
		parse_bad(&b, "registry key " ZK "nodes/10.0.0.1\\x00x: "
		    "expected a unicast IP address", NULL);
		kvs_free(&b);
	}
	sealed_set(&b);
	put_n(&b, ZK "ids/10.0.0.5\0", sizeof(ZK "ids/10.0.0.5\0") - 1, "5", 1,
	    5);
	parse_bad(&b, "registry key " ZK "ids/10.0.0.5\\x00: expected a "
	    "unicast IP address", NULL);
	kvs_free(&b);
	/* Control bytes and quotes in a key are quoted in the message. */
	sealed_set(&b);
	put(&b, ZK "nodes/\x1b[31m\"", "x", 3);
	parse_bad(&b, "nodes/\\x1b[31m\\x22", NULL);
	kvs_free(&b);
	/* A value with a NUL. */
	sealed_set(&b);
	put_n(&b, ZK "leader", strlen(ZK "leader"), "10.0.0.2\0x", 10, 3);
	drop(&b, ZK "leader");	/* the first, good one */
	parse_bad(&b, "registry key " ZK "leader: expected an IP", NULL);
	kvs_free(&b);
	/* The sealed key twice (etcd would not, a caller might). */
	sealed_set(&b);
	put(&b, ZK "sealed", SEALED3, 11);
	parse_bad(&b, "registry key " ZK "sealed: appears twice", NULL);
	kvs_free(&b);

	/* 255 registrations fit, with a participant's ids/ on top; a
	 * 256th node, registered or only named, does not. */
	b.n = 0;
	for (unsigned i = 1; i <= 255; i++) {
		snprintf(key, sizeof(key), ZK "nodes/10.1.%u.%u", i / 100,
		    i % 100 + 1);
		put(&b, key, "x", 1000 - i);
	}
	struct reg_view *v = xcalloc(1, sizeof(*v));
	assert_int_equal(parse(&b, v), 0);
	assert_int_equal(v->n_nodes, 255);
	assert_int_equal(reg_alive(v), 255);
	assert_string_equal(v->nodes[0].ip, "10.1.2.56");
	put(&b, ZK "ids/10.1.0.2", "1", 2);
	assert_int_equal(parse(&b, v), 0);
	assert_int_equal(must_find(v, "10.1.0.2")->id, 1);
	put(&b, ZK "nodes/10.2.0.1", "x", 2000);
	parse_bad(&b, "registry key " ZK "nodes/10.2.0.1: too many nodes",
	    NULL);
	drop(&b, ZK "nodes/10.2.0.1");
	put(&b, ZK "started/10.2.0.1", "1", 2000);
	parse_bad(&b, "registry key " ZK "started/10.2.0.1: too many nodes",
	    NULL);
	/* Many more: refused, and quickly (no pass per registration). */
	drop(&b, ZK "started/10.2.0.1");
	for (unsigned i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), ZK "nodes/10.3.%u.%u", i / 200,
		    i % 200 + 1);
		put(&b, key, "x", 3000 + i);
	}
	parse_bad(&b, "too many nodes", NULL);
	kvs_free(&b);
	reg_view_free(v);
	free(v);
}

/* Every leading part of a good set (each prefix a read could have seen
 * while nodes wrote) parses, and never yields a participant without an
 * id or ids out of range. */
static void
test_partial_sets(void **state)
{
	struct kvs b;
	struct reg_view *v = xcalloc(1, sizeof(*v));
	size_t all;

	(void)state;
	sealed_set(&b);
	all = b.n;
	for (size_t n = 0; n <= all; n++) {
		assert_int_equal(reg_parse("zk", b.p, n, 1, v, err,
		    sizeof(err)), 0);
		for (size_t i = 0; i < v->n_nodes; i++) {
			assert_true(v->nodes[i].id <= REG_ID_MAX);
			if (v->nodes[i].participant)
				assert_true(v->nodes[i].id >= 1);
			assert_true(reg_valid_ip(v->nodes[i].ip));
		}
		assert_true(v->n_sealed <= v->n_nodes);
	}
	kvs_free(&b);
	reg_view_free(v);
	free(v);
}

/* hosts/<name> names the node at its address; a second name for one
 * address does not take it; a bad name or address is refused. */
static void
test_hosts(void **state)
{
	struct kvs b;
	struct reg_view *v = xcalloc(1, sizeof(*v));
	const struct reg_node *nd;

	(void)state;
	sealed_set(&b);
	put(&b, ZK "hosts/h3", "10.0.0.3", 50);
	put(&b, ZK "hosts/h9.zl.test", "10.0.0.3", 51);
	assert_int_equal(parse(&b, v), 0);
	nd = reg_find_name(v, "h3");
	assert_non_null(nd);
	assert_string_equal(nd->ip, "10.0.0.3");
	assert_int_equal(nd->id, 1);
	assert_null(reg_find_name(v, "h9.zl.test"));
	assert_null(reg_find_name(v, "h1"));
	assert_int_equal(v->n_nodes, 4);
	kvs_free(&b);

	sealed_set(&b);
	put(&b, ZK "hosts/h3", "10.0.0.03", 50);
	parse_bad(&b, ZK "hosts/h3", "IP address");
	kvs_free(&b);
	sealed_set(&b);
	put(&b, ZK "hosts/bad name", "10.0.0.3", 50);
	parse_bad(&b, ZK "hosts/bad", "member name");
	kvs_free(&b);
	reg_view_free(v);
	free(v);
}

/* A service that read its keys at revision 10 hears of changes from 11
 * on: the hub's news must reach back that far. */
static void
test_watch_missed(void **state)
{
	(void)state;
	assert_false(reg_watch_missed(10, 0, 0));	/* a stream starts at 11 */
	assert_false(reg_watch_missed(10, 10, 11));	/* the change it read */
	assert_true(reg_watch_missed(10, 11, 11));	/* one after its read */
	assert_false(reg_watch_missed(10, 0, 5));	/* news since 5 */
	assert_false(reg_watch_missed(10, 0, 11));
	assert_true(reg_watch_missed(10, 0, 12));	/* news since 12 only */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch_missed),
		cmocka_unit_test(test_valid_ip),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_sealed_set),
		cmocka_unit_test(test_registration_order),
		cmocka_unit_test(test_empty_and_ignored),
		cmocka_unit_test(test_parse_sealed),
		cmocka_unit_test(test_parse_sealed_limit),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_hostile_sets),
		cmocka_unit_test(test_partial_sets),
		cmocka_unit_test(test_hosts),
	};

	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
