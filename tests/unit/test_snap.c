/* etcd/snap.c: base64, the snapshot stream checker, file names and the
 * choice of what rotation removes. The stream shape was recorded from
 * etcd 3.4.23 and 3.5.21 (POST /v3/maintenance/snapshot through the JSON
 * gateway, 2026-12-04): data lines {"result":{"remaining_bytes":"N",
 * "blob":".."}} with remaining_bytes left out once it is 0, then one
 * line whose blob is the sha256 of the data. The streams here are built
 * the same way from known bytes. */
#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "etcd/kv.h"
#include "etcd/snap.h"
#include "lib/xmalloc.h"

static void
test_b64(void **state)
{
	unsigned char out[16];
	size_t n = 99;

	(void)state;
	assert_int_equal(etcd_kv_b64_decode_into("", 0, out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(etcd_kv_b64_decode_into("Zg==", 4, out, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(etcd_kv_b64_decode_into("Zm8=", 4, out, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "fo", 2);
	assert_int_equal(etcd_kv_b64_decode_into("Zm9vYmFy", 8, out, &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(etcd_kv_b64_decode_into("+/+/", 4, out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
	/* Malformed: length, padding in the middle, stray characters. */
	assert_int_equal(etcd_kv_b64_decode_into("Zg=", 3, out, &n), -1);
	assert_int_equal(etcd_kv_b64_decode_into("Z===", 4, out, &n), -1);
	assert_int_equal(etcd_kv_b64_decode_into("Zg=a", 4, out, &n), -1);
	assert_int_equal(etcd_kv_b64_decode_into("Zg==Zg==", 8, out, &n), -1);
	assert_int_equal(etcd_kv_b64_decode_into("Zm9*", 4, out, &n), -1);
	assert_int_equal(etcd_kv_b64_decode_into("Zm9-", 4, out, &n), -1);
	assert_int_equal(etcd_kv_b64_decode_into("Zm\n9", 4, out, &n), -1);
}

/* One line as etcd sends it; remaining 0 is left out, as etcd does. */
static char *
line_of(const unsigned char *p, size_t n, uint64_t remaining)
{
	char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	char *line;

	EVP_EncodeBlock((unsigned char *)b64, p, (int)n);
	if (remaining > 0)
		line = xasprintf("{\"result\":{\"remaining_bytes\":\"%llu\","
		    "\"blob\":\"%s\",\"version\":\"3.5.0\"}}",
		    (unsigned long long)remaining, b64);
	else
		line = xasprintf("{\"result\":{\"blob\":\"%s\"}}", b64);
	free(b64);
	return line;
}

static int
feed(struct etcd_snap_check *k, const char *line, unsigned char *out,
    size_t *at, bool *etcd_err, char *err)
{
	const unsigned char *d;
	size_t n;

	if (etcd_snap_feed(k, line, strlen(line), &d, &n, etcd_err, err,
	    256) < 0)
		return -1;
	if (n > 0)
		memcpy(out + *at, d, n);
	*at += n;
	return 0;
}

/* Sends db in chunks of chunk bytes, then the sha256 (flipped by one
 * bit when damage); returns what the last feed returned. */
static int
run_stream(const unsigned char *db, size_t len, size_t chunk, bool damage,
    char *err)
{
	struct etcd_snap_check k;
	unsigned char md[32], *out = xmalloc(len + 1);
	unsigned int mdlen;
	size_t at = 0;
	bool etcd_err;
	int rc = 0;

	EVP_Digest(db, len, md, &mdlen, EVP_sha256(), NULL);
	if (damage)
		md[7] ^= 1;
	etcd_snap_check_init(&k);
	for (size_t off = 0; off < len && rc == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		char *l = line_of(db + off, n, len - off - n);

		rc = feed(&k, l, out, &at, &etcd_err, err);
		free(l);
	}
	if (rc == 0) {
		char *l = line_of(md, sizeof(md), 0);

		rc = feed(&k, l, out, &at, &etcd_err, err);
		free(l);
	}
	if (rc == 0) {
		assert_int_equal(at, len);
		assert_memory_equal(out, db, len);
		rc = etcd_snap_end(&k, err, 256);
	}
	etcd_snap_check_free(&k);
	free(out);
	return rc;
}

static void
test_stream_good(void **state)
{
	unsigned char db[10000];
	char err[256] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(db); i++)
		db[i] = (unsigned char)(i * 7 + i / 300);
	/* Several chunks, the last one short. */
	assert_int_equal(run_stream(db, sizeof(db), 4096, false, err), 0);
	/* Chunks that end exactly with the data. */
	assert_int_equal(run_stream(db, 8192, 4096, false, err), 0);
	/* One message: a db smaller than etcd's 32 KiB buffer. */
	assert_int_equal(run_stream(db, 300, 32768, false, err), 0);
}

static void
test_stream_bad_hash(void **state)
{
	unsigned char db[5000] = { 1, 2, 3 };
	char err[256] = "";

	(void)state;
	assert_int_equal(run_stream(db, sizeof(db), 1024, true, err), -1);
	assert_non_null(strstr(err, "does not match"));
}

static void
test_stream_broken(void **state)
{
	struct etcd_snap_check k;
	unsigned char db[100] = { 0 }, out[300];
	char err[256] = "", *l;
	size_t at = 0;
	bool ee = false;

	(void)state;
	/* Sizes that do not add up: 50 sent, 50 said to remain, then 10
	 * sent with none remaining. */
	etcd_snap_check_init(&k);
	l = line_of(db, 50, 50);
	assert_int_equal(feed(&k, l, out, &at, &ee, err), 0);
	free(l);
	assert_int_equal(etcd_snap_end(&k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "still to come"));
	l = line_of(db, 10, 0);
	assert_int_equal(feed(&k, l, out, &at, &ee, err), -1);
	assert_non_null(strstr(err, "do not add up"));
	free(l);
	etcd_snap_check_free(&k);

	/* All data, then the stream ends without the sha256. */
	etcd_snap_check_init(&k);
	at = 0;
	l = line_of(db, 100, 0);
	assert_int_equal(feed(&k, l, out, &at, &ee, err), 0);
	free(l);
	assert_int_equal(etcd_snap_end(&k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "without the sha256"));
	/* A sha256 of the wrong size. */
	l = line_of(db, 20, 0);
	assert_int_equal(feed(&k, l, out, &at, &ee, err), -1);
	free(l);
	etcd_snap_check_free(&k);

	/* Nothing at all. */
	etcd_snap_check_init(&k);
	assert_int_equal(etcd_snap_end(&k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "before any data"));
	/* etcd's own error inside the stream. */
	assert_int_equal(feed(&k, "{\"error\":{\"grpc_code\":14,\"http_code\":"
	    "503,\"message\":\"etcdserver: no leader\"}}", out, &at, &ee, err),
	    -1);
	assert_true(ee);
	assert_non_null(strstr(err, "no leader"));
	/* Not JSON, not base64, the wrong types. */
	assert_int_equal(feed(&k, "{\"result\":", out, &at, &ee, err), -1);
	assert_false(ee);
	assert_int_equal(feed(&k, "{\"result\":{\"blob\":\"@@@@\"}}", out, &at,
	    &ee, err), -1);
	assert_int_equal(feed(&k, "{\"result\":{\"blob\":5}}", out, &at, &ee,
	    err), -1);
	assert_int_equal(feed(&k, "{\"result\":{\"remaining_bytes\":\"x\"}}",
	    out, &at, &ee, err), -1);
	assert_int_equal(feed(&k, "{\"other\":1}", out, &at, &ee, err), -1);
	/* An empty message that promises more. */
	assert_int_equal(feed(&k, "{\"result\":{\"remaining_bytes\":\"9\"}}",
	    out, &at, &ee, err), -1);
	etcd_snap_check_free(&k);
}

static void
test_after_hash(void **state)
{
	struct etcd_snap_check k;
	unsigned char db[3] = "abc", md[32], out[64];
	unsigned int mdlen;
	char err[256], *l;
	size_t at = 0;
	bool ee;

	(void)state;
	EVP_Digest(db, 3, md, &mdlen, EVP_sha256(), NULL);
	etcd_snap_check_init(&k);
	l = line_of(db, 3, 0);
	assert_int_equal(feed(&k, l, out, &at, &ee, err), 0);
	free(l);
	l = line_of(md, 32, 0);
	assert_int_equal(feed(&k, l, out, &at, &ee, err), 0);
	assert_int_equal(etcd_snap_end(&k, err, sizeof(err)), 0);
	assert_int_equal(feed(&k, l, out, &at, &ee, err), -1);
	assert_non_null(strstr(err, "after the sha256"));
	free(l);
	etcd_snap_check_free(&k);
}

static void
test_names(void **state)
{
	char name[ETCD_SNAP_NAME_MAX];
	uint64_t id;
	int64_t rev, t;

	(void)state;
	assert_int_equal(etcd_snap_name(0x048276a8f75b6a87ULL, 51, 1796409000,
	    name, sizeof(name)), 0);
	assert_string_equal(name, "048276a8f75b6a87-51-20261204T183000Z.db");
	assert_true(etcd_snap_name_parse(name, &id, &rev, &t));
	assert_true(id == 0x048276a8f75b6a87ULL);
	assert_int_equal(rev, 51);
	assert_int_equal(t, 1796409000);
	assert_int_equal(etcd_snap_name(1, 9, 0, name, 10), -1);
	assert_int_equal(etcd_snap_name(1, -1, 0, name, sizeof(name)), -1);

	static const char *const bad[] = {
		"048276A8F75B6A87-51-20261204T183000Z.db",  /* upper case */
		"48276a8f75b6a87-51-20261204T183000Z.db",   /* 15 digits */
		"048276a8f75b6a87-051-20261204T183000Z.db", /* leading 0 */
		"048276a8f75b6a87--20261204T183000Z.db",
		"048276a8f75b6a87-51-20261399T183000Z.db",  /* no such day */
		"048276a8f75b6a87-51-20261204T183000Z.db.tmp",
		"048276a8f75b6a87-51-20261204T183000.db",
		"048276a8f75b6a87-51-20261204T183000Z",
		"048276a8f75b6a87-99999999999999999999-20261204T183000Z.db",
		".zooinit-snapshot-AbC123", "", "notes.txt",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(etcd_snap_name_parse(bad[i], &id, &rev, &t));
	assert_true(etcd_snap_name_parse(
	    "ffffffffffffffff-0-19700101T000000Z.db", &id, &rev, &t));
	assert_int_equal(rev, 0);
}

static void
test_pick_old(void **state)
{
	const char *const names[] = {
		"00000000000000aa-30-20261204T183003Z.db",	/* 0 */
		"00000000000000aa-10-20261204T183001Z.db",	/* 1: oldest */
		"notes.txt",					/* 2 */
		"00000000000000bb-5-20200101T000000Z.db",	/* 3: other */
		"00000000000000aa-20-20261204T183002Z.db",	/* 4 */
		"00000000000000aa-25-20261204T183002Z.db",	/* 5 */
		".zooinit-snapshot-x1Yz9Q",			/* 6 */
	};
	size_t out[7];

	(void)state;
	assert_int_equal(etcd_snap_pick_old(names, 7, 0xaa, 2, out), 2);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 4);	/* same second: lower revision */
	assert_int_equal(etcd_snap_pick_old(names, 7, 0xaa, 4, out), 0);
	assert_int_equal(etcd_snap_pick_old(names, 7, 0xaa, 1, out), 3);
	assert_int_equal(out[2], 5);
	assert_int_equal(etcd_snap_pick_old(names, 7, 0xcc, 0, out), 0);
	assert_int_equal(etcd_snap_pick_old(names, 0, 0xaa, 0, out), 0);
}


/* ---- a small bbolt file, built as bbolt lays one out ----------------- */

#define PS 1024

static void
put(unsigned char *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
meta(unsigned char *db, int i, uint64_t root, uint64_t txid, bool good)
{
	unsigned char *p = db + i * PS, *m = p + 16;
	uint64_t h = 0xcbf29ce484222325ULL;

	put(p, (uint64_t)i, 8);
	put(p + 8, 0x04, 2);
	put(m, 0xED0CDAED, 4);
	put(m + 4, 2, 4);
	put(m + 8, PS, 4);
	put(m + 16, root, 8);
	put(m + 48, txid, 8);
	for (size_t j = 0; j < 56; j++)
		h = (h ^ m[j]) * 0x100000001b3ULL;
	put(m + 56, good ? h : h + 1, 8);
}

/* A leaf page at p: n keys (and values, vlen bytes each; a bucket flag
 * on each when bucket). Returns the bytes it used. */
static size_t
leaf(unsigned char *p, uint64_t id, const unsigned char *const *keys,
    const size_t *klen, const unsigned char *const *vals, const size_t *vlen,
    size_t n, bool bucket)
{
	size_t data = 16 + n * 16;

	put(p, id, 8);
	put(p + 8, 0x02, 2);
	put(p + 10, n, 2);
	for (size_t i = 0; i < n; i++) {
		unsigned char *e = p + 16 + i * 16;

		put(e, bucket ? 1 : 0, 4);
		put(e + 4, data - (16 + i * 16), 4);
		put(e + 8, klen[i], 4);
		put(e + 12, vlen[i], 4);
		memcpy(p + data, keys[i], klen[i]);
		memcpy(p + data + klen[i], vals[i], vlen[i]);
		data += klen[i] + vlen[i];
	}
	return data;
}

/* {main big-endian, '_', sub 0, 't'}: 17 bytes, 18 for a delete. */
static void
revkey(unsigned char *k, uint64_t main)
{
	for (int i = 0; i < 8; i++)
		k[i] = (unsigned char)(main >> (56 - 8 * i));
	k[8] = '_';
	memset(k + 9, 0, 8);
	k[17] = 't';
}

/* Pages: 0, 1 meta; 2 the root bucket's leaf ("key" and "meta"); the key
 * bucket either inline or at page 3 (a branch) over leaves 4 and 5. */
static unsigned char *
build_db(bool inline_bucket, size_t *len)
{
	unsigned char *db = calloc(6, PS);
	unsigned char k[4][18], inl[512], hdr[16 + 512];
	const unsigned char *keys[4], *vals[4];
	size_t klen[4], vlen[4], n;
	static const unsigned char empty[1];

	meta(db, 0, 2, 7, true);
	meta(db, 1, 3, 9, false);	/* newer, but its checksum is bad */
	for (int i = 0; i < 4; i++) {
		revkey(k[i], (uint64_t)(5 + i * 300));
		keys[i] = k[i];
		klen[i] = i == 3 ? 18 : 17;
		vals[i] = empty;
		vlen[i] = 0;
	}
	memset(hdr, 0, sizeof(hdr));
	if (inline_bucket) {
		n = leaf(inl, 0, keys, klen, vals, vlen, 4, false);
		memcpy(hdr + 16, inl, n);
	} else {
		put(hdr, 3, 8);
		n = 0;
		/* page 3: a branch over 4 (keys 0-1) and 5 (keys 2-3) */
		unsigned char *b = db + 3 * PS;
		put(b, 3, 8);
		put(b + 8, 0x01, 2);
		put(b + 10, 2, 2);
		for (int i = 0; i < 2; i++) {
			unsigned char *e = b + 16 + i * 16;

			put(e, 32 - (size_t)(16 * i) + (size_t)(17 * i), 4);
			put(e + 4, 17, 4);
			put(e + 8, (uint64_t)(4 + i), 8);
			memcpy(b + 48 + 17 * i, k[2 * i], 17);
		}
		leaf(db + 4 * PS, 4, keys, klen, vals, vlen, 2, false);
		leaf(db + 5 * PS, 5, keys + 2, klen + 2, vals + 2, vlen + 2, 2,
		    false);
	}
	const unsigned char *rk[2] = { (const unsigned char *)"key",
		(const unsigned char *)"meta" };
	size_t rkl[2] = { 3, 4 }, rvl[2] = { 16 + n, 16 };
	const unsigned char *rv[2] = { hdr, hdr + 16 + 480 };
	leaf(db + 2 * PS, 2, rk, rkl, rv, rvl, 2, true);
	*len = 6 * PS;
	return db;
}

static void
test_db_revision(void **state)
{
	unsigned char *db;
	size_t len;
	int64_t rev = -1;

	(void)state;
	db = build_db(true, &len);
	assert_int_equal(etcd_snap_db_revision(db, len, &rev), 0);
	assert_int_equal(rev, 905);	/* the last key, a tombstone */
	/* Cut short, or the one good meta page damaged: refused. */
	assert_int_equal(etcd_snap_db_revision(db, 2 * PS + 40, &rev), -1);
	db[16 + 20] ^= 1;
	assert_int_equal(etcd_snap_db_revision(db, len, &rev), -1);
	free(db);

	db = build_db(false, &len);
	assert_int_equal(etcd_snap_db_revision(db, len, &rev), 0);
	assert_int_equal(rev, 905);
	/* A branch that points at itself ends at the depth limit. */
	put(db + 3 * PS + 16 + 16 + 8, 3, 8);
	assert_int_equal(etcd_snap_db_revision(db, len, &rev), -1);
	free(db);
	assert_int_equal(etcd_snap_db_revision((const unsigned char *)"", 0,
	    &rev), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_stream_good),
		cmocka_unit_test(test_stream_bad_hash),
		cmocka_unit_test(test_stream_broken),
		cmocka_unit_test(test_after_hash),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_pick_old),
		cmocka_unit_test(test_db_revision),
	};

	return cmocka_run_group_tests_name("snap", tests, NULL, NULL);
}
