/* The service registry (agent/registry.h) twice per input:
 *
 * 1. the input as the pairs of a prefix read, given to reg_parse() for
 *    service "zk". One pair per line:
 *
 *      KEY TAB VALUE [TAB CREATE_REVISION [TAB MOD_REVISION]]
 *
 *    KEY is relative to REG_ROOT "zk/" unless it starts with '/'. In KEY
 *    and VALUE, \n, \t, \0 and \\ stand for a newline, a tab, a NUL and a
 *    backslash (a raw NUL works too); any other backslash is itself.
 *    A missing CREATE_REVISION is the line's number plus one, so lines
 *    register in order; a missing MOD_REVISION is CREATE_REVISION. At
 *    most MAX_PAIRS lines count; each key and value gets a buffer of its
 *    length plus the NUL etcd/kv.c adds, so a read past it trips ASan.
 * 2. the whole input as the value of the sealed key, to
 *    reg_parse_sealed() (with room for REG_MAX_NODES members, then for
 *    SMALL_MAX).
 *
 * A view that parses is checked against the promises of registry.h
 * (addresses canonical and unique, ids unique, participants first, the
 * others alive first by registration order, every key reflected) and,
 * when not sealed yet, sealed with reg_seal_value(): that value must
 * parse back with ids 1..size, and the view with it added must come out
 * sealed with exactly those members unless an ids/ key contradicts
 * them. */
#include "lib/fmacros.h"

#include <inttypes.h>

#include "services/registry.h"
#include "lib/xmalloc.h"
#include "etcd/kv.h"
#include "fuzz/fuzz.h"

#define SERVICE "zk"
#define PREFIX REG_ROOT SERVICE "/"
#define MAX_PAIRS 1024
#define SMALL_MAX 3
#define REVISION 1000000

struct pairs {
	struct etcd_kv_pair p[MAX_PAIRS + 1];	/* + the sealed key */
	size_t n;
};

/* Unescapes [s, e) into a new buffer of the decoded length plus a NUL. */
static char *
unescape(const uint8_t *s, const uint8_t *e, size_t *len)
{
	char *out = xmalloc((size_t)(e - s) + 1);
	size_t n = 0;

	while (s < e) {
		if (*s == '\\' && s + 1 < e && s[1] != '\0' &&
		    strchr("nt0\\", s[1]) != NULL) {
			s++;
			out[n++] = *s == 'n' ? '\n' : *s == 't' ? '\t' :
			    *s == '0' ? '\0' : '\\';
			s++;
		} else {
			out[n++] = (char)*s++;
		}
	}
	/* Exactly the length plus the NUL, as etcd/kv.c allocates. */
	char *exact = xmalloc(n + 1);
	memcpy(exact, out, n);
	exact[n] = '\0';
	free(out);
	*len = n;
	return exact;
}

/* A revision: optional '-', at most 18 digits; anything else is dflt. */
static int64_t
parse_rev(const uint8_t *s, const uint8_t *e, int64_t dflt)
{
	bool neg = s < e && *s == '-';
	int64_t v = 0;

	if (neg)
		s++;
	if (s == e || e - s > 18)
		return dflt;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return dflt;
		v = v * 10 + (*s - '0');
	}
	return neg ? -v : v;
}

static void
add_pair(struct pairs *b, const uint8_t *line, const uint8_t *end)
{
	const uint8_t *f[5];
	size_t nf = 1, klen;
	struct etcd_kv_pair *p = &b->p[b->n];
	char *key;

	f[0] = line;
	for (const uint8_t *c = line; c < end && nf < 4; c++) {
		if (*c == '\t')
			f[nf++] = c + 1;
	}
	f[nf] = end + 1;
	memset(p, 0, sizeof(*p));
	key = unescape(f[0], f[1] - 1, &klen);
	if (klen > 0 && key[0] == '/') {
		p->key = key;
		p->key_len = klen;
	} else {
		p->key_len = strlen(PREFIX) + klen;
		p->key = xmalloc(p->key_len + 1);
		memcpy(p->key, PREFIX, strlen(PREFIX));
		memcpy(p->key + strlen(PREFIX), key, klen + 1);
		free(key);
	}
	if (nf > 1)
		p->value = unescape(f[1], f[2] - 1, &p->value_len);
	else
		p->value = unescape(end, end, &p->value_len);
	p->create_revision = (int64_t)b->n + 2;
	if (nf > 2)
		p->create_revision = parse_rev(f[2], f[3] - 1,
		    p->create_revision);
	p->mod_revision = p->create_revision;
	if (nf > 3)
		p->mod_revision = parse_rev(f[3], f[4] - 1, p->mod_revision);
	p->version = 1;
	b->n++;
}

static void
pairs_free(struct pairs *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->p[i].key);
		free(b->p[i].value);
	}
	b->n = 0;
}

/* The address after PREFIX dir in a plain (NUL-free) key, or NULL. */
static const char *
key_ip(const struct etcd_kv_pair *p, const char *dir)
{
	size_t pl = strlen(PREFIX), dl = strlen(dir);

	if (strlen(p->key) != p->key_len || p->key_len <= pl + dl ||
	    memcmp(p->key, PREFIX, pl) != 0 ||
	    memcmp(p->key + pl, dir, dl) != 0)
		return NULL;
	return p->key + pl + dl;
}

