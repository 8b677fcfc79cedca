#ifndef ZOOINIT_MEMBER_ID_H
#define ZOOINIT_MEMBER_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* etcd's member IDs and etcd's v3 discovery layout (etcd 3.6+
 * `--discovery-token`), byte for byte as etcd computes and writes them, so
 * zooinit agents and plain etcd members can share one token. The source
 * each rule comes from is named in member_id.c. */

#define ETCD_MEMBER_MAX_URLS 16		/* peer URLs of one member */
#define ETCD_MEMBER_URL_MAX 256		/* bytes of one peer URL */
#define ETCD_MEMBER_SIZE_MAX 255	/* largest size key accepted */
#define ETCD_MEMBER_VALUE_MAX 4096	/* bytes of one member value */
#define ETCD_MEMBER_ID_LEN 17		/* 16 hex digits and the NUL */

/* ---- member IDs ------------------------------------------------------ */

/* True when url is a peer URL in the form etcd keeps it after parsing
 * (Go's url.Parse then String() give back the same bytes), so the ID
 * computed here is the one etcd computes: "http://" or "https://" in
 * lower case, a host name, IPv4 literal or bracketed IPv6 literal, ":" and
 * a port 1..65535 without leading zeros, nothing after it (etcd refuses a
 * path; query, user and fragment would change the bytes). Otherwise false
 * with err set to one sentence. */
bool etcd_member_peer_url_valid(const char *url, char *err, size_t errlen);

/* The ID etcd gives a member of an initial cluster: SHA-1 over the n peer
 * URLs sorted and concatenated, then token; the first 8 bytes big-endian.
 * token is --initial-cluster-token for a static or DNS cluster, but the
 * discovery token itself in v3 discovery (etcd puts it in place of
 * --initial-cluster-token). urls are borrowed and need not be sorted.
 * Returns 0, or -1 with err set when n is 0 or above
 * ETCD_MEMBER_MAX_URLS, or a URL is not valid as above. */
int etcd_member_id(char *const *urls, size_t n, const char *token,
    uint64_t *id, char *err, size_t errlen);

/* The ID etcd gives a member added at run time (member add, also as a
 * learner): the same over the sorted URLs, no token, and the decimal Unix
 * time in seconds when the add was applied; so such an ID can be checked
 * but not predicted. Returns as etcd_member_id(). */
int etcd_member_id_added(char *const *urls, size_t n, int64_t unix_secs,
    uint64_t *id, char *err, size_t errlen);

/* The cluster ID etcd derives from the initial members' IDs: SHA-1 over
 * the IDs sorted ascending, 8 bytes big-endian each; the first 8 bytes of
 * the hash big-endian. ids is borrowed and left as it is. */
uint64_t etcd_member_cluster_id(const uint64_t *ids, size_t n);

/* An ID as etcd prints it and names its discovery key: lower-case hex
 * without leading zeros ("b60b1159714064a"). Writes into buf, returns it. */
const char *etcd_member_id_str(uint64_t id, char buf[ETCD_MEMBER_ID_LEN]);

/* Parses the len bytes at s written as etcd_member_id_str() writes them;
 * anything else (upper case, leading zeros, 0, over 16 digits) is -1. */
int etcd_member_id_parse(const char *s, size_t len, uint64_t *id);

/* ---- etcd's v3 discovery keys and values ----------------------------- */

/* True when token can name a v3 discovery token: 1..128 printable ASCII
 * bytes without space or "/", and not "." or ".." (etcd builds its keys
 * with Go's path.Join, which would collapse those into other keys).
 * Otherwise false with err set. */
bool etcd_member_token_valid(const char *token, char *err, size_t errlen);

/* The keys etcd's v3 discovery reads and writes for token (which must
 * pass etcd_member_token_valid()); each a new string, free with free():
 * "/_etcd/registry/TOKEN/_config/size",
 * "/_etcd/registry/TOKEN/members" (the prefix etcd lists and watches:
 * etcd counts every key under it whose value holds "=", even
 * ".../membersX", so a reader must see the same keys),
 * "/_etcd/registry/TOKEN/members/ID" (ID as etcd_member_id_str()). */
char *etcd_member_size_key(const char *token);
char *etcd_member_prefix(const char *token);
char *etcd_member_key(const char *token, uint64_t id);

/* Parses the value of the size key: decimal digits only, 1 to
 * ETCD_MEMBER_SIZE_MAX. Returns 0, or -1 with err set. */
int etcd_member_size_parse(const char *v, size_t len, unsigned *size,
    char *err, size_t errlen);

/* The value a member registers, as etcd writes it: "NAME=URL" for each
 * peer URL, sorted, joined by ","
 * ("n1=http://10.0.0.1:2380,n1=http://10.0.0.2:2380"). name must pass
 * dns_member_name_valid(name, true), urls etcd_member_peer_url_valid().
 * Returns a new string (free with free()), or NULL with err set. */
char *etcd_member_value(const char *name, char *const *urls, size_t n,
    char *err, size_t errlen);

/* One member's registration read back from a token. */
struct etcd_member_entry {
	uint64_t id;
	char *name;
	char **peer_urls;	/* sorted, NULL-terminated */
	size_t n_peer_urls;
};

/* Parses the key (klen bytes) and value (vlen bytes) of one entry under
 * etcd_member_prefix(token), as etcd or zooinit wrote it: the key must be
 * the prefix, "/" and an ID as etcd_member_id_str() writes it; the value
 * (surrounding white space trimmed, as etcd trims it) must be "NAME=URL"
 * pairs joined by "," with one valid member name throughout and valid,
 * distinct peer URLs; and the ID must be the one etcd derives from those
 * URLs and token (etcd_member_id()), as it is for every member etcd's v3
 * discovery registers. Returns 0 with e filled (free with
 * etcd_member_entry_free()), or -1 with e zeroed and err set to one
 * sentence quoting what is wrong. */
int etcd_member_entry_parse(const char *token, const char *key, size_t klen,
    const char *value, size_t vlen, struct etcd_member_entry *e, char *err,
    size_t errlen);

/* True when etcd's v3 discovery counts an entry under the prefix with
 * this value as a registered member (clusterInfo.add(): the value holds
 * "="), whatever its key. An entry etcd counts but
 * etcd_member_entry_parse() refuses must stop a reader rather than be
 * skipped, or it and etcd would disagree on who the first size members
 * are. */
bool etcd_member_counted(const char *value, size_t vlen);

/* Frees what e holds and zeroes it; a zeroed e is fine. */
void etcd_member_entry_free(struct etcd_member_entry *e);

#endif
