/* agent/plan.c: what a plan gives out and reads back. etcd's argv, the
 * plan's JSON and printout, the journal a member keeps beside its data
 * dir (written, read, moved from an older place, refused when corrupt),
 * plan_parse_url(), and what zooinit plan prints while a token is not
 * full. The fixture is in plan_fix.h. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/plan.h"
#include "plan_fix.h"

/* ---- argv, JSON, print ---------------------------------------------- */

static void
test_argv(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	expect_ok(f);
	plan_build_argv(&f->p);
	assert_int_equal(f->p.argc, WANT_ARGC);
	for (size_t i = 0; i < WANT_ARGC; i++)
		assert_string_equal(f->p.argv[i], want_argv[i]);
	assert_null(f->p.argv[f->p.argc]);

	/* Built again after a restart decision: existing, nothing leaked. */
	plan_set_existing(&f->p, "the data dir holds member h2");
	assert_string_equal(f->p.state, "existing");
	assert_string_equal(f->p.state_reason, "the data dir holds member h2");
	plan_build_argv(&f->p);
	assert_int_equal(f->p.argc, WANT_ARGC);
	assert_string_equal(f->p.argv[WANT_ARGC - 2], "--initial-cluster-state");
	assert_string_equal(f->p.argv[WANT_ARGC - 1], "existing");
	assert_null(f->p.argv[WANT_ARGC]);
}

static void
test_json(void **state)
{
	struct fx *f = *state;
	json_error_t je;
	json_t *o, *m, *a;
	char *s;

	add_three(f, PLAIN);
	expect_ok(f);
	plan_build_argv(&f->p);
	s = plan_json(&f->p);
	o = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	free(s);
	if (o == NULL)
		fail_msg("plan_json is not JSON: %s", je.text);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "h2");
	assert_string_equal(json_string_value(json_object_get(o, "source")),
	    "dns");
	assert_string_equal(json_string_value(json_object_get(o,
	    "initial_cluster")), IC3);
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "new");
	assert_string_equal(json_string_value(json_object_get(o, "token")),
	    "http://127.0.0.1:2378/zooinit-etcd-zl.test");

	m = json_object_get(o, "members");
	assert_true(json_is_array(m));
	assert_int_equal(json_array_size(m), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(m, i);

		assert_string_equal(json_string_value(json_object_get(e,
		    "name")), f->p.m[i].name);
		assert_string_equal(json_string_value(json_object_get(e,
		    "peer_url")), f->p.m[i].peer_url);
		assert_string_equal(json_string_value(json_object_get(e,
		    "client_url")), f->p.m[i].client_url);
		assert_int_equal(json_is_true(json_object_get(e, "self")),
		    i == 1);
	}
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 0), "name")), "h1");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 2), "peer_url")), "http://10.0.0.3:2380");

	a = json_object_get(o, "etcd_argv");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), WANT_ARGC);
	for (size_t i = 0; i < WANT_ARGC; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)),
		    want_argv[i]);
	json_decref(o);
}

static void
test_print(void **state)
{
	struct fx *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	add_three(f, PLAIN);
	expect_ok(f);
	plan_build_argv(&f->p);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	plan_print(&f->p, out);
	fclose(out);
	assert_contains(text, "this host:   h2 (10.0.0.2)\n");
	assert_contains(text, "initial cluster: " IC3 "\n");
	assert_contains(text, "(this host)");
	assert_contains(text, "--initial-cluster-state new\n");
	free(text);
}

/* ---- the journal ---------------------------------------------------- */

static void
journal_path(const struct fx *f, char *path, size_t len)
{
	char *p = plan_journal_path(f->dir);

	snprintf(path, len, "%s", p);
	free(p);
}

