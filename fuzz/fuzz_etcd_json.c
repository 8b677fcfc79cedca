/* The parsers of etcd's answers. The first byte picks one (modulo the
 * number of parsers, so every byte picks something):
 *
 *   'm' member list     etcd_parse_members   (v3 /cluster/member/list)
 *   's' status          etcd_parse_status    (v3 /maintenance/status)
 *   'h' health          etcd_parse_health    (GET /health)
 *   '2' v2 keys         etcd_v2_parse        (discovery)
 *   'r' 'p' 'd' 't'     etcd_kv_parse        range, put, delete, txn
 *   'g' 'k' 'x'         etcd_kv_parse        lease grant, keepalive, revoke
 *   'w' watch line      etcd_kv_parse_watch
 *   'b' base64          etcd_kv_b64_decode, then encode again
 *   'e' error body      ej_http_detail (a non-200 answer); picked by
 *                       its letter only, so that older inputs keep
 *                       the parser the modulo gave them
 *   'a' alarms          etcd_parse_alarms    (v3 /maintenance/alarm)
 *   'M' status          etcd_parse_status    (as maintenance reads it)
 *   'A' ack             etcd_parse_ack       (compaction, defragment)
 *   'P' peer members    etcd_parse_peer_members (GET PEER_URL/members,
 *                       the join probe)
 *                       (these four by their letter only, too)
 *
 * and the rest of the input is the body, in a buffer of exactly its
 * size (the HTTP layer adds a NUL, the parsers must not need it).
 * Besides not crashing or leaking, each parser must keep its promises:
 * an error sentence on failure and *out emptied, sane results on
 * success. */
#include "lib/fmacros.h"

#include "etcd/api.h"
#include "etcd/json.h"
#include "etcd/kv.h"
#include "etcd/maint.h"
#include "etcd/v2.h"
#include "fuzz/fuzz.h"

static const char selectors[] = "msh2rpdtgkxwb";

static void
members(const char *b, size_t n)
{
	struct etcd_members m;
	char err[FUZZ_ERRLEN];

	memset(&m, 0xa5, sizeof(m));
	fuzz_err_reset(err);
	if (etcd_parse_members(b, n, &m, err, sizeof(err)) < 0) {
		fuzz_err_check(err);
		return;
	}
	FUZZ_CHECK(m.n >= 1 && m.n <= ETCD_MAX_MEMBERS && m.v != NULL);
	for (size_t i = 0; i < m.n; i++) {
		const struct etcd_member *e = &m.v[i];

		FUZZ_CHECK(e->id != 0 && e->name != NULL);
		FUZZ_CHECK(e->n_peer_urls <= ETCD_MAX_MEMBER_URLS);
		FUZZ_CHECK(e->n_client_urls <= ETCD_MAX_MEMBER_URLS);
		for (size_t j = 0; j < e->n_peer_urls; j++)
			FUZZ_CHECK(e->peer_urls[j][0] != '\0');
		for (size_t j = 0; j < e->n_client_urls; j++)
			FUZZ_CHECK(e->client_urls[j][0] != '\0');
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(m.v[j].id != e->id);
	}
	etcd_members_free(&m);
	FUZZ_CHECK(m.v == NULL && m.n == 0);
}

static void
status(const char *b, size_t n)
{
	struct etcd_status st;
	char err[FUZZ_ERRLEN];

	fuzz_err_reset(err);
	if (etcd_parse_status(b, n, &st, err, sizeof(err)) < 0) {
		fuzz_err_check(err);
		return;
	}
	FUZZ_CHECK(st.version[0] != '\0');
	FUZZ_CHECK(memchr(st.version, '\0', sizeof(st.version)) != NULL);
	FUZZ_CHECK(st.db_size >= 0 && st.revision >= 0 &&
	    st.db_size_in_use >= 0 && st.db_size_quota >= 0);
}

static void
alarms(const char *b, size_t n)
{
	struct etcd_alarms a;
	char err[FUZZ_ERRLEN];

	memset(&a, 0xa5, sizeof(a));
	fuzz_err_reset(err);
	if (etcd_parse_alarms(b, n, &a, err, sizeof(err)) < 0) {
		fuzz_err_check(err);
		return;
	}
	FUZZ_CHECK(a.n <= ETCD_MAX_ALARMS && (a.n == 0) == (a.v == NULL));
	for (size_t i = 0; i < a.n; i++)
		FUZZ_CHECK(a.v[i].type <= ETCD_ALARM_OTHER);
	etcd_alarms_free(&a);
	FUZZ_CHECK(a.v == NULL && a.n == 0);
}

