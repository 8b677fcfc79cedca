/* etcd/member_id.h: a v3 discovery entry as another member (plain etcd,
 * zooinit, or anyone with write access to the token) left it, and the
 * size key's value.
 *
 * Input: TOKEN "\n" KEY "\n" VALUE, VALUE being every byte after the
 * second newline (NULs included); a missing part is empty. A parsed entry
 * must hold what the header promises and come back unchanged through
 * etcd_member_key() and etcd_member_value(); a refused one leaves a
 * sentence in err and the entry zeroed. */
#include "lib/fmacros.h"

#include "etcd/member_id.h"
#include "fuzz/fuzz.h"
#include "resolver/dnsname.h"

/* The parts of the input: [start, end) of token, key and value. */
static void
split(const uint8_t *data, size_t size, size_t cut[3][2])
{
	size_t at = 0;

	for (int i = 0; i < 3; i++) {
		const uint8_t *nl = i < 2 ? memchr(data + at, '\n', size - at) :
		    NULL;
		size_t end = nl != NULL ? (size_t)(nl - data) : size;

		cut[i][0] = at;
		cut[i][1] = end;
		at = end < size ? end + 1 : size;
	}
}

static void
check_entry(const char *token, const struct etcd_member_entry *e,
    const char *key, size_t klen)
{
	struct etcd_member_entry back;
	char err[FUZZ_ERRLEN];
	uint64_t id = 0;
	char *k, *v;

	FUZZ_CHECK(e->id != 0 && e->name != NULL);
	FUZZ_CHECK(dns_member_name_valid(e->name, true));
	FUZZ_CHECK(e->n_peer_urls >= 1 &&
	    e->n_peer_urls <= ETCD_MEMBER_MAX_URLS);
	FUZZ_CHECK(e->peer_urls[e->n_peer_urls] == NULL);
	for (size_t i = 0; i < e->n_peer_urls; i++) {
		FUZZ_CHECK(etcd_member_peer_url_valid(e->peer_urls[i], err,
		    sizeof(err)));
		FUZZ_CHECK(i == 0 ||
		    strcmp(e->peer_urls[i - 1], e->peer_urls[i]) < 0);
	}
	FUZZ_CHECK(etcd_member_id(e->peer_urls, e->n_peer_urls, token, &id,
	    err, sizeof(err)) == 0 && id == e->id);
	k = etcd_member_key(token, e->id);
	FUZZ_CHECK(strlen(k) == klen && memcmp(k, key, klen) == 0);
	v = etcd_member_value(e->name, e->peer_urls, e->n_peer_urls, err,
	    sizeof(err));
	FUZZ_CHECK(v != NULL);
	FUZZ_CHECK(etcd_member_entry_parse(token, k, strlen(k), v, strlen(v),
	    &back, err, sizeof(err)) == 0);
	FUZZ_CHECK(back.id == e->id && strcmp(back.name, e->name) == 0 &&
	    back.n_peer_urls == e->n_peer_urls);
	for (size_t i = 0; i < e->n_peer_urls; i++)
		FUZZ_CHECK(strcmp(back.peer_urls[i], e->peer_urls[i]) == 0);
	etcd_member_entry_free(&back);
	free(k);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_member_entry e;
	char err[FUZZ_ERRLEN];
	size_t cut[3][2];
	char *token, *key, *value;
	unsigned n = 0;

	split(data, size, cut);
	token = fuzz_strndup(data, cut[0][1]);
	key = fuzz_memdup(data + cut[1][0], cut[1][1] - cut[1][0]);
	value = fuzz_memdup(data + cut[2][0], cut[2][1] - cut[2][0]);

	fuzz_err_reset(err);
	if (etcd_member_size_parse(value, cut[2][1] - cut[2][0], &n, err,
	    sizeof(err)) == 0)
		FUZZ_CHECK(n >= 1 && n <= ETCD_MEMBER_SIZE_MAX);
	else
		fuzz_err_check(err);

	if (strlen(token) == cut[0][1] &&
	    etcd_member_token_valid(token, err, sizeof(err))) {
		fuzz_err_reset(err);
		if (etcd_member_entry_parse(token, key, cut[1][1] - cut[1][0],
		    value, cut[2][1] - cut[2][0], &e, err, sizeof(err)) == 0) {
			FUZZ_CHECK(etcd_member_counted(value,
			    cut[2][1] - cut[2][0]));
			check_entry(token, &e, key, cut[1][1] - cut[1][0]);
			etcd_member_entry_free(&e);
		} else {
			fuzz_err_check(err);
			FUZZ_CHECK(e.name == NULL && e.peer_urls == NULL &&
			    e.id == 0 && e.n_peer_urls == 0);
		}
	}
	free(token);
	free(key);
	free(value);
	return 0;
}