static void
write_journal_text(struct fx *f, const char *text)
{
	char path[160];
	FILE *fp;

	char *state = plan_state_dir(f->dir);

	(void)mkdir(state, 0700);
	free(state);
	journal_path(f, path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_journal_roundtrip(void **state)
{
	struct fx *f = *state;
	char path[160], tmp[170];
	struct stat st;

	make_dir(f);
	add_three(f, PLAIN);
	f->c.token = "prod-etcd-7";
	expect_ok(f);
	if (plan_journal_write(&f->p, f->dir, f->err, sizeof(f->err)) != 0)
		fail_msg("plan_journal_write: %s", f->err);

	journal_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);

	if (read_journal(f) != 0)
		fail_msg("plan_journal_read: %s", f->err);
	assert_string_equal(f->q.source, "journal");
	assert_string_equal(f->q.source_detail, path);
	assert_string_equal(f->q.state, "existing");
	assert_string_equal(f->q.scheme, "http");
	assert_string_equal(f->q.token, "http://127.0.0.1:2378/prod-etcd-7");
	assert_string_equal(f->q.initial_cluster, IC3);
	assert_string_equal(f->q.data_dir, f->dir);
	assert_string_equal(f->q.etcd, "/usr/bin/etcd");
	assert_int_equal(f->q.n, 3);
	assert_int_equal(f->q.self, 1);
	for (size_t i = 0; i < 3; i++) {
		assert_member(&f->q.m[i], f->p.m[i].name, f->p.m[i].host,
		    f->p.m[i].addr, f->p.m[i].peer_url, f->p.m[i].client_url,
		    i == 1);
	}

	/* The restart argv joins the existing cluster. */
	plan_build_argv(&f->q);
	assert_string_equal(f->q.argv[f->q.argc - 1], "existing");
	assert_string_equal(f->q.argv[f->q.argc - 3], "http://127.0.0.1:2378/prod-etcd-7");
	assert_string_equal(f->q.argv[f->q.argc - 5], IC3);

	/* Writing again replaces the file in place. */
	plan_set_existing(&f->p, "again");
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.initial_cluster, IC3);
}