static void
ack(const char *b, size_t n)
{
	char err[FUZZ_ERRLEN];
	int rc;

	fuzz_err_reset(err);
	rc = etcd_parse_ack("compaction", 400, b, n, err, sizeof(err));
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc == -1)
		fuzz_err_check(err);
}

static void
health(const char *b, size_t n)
{
	char err[FUZZ_ERRLEN];
	bool h;

	fuzz_err_reset(err);
	if (etcd_parse_health(b, n, &h, err, sizeof(err)) < 0)
		fuzz_err_check(err);
}

static void
v2(const char *b, size_t n)
{
	struct etcd_v2_reply r;
	char err[FUZZ_ERRLEN];

	fuzz_err_reset(err);
	if (etcd_v2_parse(b, n, &r, err, sizeof(err)) < 0) {
		fuzz_err_check(err);
		/* "*out zeroed" */
		FUZZ_CHECK(r.nodes == NULL && r.n == 0 && r.message == NULL &&
		    r.node.key == NULL && r.node.value == NULL);
		return;
	}
	if (r.error_code != 0) {
		FUZZ_CHECK(r.error_code > 0 && r.error_code <= 999);
		FUZZ_CHECK(r.message != NULL);
	} else {
		FUZZ_CHECK(r.node.key != NULL);
		FUZZ_CHECK(r.n <= ETCD_V2_MAX_NODES);
		for (size_t i = 0; i < r.n; i++) {
			FUZZ_CHECK(r.nodes[i].key != NULL);
			FUZZ_CHECK(r.nodes[i].created <= r.max_index &&
			    r.nodes[i].modified <= r.max_index);
			if (r.nodes[i].value != NULL)
				FUZZ_CHECK(strlen(r.nodes[i].value) <=
				    ETCD_V2_MAX_VALUE);
		}
	}
	etcd_v2_reply_free(&r);
}

static void
check_pair(const struct etcd_kv_pair *p)
{
	FUZZ_CHECK(p->key != NULL && p->key_len > 0 &&
	    p->key_len <= ETCD_KV_MAX_KEY && p->key[p->key_len] == '\0');
	FUZZ_CHECK(p->value != NULL && p->value[p->value_len] == '\0');
	FUZZ_CHECK(p->create_revision >= 0 && p->mod_revision >= 0 &&
	    p->version >= 0 && p->lease >= 0);
}

static void
kv(enum etcd_kv_answer kind, const char *b, size_t n)
{
	struct etcd_kv_result r;
	char err[FUZZ_ERRLEN];

	fuzz_err_reset(err);
	if (etcd_kv_parse(kind, b, n, &r, err, sizeof(err)) < 0) {
		fuzz_err_check(err);
		/* "*out emptied" but for grpc_code */
		FUZZ_CHECK(r.resp == NULL && r.n_resp == 0 && r.kvs == NULL &&
		    r.n_kvs == 0 && r.error == NULL);
		FUZZ_CHECK(r.grpc_code >= 0 && r.grpc_code <= 100);
		return;
	}
	FUZZ_CHECK(r.error == NULL && r.revision >= 0);
	switch (kind) {
	case ETCD_KV_ANS_RANGE:
	case ETCD_KV_ANS_PUT:
	case ETCD_KV_ANS_DELETE:
		FUZZ_CHECK(r.n_resp == 1);
		break;
	case ETCD_KV_ANS_TXN:
		break;
	case ETCD_KV_ANS_LEASE_GRANT:
		FUZZ_CHECK(r.lease_id > 0 && r.ttl > 0);
		break;
	case ETCD_KV_ANS_LEASE_KEEPALIVE:
		FUZZ_CHECK(r.lease_id > 0 && r.ttl >= 0);
		break;
	case ETCD_KV_ANS_LEASE_REVOKE:
		break;
	}
	if (r.n_resp > 0) {
		FUZZ_CHECK(r.kvs == r.resp[0].kvs &&
		    r.n_kvs == r.resp[0].n_kvs);
	} else {
		FUZZ_CHECK(r.kvs == NULL && r.n_kvs == 0);
	}
	for (size_t i = 0; i < r.n_resp; i++) {
		const struct etcd_kv_resp *o = &r.resp[i];

		FUZZ_CHECK(o->count >= 0 && o->deleted >= 0);
		FUZZ_CHECK(o->type != ETCD_KV_RANGE ||
		    (uint64_t)o->count >= o->n_kvs);
		for (size_t j = 0; j < o->n_kvs; j++)
			check_pair(&o->kvs[j]);
	}
	etcd_kv_result_free(&r);
	FUZZ_CHECK(r.resp == NULL && r.n_resp == 0);
}

