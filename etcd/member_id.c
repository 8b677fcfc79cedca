/* etcd's member and cluster IDs and its v3 discovery layout, each rule
 * read in etcd's source (3.4.23, 3.6.14 and main agree) and checked
 * against running etcd 3.4.23 and 3.6.16 (tests/unit/test_member_id.c):
 * - member ID: server/etcdserver/api/membership/member.go
 *   computeMemberID() (3.4: etcdserver/api/membership/member.go
 *   newMember()); the URLs are Go url.URL.String() after
 *   client/pkg/types/urls.go NewURLs();
 * - the token of a v3 discovery member: server/embed/config.go
 *   PeerURLsMapAndToken() uses DiscoveryCfg.Token in place of
 *   InitialClusterToken;
 * - cluster ID: server/etcdserver/api/membership/cluster.go genID();
 * - keys: server/etcdserver/api/v3discovery/discovery.go getClusterSizeKey()
 *   and getMemberKey() with types.ID.String(), which is
 *   strconv.FormatUint(id, 16) (client/pkg/types/id.go);
 * - value: server/etcdserver/bootstrap.go registers
 *   InitialPeerURLsMap.String(), types.URLsMap.String() in
 *   client/pkg/types/urlsmap.go: "NAME=URL" per URL, sorted, ","-joined;
 *   the size: strconv.ParseInt(value, 10, 0) > 0 in getClusterSize(). */
#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "etcd/member_id.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "resolver/dnsname.h"

#define REGISTRY "/_etcd/registry/"
#define TOKEN_MAX 128
#define QUOTE_MAX 160

/* The first 8 bytes of the SHA-1 of p, big-endian, as etcd takes them. */
static uint64_t
sha1_u64(const void *p, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t v = 0;

	/* Fails only without memory or with a broken libcrypto; like an
	 * allocation failure, nothing sensible can follow. */
	if (EVP_Digest(p, len, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen < 8) {
		fputs("zooinit: libcrypto cannot compute SHA-1\n", stderr);
		abort();
	}
	for (int i = 0; i < 8; i++)
		v = v << 8 | md[i];
	return v;
}

static int
cmp_str(const void *a, const void *b)
{
	/* strcmp orders bytes as unsigned, as Go's sort.Strings does. */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- peer URLs ------------------------------------------------------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
port_valid(const char *p)
{
	size_t n = strlen(p);
	unsigned long v = 0;

	if (n == 0 || n > 5 || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v <= 65535;
}

/* A host name or IPv4 literal: the bytes Go's URL code leaves alone. */
static bool
host_valid(const char *h, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!is_digit(c) && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && c != '-' && c != '.')
			return false;
	}
	return true;
}

/* The inside of "[...]": hex, ":" and "." (IPv4-mapped); no zone. */
static bool
ip6_valid(const char *h, size_t n)
{
	if (n < 2 || memchr(h, ':', n) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_hex(h[i]) && h[i] != ':' && h[i] != '.')
			return false;
	return true;
}

bool
etcd_member_peer_url_valid(const char *url, char *err, size_t errlen)
{
	char q[QUOTE_MAX];
	const char *a, *colon = NULL;
	bool ok;

	str_quote(url, q, sizeof(q));
	if (strlen(url) > ETCD_MEMBER_URL_MAX) {
		str_seterr(err, errlen, "peer URL \"%s\" is longer than %d "
		    "bytes", q, ETCD_MEMBER_URL_MAX);
		return false;
	}
	if (strncmp(url, "http://", 7) == 0) {
		a = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		a = url + 8;
	} else {
		str_seterr(err, errlen, "peer URL \"%s\" does not start with "
		    "http:// or https:// (in lower case)", q);
		return false;
	}
	if (a[0] == '[') {
		const char *end = strchr(a, ']');

		ok = end != NULL && ip6_valid(a + 1, (size_t)(end - a - 1)) &&
		    end[1] == ':';
		colon = end != NULL ? end + 1 : NULL;
	} else {
		colon = strrchr(a, ':');
		ok = colon != NULL && host_valid(a, (size_t)(colon - a));
	}
	if (!ok || !port_valid(colon + 1)) {
		str_seterr(err, errlen, "peer URL \"%s\" is not "
		    "SCHEME://HOST:PORT (a host name or IP address, a port "
		    "1..65535, nothing after it); etcd derives member IDs "
		    "from the exact bytes, so write it in that form", q);
		return false;
	}
	return true;
}

/* 1..ETCD_MEMBER_MAX_URLS valid, distinct peer URLs. */
static int
urls_check(char *const *urls, size_t n, char *err, size_t errlen)
{
	char q[QUOTE_MAX];

	if (n == 0 || n > ETCD_MEMBER_MAX_URLS) {
		str_seterr(err, errlen, "a member needs 1 to %d peer URLs, "
		    "not %zu", ETCD_MEMBER_MAX_URLS, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!etcd_member_peer_url_valid(urls[i], err, errlen))
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(urls[i], urls[j]) == 0) {
				str_seterr(err, errlen, "peer URL \"%s\" is "
				    "given twice; etcd refuses duplicate URLs",
				    str_quote(urls[i], q, sizeof(q)));
				return -1;
			}
		}
	}
	return 0;
}

