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

#include "agent/token.h"
#include "config/cfg.h"
#include "lib/xmalloc.h"
#include "etcd/v2.h"

/* Answers captured from Debian's etcd 3.4.23 (--enable-v2) on loopback,
 * driven the way the discovery protocol drives it: PUT _config/size, PUT
 * name=url with prevExist=false, GET the token directory, wait on a key. */
static const char SET_SIZE[] =
    "{\"action\":\"set\",\"node\":{\"key\":\"/_etcd/registry/T/_config/size\","
    "\"value\":\"3\",\"modifiedIndex\":4,\"createdIndex\":4}}\n";
static const char GET_SIZE[] =
    "{\"action\":\"get\",\"node\":{\"key\":\"/_etcd/registry/T/_config/size\","
    "\"value\":\"3\",\"modifiedIndex\":4,\"createdIndex\":4}}\n";
static const char CREATE_H1[] =
    "{\"action\":\"create\",\"node\":{\"key\":\"/_etcd/registry/T/h1\","
    "\"value\":\"h1=http://10.0.0.1:2380\",\"modifiedIndex\":5,"
    "\"createdIndex\":5}}\n";
static const char EXISTS_H1[] =
    "{\"errorCode\":105,\"message\":\"Key already exists\",\"cause\":"
    "\"/_etcd/registry/T/h1\",\"index\":5}\n";
static const char LIST_T[] =
    "{\"action\":\"get\",\"node\":{\"key\":\"/_etcd/registry/T\",\"dir\":true,"
    "\"nodes\":[{\"key\":\"/_etcd/registry/T/h1\",\"value\":"
    "\"h1=http://10.0.0.1:2380\",\"modifiedIndex\":5,\"createdIndex\":5},"
    "{\"key\":\"/_etcd/registry/T/h2\",\"value\":\"h2=http://10.0.0.2:2380\","
    "\"modifiedIndex\":6,\"createdIndex\":6}],\"modifiedIndex\":4,"
    "\"createdIndex\":4}}\n";
static const char NOT_FOUND[] =
    "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":"
    "\"/_etcd/registry/x\",\"index\":6}\n";
/* A watch that fired on an overwrite: the new node and the one replaced. */
static const char WAIT_SET[] =
    "{\"action\":\"set\",\"node\":{\"key\":\"/_etcd/registry/T/h3\",\"value\":"
    "\"h3=http://10.0.0.9:2380\",\"modifiedIndex\":8,\"createdIndex\":8},"
    "\"prevNode\":{\"key\":\"/_etcd/registry/T/h3\",\"value\":"
    "\"h3=http://10.0.0.3:2380\",\"modifiedIndex\":7,\"createdIndex\":7}}\n";
/* A directory holding a subdirectory and a key, in etcd's order. */
static const char LIST_T2[] =
    "{\"action\":\"get\",\"node\":{\"key\":\"/_etcd/registry/T2\",\"dir\":true,"
    "\"nodes\":[{\"key\":\"/_etcd/registry/T2/sub\",\"dir\":true,"
    "\"modifiedIndex\":10,\"createdIndex\":10},{\"key\":"
    "\"/_etcd/registry/T2/h1\",\"value\":\"x\",\"modifiedIndex\":11,"
    "\"createdIndex\":11}],\"modifiedIndex\":10,\"createdIndex\":10}}\n";
static const char INDEX_CLEARED[] =
    "{\"errorCode\":401,\"message\":\"The event in requested index is "
    "outdated and cleared\",\"cause\":\"the requested history has been "
    "cleared [23/2]\",\"index\":1022}\n";
static const char NOT_A_FILE[] =
    "{\"errorCode\":102,\"message\":\"Not a file\",\"cause\":"
    "\"/_etcd/registry/T2/sub\",\"index\":1022}\n";
/* GET /v2/keys/ of a fresh etcd: the root has no key and no index. */
static const char ROOT[] = "{\"action\":\"get\",\"node\":{\"dir\":true}}\n";
static const char EMPTY_VALUE[] =
    "{\"action\":\"set\",\"node\":{\"key\":\"/_etcd/registry/T/h9\","
    "\"value\":\"\",\"modifiedIndex\":9,\"createdIndex\":9}}\n";

/* etcd hides "_config" from listings; a discovery service that does not
 * (or an older etcd) shows it as a subdirectory among the members. */
static const char LIST_WITH_CONFIG[] =
    "{\"action\":\"get\",\"node\":{\"key\":\"/_etcd/registry/T\",\"dir\":true,"
    "\"nodes\":[{\"key\":\"/_etcd/registry/T/h2\",\"value\":"
    "\"h2=http://10.0.0.2:2380\",\"modifiedIndex\":6,\"createdIndex\":6},"
    "{\"key\":\"/_etcd/registry/T/_config\",\"dir\":true,\"nodes\":[{\"key\":"
    "\"/_etcd/registry/T/_config/size\",\"value\":\"3\",\"modifiedIndex\":4,"
    "\"createdIndex\":4}],\"modifiedIndex\":4,\"createdIndex\":4},"
    "{\"key\":\"/_etcd/registry/T/h1\",\"value\":\"h1=http://10.0.0.1:2380\","
    "\"modifiedIndex\":5,\"createdIndex\":5}],\"modifiedIndex\":4,"
    "\"createdIndex\":4}}\n";

