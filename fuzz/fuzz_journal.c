/* plan_journal_read() on a hostile journal (the input; an
 * empty input means no journal at all), then, for a journal that reads,
 * what a restart does with it: argv, JSON, and writing it back and
 * reading it again, which must give the same plan. */
#include "lib/fmacros.h"

#include "agent/plan.h"
#include "config/cfg.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_plan.h"
#include "resolver/dnsname.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[FUZZ_PATH];
	char path[FUZZ_PATH + 64], err[FUZZ_ERRLEN];
	struct cfg c;
	struct plan p;
	int rc;

	fuzz_init_common();
	if (dir[0] == '\0')
		fuzz_subdir("journal", dir);
	/* The old place: every read then goes through the move as well. */
	snprintf(path, sizeof(path), "%s/%s", dir, PLAN_JOURNAL_OLD);
	if (size > 0)
		fuzz_write_file(path, data, size);

	memset(&c, 0, sizeof(c));
	c.data_dir = dir;
	c.etcd = (char *)"/usr/bin/etcd";
	c.client_port = 2379;

	fuzz_err_reset(err);
	rc = plan_journal_read(&c, &p, err, sizeof(err));
	FUZZ_CHECK(rc == -1 || rc == 0 || rc == 1);
	FUZZ_CHECK(rc != 1 || size == 0);
	if (rc == 0) {
		FUZZ_CHECK(strcmp(p.source, "journal") == 0);
		FUZZ_CHECK(p.n > 0 && p.self < p.n && p.m[p.self].self);
		for (size_t i = 0; i < p.n; i++)
			FUZZ_CHECK(dns_member_name_valid(p.m[i].name, true));
		fuzz_plan_exercise(&p, &c, true);
		plan_free(&p);
	} else {
		if (rc < 0)
			fuzz_err_check(err);
		FUZZ_CHECK(p.m == NULL && p.n == 0 && p.token == NULL);
	}
	unlink(path);
	char *moved = plan_journal_path(dir);
	unlink(moved);
	free(moved);
	return 0;
}
