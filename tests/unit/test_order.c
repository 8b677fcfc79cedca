#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/order.h"
#include "agent/plan.h"

#define U ORDER_UNKNOWN
#define A ORDER_ABSENT
#define S ORDER_SERVING

/* The first member etcd asks whose port is not closed must serve; one
 * not yet known, or holding its connection (starting), makes it wait. */
static void
test_go(void **state)
{
	enum order_peer serving[] = { S };
	enum order_peer skip[] = { A, A, S };
	enum order_peer starting[] = { A, U, S };
	enum order_peer unknown[] = { U, S };
	enum order_peer absent[] = { A, A };

	(void)state;
	assert_true(order_go(serving, 1, false));
	assert_true(order_go(skip, 3, false));
	assert_false(order_go(starting, 3, false));
	assert_false(order_go(starting, 3, true));
	assert_false(order_go(unknown, 2, false));
	assert_false(order_go(absent, 2, false));
	assert_true(order_go(absent, 2, true));
	assert_true(order_go(NULL, 0, true));
}

static void
set(struct plan_member *m, char *name, char *url, bool self)
{
	memset(m, 0, sizeof(*m));
	m->name = name;
	m->peer_url = url;
	m->self = self;
}

/* etcd sorts the URLs as strings: 10.0.0.10 comes before 10.0.0.2; the
 * member names (the plan's order) do not count. */
static void
test_rank(void **state)
{
	struct plan_member m[4];
	struct plan p;

	(void)state;
	memset(&p, 0, sizeof(p));
	set(&m[0], "a", "http://10.0.0.2:2380", false);
	set(&m[1], "b", "http://10.0.0.10:2380", false);
	set(&m[2], "c", "http://10.0.0.3:2380", true);
	set(&m[3], "d", "https://10.0.0.1:2380", false);
	p.m = m;
	p.n = 4;
	p.self = 2;
	assert_int_equal(order_rank(&p), 2);
	m[2].self = false;
	m[1].self = true;
	p.self = 1;
	assert_int_equal(order_rank(&p), 0);
	m[1].self = false;
	m[3].self = true;
	p.self = 3;
	assert_int_equal(order_rank(&p), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go),
		cmocka_unit_test(test_rank),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