#define LEN(s) (sizeof(s) - 1)

static const struct etcd_v2_reply zero_reply;

/* Everything one test touches; the teardown frees it, so a failed
 * assertion leaks nothing. */
struct fx {
	struct etcd_v2_reply r;
	char err[512];
	char *buf;		/* the body, exactly len bytes, no NUL */
	char *big;		/* a generated body */
};

static int
setup(void **state)
{
	*state = xcalloc(1, sizeof(struct fx));
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	etcd_v2_reply_free(&f->r);
	free(f->buf);
	free(f->big);
	free(f);
	return 0;
}

#define assert_contains(s, sub) do {					\
	if (strstr((s), (sub)) == NULL)					\
		fail_msg("\"%s\"\n  lacks \"%s\"", (s), (sub));		\
} while (0)

/* Parses the first len bytes of body from a heap copy of exactly that
 * size, so reading past the end shows up under valgrind. */
static int
parse_len(struct fx *f, const char *body, size_t len)
{
	etcd_v2_reply_free(&f->r);
	free(f->buf);
	f->buf = xmalloc(len > 0 ? len : 1);
	memcpy(f->buf, body, len);
	f->err[0] = '\0';
	return etcd_v2_parse(f->buf, len, &f->r, f->err, sizeof(f->err));
}

static void
parse_ok(struct fx *f, const char *body, size_t len)
{
	if (parse_len(f, body, len) != 0)
		fail_msg("refused (%s): %.200s", f->err, body);
	assert_int_equal(f->err[0], '\0');
}

static void
parse_str(struct fx *f, const char *body)
{
	parse_ok(f, body, strlen(body));
}

/* A message a user reads: no control bytes that could forge log lines
 * or drive a terminal. Returns the offset of the first one, or -1; shown
 * writes s with every byte outside printable ASCII as \xNN. */
static int
first_control(const char *s, char *shown, size_t len)
{
	int bad = -1;
	size_t o = 0;

	shown[0] = '\0';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 || *p == 0x7f) && bad < 0)
			bad = (int)(p - (const unsigned char *)s);
		if (o + 5 < len)
			o += (size_t)snprintf(shown + o, len - o,
			    *p < 0x20 || *p > 0x7e ? "\\x%02x" : "%c", *p);
	}
	return bad;
}

#define assert_no_controls(what, s) do {				\
	char shown_[1024];						\
	if (first_control((s), shown_, sizeof(shown_)) >= 0)		\
		fail_msg("%s has control bytes: \"%s\"", (what), shown_); \
} while (0)

/* Expects -1, *out zeroed and an error that says what was wrong (frag,
 * or NULL for any). */
static void
expect_bad_len(struct fx *f, const char *body, size_t len, const char *frag)
{
	int rc;

	etcd_v2_reply_free(&f->r);
	free(f->buf);
	f->buf = xmalloc(len > 0 ? len : 1);
	memcpy(f->buf, body, len);
	memset(&f->r, 0xa5, sizeof(f->r));
	f->err[0] = '\0';
	rc = etcd_v2_parse(f->buf, len, &f->r, f->err, sizeof(f->err));
	if (rc != -1) {
		if (rc != 0)
			memset(&f->r, 0, sizeof(f->r));
		fail_msg("returned %d for: %.200s", rc, body);
	}
	assert_memory_equal(&f->r, &zero_reply, sizeof(f->r));
	if (strncmp(f->err, "not a v2 keys answer: ", 22) != 0 &&
	    strncmp(f->err, "malformed v2 keys answer: ", 26) != 0)
		fail_msg("unclear error \"%s\" for: %.200s", f->err, body);
	assert_true(strlen(f->err) > 26);
	if (frag != NULL)
		assert_contains(f->err, frag);
}

static void
expect_bad(struct fx *f, const char *body, const char *frag)
{
	expect_bad_len(f, body, strlen(body), frag);
}

static void
assert_node(const struct etcd_v2_node *n, const char *key, const char *value,
    bool dir, uint64_t created, uint64_t modified)
{
	assert_string_equal(n->key, key);
	if (value == NULL)
		assert_null(n->value);
	else
		assert_string_equal(n->value, value);
	assert_int_equal(n->dir, dir);
	assert_int_equal(n->created, created);
	assert_int_equal(n->modified, modified);
}

/* ---- real answers --------------------------------------------------- */

