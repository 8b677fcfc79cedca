#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/join_map.h"
#include "etcd/api.h"
#include "etcd/member_id.h"

#define ME "http://10.0.0.4:2380"

/* h1 and h2 started; the dead h3 at 10.0.0.3 (id 0x30); this host added
 * as a learner (id 0x40, no name yet). */
#define REPLACED "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"}," \
	"\"members\":[" \
	"{\"ID\":\"48\",\"name\":\"h3\",\"peerURLs\":[\"http://10.0.0.3:2380\"]," \
	"\"clientURLs\":[\"http://10.0.0.3:2379\"]}," \
	"{\"ID\":\"16\",\"name\":\"h1\",\"peerURLs\":[\"http://10.0.0.1:2380\"]," \
	"\"clientURLs\":[\"http://10.0.0.1:2379\"]}," \
	"{\"ID\":\"64\",\"peerURLs\":[\"" ME "\"],\"isLearner\":true}," \
	"{\"ID\":\"32\",\"name\":\"h2\",\"peerURLs\":[\"http://10.0.0.2:2380\"]," \
	"\"clientURLs\":[\"http://10.0.0.2:2379\"]}]}"

static void
parse(const char *body, struct etcd_members *ms)
{
	char err[200];

	memset(ms, 0, sizeof(*ms));
	assert_int_equal(etcd_parse_members(body, strlen(body), ms, err,
	    sizeof(err)), 0);
}

/* The dead member holding this host's name is stale; this host's own
 * entry, added but never started, is found by its peer URL. */
static void
test_view_replaced(void **state)
{
	struct etcd_members ms;
	struct join_view v;

	(void)state;
	parse(REPLACED, &ms);
	join_view_of(&ms, "h3", ME, &v);
	assert_non_null(v.stale);
	assert_int_equal(v.stale->id, 48);
	assert_non_null(v.mine);
	assert_int_equal(v.mine->id, 64);
	assert_true(join_added_unstarted(v.mine));
	assert_false(join_added_unstarted(v.stale));
	/* Another host's view: nothing of its own, nothing stale. */
	join_view_of(&ms, "h5", "http://10.0.0.5:2380", &v);
	assert_null(v.mine);
	assert_null(v.stale);
	etcd_members_free(&ms);
}

/* A member of the initial cluster that never started has its planned
 * name: it is no member added to a running cluster. */
static void
test_initial_unstarted(void **state)
{
	struct etcd_members ms;
	struct join_view v;

	(void)state;
	parse("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"members\":[{\"ID\":\"7\",\"name\":\"h3\",\"peerURLs\":[\""
	    ME "\"]}]}", &ms);
	join_view_of(&ms, "h3", ME, &v);
	assert_non_null(v.mine);
	assert_null(v.stale);
	assert_false(join_added_unstarted(v.mine));
	/* A cluster still forming: nobody has published client URLs. */
	assert_false(join_members_started(&ms));
	etcd_members_free(&ms);
	parse(REPLACED, &ms);
	assert_true(join_members_started(&ms));
	etcd_members_free(&ms);
}

/* A restored cluster (or one whose members restarted before this one
 * first started) lists this host's initial member without a name: its
 * ID, derived from the peer URL and the token, tells it from one added
 * at run time. */
static void
test_initial_unstarted_nameless(void **state)
{
	char *urls[] = { ME }, err[160], body[512];
	struct etcd_members ms;
	struct join_view v;
	uint64_t id;

	(void)state;
	assert_int_equal(etcd_member_id(urls, 1, "tok", &id, err,
	    sizeof(err)), 0);
	snprintf(body, sizeof(body), "{\"header\":{\"cluster_id\":\"1\","
	    "\"member_id\":\"2\"},\"members\":[{\"ID\":\"%llu\","
	    "\"peerURLs\":[\"" ME "\"]}]}", (unsigned long long)id);
	parse(body, &ms);
	join_view_of(&ms, "h4", ME, &v);
	assert_non_null(v.mine);
	assert_true(join_initial_unstarted(v.mine, ME, "tok"));
	/* Another token: another cluster's ID, so an added member. */
	assert_false(join_initial_unstarted(v.mine, ME, "other"));
	assert_false(join_initial_unstarted(v.mine, ME, NULL));
	/* A learner is always added. */
	ms.v[0].learner = true;
	assert_false(join_initial_unstarted(v.mine, ME, "tok"));
	etcd_members_free(&ms);
	/* The added learner of REPLACED (id 64). */
	parse(REPLACED, &ms);
	join_view_of(&ms, "h3", ME, &v);
	assert_false(join_initial_unstarted(v.mine, ME, "tok"));
	etcd_members_free(&ms);
}

/* Never the same name twice: the stale h3 goes by its ID, or is left
 * out when skipped. */
static void
test_cluster_string(void **state)
{
	struct etcd_members ms;
	char *s;

	(void)state;
	parse(REPLACED, &ms);
	s = join_cluster_string(&ms, "h3", ME, 0);
	assert_string_equal(s, "m0000000000000030=http://10.0.0.3:2380,"
	    "h1=http://10.0.0.1:2380,h3=" ME ",h2=http://10.0.0.2:2380");
	free(s);
	s = join_cluster_string(&ms, "h3", ME, 48);
	assert_string_equal(s, "h1=http://10.0.0.1:2380,h3=" ME
	    ",h2=http://10.0.0.2:2380");
	free(s);
	etcd_members_free(&ms);
	/* Two other members under one name, one unnamed. */
	parse("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\"},"
	    "\"members\":[{\"ID\":\"1\",\"name\":\"a\",\"peerURLs\":[\"u1\"]},"
	    "{\"ID\":\"2\",\"name\":\"a\",\"peerURLs\":[\"u2\"]},"
	    "{\"ID\":\"3\",\"peerURLs\":[\"u3\"]}]}", &ms);
	s = join_cluster_string(&ms, "me", ME, 0);
	assert_string_equal(s, "a=u1,m0000000000000002=u2,"
	    "m0000000000000003=u3");
	free(s);
	etcd_members_free(&ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_replaced),
		cmocka_unit_test(test_initial_unstarted),
		cmocka_unit_test(test_initial_unstarted_nameless),
		cmocka_unit_test(test_cluster_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