static void
watch(const char *b, size_t n)
{
	struct etcd_kv_watch_msg m;
	char err[FUZZ_ERRLEN];

	fuzz_err_reset(err);
	if (etcd_kv_parse_watch(b, n, &m, err, sizeof(err)) < 0) {
		fuzz_err_check(err);
		FUZZ_CHECK(m.events == NULL && m.n_events == 0 &&
		    m.cancel_reason == NULL);
		FUZZ_CHECK(m.grpc_code >= 0 && m.grpc_code <= 100);
		return;
	}
	FUZZ_CHECK(m.cancel_reason != NULL && m.watch_id >= -1);
	FUZZ_CHECK(m.revision >= 0 && m.compact_revision >= 0);
	for (size_t i = 0; i < m.n_events; i++) {
		FUZZ_CHECK(m.events[i].type == ETCD_KV_EVENT_PUT ||
		    m.events[i].type == ETCD_KV_EVENT_DELETE);
		check_pair(&m.events[i].kv);
		if (i > 0)
			FUZZ_CHECK(m.events[i].kv.mod_revision >=
			    m.events[i - 1].kv.mod_revision);
	}
	etcd_kv_watch_msg_free(&m);
}

/* Decoding accepts canonical base64 only, so encoding what it decoded
 * gives the input back. */
static void
b64(const char *b, size_t n)
{
	size_t len = 0;
	char *dec = etcd_kv_b64_decode(b, n, &len), *enc;

	if (dec == NULL) {
		/* Whatever decodes must encode; try the reverse too. */
		enc = etcd_kv_b64_encode(b, n);
		dec = etcd_kv_b64_decode(enc, strlen(enc), &len);
		FUZZ_CHECK(dec != NULL && len == n && memcmp(dec, b, n) == 0);
		free(enc);
		free(dec);
		return;
	}
	FUZZ_CHECK(dec[len] == '\0' && len <= n / 4 * 3);
	enc = etcd_kv_b64_encode(dec, len);
	FUZZ_CHECK(strlen(enc) == n && memcmp(enc, b, n) == 0);
	free(enc);
	free(dec);
}

/* A non-200 body becomes one printable, terminated sentence; the gRPC
 * code is one etcd could send. */
static void
http_detail(const char *b, size_t n)
{
	char out[FUZZ_ERRLEN];
	int c;

	memset(out, 'X', sizeof(out));
	c = ej_http_detail(503, b, n, out, sizeof(out));
	FUZZ_CHECK(c >= 0 && c <= 100);
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	for (const char *p = out; *p != '\0'; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	FUZZ_CHECK(strstr(out, "HTTP 503") != NULL ||
	    strlen(out) == sizeof(out) - 1);
}

/* 1, 0 or -1, and -1 for anything that is not a non-empty JSON list. */
static void
peer_members(const char *b, size_t n)
{
	int r = etcd_parse_peer_members(b, n);

	FUZZ_CHECK(r >= -1 && r <= 1);
	FUZZ_CHECK(r == -1 || (n > 0 && memchr(b, '[', n) != NULL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;
	size_t n;
	char sel;

	if (size == 0)
		return 0;
	fuzz_init_common();
	sel = selectors[data[0] % (sizeof(selectors) - 1)];
	/* A readable selector letter picks itself. */
	if (data[0] != 0 && strchr(selectors, data[0]) != NULL)
		sel = (char)data[0];
	if (data[0] == 'e' || data[0] == 'a' || data[0] == 'M' ||
	    data[0] == 'A' || data[0] == 'P')
		sel = (char)data[0];
	n = size - 1;
	body = fuzz_memdup(data + 1, n);
	switch (sel) {
	case 'm': members(body, n); break;
	case 's': status(body, n); break;
	case 'h': health(body, n); break;
	case '2': v2(body, n); break;
	case 'r': kv(ETCD_KV_ANS_RANGE, body, n); break;
	case 'p': kv(ETCD_KV_ANS_PUT, body, n); break;
	case 'd': kv(ETCD_KV_ANS_DELETE, body, n); break;
	case 't': kv(ETCD_KV_ANS_TXN, body, n); break;
	case 'g': kv(ETCD_KV_ANS_LEASE_GRANT, body, n); break;
	case 'k': kv(ETCD_KV_ANS_LEASE_KEEPALIVE, body, n); break;
	case 'x': kv(ETCD_KV_ANS_LEASE_REVOKE, body, n); break;
	case 'w': watch(body, n); break;
	case 'b': b64(body, n); break;
	case 'e': http_detail(body, n); break;
	case 'a': alarms(body, n); break;
	case 'M': status(body, n); break;
	case 'A': ack(body, n); break;
	case 'P': peer_members(body, n); break;
	default: abort();
	}
	free(body);
	return 0;
}