static void
test_get_key(void **state)
{
	struct fx *f = *state;

	parse_ok(f, GET_SIZE, LEN(GET_SIZE));
	assert_int_equal(f->r.error_code, 0);
	assert_null(f->r.message);
	assert_node(&f->r.node, "/_etcd/registry/T/_config/size", "3", false,
	    4, 4);
	assert_int_equal(f->r.n, 0);
	assert_null(f->r.nodes);
	assert_int_equal(f->r.max_index, 4);

	parse_ok(f, SET_SIZE, LEN(SET_SIZE));
	assert_node(&f->r.node, "/_etcd/registry/T/_config/size", "3", false,
	    4, 4);
	assert_int_equal(f->r.max_index, 4);

	/* An empty value is a value, not a directory. */
	parse_ok(f, EMPTY_VALUE, LEN(EMPTY_VALUE));
	assert_node(&f->r.node, "/_etcd/registry/T/h9", "", false, 9, 9);
}

static void
test_create(void **state)
{
	struct fx *f = *state;

	parse_ok(f, CREATE_H1, LEN(CREATE_H1));
	assert_int_equal(f->r.error_code, 0);
	assert_null(f->r.message);
	assert_node(&f->r.node, "/_etcd/registry/T/h1",
	    "h1=http://10.0.0.1:2380", false, 5, 5);
	assert_int_equal(f->r.n, 0);
	assert_int_equal(f->r.max_index, 5);
}

static void
test_directory(void **state)
{
	struct fx *f = *state;

	parse_ok(f, LIST_T, LEN(LIST_T));
	assert_int_equal(f->r.error_code, 0);
	assert_node(&f->r.node, "/_etcd/registry/T", NULL, true, 4, 4);
	assert_int_equal(f->r.n, 2);
	assert_node(&f->r.nodes[0], "/_etcd/registry/T/h1",
	    "h1=http://10.0.0.1:2380", false, 5, 5);
	assert_node(&f->r.nodes[1], "/_etcd/registry/T/h2",
	    "h2=http://10.0.0.2:2380", false, 6, 6);
	assert_int_equal(f->r.max_index, 6);

	/* A subdirectory is a child like any other, in the order given. */
	parse_ok(f, LIST_T2, LEN(LIST_T2));
	assert_node(&f->r.node, "/_etcd/registry/T2", NULL, true, 10, 10);
	assert_int_equal(f->r.n, 2);
	assert_node(&f->r.nodes[0], "/_etcd/registry/T2/sub", NULL, true,
	    10, 10);
	assert_node(&f->r.nodes[1], "/_etcd/registry/T2/h1", "x", false,
	    11, 11);
	assert_int_equal(f->r.max_index, 11);
}

static void
test_directory_with_config(void **state)
{
	struct fx *f = *state;

	parse_ok(f, LIST_WITH_CONFIG, LEN(LIST_WITH_CONFIG));
	assert_node(&f->r.node, "/_etcd/registry/T", NULL, true, 4, 4);
	/* Direct children only, in the answer's order (not sorted). */
	assert_int_equal(f->r.n, 3);
	assert_node(&f->r.nodes[0], "/_etcd/registry/T/h2",
	    "h2=http://10.0.0.2:2380", false, 6, 6);
	assert_node(&f->r.nodes[1], "/_etcd/registry/T/_config", NULL, true,
	    4, 4);
	assert_node(&f->r.nodes[2], "/_etcd/registry/T/h1",
	    "h1=http://10.0.0.1:2380", false, 5, 5);
	assert_int_equal(f->r.max_index, 6);
}

static void
test_root_and_empty_directory(void **state)
{
	struct fx *f = *state;
	static const char empty[] =
	    "{\"action\":\"get\",\"node\":{\"key\":\"/_etcd/registry/E\","
	    "\"dir\":true,\"modifiedIndex\":12,\"createdIndex\":12}}";
	static const char empty_nodes[] =
	    "{\"action\":\"get\",\"node\":{\"key\":\"/_etcd/registry/E\","
	    "\"dir\":true,\"nodes\":[],\"modifiedIndex\":12,"
	    "\"createdIndex\":12}}";

	parse_ok(f, ROOT, LEN(ROOT));
	assert_node(&f->r.node, "/", NULL, true, 0, 0);
	assert_int_equal(f->r.n, 0);
	assert_int_equal(f->r.max_index, 0);

	parse_ok(f, empty, LEN(empty));
	assert_node(&f->r.node, "/_etcd/registry/E", NULL, true, 12, 12);
	assert_int_equal(f->r.n, 0);
	assert_int_equal(f->r.max_index, 12);

	parse_ok(f, empty_nodes, LEN(empty_nodes));
	assert_int_equal(f->r.n, 0);
	assert_int_equal(f->r.max_index, 12);
}