/* ---- IDs ------------------------------------------------------------- */

/* SHA-1 over the sorted URLs and then tail, as computeMemberID(). */
static int
id_over(char *const *urls, size_t n, const char *tail, uint64_t *id,
    char *err, size_t errlen)
{
	struct sbuf b = { 0 };
	char **s;

	if (urls_check(urls, n, err, errlen) != 0)
		return -1;
	s = xmalloc(n * sizeof(*s));
	memcpy(s, urls, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_str);
	for (size_t i = 0; i < n; i++)
		sb_puts(&b, s[i]);
	sb_puts(&b, tail);
	*id = sha1_u64(b.p, b.len);
	free(s);
	sb_free(&b);
	return 0;
}

int
etcd_member_id(char *const *urls, size_t n, const char *token, uint64_t *id,
    char *err, size_t errlen)
{
	return id_over(urls, n, token, id, err, errlen);
}

int
etcd_member_id_added(char *const *urls, size_t n, int64_t unix_secs,
    uint64_t *id, char *err, size_t errlen)
{
	char tail[24];

	/* v3rpc/member.go passes an empty cluster name and &now. */
	snprintf(tail, sizeof(tail), "%" PRId64, unix_secs);
	return id_over(urls, n, tail, id, err, errlen);
}

uint64_t
etcd_member_cluster_id(const uint64_t *ids, size_t n)
{
	uint64_t *s = xmalloc((n > 0 ? n : 1) * sizeof(*s));
	unsigned char *b = xmalloc((n > 0 ? n : 1) * 8);
	uint64_t cid;

	memcpy(s, ids, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 8; j++)
			b[i * 8 + (size_t)j] =
			    (unsigned char)(s[i] >> (56 - 8 * j));
	cid = sha1_u64(b, n * 8);
	free(s);
	free(b);
	return cid;
}

const char *
etcd_member_id_str(uint64_t id, char buf[ETCD_MEMBER_ID_LEN])
{
	snprintf(buf, ETCD_MEMBER_ID_LEN, "%" PRIx64, id);
	return buf;
}