static bool
has_key(const struct pairs *b, const char *dir)
{
	for (size_t i = 0; i < b->n; i++) {
		if (key_ip(&b->p[i], dir) != NULL)
			return true;
	}
	return false;
}

/* The promises of registry.h about a view that parsed from b. */
static void
check_view(const struct reg_view *v, const struct pairs *b)
{
	size_t alive = 0;
	bool all_started = v->sealed;

	FUZZ_CHECK(v->revision == REVISION);
	FUZZ_CHECK(v->n_nodes <= REG_MAX_NODES);
	FUZZ_CHECK(v->n_sealed <= v->n_nodes);
	FUZZ_CHECK(v->sealed == (v->n_sealed > 0));
	FUZZ_CHECK(v->size <= REG_ID_MAX);
	FUZZ_CHECK(!v->sealed || v->size == v->n_sealed);
	FUZZ_CHECK(v->next_id <= REG_ID_MAX + 1);
	FUZZ_CHECK(memchr(v->leader, '\0', sizeof(v->leader)) != NULL);
	FUZZ_CHECK(v->leader[0] == '\0' || reg_valid_ip(v->leader));
	for (size_t i = 0; i < v->n_nodes; i++) {
		const struct reg_node *nd = &v->nodes[i];

		FUZZ_CHECK(memchr(nd->ip, '\0', sizeof(nd->ip)) != NULL);
		FUZZ_CHECK(reg_valid_ip(nd->ip));
		FUZZ_CHECK(reg_find(v, nd->ip) == nd);
		FUZZ_CHECK(nd->id <= REG_ID_MAX);
		/* Participants first, each with its id. */
		FUZZ_CHECK(nd->participant == (i < v->n_sealed));
		FUZZ_CHECK(!nd->participant || nd->id != 0);
		FUZZ_CHECK(nd->alive || nd->create_revision == 0);
		for (size_t j = 0; j < i; j++) {
			FUZZ_CHECK(strcmp(v->nodes[j].ip, nd->ip) != 0);
			FUZZ_CHECK(nd->id == 0 || v->nodes[j].id != nd->id);
		}
		/* Then the others: the alive ones by registration order,
		 * then those only other keys mention. */
		if (i > v->n_sealed) {
			const struct reg_node *pr = &v->nodes[i - 1];

			FUZZ_CHECK(pr->alive || !nd->alive);
			FUZZ_CHECK(!nd->alive ||
			    pr->create_revision <= nd->create_revision);
		}
		alive += nd->alive;
		if (nd->participant && !nd->started)
			all_started = false;
	}
	FUZZ_CHECK(reg_alive(v) == alive);
	FUZZ_CHECK(reg_all_started(v) == all_started);

	/* Every key of ours shows in the view. */
	for (size_t i = 0; i < b->n; i++) {
		const struct etcd_kv_pair *p = &b->p[i];
		const struct reg_node *nd;
		const char *ip;

		ip = key_ip(p, "nodes/");
		if (ip != NULL) {
			nd = reg_find(v, ip);
			FUZZ_CHECK(nd != NULL && nd->alive);
			FUZZ_CHECK(nd->create_revision <= p->create_revision);
		}
		ip = key_ip(p, "started/");
		if (ip != NULL) {
			nd = reg_find(v, ip);
			FUZZ_CHECK(nd != NULL && nd->started);
		}
		ip = key_ip(p, "booted/");
		if (ip != NULL) {
			nd = reg_find(v, ip);
			FUZZ_CHECK(nd != NULL && nd->booted);
		}
		ip = key_ip(p, "ids/");
		if (ip != NULL) {
			nd = reg_find(v, ip);
			FUZZ_CHECK(nd != NULL && nd->id != 0);
		}
	}
	for (size_t i = 0; i < v->n_nodes; i++) {
		const struct reg_node *nd = &v->nodes[i];
		bool found = nd->participant;

		/* A node no key names would be invented. */
		for (size_t j = 0; j < b->n && !found; j++) {
			const struct etcd_kv_pair *p = &b->p[j];
			const char *ip = key_ip(p, "nodes/");

			if (ip == NULL)
				ip = key_ip(p, "ids/");
			if (ip == NULL)
				ip = key_ip(p, "started/");
			if (ip == NULL)
				ip = key_ip(p, "booted/");
			found = ip != NULL && strcmp(ip, nd->ip) == 0;
		}
		FUZZ_CHECK(found);
	}
}

/* Seals the view as the first node to see size alive would, and parses
 * the result both alone and added to the pairs. */