static void
test_errors(void **state)
{
	struct fx *f = *state;

	parse_ok(f, NOT_FOUND, LEN(NOT_FOUND));
	assert_int_equal(f->r.error_code, ETCD_V2_KEY_NOT_FOUND);
	assert_string_equal(f->r.message, "Key not found: /_etcd/registry/x");
	assert_int_equal(f->r.max_index, 6);
	assert_null(f->r.node.key);
	assert_null(f->r.node.value);
	assert_int_equal(f->r.n, 0);
	assert_null(f->r.nodes);

	parse_ok(f, EXISTS_H1, LEN(EXISTS_H1));
	assert_int_equal(f->r.error_code, ETCD_V2_NODE_EXIST);
	assert_string_equal(f->r.message,
	    "Key already exists: /_etcd/registry/T/h1");
	assert_int_equal(f->r.max_index, 5);

	parse_ok(f, INDEX_CLEARED, LEN(INDEX_CLEARED));
	assert_int_equal(f->r.error_code, ETCD_V2_INDEX_CLEARED);
	assert_string_equal(f->r.message, "The event in requested index is "
	    "outdated and cleared: the requested history has been cleared "
	    "[23/2]");
	assert_int_equal(f->r.max_index, 1022);

	parse_ok(f, NOT_A_FILE, LEN(NOT_A_FILE));
	assert_int_equal(f->r.error_code, 102);
	assert_string_equal(f->r.message, "Not a file: /_etcd/registry/T2/sub");

	/* The brief shape, index 7; and without cause or index. */
	parse_str(f, "{\"errorCode\":100,\"message\":\"Key not found\","
	    "\"cause\":\"/_etcd/registry/x\",\"index\":7}");
	assert_int_equal(f->r.error_code, 100);
	assert_int_equal(f->r.max_index, 7);
	parse_str(f, "{\"errorCode\":105,\"message\":\"Key already exists\"}");
	assert_int_equal(f->r.error_code, 105);
	assert_string_equal(f->r.message, "Key already exists");
	assert_int_equal(f->r.max_index, 0);
	parse_str(f, "{\"errorCode\":999}");
	assert_int_equal(f->r.error_code, 999);
	assert_non_null(f->r.message);
	assert_true(strlen(f->r.message) > 0);
	parse_str(f, "{\"errorCode\":1}");
	assert_int_equal(f->r.error_code, 1);
}

/* A server that talks too much: the message stays bounded. */
static void
test_error_message_bounded(void **state)
{
	struct fx *f = *state;
	char *m = xmalloc(5001), *c = xmalloc(5001);

	memset(m, 'm', 5000);
	m[5000] = '\0';
	memset(c, 'c', 5000);
	c[5000] = '\0';
	f->big = xasprintf("{\"errorCode\":100,\"message\":\"%s\",\"cause\":"
	    "\"%s\",\"index\":3}", m, c);
	free(m);
	free(c);
	parse_ok(f, f->big, strlen(f->big));
	assert_int_equal(f->r.error_code, 100);
	assert_true(strlen(f->r.message) <= 410);
	assert_true(strlen(f->r.message) >= 200);
}

static void
test_wait_answer(void **state)
{
	struct fx *f = *state;

	parse_ok(f, WAIT_SET, LEN(WAIT_SET));
	assert_int_equal(f->r.error_code, 0);
	assert_node(&f->r.node, "/_etcd/registry/T/h3",
	    "h3=http://10.0.0.9:2380", false, 8, 8);
	assert_int_equal(f->r.n, 0);
	assert_int_equal(f->r.max_index, 8);
}

static void
test_max_index(void **state)
{
	struct fx *f = *state;

	/* The largest of every created and modified index seen, wherever it
	 * is: the directory, the first or a middle child. */
	parse_str(f, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"createdIndex\":4,\"modifiedIndex\":40,\"nodes\":["
	    "{\"key\":\"/d/a\",\"value\":\"1\",\"createdIndex\":9,"
	    "\"modifiedIndex\":31},"
	    "{\"key\":\"/d/b\",\"value\":\"2\",\"createdIndex\":7,"
	    "\"modifiedIndex\":7}]}}");
	assert_int_equal(f->r.max_index, 40);
	assert_int_equal(f->r.node.created, 4);
	assert_int_equal(f->r.node.modified, 40);

	parse_str(f, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"createdIndex\":4,\"modifiedIndex\":4,\"nodes\":["
	    "{\"key\":\"/d/a\",\"value\":\"1\",\"createdIndex\":9,"
	    "\"modifiedIndex\":9},"
	    "{\"key\":\"/d/b\",\"value\":\"2\",\"createdIndex\":57,"
	    "\"modifiedIndex\":12},"
	    "{\"key\":\"/d/c\",\"value\":\"3\",\"createdIndex\":10,"
	    "\"modifiedIndex\":11}]}}");
	assert_int_equal(f->r.max_index, 57);
	assert_int_equal(f->r.nodes[1].created, 57);
	assert_int_equal(f->r.nodes[1].modified, 12);

	/* The largest index jansson can hold. */
	parse_str(f, "{\"action\":\"get\",\"node\":{\"key\":\"/k\",\"value\":\"v\","
	    "\"createdIndex\":9223372036854775807,\"modifiedIndex\":1}}");
	assert_int_equal(f->r.max_index, INT64_MAX);
}

