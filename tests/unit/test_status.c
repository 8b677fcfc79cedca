/* agent/status_verdict.c: the pure decisions of zooinit status that do
 * not need a cluster: ordering etcd versions (a mixed cluster is one with
 * more than one), and whether a learner is still catching up. */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "agent/status_impl.h"

static void
test_version_cmp(void **state)
{
	(void)state;
	assert_int_equal(status_version_cmp("3.4.23", "3.4.23"), 0);
	assert_true(status_version_cmp("3.4.23", "3.5.0") < 0);
	assert_true(status_version_cmp("3.5.21", "3.4.23") > 0);
	/* Numbers, not bytes: 3.10 is newer than 3.9. */
	assert_true(status_version_cmp("3.10.1", "3.9.9") > 0);
	assert_true(status_version_cmp("3.5.9", "3.5.10") < 0);
	assert_int_equal(status_version_cmp("3.05.1", "3.5.1"), 0);
	/* A prefix is older: "3.6" < "3.6.0"; a suffix after the numbers
	 * compares byte by byte. */
	assert_true(status_version_cmp("3.6", "3.6.0") < 0);
	assert_true(status_version_cmp("3.6.0-rc.1", "3.6.0") > 0);
	assert_true(status_version_cmp("", "3.4.23") < 0);
}

static void
test_version_order(void **state)
{
	const char *mixed[] = { "3.5.21", "3.4.23", NULL, "3.4.23", "3.10.0" };
	const char *same[] = { "3.7.3", "3.7.3", "3.7.3" };
	const char *none[] = { NULL, NULL };
	size_t order[5];

	(void)state;
	assert_int_equal(status_version_order(mixed, 5, order), 3);
	/* 3.4.23 (members 1 and 3, in their order), 3.5.21, 3.10.0, then
	 * the member with no known version. */
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 0);
	assert_int_equal(order[3], 4);
	assert_int_equal(order[4], 2);

	assert_int_equal(status_version_order(same, 3, order), 1);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[2], 2);

	assert_int_equal(status_version_order(none, 2, order), 0);
	assert_int_equal(status_version_order(none, 0, order), 0);
}

static void
test_learner_behind(void **state)
{
	(void)state;
	/* etcd promotes a learner whose log holds 90% of the leader's. */
	assert_true(status_learner_behind(0, 100));
	assert_true(status_learner_behind(89, 100));
	assert_false(status_learner_behind(90, 100));
	assert_false(status_learner_behind(100, 100));
	assert_false(status_learner_behind(120, 100));
	assert_false(status_learner_behind(0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_version_order),
		cmocka_unit_test(test_learner_behind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
