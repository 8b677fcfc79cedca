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

#include "etcd/member_id.h"
#include "etcd/v2.h"
#include "etcd/v2_serve.h"

/* The registry agent/localdisc.c serves to etcd's --discovery. The
 * answers are read back with the client side's parser (etcd/v2.h), and
 * the member IDs are the ones etcd 3.4.23, 3.5.21 and 3.6.16 registered
 * under when started with these peer URLs and this discovery URL. */

#define URL "http://127.0.0.1:12378/tok1"

static char *names[] = { "a", "b", "c" };
static char *urls[] = { "http://127.0.0.11:12380", "http://127.0.0.12:12380",
    "http://127.0.0.13:12380" };

static struct etcd_v2_registry *
reg3(void)
{
	char err[256];
	struct etcd_v2_registry *r = etcd_v2_registry_new(URL, names, urls,
	    3, err, sizeof(err));

	assert_non_null(r);
	return r;
}

/* Answers method path; parses the body into out. Returns the status. */
static int
ask(struct etcd_v2_registry *r, const char *method, const char *path,
    struct etcd_v2_reply *out)
{
	char err[256], *body = NULL;
	int st = etcd_v2_registry_answer(r, method, path, &body);

	assert_non_null(body);
	assert_int_equal(etcd_v2_parse(body, strlen(body), out, err,
	    sizeof(err)), 0);
	free(body);
	return st;
}

static void
test_size(void **state)
{
	struct etcd_v2_registry *r = reg3();
	struct etcd_v2_reply a;

	(void)state;
	assert_int_equal(ask(r, "GET", "/tok1/_config/size", &a), 200);
	assert_string_equal(a.node.key, "/tok1/_config/size");
	assert_string_equal(a.node.value, "3");
	assert_int_equal(etcd_v2_registry_index(r), 4);
	etcd_v2_reply_free(&a);
	etcd_v2_registry_free(r);
}

static void
test_listing_has_every_member_under_etcds_id(void **state)
{
	struct etcd_v2_registry *r = reg3();
	struct etcd_v2_reply a;

	(void)state;
	assert_int_equal(ask(r, "GET", "/tok1", &a), 200);
	assert_true(a.node.dir);
	assert_int_equal(a.n, 4);
	assert_true(a.nodes[0].dir);
	assert_string_equal(a.nodes[0].key, "/tok1/_config");
	/* As etcd registered them (etcd member list showed these IDs). */
	assert_string_equal(a.nodes[1].key, "/tok1/e14020465a9aba90");
	assert_string_equal(a.nodes[1].value, "a=http://127.0.0.11:12380");
	assert_string_equal(a.nodes[2].key, "/tok1/53f9013db7b22ec4");
	assert_string_equal(a.nodes[3].key, "/tok1/c070b57143eaa32e");
	assert_string_equal(a.nodes[3].value, "c=http://127.0.0.13:12380");
	/* Created in order, after the size key. */
	assert_int_equal(a.nodes[1].created, 2);
	assert_int_equal(a.nodes[3].created, 4);
	etcd_v2_reply_free(&a);
	etcd_v2_registry_free(r);
}

static void
test_register_and_wait(void **state)
{
	struct etcd_v2_registry *r = reg3();
	struct etcd_v2_reply a;

	(void)state;
	/* etcd registers (prevExist=false) and waits on its key; again after
	 * a restart without data. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ask(r, "PUT", "/tok1/53f9013db7b22ec4", &a),
		    201);
		assert_string_equal(a.node.value, "b=http://127.0.0.12:12380");
		assert_int_equal(a.node.created, 3);
		etcd_v2_reply_free(&a);
		assert_int_equal(ask(r, "GET", "/tok1/53f9013db7b22ec4", &a),
		    200);
		assert_string_equal(a.node.key, "/tok1/53f9013db7b22ec4");
		etcd_v2_reply_free(&a);
	}
	etcd_v2_registry_free(r);
}

static void
test_refusals(void **state)
{
	struct etcd_v2_registry *r = reg3();
	struct etcd_v2_reply a;

	(void)state;
	/* A member the plan does not hold (other peer URLs, another
	 * token) is not written. */
	assert_int_equal(ask(r, "PUT", "/tok1/1234abcd", &a), 403);
	assert_int_equal(a.error_code, 104);
	etcd_v2_reply_free(&a);
	assert_int_equal(ask(r, "PUT", "/tok1/_config/size", &a), 403);
	etcd_v2_reply_free(&a);
	assert_int_equal(ask(r, "GET", "/tok2/_config/size", &a), 404);
	assert_int_equal(a.error_code, ETCD_V2_KEY_NOT_FOUND);
	etcd_v2_reply_free(&a);
	assert_int_equal(ask(r, "GET", "/tok1/e14020465a9aba9", &a), 404);
	etcd_v2_reply_free(&a);
	assert_int_equal(ask(r, "DELETE", "/tok1/e14020465a9aba90", &a), 403);
	etcd_v2_reply_free(&a);
	assert_int_equal(ask(r, "GET", "/", &a), 404);
	etcd_v2_reply_free(&a);
	etcd_v2_registry_free(r);
}

static void
test_bad_urls(void **state)
{
	static const char *bad[] = { "http://127.0.0.1:2378", "http://h/",
	    "http://h/a/b", "h/a", "http://h/a?x", "http://h/a%2f" };
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(etcd_v2_registry_new(bad[i], names, urls, 3, err,
		    sizeof(err)));
		assert_non_null(strstr(err, bad[i]));
	}
	assert_null(etcd_v2_registry_new(URL, names, urls, 0, err,
	    sizeof(err)));
	/* A peer URL etcd would not keep as it is. */
	char *bad_url[] = { "http://127.0.0.11:12380/x" };
	assert_null(etcd_v2_registry_new(URL, names, bad_url, 1, err,
	    sizeof(err)));
}

#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_size),
		T(test_listing_has_every_member_under_etcds_id),
		T(test_register_and_wait),
		T(test_refusals),
		T(test_bad_urls),
	};

	return cmocka_run_group_tests_name("v2_serve", tests, NULL, NULL);
}