static void
test_nodes_order_as_given(void **state)
{
	static const char *const keys[] = { "/d/h5", "/d/h1", "/d/h4",
	    "/d/h2", "/d/h3" };
	static const uint64_t created[] = { 20, 8, 15, 11, 3 };
	struct fx *f = *state;
	FILE *out;
	size_t len;

	out = open_memstream(&f->big, &len);
	assert_non_null(out);
	fprintf(out, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"nodes\":[");
	for (size_t i = 0; i < 5; i++)
		fprintf(out, "%s{\"key\":\"%s\",\"value\":\"v%zu\","
		    "\"createdIndex\":%llu,\"modifiedIndex\":%llu}",
		    i ? "," : "", keys[i], i, (unsigned long long)created[i],
		    (unsigned long long)created[i]);
	fprintf(out, "]}}");
	fclose(out);
	parse_ok(f, f->big, len);
	assert_int_equal(f->r.n, 5);
	for (size_t i = 0; i < 5; i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%zu", i);
		assert_node(&f->r.nodes[i], keys[i], v, false, created[i],
		    created[i]);
	}
	assert_int_equal(f->r.max_index, 20);
}

/* ---- the caps, from both sides -------------------------------------- */

/* A directory answer with n children; value is each child's value. */
static void
make_dir_body(struct fx *f, size_t n, const char *value)
{
	FILE *out;
	size_t len;

	free(f->big);
	f->big = NULL;
	out = open_memstream(&f->big, &len);
	assert_non_null(out);
	fprintf(out, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"nodes\":[");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s{\"key\":\"/d/h%zu\",\"value\":\"%s\","
		    "\"modifiedIndex\":%zu,\"createdIndex\":%zu}", i ? "," : "",
		    i, value, i + 5, i + 5);
	fprintf(out, "],\"modifiedIndex\":4,\"createdIndex\":4}}");
	fclose(out);
}

static void
test_caps_accepted(void **state)
{
	struct fx *f = *state;
	char *v = xmalloc(ETCD_V2_MAX_VALUE + 1), *k = xmalloc(1025);
	char *body;

	make_dir_body(f, ETCD_V2_MAX_NODES, "h=http://10.0.0.1:2380");
	parse_ok(f, f->big, strlen(f->big));
	assert_int_equal(f->r.n, ETCD_V2_MAX_NODES);
	assert_string_equal(f->r.nodes[1023].key, "/d/h1023");
	assert_int_equal(f->r.max_index, 1023 + 5);

	memset(v, 'v', ETCD_V2_MAX_VALUE);
	v[ETCD_V2_MAX_VALUE] = '\0';
	k[0] = '/';
	memset(k + 1, 'k', 1023);
	k[1024] = '\0';
	body = xasprintf("{\"action\":\"get\",\"node\":{\"key\":\"%s\","
	    "\"value\":\"%s\"}}", k, v);
	free(v);
	free(k);
	free(f->big);
	f->big = body;
	parse_ok(f, f->big, strlen(f->big));
	assert_int_equal(strlen(f->r.node.value), ETCD_V2_MAX_VALUE);
	assert_int_equal(strlen(f->r.node.key), 1024);
}

static void
test_too_many_nodes(void **state)
{
	struct fx *f = *state;

	make_dir_body(f, ETCD_V2_MAX_NODES + 1, "h=http://10.0.0.1:2380");
	expect_bad(f, f->big, "more than 1024 nodes");
}

static void
test_value_too_long(void **state)
{
	struct fx *f = *state;
	char *v = xmalloc(ETCD_V2_MAX_VALUE + 2), *k = xmalloc(1026);

	memset(v, 'v', ETCD_V2_MAX_VALUE + 1);
	v[ETCD_V2_MAX_VALUE + 1] = '\0';
	f->big = xasprintf("{\"action\":\"get\",\"node\":{\"key\":\"/k\","
	    "\"value\":\"%s\"}}", v);
	expect_bad(f, f->big, "value");

	/* In a child too, after good ones (their copies are freed). */
	make_dir_body(f, 3, v);
	expect_bad(f, f->big, "value");
	free(f->big);
	f->big = xasprintf("{\"action\":\"get\",\"node\":{\"key\":\"/d\","
	    "\"dir\":true,\"nodes\":[{\"key\":\"/d/a\",\"value\":\"1\"},"
	    "{\"key\":\"/d/b\",\"value\":\"2\"},{\"key\":\"/d/c\","
	    "\"value\":\"%s\"}]}}", v);
	expect_bad(f, f->big, "value");
	free(v);

	k[0] = '/';
	memset(k + 1, 'k', 1024);
	k[1025] = '\0';
	free(f->big);
	f->big = xasprintf("{\"action\":\"get\",\"node\":{\"key\":\"%s\","
	    "\"value\":\"v\"}}", k);
	free(k);
	expect_bad(f, f->big, "key");
}

/* ---- hostile answers ------------------------------------------------ */