static void
test_journal_ipv6_roundtrip(void **state)
{
	struct fx *f = *state;

	make_dir(f);
	add(f, PLAIN, "h2.zl.test", 2380, "fd00::2", NULL);
	add(f, PLAIN, "h1.zl.test", 2380, "fd00::1", NULL);
	add(f, PLAIN, "h3.zl.test", 2380, "fd00::3", NULL);
	set_ip(f, "fd00::3");
	expect_ok(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	if (read_journal(f) != 0)
		fail_msg("plan_journal_read: %s", f->err);
	assert_string_equal(f->q.initial_cluster, f->p.initial_cluster);
	assert_int_equal(f->q.self, 2);
	assert_string_equal(f->q.m[2].addr, "fd00::3");
}

/* A temp file left by a crash must not decide the journal's mode. */
static void
test_journal_mode_despite_leftover(void **state)
{
	struct fx *f = *state;
	char path[160], tmp[170];
	struct stat st;
	int fd;

	make_dir(f);
	write_journal_text(f, "");	/* makes the state dir */
	journal_path(f, path, sizeof(path));
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);

	add_three(f, PLAIN);
	expect_ok(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_journal_missing(void **state)
{
	struct fx *f = *state;

	make_dir(f);
	assert_int_equal(read_journal(f), 1);
	assert_memory_equal(&f->q, &zero_plan, sizeof(f->q));
}

static void
test_journal_write_fails(void **state)
{
	struct fx *f = *state;

	add_three(f, PLAIN);
	expect_ok(f);
	/* The state dir cannot be made: its parent is a regular file. */
	assert_int_equal(plan_journal_write(&f->p, "/dev/null/etcd",
	    f->err, sizeof(f->err)), -1);
	assert_contains(f->err, "/dev/null/etcd" PLAN_STATE_SUFFIX);
	assert_contains(f->err, "Not a directory");
}

/* A journal an older zooinit left inside the data dir is moved beside it
 * and read; the data dir then holds nothing of zooinit's. */
static void
test_journal_moved_from_data_dir(void **state)
{
	struct fx *f = *state;
	char old[160], path[160];
	struct stat st;

	make_dir(f);
	add_three(f, PLAIN);
	expect_ok(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	journal_path(f, path, sizeof(path));
	snprintf(old, sizeof(old), "%s/%s", f->dir, PLAN_JOURNAL_OLD);
	assert_int_equal(rename(path, old), 0);

	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.initial_cluster, f->p.initial_cluster);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* The second start reads the moved journal. */
	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.source_detail, path);
}

/* plan_state_dir() drops trailing slashes before adding its suffix. */
static void
test_state_dir_name(void **state)
{
	char *d = plan_state_dir("/var/lib/zooinit/etcd//");

	(void)state;
	assert_string_equal(d, "/var/lib/zooinit/etcd" PLAN_STATE_SUFFIX);
	free(d);
}

#define J_HEAD "{\"version\": 1, \"name\": \"h1\", \"source\": \"dns\", " \
	"\"scheme\": \"http\", \"state\": \"new\", \"token\": \"tok\", "
#define J_M(n, a) "{\"name\": \"" n "\", \"host\": \"" n ".zl.test\", " \
	"\"peer_url\": \"http://" a ":2380\", " \
	"\"client_url\": \"http://" a ":2379\"}"
#define J_GOOD J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", " \
	J_M("h2", "10.0.0.2") "]}\n"

/* Writes text as the journal and expects -1 with the path and the
 * fragment (or NULL) in the error, and nothing in the plan. */
static void
expect_corrupt(struct fx *f, const char *text, const char *frag)
{
	char path[160];

	write_journal_text(f, text);
	journal_path(f, path, sizeof(path));
	if (read_journal(f) != -1)
		fail_msg("journal accepted: %s", text);
	assert_memory_equal(&f->q, &zero_plan, sizeof(f->q));
	assert_message_clean(f->err);
	assert_contains(f->err, path);
	if (frag != NULL)
		assert_contains(f->err, frag);
}

static void
test_journal_corrupt(void **state)
{
	struct fx *f = *state;

	make_dir(f);
	/* The template itself is fine. */
	write_journal_text(f, J_GOOD);
	if (read_journal(f) != 0)
		fail_msg("good journal refused: %s", f->err);
	assert_string_equal(f->q.initial_cluster,
	    "h1=http://10.0.0.1:2380,h2=http://10.0.0.2:2380");
	plan_free(&f->q);

	expect_corrupt(f, "not json at all\n", NULL);
	expect_corrupt(f, "", NULL);
	expect_corrupt(f, "{\"name\": \"h1\", \"members\": [", NULL);
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    "{\"name\": \"h2\", \"peer_url\": \"http://h1;rm -rf /:2380\", "
	    "\"client_url\": \"http://10.0.0.2:2379\"}]}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    J_M("h2", "h2.zl.test") "]}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h2", "10.0.0.2") ", "
	    J_M("h3", "10.0.0.3") "]}", "\"name\"");
	expect_corrupt(f, J_HEAD "\"members\": []}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": {}}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    "{\"name\": \"h2;x\", \"peer_url\": \"http://10.0.0.2:2380\", "
	    "\"client_url\": \"http://10.0.0.2:2379\"}]}", "\"members\"");
	expect_corrupt(f, J_HEAD "\"members\": [" J_M("h1", "10.0.0.1") ", "
	    "{\"name\": \"h2\", \"host\": \"a/b\", "
	    "\"peer_url\": \"http://10.0.0.2:2380\", "
	    "\"client_url\": \"http://10.0.0.2:2379\"}]}", "\"members\"");
	expect_corrupt(f, "{\"version\": 1, \"name\": \"h1\", "
	    "\"members\": [" J_M("h1", "10.0.0.1") "]}", "\"token\"");
	expect_corrupt(f, "{\"version\": 1, \"name\": \"../h1\", "
	    "\"token\": \"t\", \"members\": [" J_M("h1", "10.0.0.1") "]}",
	    "\"name\"");
	/* Duplicate keys are refused rather than silently picked. */
	expect_corrupt(f, "{\"name\": \"h1\", \"name\": \"h2\", "
	    "\"token\": \"t\", \"members\": [" J_M("h1", "10.0.0.1") "]}",
	    NULL);
	/* Every corrupt journal says how to recover. */
	expect_corrupt(f, J_HEAD "\"members\": []}", "move the file away");
}

/* ---- plan_parse_url ------------------------------------------------- */

static void
expect_url(const char *url, const char *scheme, const char *addr,
    unsigned port)
{
	char s[8] = "", a[64] = "";
	unsigned p = 0;

	if (plan_parse_url(url, s, sizeof(s), a, sizeof(a), &p) != 0)
		fail_msg("\"%s\" refused", url);
	assert_string_equal(s, scheme);
	assert_string_equal(a, addr);
	assert_int_equal(p, port);
}

