#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "etcd/json.h"
#include "etcd/kv.h"
#include "etcd/snap.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define SHA256_LEN ETCD_SNAP_SHA256_LEN

/* ---- the stream checker ------------------------------------------------ */

void
etcd_snap_check_init(struct etcd_snap_check *k)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "zooinit: cannot set up sha256\n");
		abort();
	}
	*k = (struct etcd_snap_check){ .md = md };
}

void
etcd_snap_check_free(struct etcd_snap_check *k)
{
	EVP_MD_CTX_free(k->md);
	free(k->buf);
	*k = (struct etcd_snap_check){ 0 };
}

/* Reads one line into *remaining (0 when left out) and the decoded blob
 * into k->buf (*n bytes). */
static int
parse_line(struct etcd_snap_check *k, const char *line, size_t len,
    uint64_t *remaining, size_t *n, bool *etcd_err, char *err,
    size_t errlen)
{
	const char *what = "snapshot stream";
	json_t *root, *res, *blob;
	const char *b64;
	size_t b64len;
	int rc = -1;

	root = ej_load(what, line, len, err, errlen);
	if (root == NULL)
		return -1;
	res = json_object_get(root, "result");
	if (res == NULL) {
		if (ej_etcd_error(what, json_object_get(root, "error"), err,
		    errlen) >= 0 || ej_etcd_error(what, root, err, errlen) >= 0)
			*etcd_err = true;
		else
			str_seterr(err, errlen, "%s: a line with neither "
			    "\"result\" nor \"error\"", what);
		goto out;
	}
	if (!json_is_object(res)) {
		str_seterr(err, errlen, "%s: \"result\" should be an object, "
		    "found %s", what, ej_type_name(res));
		goto out;
	}
	if (ej_get_u64(what, res, "remaining_bytes", false, INT64_MAX,
	    remaining, err, errlen) < 0)
		goto out;
	blob = json_object_get(res, "blob");
	b64 = blob == NULL ? "" : json_string_value(blob);
	if (b64 == NULL) {
		str_seterr(err, errlen, "%s: \"blob\" should be a base64 "
		    "string, found %s", what, ej_type_name(blob));
		goto out;
	}
	b64len = blob == NULL ? 0 : json_string_length(blob);
	if (b64len / 4 * 3 > k->cap) {
		k->cap = b64len / 4 * 3;
		k->buf = xrealloc(k->buf, k->cap);
	}
	if (etcd_kv_b64_decode_into(b64, b64len, k->buf, n) < 0) {
		str_seterr(err, errlen, "%s: \"blob\" is not base64 (%zu "
		    "bytes)", what, b64len);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int
check_hash(struct etcd_snap_check *k, size_t n, char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (n != SHA256_LEN)
		return str_seterr(err, errlen, "snapshot stream: the sha256 "
		    "message after %" PRIu64 " bytes holds %zu bytes, not %d",
		    k->received, n, SHA256_LEN);
	if (EVP_DigestFinal_ex(k->md, md, &mdlen) != 1 ||
	    mdlen != SHA256_LEN || memcmp(md, k->buf, SHA256_LEN) != 0)
		return str_seterr(err, errlen, "snapshot stream: the sha256 "
		    "etcd sent does not match the %" PRIu64 " bytes received: "
		    "the snapshot is damaged", k->received);
	k->phase = ETCD_SNAP_DONE;
	return 0;
}

int
etcd_snap_feed(struct etcd_snap_check *k, const char *line, size_t len,
    const unsigned char **data, size_t *n, bool *etcd_err, char *err,
    size_t errlen)
{
	uint64_t rem = 0;
	size_t got = 0;

	*etcd_err = false;
	*data = NULL;
	*n = 0;
	if (k->phase == ETCD_SNAP_DONE)
		return str_seterr(err, errlen, "snapshot stream: a message "
		    "after the sha256");
	if (parse_line(k, line, len, &rem, &got, etcd_err, err, errlen) < 0)
		return -1;
	if (k->phase == ETCD_SNAP_HASH) {
		if (rem != 0)
			return str_seterr(err, errlen, "snapshot stream: "
			    "remaining_bytes %" PRIu64 " in the sha256 message",
			    rem);
		return check_hash(k, got, err, errlen);
	}
	/* Each data message says what is left after it: they must add up. */
	if (k->started && rem + got != k->remaining)
		return str_seterr(err, errlen, "snapshot stream: %zu bytes "
		    "with %" PRIu64 " remaining after %" PRIu64 " remaining "
		    "before: the sizes do not add up", got, rem, k->remaining);
	if (got == 0 && rem != 0)
		return str_seterr(err, errlen, "snapshot stream: an empty "
		    "message with %" PRIu64 " bytes still to come", rem);
	k->started = true;
	k->remaining = rem;
	k->received += got;
	if (rem == 0)
		k->phase = ETCD_SNAP_HASH;
	if (got > 0 && EVP_DigestUpdate(k->md, k->buf, got) != 1)
		return str_seterr(err, errlen, "snapshot stream: sha256 "
		    "failed");
	*data = k->buf;
	*n = got;
	return 0;
}

int
etcd_snap_end(const struct etcd_snap_check *k, char *err, size_t errlen)
{
	if (k->phase == ETCD_SNAP_DONE)
		return 0;
	if (!k->started)
		return str_seterr(err, errlen, "snapshot stream: ended before "
		    "any data");
	if (k->phase == ETCD_SNAP_DATA)
		return str_seterr(err, errlen, "snapshot stream: ended after "
		    "%" PRIu64 " bytes with %" PRIu64 " still to come",
		    k->received, k->remaining);
	return str_seterr(err, errlen, "snapshot stream: ended after %" PRIu64
	    " bytes without the sha256 etcd sends last", k->received);
}

/* ---- names and rotation ------------------------------------------------ */

int
etcd_snap_name(uint64_t cluster_id, int64_t revision, int64_t unix_s,
    char *out, size_t outlen)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	char when[32];
	int w;

	if (revision < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -1;
	w = snprintf(out, outlen, "%016" PRIx64 "-%" PRId64 "-%s.db",
	    cluster_id, revision, when);
	return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

static bool
digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "20261204T183000Z" into Unix seconds; false unless a real UTC time. */
static bool
parse_when(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	time_t t;
	char back[20];

	if (!digits(s, 8) || s[8] != 'T' || !digits(s + 9, 6) || s[15] != 'Z')
		return false;
	tm.tm_year = num(s, 4) - 1900;
	tm.tm_mon = num(s + 4, 2) - 1;
	tm.tm_mday = num(s + 6, 2);
	tm.tm_hour = num(s + 9, 2);
	tm.tm_min = num(s + 11, 2);
	tm.tm_sec = num(s + 13, 2);
	t = timegm(&tm);
	/* timegm normalises 20261399: such a name is not ours. */
	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(back, sizeof(back), "%Y%m%dT%H%M%SZ", &tm) != 16 ||
	    memcmp(back, s, 16) != 0)
		return false;
	*out = (int64_t)t;
	return true;
}

bool
etcd_snap_name_parse(const char *name, uint64_t *cluster_id,
    int64_t *revision, int64_t *unix_s)
{
	uint64_t id = 0;
	int64_t rev = 0;
	size_t i, len = strlen(name);

	if (len < 16 + 1 + 1 + 1 + 16 + 3 || len > ETCD_SNAP_NAME_MAX)
		return false;
	for (i = 0; i < 16; i++) {
		char ch = name[i];

		if (ch >= '0' && ch <= '9')
			id = id << 4 | (uint64_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			id = id << 4 | (uint64_t)(ch - 'a' + 10);
		else
			return false;
	}
	if (name[i++] != '-')
		return false;
	size_t r0 = i;
	for (; name[i] >= '0' && name[i] <= '9'; i++) {
		if (rev > (INT64_MAX - 9) / 10)
			return false;
		rev = rev * 10 + (name[i] - '0');
	}
	/* No leading zeros: one name per revision. */
	if (i == r0 || (name[r0] == '0' && i > r0 + 1) || name[i++] != '-')
		return false;
	if (len - i != 16 + 3 || strcmp(name + i + 16, ".db") != 0 ||
	    !parse_when(name + i, unix_s))
		return false;
	*cluster_id = id;
	*revision = rev;
	return true;
}

struct aged {
	size_t i;
	int64_t t, rev;
};

static int
cmp_aged(const void *a, const void *b)
{
	const struct aged *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->rev != y->rev)
		return x->rev < y->rev ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

size_t
etcd_snap_pick_old(const char *const *names, size_t n, uint64_t cluster_id,
    size_t keep, size_t *out)
{
	struct aged *v = xcalloc(n + 1, sizeof(*v));
	size_t m = 0, k = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t id;
		int64_t rev, t;

		if (etcd_snap_name_parse(names[i], &id, &rev, &t) &&
		    id == cluster_id)
			v[m++] = (struct aged){ .i = i, .t = t, .rev = rev };
	}
	qsort(v, m, sizeof(*v), cmp_aged);
	for (size_t j = 0; m > keep && j < m - keep; j++)
		out[k++] = v[j].i;
	free(v);
	return k;
}

/* ---- the revision inside the db ---------------------------------------- */

/* bbolt's on-disk format (go.etcd.io/bbolt, little-endian on the hosts
 * etcd runs on): pages of page_size bytes, each with a 16-byte header
 * {id u64, flags u16, count u16, overflow u32}; pages 0 and 1 hold the
 * meta {magic u32, version u32, page_size u32, flags u32, root {pgid
 * u64, sequence u64}, freelist u64, pgid u64, txid u64, checksum u64}
 * whose checksum is FNV-1a 64 of the 56 bytes before it. Branch elements
 * are {pos u32, ksize u32, pgid u64}, leaf elements {flags u32, pos u32,
 * ksize u32, vsize u32}, pos counted from the element itself. A bucket is
 * a leaf value {root pgid u64, sequence u64}, with root 0 meaning the
 * bucket's own leaf page follows inline. */

#define BOLT_MAGIC 0xED0CDAEDu
#define BOLT_BRANCH 0x01
#define BOLT_LEAF 0x02
#define BOLT_META 0x04
#define BOLT_BUCKET_LEAF 0x01
#define BOLT_HDR 16
#define BOLT_ELEM 16
#define BOLT_MAX_DEPTH 64

static uint64_t
le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

bool
etcd_snap_is_bolt(const unsigned char *head, size_t n)
{
	return n >= BOLT_HDR + 4 && le(head + BOLT_HDR, 4) == BOLT_MAGIC;
}

struct bolt {
	const unsigned char *db;
	size_t len;
	uint64_t psize;
};

/* A page and how many bytes of it are in the file: NULL unless its header
 * and count elements fit. */
static const unsigned char *
bolt_page(const struct bolt *b, uint64_t pgid, size_t *avail)
{
	const unsigned char *p;
	size_t count;

	if (pgid < 2 || pgid > (b->len - BOLT_HDR) / b->psize)
		return NULL;
	p = b->db + pgid * b->psize;
	*avail = b->len - (size_t)(pgid * b->psize);
	count = (size_t)le(p + 10, 2);
	if (BOLT_HDR + count * BOLT_ELEM > *avail)
		return NULL;
	return p;
}

/* Element i's key (or NULL when it points outside the page's bytes). */
static const unsigned char *
bolt_key(const unsigned char *p, size_t avail, size_t i, bool leaf,
    size_t *klen)
{
	const unsigned char *e = p + BOLT_HDR + i * BOLT_ELEM;
	uint64_t pos = le(e + (leaf ? 4 : 0), 4);
	uint64_t ks = le(e + (leaf ? 8 : 4), 4);
	uint64_t at = (uint64_t)(e - p) + pos;

	if (at > avail || ks > avail - at)
		return NULL;
	*klen = (size_t)ks;
	return p + at;
}

static int
keycmp(const unsigned char *a, size_t al, const char *b)
{
	size_t bl = strlen(b);
	int c = memcmp(a, b, al < bl ? al : bl);

	return c != 0 ? c : (al > bl) - (al < bl);
}

/* The last key of the tree at root (a page id, or the inline leaf page
 * at p when p is not NULL); *klen 0 when the tree is empty. */
static int
bolt_last_key(const struct bolt *b, uint64_t root, const unsigned char *p,
    size_t avail, const unsigned char **key, size_t *klen)
{
	for (int depth = 0; depth < BOLT_MAX_DEPTH; depth++) {
		size_t count;
		uint16_t flags;

		if (p == NULL && (p = bolt_page(b, root, &avail)) == NULL)
			return -1;
		flags = (uint16_t)le(p + 8, 2);
		count = (size_t)le(p + 10, 2);
		if (BOLT_HDR + count * BOLT_ELEM > avail)
			return -1;
		if (count == 0) {
			*klen = 0;
			return flags == BOLT_LEAF ? 0 : -1;
		}
		if (flags == BOLT_LEAF) {
			*key = bolt_key(p, avail, count - 1, true, klen);
			return *key == NULL ? -1 : 0;
		}
		if (flags != BOLT_BRANCH)
			return -1;
		root = le(p + BOLT_HDR + (count - 1) * BOLT_ELEM + 8, 8);
		p = NULL;
	}
	return -1;
}

/* Finds the bucket name in the root bucket's tree: its root page id, or
 * 0 with *inl (and *inl_len) its inline page. */
static int
bolt_bucket(const struct bolt *b, uint64_t root, const char *name,
    uint64_t *broot, const unsigned char **inl, size_t *inl_len)
{
	for (int depth = 0; depth < BOLT_MAX_DEPTH; depth++) {
		size_t avail, count, klen, pick = 0;
		const unsigned char *p = bolt_page(b, root, &avail), *k;

		if (p == NULL)
			return -1;
		count = (size_t)le(p + 10, 2);
		if (le(p + 8, 2) == BOLT_BRANCH) {
			/* The last element whose key is <= name. */
			for (size_t i = 0; i < count; i++) {
				k = bolt_key(p, avail, i, false, &klen);
				if (k == NULL)
					return -1;
				if (i == 0 || keycmp(k, klen, name) <= 0)
					pick = i;
			}
			if (count == 0)
				return -1;
			root = le(p + BOLT_HDR + pick * BOLT_ELEM + 8, 8);
			continue;
		}
		if (le(p + 8, 2) != BOLT_LEAF)
			return -1;
		for (size_t i = 0; i < count; i++) {
			const unsigned char *e = p + BOLT_HDR + i * BOLT_ELEM;
			uint64_t vs = le(e + 12, 4);

			k = bolt_key(p, avail, i, true, &klen);
			if (k == NULL || keycmp(k, klen, name) != 0)
				continue;
			if (!(le(e, 4) & BOLT_BUCKET_LEAF) || vs < 16 ||
			    (size_t)(k - p) + klen + vs > avail)
				return -1;
			*broot = le(k + klen, 8);
			*inl = k + klen + 16;
			*inl_len = (size_t)vs - 16;
			return *broot == 0 && *inl_len < BOLT_HDR ? -1 : 0;
		}
		return -1;
	}
	return -1;
}

/* The meta page with the highest txid whose checksum holds, or NULL. */
static const unsigned char *
bolt_meta(const unsigned char *db, size_t len, uint64_t *psize)
{
	const unsigned char *best = NULL;
	uint64_t best_tx = 0;
	uint64_t ps = len >= BOLT_HDR + 12 ? le(db + BOLT_HDR + 8, 4) : 0;

	if (ps < 1024 || ps > 65536 || (ps & (ps - 1)) != 0 || len < 2 * ps)
		return NULL;
	for (int i = 0; i < 2; i++) {
		const unsigned char *m = db + (size_t)i * ps + BOLT_HDR;
		uint64_t h = 0xcbf29ce484222325ULL;

		if (le(m - BOLT_HDR + 8, 2) != BOLT_META ||
		    le(m, 4) != BOLT_MAGIC || le(m + 4, 4) != 2 ||
		    le(m + 8, 4) != ps)
			continue;
		for (size_t j = 0; j < 56; j++)
			h = (h ^ m[j]) * 0x100000001b3ULL;
		if (h != le(m + 56, 8))
			continue;
		if (best == NULL || le(m + 48, 8) > best_tx) {
			best = m;
			best_tx = le(m + 48, 8);
		}
	}
	*psize = ps;
	return best;
}

int
etcd_snap_db_revision(const unsigned char *db, size_t len, int64_t *rev)
{
	struct bolt b = { .db = db, .len = len };
	const unsigned char *m = bolt_meta(db, len, &b.psize), *inl, *key;
	uint64_t broot, main;
	size_t inl_len, klen;

	if (m == NULL ||
	    bolt_bucket(&b, le(m + 16, 8), "key", &broot, &inl, &inl_len) < 0 ||
	    bolt_last_key(&b, broot, broot == 0 ? inl : NULL, inl_len, &key,
	    &klen) < 0)
		return -1;
	if (klen == 0) {		/* no key was ever written */
		*rev = 0;
		return 0;
	}
	/* {main u64 big-endian, '_', sub u64}, 't' after it for a delete */
	if (klen < 17 || key[8] != '_')
		return -1;
	main = 0;
	for (int i = 0; i < 8; i++)
		main = main << 8 | key[i];
	if (main > INT64_MAX)
		return -1;
	*rev = (int64_t)main;
	return 0;
}