static void
test_not_json(void **state)
{
	struct fx *f = *state;

	expect_bad(f, "", "not a v2 keys answer");
	expect_bad(f, " \n", "not a v2 keys answer");
	expect_bad(f, "not json", "not a v2 keys answer");
	expect_bad(f, "<html><body><h1>502 Bad Gateway</h1></body></html>\r\n",
	    "not a v2 keys answer");
	expect_bad(f, "404 page not found\n", "not a v2 keys answer");
	expect_bad(f, "{'action':'get'}", "not a v2 keys answer");
	expect_bad(f, "{\"action\":\"get\",}", "not a v2 keys answer");
	expect_bad(f, "{\"action\":\"get\"} {}", "not a v2 keys answer");
	expect_bad(f, "{\"a\":\"\xff\xfe\"}", "not a v2 keys answer");
	expect_bad(f, "{\"a\":\"\\ud800\"}", "not a v2 keys answer");
	/* A NUL byte inside the length given. */
	expect_bad_len(f, "{\"action\":\"get\"}\0{}", 19, NULL);
	expect_bad_len(f, "\0", 1, NULL);
}

/* Every proper prefix of a real answer is refused, without reading past
 * the length given. */
static void
test_truncated(void **state)
{
	static const struct {
		const char *body;
		size_t len;
	} answers[] = {
		{ LIST_T, LEN(LIST_T) },
		{ WAIT_SET, LEN(WAIT_SET) },
		{ NOT_FOUND, LEN(NOT_FOUND) },
		{ CREATE_H1, LEN(CREATE_H1) },
	};
	struct fx *f = *state;

	for (size_t a = 0; a < sizeof(answers) / sizeof(*answers); a++) {
		/* The last byte is the newline; without it the answer is
		 * still whole. */
		for (size_t len = 0; len < answers[a].len - 1; len++)
			expect_bad_len(f, answers[a].body, len, NULL);
		parse_ok(f, answers[a].body, answers[a].len - 1);
	}
}

static void
test_top_not_object(void **state)
{
	struct fx *f = *state;

	expect_bad(f, "[]", "not an object");
	expect_bad(f, "[{\"action\":\"get\",\"node\":{\"key\":\"/k\","
	    "\"value\":\"v\"}}]", "not an object");
	expect_bad(f, "\"node\"", NULL);
	expect_bad(f, "3", NULL);
	expect_bad(f, "null", NULL);
	expect_bad(f, "true", NULL);
	expect_bad(f, "{}", "no node");
	expect_bad(f, "{\"action\":\"get\"}", "no node");
	expect_bad(f, "{\"action\":\"get\",\"prevNode\":{\"key\":\"/k\","
	    "\"value\":\"v\"}}", "no node");
}

static void
test_node_not_object(void **state)
{
	static const char *const bad[] = {
	    "\"/k\"", "1", "[]", "[{\"key\":\"/k\",\"value\":\"v\"}]", "null",
	    "true", "false", "-1", "1.5",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		free(f->big);
		f->big = xasprintf("{\"action\":\"get\",\"node\":%s}", bad[i]);
		expect_bad(f, f->big, "not an object");
		/* As a child of a directory too. */
		free(f->big);
		f->big = xasprintf("{\"action\":\"get\",\"node\":{\"key\":\"/d\","
		    "\"dir\":true,\"nodes\":[{\"key\":\"/d/a\",\"value\":\"1\"},"
		    "%s]}}", bad[i]);
		expect_bad(f, f->big, "not an object");
	}
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"nodes\":{\"key\":\"/d/a\",\"value\":\"1\"}}}", "nodes");
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"nodes\":\"h1\"}}", "nodes");
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"nodes\":null}}", "nodes");
}

