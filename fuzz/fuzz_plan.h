/* What the plan harnesses do with a plan that came out PLAN_OK: what
 * bootstrap does with it (argv, JSON, the printed plan) and the journal
 * round trip, since a host must always be able to restart from the
 * journal it wrote when it bootstrapped. */
#ifndef ZOOINIT_FUZZ_PLAN_H
#define ZOOINIT_FUZZ_PLAN_H

#include "agent/plan.h"
#include "fuzz/fuzz.h"
#include "lib/xmalloc.h"

/* Keys of plan_json() that legitimately differ once a plan has gone
 * through the journal (where it came from, its state, where it lives). */
static const char *const fuzz_plan_volatile[] = {
	"source", "source_detail", "skipped", "state", "state_reason",
	"data_dir", "etcd_argv", "role_reason",
};

static inline json_t *
fuzz_plan_stable_json(const struct plan *p)
{
	char *s = plan_json(p);
	json_error_t je;
	json_t *o = json_loads(s, 0, &je);

	if (o == NULL) {
		fprintf(stderr, "plan_json is not JSON (%s):\n%s\n", je.text,
		    s);
		fuzz_fail();
	}
	free(s);
	for (size_t i = 0; i < sizeof(fuzz_plan_volatile) /
	    sizeof(fuzz_plan_volatile[0]); i++)
		json_object_del(o, fuzz_plan_volatile[i]);
	return o;
}

static inline FILE *
fuzz_devnull(void)
{
	static FILE *f;

	if (f == NULL)
		f = fopen("/dev/null", "we");
	if (f == NULL)
		fuzz_fail();
	return f;
}

/* The members of p as registrations of a token that still waits for
 * them (this host last, as if it were not registered yet): what zooinit
 * plan prints then must be JSON holding every one of them. */
static inline void
fuzz_plan_waiting(const struct plan *p)
{
	char **names = xcalloc(p->n + 1, sizeof(*names));
	char **urls = xcalloc(p->n + 1, sizeof(*urls));
	const struct plan_member *me = plan_me(p);
	struct plan_waiting w = { .detail = p->source_detail, .names = names,
	    .urls = urls, .n = p->n, .size = p->n + 1, .name = me->name,
	    .peer_url = me->peer_url ? me->peer_url : me->client_url };
	json_t *o;
	char *s;

	for (size_t i = 0; i < p->n; i++) {
		names[i] = p->m[i].name;
		urls[i] = p->m[i].peer_url;
	}
	plan_waiting_print(&w, fuzz_devnull());
	s = plan_waiting_json(&w);
	o = json_loads(s, 0, NULL);
	FUZZ_CHECK(o != NULL);
	FUZZ_CHECK(json_array_size(json_object_get(o, "members")) == p->n);
	FUZZ_CHECK(json_is_string(json_object_get(o, "state_reason")));
	json_decref(o);
	free(s);
	free(names);
	free(urls);
}

/* p is a complete plan made from c; journal says whether bootstrap
 * would write it to the journal (every member's plan does). */
static inline void
fuzz_plan_exercise(struct plan *p, const struct cfg *c, bool journal)
{
	char dir[FUZZ_PATH], path[FUZZ_PATH + 64], err[1024];
	json_t *mine, *back, *members, *full;
	struct plan q;
	struct cfg c2;
	char *s;
	int rc;

	plan_build_argv(p);
	FUZZ_CHECK(p->argv != NULL && p->argc > 1 && p->argv[p->argc] == NULL);
	for (size_t i = 0; i < p->argc; i++)
		FUZZ_CHECK(p->argv[i] != NULL);
	FUZZ_CHECK(p->n > 0 && (p->proxy || p->self < p->n));

	plan_print(p, fuzz_devnull());
	fuzz_plan_waiting(p);
	s = plan_json(p);
	FUZZ_CHECK(s != NULL);

	/* Every field of the plan made it into the JSON: json_string()
	 * returns NULL for text that is not UTF-8, and plan_json() then
	 * silently leaves the key or the argv element out. */
	full = json_loads(s, 0, NULL);
	FUZZ_CHECK(full != NULL);
	free(s);
	FUZZ_CHECK(json_is_string(json_object_get(full, "data_dir")));
	FUZZ_CHECK(json_array_size(json_object_get(full, "etcd_argv")) ==
	    p->argc);
	json_decref(full);

	mine = fuzz_plan_stable_json(p);
	members = json_object_get(mine, "members");
	FUZZ_CHECK(json_is_string(json_object_get(mine, "name")));
	FUZZ_CHECK(json_is_string(json_object_get(mine, "token")));
	FUZZ_CHECK(json_is_string(json_object_get(mine, "initial_cluster")));
	FUZZ_CHECK(json_is_array(members) && json_array_size(members) == p->n);

	if (!journal) {
		json_decref(mine);
		return;
	}
	fuzz_subdir("journal-rt", dir);
	if (plan_journal_write(p, dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "plan_journal_write: %s\n", err);
		fuzz_fail();
	}
	c2 = *c;
	c2.data_dir = dir;
	rc = plan_journal_read(&c2, &q, err, sizeof(err));
	if (rc != 0) {
		char *t = plan_json(p);

		fprintf(stderr, "journal round trip: plan_journal_read "
		    "returned %d: %s\nfor the plan:\n%s\n", rc,
		    rc < 0 ? err : "(no journal)", t);
		free(t);
		fuzz_fail();
	}
	plan_build_argv(&q);
	back = fuzz_plan_stable_json(&q);
	if (!json_equal(mine, back)) {
		char *a = json_dumps(mine, JSON_INDENT(1) | JSON_SORT_KEYS);
		char *b = json_dumps(back, JSON_INDENT(1) | JSON_SORT_KEYS);

		fprintf(stderr, "journal round trip changed the plan:\n%s\n"
		    "came back as:\n%s\n", a, b);
		fuzz_fail();
	}
	json_decref(back);
	json_decref(mine);
	plan_free(&q);
	snprintf(path, sizeof(path), "%s/%s", dir, PLAN_JOURNAL);
	unlink(path);
}

#endif
