/* agent/rejoin.c: whether a peer's member list still lists this host,
 * where the removed member's data dir is kept, the note zooinit status
 * shows. */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/plan.h"
#include "agent/rejoin.h"
#include "etcd/api.h"

/* What h1 answers once h3 was removed: h1, h2 and a learner added but not
 * started yet (no name). */
static const char list_without_h3[] =
    "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"11\"},\"members\":["
    "{\"ID\":\"11\",\"name\":\"h1\",\"peerURLs\":[\"http://10.0.0.1:2380\"],"
    "\"clientURLs\":[\"http://10.0.0.1:2379\"]},"
    "{\"ID\":\"12\",\"name\":\"h2\",\"peerURLs\":[\"http://10.0.0.2:2380\"],"
    "\"clientURLs\":[\"http://10.0.0.2:2379\"]},"
    "{\"ID\":\"14\",\"peerURLs\":[\"http://10.0.0.4:2380\"],"
    "\"isLearner\":true}]}";

static void
test_listed(void **state)
{
	struct etcd_members ms;
	char err[200];

	(void)state;
	assert_int_equal(etcd_parse_members(list_without_h3,
	    strlen(list_without_h3), &ms, err, sizeof(err)), 0);
	assert_true(rejoin_listed(&ms, "h1", "http://10.0.0.1:2380"));
	/* The name alone, or the peer URL alone, is enough. */
	assert_true(rejoin_listed(&ms, "h2", "http://10.0.0.9:2380"));
	assert_true(rejoin_listed(&ms, "h4", "http://10.0.0.4:2380"));
	assert_false(rejoin_listed(&ms, "h3", "http://10.0.0.3:2380"));
	/* An empty name never matches the learner's empty one. */
	assert_false(rejoin_listed(&ms, "", "http://10.0.0.3:2380"));
	etcd_members_free(&ms);
}

static void
test_aside_path(void **state)
{
	char *p;

	(void)state;
	/* 2026-12-04 15:30:00 UTC */
	p = rejoin_aside_path("/var/lib/zooinit/etcd", 1796398200);
	assert_string_equal(p, "/var/lib/zooinit/etcd.removed-20261204T153000Z");
	free(p);
	p = rejoin_aside_path("/data//", 0);
	assert_string_equal(p, "/data.removed-19700101T000000Z");
	free(p);
}

static void
test_note(void **state)
{
	/* mkdtemp() below replaces the template's six X's. */
	char dir[] = "/tmp/zi-rejoin-XXXXXX", err[256];
	char *data, *got, *sd, *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	data = malloc(strlen(dir) + 8);
	sprintf(data, "%s/etcd", dir);
	assert_null(rejoin_note_read(data));
	assert_int_equal(rejoin_note_write(data, "member h3 was removed", err,
	    sizeof(err)), 0);
	got = rejoin_note_read(data);
	assert_non_null(got);
	assert_string_equal(got, "member h3 was removed");
	free(got);
	sd = plan_state_dir(data);
	path = malloc(strlen(sd) + sizeof(REJOIN_NOTE) + 2);
	sprintf(path, "%s/%s", sd, REJOIN_NOTE);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(sd), 0);
	assert_int_equal(rmdir(dir), 0);
	free(path);
	free(sd);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listed),
		cmocka_unit_test(test_aside_path),
		cmocka_unit_test(test_note),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