static void
test_bad_fields(void **state)
{
	static const struct {
		const char *node, *frag;
	} bad[] = {
		/* key */
		{ "{\"key\":3,\"value\":\"v\"}", "key" },
		{ "{\"key\":null,\"value\":\"v\"}", "key" },
		{ "{\"key\":[\"/k\"],\"value\":\"v\"}", "key" },
		{ "{\"key\":{\"k\":1},\"value\":\"v\"}", "key" },
		{ "{\"key\":true,\"value\":\"v\"}", "key" },
		/* value */
		{ "{\"key\":\"/k\",\"value\":3}", "value" },
		{ "{\"key\":\"/k\",\"value\":3.5}", "value" },
		{ "{\"key\":\"/k\",\"value\":null}", "value" },
		{ "{\"key\":\"/k\",\"value\":true}", "value" },
		{ "{\"key\":\"/k\",\"value\":[\"v\"]}", "value" },
		{ "{\"key\":\"/k\",\"value\":{\"v\":1}}", "value" },
		/* dir */
		{ "{\"key\":\"/k\",\"dir\":\"true\"}", "dir" },
		{ "{\"key\":\"/k\",\"dir\":1}", "dir" },
		{ "{\"key\":\"/k\",\"dir\":null}", "dir" },
		/* indexes: negative, fractional, huge, not numbers */
		{ "{\"key\":\"/k\",\"value\":\"v\",\"createdIndex\":-1}", "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"modifiedIndex\":-5}",
		  "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\","
		  "\"modifiedIndex\":-9223372036854775808}", "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"createdIndex\":4.5}", "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"createdIndex\":4.0}", "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"modifiedIndex\":1e3}",
		  "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"modifiedIndex\":1e30}",
		  "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"createdIndex\":\"4\"}",
		  "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"createdIndex\":null}",
		  "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"createdIndex\":true}",
		  "index" },
		{ "{\"key\":\"/k\",\"value\":\"v\",\"createdIndex\":[4]}",
		  "index" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		free(f->big);
		f->big = xasprintf("{\"action\":\"get\",\"node\":%s}",
		    bad[i].node);
		expect_bad(f, f->big, bad[i].frag);
		free(f->big);
		f->big = xasprintf("{\"action\":\"get\",\"node\":{\"key\":\"/d\","
		    "\"dir\":true,\"nodes\":[{\"key\":\"/d/a\",\"value\":\"1\","
		    "\"createdIndex\":2},%s,{\"key\":\"/d/c\",\"value\":\"3\"}]}}",
		    bad[i].node);
		expect_bad(f, f->big, bad[i].frag);
	}
}

/* Indexes too large for any integer type are refused by the JSON parser
 * itself; either way the answer is refused. */
static void
test_huge_index(void **state)
{
	static const char *const huge[] = {
	    "9223372036854775808", "18446744073709551615",
	    "18446744073709551616", "99999999999999999999999999999999",
	    "1e400", "-1e400",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(huge) / sizeof(*huge); i++) {
		free(f->big);
		f->big = xasprintf("{\"action\":\"get\",\"node\":{\"key\":\"/k\","
		    "\"value\":\"v\",\"modifiedIndex\":%s,\"createdIndex\":4}}",
		    huge[i]);
		expect_bad(f, f->big, NULL);
	}
}

static void
test_embedded_nul(void **state)
{
	struct fx *f = *state;

	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/k\","
	    "\"value\":\"h1=http://10.0.0.1:2380\\u0000evil\"}}", NULL);
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/k\\u0000/x\","
	    "\"value\":\"v\"}}", NULL);
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"nodes\":[{\"key\":\"/d/a\",\"value\":\"\\u0000\"}]}}", NULL);
	expect_bad(f, "{\"errorCode\":100,\"message\":\"Key not\\u0000found\"}",
	    NULL);
}

static void
test_bad_error_code(void **state)
{
	static const char *const bad[] = {
	    "0", "-1", "-100", "1000", "100000", "4294967396",
	    "\"100\"", "100.0", "1e2", "null", "true", "[100]", "{}",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		free(f->big);
		f->big = xasprintf("{\"errorCode\":%s,\"message\":\"Key not "
		    "found\",\"cause\":\"/x\",\"index\":7}", bad[i]);
		expect_bad(f, f->big, "errorCode");
	}
	/* An error code beside a node still makes an error answer. */
	expect_bad(f, "{\"errorCode\":0,\"action\":\"get\",\"node\":{"
	    "\"key\":\"/k\",\"value\":\"v\"}}", "errorCode");
}

static void
test_duplicate_keys(void **state)
{
	struct fx *f = *state;

	expect_bad(f, "{\"action\":\"get\",\"action\":\"set\",\"node\":{"
	    "\"key\":\"/k\",\"value\":\"v\"}}", NULL);
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/k\","
	    "\"value\":\"v\"},\"node\":{\"key\":\"/evil\",\"value\":\"x\"}}",
	    NULL);
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/k\","
	    "\"value\":\"v\",\"value\":\"w\"}}", NULL);
	expect_bad(f, "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,"
	    "\"nodes\":[{\"key\":\"/d/a\",\"value\":\"1\",\"createdIndex\":5,"
	    "\"createdIndex\":9}]}}", NULL);
	expect_bad(f, "{\"errorCode\":100,\"errorCode\":0}", NULL);
}

static void
test_deep_nesting(void **state)
{
	struct fx *f = *state;
	const size_t depth = 100000;
	char *p;

	/* A 100000-level array: refused, no stack overflow. */
	f->big = xmalloc(2 * depth + 1);
	memset(f->big, '[', depth);
	memset(f->big + depth, ']', depth);
	f->big[2 * depth] = '\0';
	expect_bad(f, f->big, NULL);

	/* Objects inside a good node. */
	free(f->big);
	f->big = xmalloc(depth * 6 + 200);
	p = f->big + sprintf(f->big, "{\"action\":\"get\",\"node\":{\"key\":"
	    "\"/k\",\"value\":\"v\",\"junk\":");
	for (size_t i = 0; i < depth; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "1");
	memset(p, '}', depth);
	p += depth;
	sprintf(p, "}}");
	expect_bad(f, f->big, NULL);

	/* The same depth where the children are. */
	free(f->big);
	f->big = xmalloc(depth * 2 + 200);
	p = f->big + sprintf(f->big, "{\"action\":\"get\",\"node\":{\"key\":"
	    "\"/d\",\"dir\":true,\"nodes\":");
	memset(p, '[', depth);
	p += depth;
	memset(p, ']', depth);
	p += depth;
	sprintf(p, "}}");
	expect_bad(f, f->big, NULL);
}