static void
expect_bad_url(const char *url)
{
	char s[8], a[64];
	unsigned p = 0;

	if (plan_parse_url(url, s, sizeof(s), a, sizeof(a), &p) != -1)
		fail_msg("\"%s\" accepted", url);
}

static void
test_parse_url_good(void **state)
{
	(void)state;
	expect_url("http://10.0.0.1:2380", "http", "10.0.0.1", 2380);
	expect_url("https://10.0.0.1:2379", "https", "10.0.0.1", 2379);
	expect_url("http://[fd00::1]:2380", "http", "fd00::1", 2380);
	expect_url("https://[::1]:1", "https", "::1", 1);
	expect_url("http://255.255.255.255:65535", "http",
	    "255.255.255.255", 65535);
	expect_url("http://[2001:db8::8a2e:370:7334]:2380", "http",
	    "2001:db8::8a2e:370:7334", 2380);
}

static void
test_parse_url_bad(void **state)
{
	(void)state;
	/* Scheme. */
	expect_bad_url("");
	expect_bad_url("10.0.0.1:2380");
	expect_bad_url("//10.0.0.1:2380");
	expect_bad_url("ftp://10.0.0.1:2380");
	expect_bad_url("unix://10.0.0.1:2380");
	expect_bad_url("http:/10.0.0.1:2380");
	/* Hosts are IP literals only. */
	expect_bad_url("http://h1.zl.test:2380");
	expect_bad_url("http://localhost:2380");
	expect_bad_url("http://h1;rm -rf /:2380");
	expect_bad_url("http://:2380");
	expect_bad_url("http://10.0.0:2380");
	expect_bad_url("http://10.0.0.256:2380");
	expect_bad_url("http://user@10.0.0.1:2380");
	expect_bad_url("http://[fe80::1%eth0]:2380");
	/* Port. */
	expect_bad_url("http://10.0.0.1:0");
	expect_bad_url("http://10.0.0.1:65536");
	expect_bad_url("http://10.0.0.1:4294969676");
	expect_bad_url("http://10.0.0.1");
	expect_bad_url("http://10.0.0.1:");
	expect_bad_url("http://10.0.0.1:abc");
	expect_bad_url("http://10.0.0.1:23a");
	expect_bad_url("http://10.0.0.1:-1");
	expect_bad_url("http://10.0.0.1:+80");
	expect_bad_url("http://10.0.0.1: 80");
	expect_bad_url("http://10.0.0.1:2380/");
	expect_bad_url("http://10.0.0.1:2380/path");
	expect_bad_url("http://[fd00::1]");
	expect_bad_url("http://[fd00::1]:");
	expect_bad_url("http://[fd00::1]:0");
	/* Brackets. */
	expect_bad_url("http://[fd00::1:2380");
	expect_bad_url("http://fd00::1]:2380");
	expect_bad_url("http://[fd00::1]2380");
	expect_bad_url("http://[[fd00::1]]:2380");
	expect_bad_url("http://[]:2380");
}

/* An IP literal host in a URL is an IPv4 address or a bracketed IPv6 one
 * (RFC 3986 3.2.2); "fd00::1:2380" is ambiguous and etcd cannot listen on
 * it. */
static void
test_parse_url_needs_brackets_for_v6_only(void **state)
{
	(void)state;
	expect_bad_url("http://fd00::1:2380");
	expect_bad_url("http://::1:2380");
	expect_bad_url("http://[10.0.0.1]:2380");
}

/* libcurl splits more URLs than a member's URL may be: every host must
 * write the same --initial-cluster, so only the one spelling
 * url_make() gives is taken. */
static void
test_parse_url_only_the_canonical_spelling(void **state)
{
	(void)state;
	expect_bad_url("http://10.0.0.1:02380");
	expect_bad_url("HTTP://10.0.0.1:2380");
	expect_bad_url("http://10.0.0.1:2380?x=1");
	expect_bad_url("http://10.0.0.1:2380#f");
	expect_bad_url("http://10.0.0.1:2380/?");
	expect_bad_url("http://user:pw@10.0.0.1:2380");
	expect_bad_url("http://[FD00::1]:2380");
	expect_bad_url("http://[fd00:0::1]:2380");
	expect_bad_url("http://010.0.0.1:2380");
	expect_bad_url("http://10.0.0.1:2380 ");
	expect_bad_url(" http://10.0.0.1:2380");
}