static void
check_seal(const struct reg_view *v, struct pairs *b)
{
	const char *ips[REG_MAX_NODES];
	char pips[REG_MAX_NODES][REG_IP_MAX], err[FUZZ_ERRLEN];
	unsigned ids[REG_MAX_NODES], size = 0;
	struct etcd_kv_pair *sp;
	struct reg_view *w;
	size_t n = 0;
	char *value;
	int m;

	value = reg_seal_value(v, ips, &n);
	if (v->sealed || v->size == 0 || reg_alive(v) < v->size) {
		FUZZ_CHECK(value == NULL);
		return;
	}
	FUZZ_CHECK(value != NULL && n == v->size);
	for (size_t i = 0; i < n; i++) {
		const struct reg_node *nd = reg_find(v, ips[i]);

		FUZZ_CHECK(nd != NULL && nd->alive && !nd->participant);
		FUZZ_CHECK(i == 0 || reg_find(v, ips[i - 1])->create_revision
		    <= nd->create_revision);
	}
	/* The chosen are the first registered: no one left out came
	 * before the last chosen. */
	for (size_t i = 0; i < v->n_nodes; i++) {
		const struct reg_node *nd = &v->nodes[i];
		bool chosen = false;

		for (size_t j = 0; j < n && !chosen; j++)
			chosen = strcmp(ips[j], nd->ip) == 0;
		FUZZ_CHECK(chosen || !nd->alive || nd->create_revision >=
		    reg_find(v, ips[n - 1])->create_revision);
	}

	fuzz_err_reset(err);
	m = reg_parse_sealed(value, strlen(value), ids, pips, REG_MAX_NODES,
	    &size, err, sizeof(err));
	if (m < 0)
		fprintf(stderr, "sealed %s: %s\n", value, err);
	FUZZ_CHECK(m >= 0 && (size_t)m == n && size == v->size);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(ids[i] == i + 1 && strcmp(pips[i], ips[i]) == 0);

	/* What the next read sees. v->sealed is false, so no pair is the
	 * sealed key yet. */
	sp = &b->p[b->n];
	memset(sp, 0, sizeof(*sp));
	sp->key = xstrdup(PREFIX "sealed");
	sp->key_len = strlen(sp->key);
	sp->value = value;
	sp->value_len = strlen(value);
	sp->create_revision = sp->mod_revision = REVISION;
	b->n++;
	w = xcalloc(1, sizeof(*w));
	fuzz_err_reset(err);
	if (reg_parse(SERVICE, b->p, b->n, REVISION, w, err,
	    sizeof(err)) < 0) {
		fuzz_err_check(err);
		/* Only an id written before the seal can clash with it. */
		FUZZ_CHECK(has_key(b, "ids/"));
	} else {
		check_view(w, b);
		FUZZ_CHECK(w->sealed && w->n_sealed == n &&
		    w->size == v->size);
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(strcmp(w->nodes[i].ip, ips[i]) == 0);
			FUZZ_CHECK(w->nodes[i].id == i + 1 &&
			    w->nodes[i].alive);
		}
	}
	reg_view_free(w);
	free(w);
}

static void
parse_pairs(const uint8_t *data, size_t size)
{
	struct pairs *b = xmalloc(sizeof(*b));
	struct reg_view *v = xcalloc(1, sizeof(*v));
	const uint8_t *p = data, *end = data + size;
	char err[FUZZ_ERRLEN];

	b->n = 0;
	while (p < end && b->n < MAX_PAIRS) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			nl = end;
		add_pair(b, p, nl);
		p = nl + 1;
	}
	fuzz_err_reset(err);
	if (reg_parse(SERVICE, b->p, b->n, REVISION, v, err,
	    sizeof(err)) < 0) {
		fuzz_err_check(err);
		FUZZ_CHECK(v->n_nodes == 0 && v->n_sealed == 0 && !v->sealed &&
		    v->size == 0);
	} else {
		check_view(v, b);
		check_seal(v, b);
	}
	pairs_free(b);
	free(b);
	reg_view_free(v);
	free(v);
}

static void
parse_sealed(const uint8_t *data, size_t size, size_t max)
{
	/* Exactly max entries, so writing one more trips ASan. */
	unsigned *ids = xcalloc(max, sizeof(*ids)), sz = 0;
	char (*ips)[REG_IP_MAX] = xcalloc(max, sizeof(*ips));
	char *body = fuzz_memdup(data, size), err[FUZZ_ERRLEN];
	int n;

	fuzz_err_reset(err);
	n = reg_parse_sealed(body, size, ids, ips, max, &sz, err,
	    sizeof(err));
	if (n < 0) {
		fuzz_err_check(err);
	} else {
		FUZZ_CHECK(n >= 1 && (size_t)n <= max && (unsigned)n == sz);
		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(ids[i] >= 1 && ids[i] <= REG_ID_MAX);
			FUZZ_CHECK(memchr(ips[i], '\0', REG_IP_MAX) != NULL);
			FUZZ_CHECK(reg_valid_ip(ips[i]));
			for (int j = 0; j < i; j++)
				FUZZ_CHECK(ids[j] != ids[i] &&
				    strcmp(ips[j], ips[i]) != 0);
		}
	}
	free(ids);
	free(ips);
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init_common();
	parse_pairs(data, size);
	parse_sealed(data, size, REG_MAX_NODES);
	parse_sealed(data, size, SMALL_MAX);
	return 0;
}