int
etcd_member_id_parse(const char *s, size_t len, uint64_t *id)
{
	uint64_t v = 0;

	/* Only the spelling etcd writes, so a key matches byte for byte. */
	if (len == 0 || len > 16 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (is_digit(c))
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*id = v;
	return 0;
}

/* ---- keys ------------------------------------------------------------ */

bool
etcd_member_token_valid(const char *token, char *err, size_t errlen)
{
	char q[QUOTE_MAX];
	size_t len = strlen(token);
	bool ok = len > 0 && len <= TOKEN_MAX && strcmp(token, ".") != 0 &&
	    strcmp(token, "..") != 0;

	for (size_t i = 0; ok && i < len; i++) {
		unsigned char c = (unsigned char)token[i];

		ok = c > 0x20 && c < 0x7f && c != '/';
	}
	if (!ok)
		str_seterr(err, errlen, "discovery token \"%s\" is not 1 to %d "
		    "printable ASCII characters without space or \"/\" (and "
		    "not \".\" or \"..\"); etcd would file it under another "
		    "key", str_quote(token, q, sizeof(q)), TOKEN_MAX);
	return ok;
}

char *
etcd_member_size_key(const char *token)
{
	return xasprintf(REGISTRY "%s/_config/size", token);
}

char *
etcd_member_prefix(const char *token)
{
	/* Without a slash, as etcd lists and watches: whatever etcd counts
	 * as a member, zooinit must see too. A valid token has no "/", so
	 * no other token's keys start with it. */
	return xasprintf(REGISTRY "%s/members", token);
}

char *
etcd_member_key(const char *token, uint64_t id)
{
	char hex[ETCD_MEMBER_ID_LEN];

	return xasprintf(REGISTRY "%s/members/%s", token,
	    etcd_member_id_str(id, hex));
}

int
etcd_member_size_parse(const char *v, size_t len, unsigned *size, char *err,
    size_t errlen)
{
	char q[QUOTE_MAX];
	unsigned n = 0;
	bool ok = len > 0 && len <= 3;

	/* etcd takes the value untrimmed (strconv.ParseInt); so do we. */
	for (size_t i = 0; ok && i < len; i++) {
		ok = is_digit(v[i]);
		if (ok)
			n = n * 10 + (unsigned)(v[i] - '0');
	}
	if (!ok || n < 1 || n > ETCD_MEMBER_SIZE_MAX) {
		str_seterr(err, errlen, "discovery size key holds \"%s\"; "
		    "expected a member count from 1 to %d in decimal digits",
		    str_quote_n(v, len, q, sizeof(q)), ETCD_MEMBER_SIZE_MAX);
		return -1;
	}
	*size = n;
	return 0;
}

/* ---- values ---------------------------------------------------------- */

static bool
name_check(const char *name, char *err, size_t errlen)
{
	char q[QUOTE_MAX];

	if (dns_member_name_valid(name, true))
		return true;
	str_seterr(err, errlen, "member name \"%s\" is not a host name or "
	    "one DNS label (letters, digits, hyphens, dots)",
	    str_quote(name, q, sizeof(q)));
	return false;
}

char *
etcd_member_value(const char *name, char *const *urls, size_t n, char *err,
    size_t errlen)
{
	struct sbuf b = { 0 };
	char **s;

	if (!name_check(name, err, errlen) ||
	    urls_check(urls, n, err, errlen) != 0)
		return NULL;
	/* One name throughout: sorting the pairs is sorting the URLs. */
	s = xmalloc(n * sizeof(*s));
	memcpy(s, urls, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_str);
	for (size_t i = 0; i < n; i++)
		sb_printf(&b, "%s%s=%s", i > 0 ? "," : "", name, s[i]);
	free(s);
	return sb_take(&b);
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/* Splits "NAME=URL,NAME=URL" (copy, modified in place) into e; -1 with
 * err set when a pair has no "=" or the names differ. */
static int
split_pairs(char *copy, const char *q, struct etcd_member_entry *e,
    char *err, size_t errlen)
{
	struct strv urls = { 0 };
	const char *name = NULL;
	char *p = copy;

	for (;;) {
		char *comma = strchr(p, ',');
		char *eq;

		if (comma != NULL)
			*comma = '\0';
		eq = strchr(p, '=');
		if (eq == NULL) {
			str_seterr(err, errlen, "member value \"%s\" has a "
			    "part without \"=\"; expected NAME=PEER_URL[,"
			    "NAME=PEER_URL...]", q);
			break;
		}
		*eq = '\0';
		if (name != NULL && strcmp(name, p) != 0) {
			str_seterr(err, errlen, "member value \"%s\" names "
			    "more than one member; expected one NAME "
			    "throughout", q);
			break;
		}
		name = p;
		strv_add(&urls, eq + 1);
		if (comma == NULL) {
			e->name = xstrdup(name);
			e->n_peer_urls = urls.n;
			e->peer_urls = strv_take(&urls);
			qsort(e->peer_urls, e->n_peer_urls,
			    sizeof(*e->peer_urls), cmp_str);
			return 0;
		}
		p = comma + 1;
	}
	strv_free(strv_take(&urls));
	return -1;
}

static int
parse_value(const char *v, size_t len, struct etcd_member_entry *e,
    char *err, size_t errlen)
{
	char q[QUOTE_MAX];
	char *copy;
	int rc;

	/* etcd trims both key and value (strings.TrimSpace) before use. */
	while (len > 0 && is_space(v[0])) {
		v++;
		len--;
	}
	while (len > 0 && is_space(v[len - 1]))
		len--;
	str_quote_n(v, len, q, sizeof(q));
	if (len == 0 || len > ETCD_MEMBER_VALUE_MAX ||
	    memchr(v, '\0', len) != NULL) {
		str_seterr(err, errlen, "member value \"%s\" is empty, over %d "
		    "bytes or holds a NUL byte; expected NAME=PEER_URL[,NAME="
		    "PEER_URL...]", q, ETCD_MEMBER_VALUE_MAX);
		return -1;
	}
	copy = xstrndup(v, len);
	rc = split_pairs(copy, q, e, err, errlen);
	free(copy);
	if (rc == 0 && (!name_check(e->name, err, errlen) ||
	    urls_check(e->peer_urls, e->n_peer_urls, err, errlen) != 0))
		rc = -1;
	return rc;
}

int
etcd_member_entry_parse(const char *token, const char *key, size_t klen,
    const char *value, size_t vlen, struct etcd_member_entry *e, char *err,
    size_t errlen)
{
	char q[QUOTE_MAX], have[ETCD_MEMBER_ID_LEN], want[ETCD_MEMBER_ID_LEN];
	char *prefix = etcd_member_prefix(token);
	size_t plen = strlen(prefix);
	uint64_t id, derived;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	str_quote_n(key, klen, q, sizeof(q));
	if (klen <= plen + 1 || memcmp(key, prefix, plen) != 0 ||
	    key[plen] != '/' ||
	    etcd_member_id_parse(key + plen + 1, klen - plen - 1, &id) != 0) {
		str_seterr(err, errlen, "discovery key \"%s\" is not %s/ID "
		    "with ID a member ID in lower-case hex as etcd 3.6 "
		    "writes it (an older zooinit filed members by name)", q,
		    prefix);
	} else if (parse_value(value, vlen, e, err, errlen) == 0 &&
	    etcd_member_id(e->peer_urls, e->n_peer_urls, token, &derived, err,
	    errlen) == 0) {
		if (derived == id)
			rc = 0;
		else
			str_seterr(err, errlen, "discovery key \"%s\" names "
			    "member %s, but etcd derives %s from its peer "
			    "URLs and the token; every member on a token must "
			    "use the token as its initial-cluster token",
			    q, etcd_member_id_str(id, have),
			    etcd_member_id_str(derived, want));
	}
	free(prefix);
	if (rc == 0)
		e->id = id;
	else
		etcd_member_entry_free(e);
	return rc;
}

bool
etcd_member_counted(const char *value, size_t vlen)
{
	/* strings.ContainsRune(strings.TrimSpace(v), '='): trimming never
	 * removes a "=". */
	return memchr(value, '=', vlen) != NULL;
}

void
etcd_member_entry_free(struct etcd_member_entry *e)
{
	strv_free(e->peer_urls);
	free(e->name);
	memset(e, 0, sizeof(*e));
}