/* ---- a token that is not full: what zooinit plan prints ------------- */

static void
test_waiting_json(void **state)
{
	char *names[] = { "h1", "h3" };
	char *urls[] = { "http://10.0.0.1:2380", "http://10.0.0.3:2380" };
	struct plan_waiting w = { .detail = "http://10.0.9.9:4001/v2/keys/T",
	    .names = names, .urls = urls, .n = 2, .size = 3, .name = "h2",
	    .peer_url = "http://10.0.0.2:2380" };
	json_error_t je;
	char *s;
	json_t *o;

	(void)state;
	s = plan_waiting_json(&w);
	o = json_loads(s, 0, &je);
	free(s);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "source")),
	    "token");
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "waiting");
	assert_string_equal(json_string_value(json_object_get(o,
	    "source_detail")), w.detail);
	assert_string_equal(json_string_value(json_object_get(o,
	    "state_reason")), "2/3 registered: h1, h3; plan does not "
	    "register this host");
	assert_int_equal(json_integer_value(json_object_get(o, "registered")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(o, "size")), 3);
	assert_int_equal(json_array_size(json_object_get(o, "members")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "members"), 1), "peer_url")), urls[1]);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    o, "this_host"), "peer_url")), "http://10.0.0.2:2380");
	assert_true(json_is_false(json_object_get(json_object_get(o,
	    "this_host"), "registered")));
	json_decref(o);
}

/* A registered host, and names from the service that are not text: the
 * output quotes them and stays JSON and one line each. */
static void
test_waiting_registered_and_hostile(void **state)
{
	char *names[] = { "h2", "e\xff\x1b[1m" };
	char *urls[] = { "http://10.0.0.2:2380", "http://\n10.0.0.9:2380" };
	struct plan_waiting w = { .detail = "token T at http://10.0.9.9:2379",
	    .names = names, .urls = urls, .n = 2, .size = 5, .name = "h2",
	    .peer_url = "http://10.0.0.2:2380" };
	char *s, *text = NULL;
	size_t len = 0;
	json_t *o;
	FILE *f;

	(void)state;
	s = plan_waiting_json(&w);
	o = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(o);
	assert_true(json_is_true(json_object_get(json_object_get(o,
	    "this_host"), "registered")));
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(o, "members"), 0), "self")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "members"), 1), "name")), "e\\xff\\x1b[1m");
	json_decref(o);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	plan_waiting_print(&w, f);
	fclose(f);
	assert_non_null(strstr(text, "this host:   h2, registered as "
	    "h2=http://10.0.0.2:2380\n"));
	assert_non_null(strstr(text, "state:       waiting (2/5 registered: "
	    "h2, e\\xff\\x1b[1m; this host is one of them)\n"));
	assert_null(strchr(text, '\x1b'));
	assert_null(strstr(text, "http://\n"));
	free(text);
}

static void
test_json_string_not_utf8(void **state)
{
	json_t *v;

	(void)state;
	v = plan_json_stringn("a\0b", 3);
	assert_int_equal(json_string_length(v), 3);
	json_decref(v);
	v = plan_json_string("\xc3\x28");
	assert_string_equal(json_string_value(v), "\\xc3(");
	json_decref(v);
	v = plan_json_string(NULL);
	assert_true(json_is_null(v));
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_argv),
		T(test_json),
		T(test_print),
		T(test_journal_roundtrip),
		T(test_journal_ipv6_roundtrip),
		T(test_journal_mode_despite_leftover),
		T(test_journal_missing),
		T(test_journal_write_fails),
		T(test_journal_moved_from_data_dir),
		T(test_state_dir_name),
		T(test_journal_corrupt),
		T(test_parse_url_good),
		T(test_parse_url_bad),
		T(test_parse_url_needs_brackets_for_v6_only),
		T(test_parse_url_only_the_canonical_spelling),
		T(test_waiting_json),
		T(test_waiting_registered_and_hostile),
		T(test_json_string_not_utf8),
	};

	return cmocka_run_group_tests_name("plan_output", tests, NULL, NULL);
}