/* A hostile body must not put terminal escapes or line breaks into the
 * error that ends up in the log. */
static void
test_error_text_has_no_controls(void **state)
{
	static const char *const bodies[] = {
	    "\x1b[2J\x1b[1;31mFATAL: cluster destroyed",
	    "{\"action\":\"get\",\x1b]0;owned\x07}",
	    "{\"action\":\"get\"\r\nlevel=error msg=forged}",
	    "{\"action\":\"get\",\"node\":{\"key\":\"/k\",\"value\":1\x1b[8m}}",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		expect_bad(f, bodies[i], "not a v2 keys answer");
		assert_no_controls("error", f->err);
	}
}

/* etcd's message and cause are text from the network too: an error answer
 * cannot forge log lines or drive the terminal through them. */
static void
test_error_message_has_no_controls(void **state)
{
	struct fx *f = *state;

	parse_str(f, "{\"errorCode\":100,\"message\":\"Key not found\\n"
	    "level=info msg=\\\"all good\\\"\",\"cause\":\"/x\\u001b[2J\\r\","
	    "\"index\":7}");
	assert_int_equal(f->r.error_code, 100);
	assert_contains(f->r.message, "Key not found");
	assert_no_controls("message", f->r.message);
}

static void
test_small_error_buffer(void **state)
{
	struct fx *f = *state;
	char tiny[8];

	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(etcd_v2_parse("nope", 4, &f->r, tiny, sizeof(tiny)),
	    -1);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_memory_equal(&f->r, &zero_reply, sizeof(f->r));
	assert_int_equal(etcd_v2_parse("[]", 2, &f->r, tiny, sizeof(tiny)),
	    -1);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static void
test_reply_free_twice(void **state)
{
	struct fx *f = *state;

	parse_ok(f, LIST_T, LEN(LIST_T));
	etcd_v2_reply_free(&f->r);
	assert_memory_equal(&f->r, &zero_reply, sizeof(f->r));
	etcd_v2_reply_free(&f->r);
}

/* ---- tok_name ------------------------------------------------------- */

static void
test_tok_name(void **state)
{
	(void)state;
	assert_string_equal(tok_name("http://10.0.0.9:4001/v2/keys/_etcd/"
	    "registry/6c007a14875d53d9bf0ef5a6fc0257c817f0fb83"),
	    "6c007a14875d53d9bf0ef5a6fc0257c817f0fb83");
	assert_string_equal(tok_name("https://discovery.etcd.io/abc"), "abc");
	assert_string_equal(tok_name("token"), "token");
	assert_string_equal(tok_name(""), "");
}

/* ---- the initial cluster token of a token-formed cluster ------------ */

static void
test_tok_cluster_token(void **state)
{
	struct cfg c = { .discovery = "http://10.0.0.9:4001/v2/keys/_etcd/"
	    "registry/abc" };
	char err[512] = "", *t;

	(void)state;
	/* v2: unchanged, so clusters already formed keep their IDs. */
	t = tok_cluster_token(&c);
	assert_string_equal(t, "zooinit-etcd-abc");
	free(t);
	c.token = "mine";
	assert_true(tok_cluster_token_check(&c, err, sizeof(err)));
	/* v3: the discovery token itself, as etcd 3.6+ takes it. */
	c = (struct cfg){ .discovery_token = "T1" };
	t = tok_cluster_token(&c);
	assert_string_equal(t, "T1");
	free(t);
	assert_true(tok_cluster_token_check(&c, err, sizeof(err)));
	c.token = "T1";
	assert_true(tok_cluster_token_check(&c, err, sizeof(err)));
	assert_string_equal(err, "");
	c.token = "other";
	assert_false(tok_cluster_token_check(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "token is set to \"other\", but with v3 "
	    "discovery etcd takes the discovery token T1"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_key),
		T(test_create),
		T(test_directory),
		T(test_directory_with_config),
		T(test_root_and_empty_directory),
		T(test_errors),
		T(test_error_message_bounded),
		T(test_wait_answer),
		T(test_max_index),
		T(test_nodes_order_as_given),
		T(test_caps_accepted),
		T(test_too_many_nodes),
		T(test_value_too_long),
		T(test_not_json),
		T(test_truncated),
		T(test_top_not_object),
		T(test_node_not_object),
		T(test_bad_fields),
		T(test_huge_index),
		T(test_embedded_nul),
		T(test_bad_error_code),
		T(test_duplicate_keys),
		T(test_deep_nesting),
		T(test_error_text_has_no_controls),
		T(test_error_message_has_no_controls),
		T(test_small_error_buffer),
		T(test_reply_free_twice),
		T(test_tok_name),
		T(test_tok_cluster_token),
	};

	return cmocka_run_group_tests_name("v2", tests, NULL, NULL);
}
