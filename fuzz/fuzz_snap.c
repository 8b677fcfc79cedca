/* etcd/snap.h: the lines of a snapshot stream as a member (or anything
 * posing as one) sends them, and snapshot file names.
 *
 * Input: lines separated by '\n'; each non-empty one goes to
 * etcd_snap_feed() until one is refused, then etcd_snap_end(). The data
 * handed back must add up to what the checker counted, a refusal leaves a
 * sentence in err, and a stream the checker accepts ended with a matching
 * sha256. Every line is also tried as a file name: one that parses must
 * be written back byte for byte by etcd_snap_name(), and the rotation
 * choice over all lines must pick only parsed names, each once. The
 * whole input is also read as a bbolt db for its revision. */
#include "lib/fmacros.h"

#include "etcd/snap.h"
#include "fuzz/fuzz.h"

static void
check_names(char **lines, size_t n)
{
	size_t *out = calloc(n + 1, sizeof(*out));
	bool *seen = calloc(n + 1, sizeof(*seen));
	uint64_t id = 0, first_id = 0;
	int64_t rev, t;
	size_t k;

	FUZZ_CHECK(out != NULL && seen != NULL);
	for (size_t i = 0; i < n; i++) {
		char back[ETCD_SNAP_NAME_MAX];

		if (!etcd_snap_name_parse(lines[i], &id, &rev, &t))
			continue;
		if (first_id == 0)
			first_id = id;
		FUZZ_CHECK(rev >= 0);
		FUZZ_CHECK(etcd_snap_name(id, rev, t, back, sizeof(back)) == 0);
		FUZZ_CHECK(strcmp(back, lines[i]) == 0);
	}
	k = etcd_snap_pick_old((const char *const *)lines, n, first_id, 1,
	    out);
	FUZZ_CHECK(k <= n);
	for (size_t j = 0; j < k; j++) {
		FUZZ_CHECK(out[j] < n && !seen[out[j]]);
		seen[out[j]] = true;
		FUZZ_CHECK(etcd_snap_name_parse(lines[out[j]], &id, &rev, &t) &&
		    id == first_id);
	}
	free(out);
	free(seen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_snap_check k;
	char err[FUZZ_ERRLEN];
	char **lines = calloc(size + 1, sizeof(*lines));
	size_t n = 0, at = 0;
	uint64_t got = 0;
	bool failed = false;

	FUZZ_CHECK(lines != NULL);
	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;

		lines[n++] = fuzz_strndup(data + at, end - at);
		at = end + 1;
	}

	etcd_snap_check_init(&k);
	for (size_t i = 0; i < n && !failed; i++) {
		const unsigned char *d;
		size_t len = strlen(lines[i]), dn = 0;
		bool etcd_err = false;

		if (len == 0)
			continue;
		fuzz_err_reset(err);
		if (etcd_snap_feed(&k, lines[i], len, &d, &dn, &etcd_err, err,
		    sizeof(err)) < 0) {
			fuzz_err_check(err);
			failed = true;
			continue;
		}
		FUZZ_CHECK(dn == 0 || d != NULL);
		got += dn;
		FUZZ_CHECK(got == k.received);
	}
	fuzz_err_reset(err);
	if (!failed && etcd_snap_end(&k, err, sizeof(err)) == 0)
		FUZZ_CHECK(k.phase == ETCD_SNAP_DONE && k.remaining == 0);
	else if (!failed)
		fuzz_err_check(err);
	etcd_snap_check_free(&k);

	check_names(lines, n);
	int64_t rev = -1;
	if (etcd_snap_db_revision(data, size, &rev) == 0)
		FUZZ_CHECK(rev >= 0);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return 0;
}
