#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "services/registry.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "etcd/json.h"
#include "resolver/dnsname.h"

char *
reg_key(const char *service, const char *rest)
{
	return xasprintf(REG_ROOT "%s/%s", service, rest);
}

bool
reg_valid_ip(const char *s)
{
	static const unsigned char zero[16];
	unsigned char buf[16];
	char back[REG_IP_MAX];
	int af = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;

	if (strlen(s) >= REG_IP_MAX || inet_pton(af, s, buf) != 1 ||
	    inet_ntop(af, buf, back, sizeof(back)) == NULL ||
	    strcmp(back, s) != 0)
		return false;
	if (af == AF_INET)
		return buf[0] != 0 && buf[0] < 224;
	/* Not unspecified (all 16 bytes zero; ::1 is loopback, as
	 * 127.0.0.1 is for IPv4), multicast or link-local. */
	return !(buf[0] == 0xff || (buf[0] == 0xfe && (buf[1] & 0xc0) == 0x80) ||
	    memcmp(buf, zero, sizeof(zero)) == 0);
}

/* Parses a decimal id 1..REG_ID_MAX (or, with max, up to max). */
static int
parse_num(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The node for ip, added at the end when new. */
static struct reg_node *
node_for(struct reg_view *v, const char *ip)
{
	for (size_t i = 0; i < v->n_nodes; i++) {
		if (strcmp(v->nodes[i].ip, ip) == 0)
			return &v->nodes[i];
	}
	if (v->n_nodes == REG_MAX_NODES)
		return NULL;
	if (v->n_nodes == v->cap) {
		v->cap = v->cap == 0 ? 8 : v->cap * 2 < REG_MAX_NODES ?
		    v->cap * 2 : REG_MAX_NODES;
		v->nodes = xreallocarray(v->nodes, v->cap, sizeof(*v->nodes));
	}
	struct reg_node *nd = &v->nodes[v->n_nodes++];
	memset(nd, 0, sizeof(*nd));
	snprintf(nd->ip, sizeof(nd->ip), "%s", ip);
	return nd;
}

int
reg_parse_sealed(const char *value, size_t len, unsigned *ids,
    char (*ips)[REG_IP_MAX], size_t max, unsigned *size, char *err,
    size_t errlen)
{
	json_t *o, *mem, *e;
	json_int_t sz;
	size_t i;
	int n = -1;

	o = ej_load("sealed", value, len, err, errlen);
	if (o == NULL)
		return -1;
	mem = json_object_get(o, "members");
	sz = json_integer_value(json_object_get(o, "size"));
	if (!json_is_array(mem) || json_array_size(mem) == 0 ||
	    json_array_size(mem) > max || sz < 1 || sz > REG_ID_MAX ||
	    (size_t)sz != json_array_size(mem)) {
		str_seterr(err, errlen, "sealed: expected {\"size\":N,"
		    "\"members\":[N members]}");
		goto out;
	}
	json_array_foreach(mem, i, e) {
		json_t *jid = json_object_get(e, "id");
		json_int_t id = json_integer_value(jid);
		const char *ip = json_string_value(json_object_get(e, "ip"));
		char q[64];

		/* Each message names the field that is wrong: a bad id
		 * beside a good address used to be reported as "found
		 * 10.0.0.1", and an empty address as "found ". */
		if (!json_is_object(e)) {
			str_seterr(err, errlen, "sealed: member %zu: expected "
			    "an object {\"id\":N,\"ip\":\"...\"}, found %s",
			    i + 1, ej_type_name(e));
			goto out;
		}
		if (id < 1 || id > REG_ID_MAX) {
			if (json_is_integer(jid))
				snprintf(q, sizeof(q), "%" JSON_INTEGER_FORMAT,
				    id);
			else
				snprintf(q, sizeof(q), "%s", jid == NULL ?
				    "no id" : ej_type_name(jid));
			str_seterr(err, errlen, "sealed: member %zu: expected "
			    "an id from 1 to %d, found %s", i + 1, REG_ID_MAX,
			    q);
			goto out;
		}
		if (ip == NULL || !reg_valid_ip(ip)) {
			str_seterr(err, errlen, "sealed: member %zu: expected "
			    "a unicast IP address as ip, found %s", i + 1,
			    ip == NULL ? "no ip" : ip[0] == '\0' ?
			    "an empty string" : str_quote_n(ip, strlen(ip), q,
			    sizeof(q)));
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (ids[j] == (unsigned)id || strcmp(ips[j], ip) == 0) {
				str_seterr(err, errlen, "sealed: member %zu "
				    "repeats id %u or address %s", i + 1,
				    ids[j], ips[j]);
				goto out;
			}
		}
		ids[i] = (unsigned)id;
		snprintf(ips[i], REG_IP_MAX, "%s", ip);
	}
	*size = (unsigned)sz;
	n = (int)json_array_size(mem);
out:
	json_decref(o);
	return n;
}

/* The address after "dir/" in a key's rest, checked. */
static const char *
key_ip(const char *rest, const char *dir)
{
	size_t n = strlen(dir);

	if (strncmp(rest, dir, n) != 0)
		return NULL;
	return rest + n;
}

static int
bad_key(const char *key, size_t klen, const char *why, char *err,
    size_t errlen)
{
	char q[128];

	str_seterr(err, errlen, "registry key %s: %s",
	    str_quote_n(key, klen, q, sizeof(q)), why);
	return -1;
}

/* What every pass of reg_parse() needs. */
struct rparse {
	const char *prefix;	/* reg_key(service, "") */
	size_t plen;
	char *err;
	size_t errlen;
};

/* The rest of p's key after the service's prefix, or NULL for a key
 * outside it. */
static const char *
rest_of(const struct rparse *rp, const struct etcd_kv_pair *p)
{
	if (p->key_len <= rp->plen || memcmp(p->key, rp->prefix, rp->plen))
		return NULL;
	return p->key + rp->plen;
}

/* The sealed set first, so its members lead in sealed order. */
static int
parse_sealed(const struct rparse *rp, const struct etcd_kv_pair *kvs,
    size_t n, struct reg_view *v)
{
	unsigned ids[REG_MAX_NODES];
	char ips[REG_MAX_NODES][REG_IP_MAX];
	char why[256];

	for (size_t i = 0; i < n; i++) {
		const struct etcd_kv_pair *p = &kvs[i];
		unsigned size;
		int m;

		if (p->key_len != rp->plen + 6 || rest_of(rp, p) == NULL ||
		    strcmp(p->key + rp->plen, "sealed") != 0)
			continue;
		/* etcd never answers a key twice; a caller's array might,
		 * and a second set would overflow nodes[]. */
		if (v->sealed)
			return bad_key(p->key, p->key_len, "appears twice",
			    rp->err, rp->errlen);
		m = reg_parse_sealed(p->value, p->value_len, ids, ips,
		    REG_MAX_NODES, &size, why, sizeof(why));
		if (m < 0) {
			/* Its "sealed: " would say the key's name twice. */
			size_t skip = strncmp(why, "sealed: ", 8) == 0 ? 8 : 0;

			return bad_key(p->key, p->key_len, why + skip, rp->err,
			    rp->errlen);
		}
		for (int j = 0; j < m; j++) {
			struct reg_node *nd = node_for(v, ips[j]);
			nd->id = ids[j];
			nd->participant = true;
		}
		v->sealed = true;
		v->sealed_revision = p->create_revision;
		v->sealed_mod = p->mod_revision;
		v->n_sealed = (size_t)m;
		v->size = size;
	}
	return 0;
}

/* Every nodes/<ip> key is checked and collected: its address (with a
 * NUL byte inside, reg_find() would take it for the text before the
 * NUL), and how many there are, which bounds the ordering below whatever
 * a hostile store holds. */
static int
parse_alive(const struct rparse *rp, const struct etcd_kv_pair *kvs,
    size_t n, struct reg_view *v)
{
	const struct etcd_kv_pair *reg[REG_MAX_NODES];
	size_t n_reg = 0;

	for (size_t i = 0; i < n; i++) {
		const struct etcd_kv_pair *p = &kvs[i];
		const char *rest = rest_of(rp, p), *ip;

		ip = rest != NULL ? key_ip(rest, "nodes/") : NULL;
		if (ip == NULL)
			continue;
		if (strlen(p->key) != p->key_len || !reg_valid_ip(ip))
			return bad_key(p->key, p->key_len, "expected a "
			    "unicast IP address after nodes/", rp->err,
			    rp->errlen);
		if (n_reg == REG_MAX_NODES)
			return bad_key(p->key, p->key_len, "too many nodes",
			    rp->err, rp->errlen);
		reg[n_reg++] = p;
	}
	/* Registrations in registration order (kvs come sorted by key):
	 * a stable sort by create_revision, so of a key a caller's array
	 * holds twice the earlier revision counts. Sorting once keeps this
	 * quadratic in the nodes; searching kvs for the next one each time
	 * made it cubic, tens of milliseconds for 255 nodes on every
	 * watch event. */
	for (size_t i = 1; i < n_reg; i++) {
		const struct etcd_kv_pair *p = reg[i];
		size_t j;

		for (j = i; j > 0 &&
		    reg[j - 1]->create_revision > p->create_revision; j--)
			reg[j] = reg[j - 1];
		reg[j] = p;
	}
	for (size_t i = 0; i < n_reg; i++) {
		struct reg_node *nd = node_for(v, reg[i]->key + rp->plen + 6);

		if (nd == NULL)
			return bad_key(reg[i]->key, reg[i]->key_len,
			    "too many nodes", rp->err, rp->errlen);
		if (nd->alive)
			continue;
		nd->alive = true;
		nd->create_revision = reg[i]->create_revision;
		nd->mod_revision = reg[i]->mod_revision;
	}
	return 0;
}

/* size, next_id and leader. Returns 1 when p was one of them, 0 when
 * not, -1 with the error set when its value is bad. */
static int
parse_scalar(const struct rparse *rp, const struct etcd_kv_pair *p,
    const char *rest, struct reg_view *v)
{
	unsigned num;

	if (strcmp(rest, "size") == 0) {
		if (parse_num(p->value, p->value_len, REG_ID_MAX, &num) < 0)
			return bad_key(p->key, p->key_len, "expected a number "
			    "from 1 to 255", rp->err, rp->errlen);
		if (!v->sealed)
			v->size = num;
		return 1;
	}
	if (strcmp(rest, "next_id") == 0) {
		if (parse_num(p->value, p->value_len, REG_ID_MAX + 1,
		    &num) < 0)
			return bad_key(p->key, p->key_len, "expected a number "
			    "from 1 to 256", rp->err, rp->errlen);
		v->next_id = num;
		v->next_id_mod = p->mod_revision;
		return 1;
	}
	if (strcmp(rest, "leader") == 0) {
		if (p->value_len >= REG_IP_MAX ||
		    strlen(p->value) != p->value_len ||
		    !reg_valid_ip(p->value))
			return bad_key(p->key, p->key_len, "expected an IP "
			    "address", rp->err, rp->errlen);
		snprintf(v->leader, sizeof(v->leader), "%s", p->value);
		return 1;
	}
	return 0;
}

/* ids/<ip>, started/<ip> and booted/<ip> of node nd. */
static int
parse_per_node(const struct rparse *rp, const struct etcd_kv_pair *p,
    struct reg_node *nd, bool started, bool booted)
{
	char why[256];
	unsigned num;

	if (started) {
		nd->started = true;
	} else if (booted) {
		nd->booted = true;
	} else if (parse_num(p->value, p->value_len, REG_ID_MAX, &num) < 0) {
		return bad_key(p->key, p->key_len, "expected an id from 1 "
		    "to 255", rp->err, rp->errlen);
	} else if (nd->participant && nd->id != num) {
		snprintf(why, sizeof(why), "says id %u but the sealed set "
		    "gives this node id %u", num, nd->id);
		return bad_key(p->key, p->key_len, why, rp->err, rp->errlen);
	} else {
		nd->id = num;
	}
	if (!started && !booted)
		nd->id_key = true;
	return 0;
}

/* hosts/<name> = <ip>: names the node at ip. Returns 1 when p was one,
 * 0 when not, -1 with the error set when it is bad. */
static int
parse_host(const struct rparse *rp, const struct etcd_kv_pair *p,
    const char *rest, struct reg_view *v)
{
	const char *name = key_ip(rest, "hosts/");
	struct reg_node *nd;

	if (name == NULL)
		return 0;
	if (strlen(p->key) != p->key_len || strlen(name) > REG_NAME_MAX ||
	    !dns_member_name_valid(name, true))
		return bad_key(p->key, p->key_len, "expected a member name "
		    "after hosts/", rp->err, rp->errlen);
	if (p->value_len >= REG_IP_MAX || strlen(p->value) != p->value_len ||
	    !reg_valid_ip(p->value))
		return bad_key(p->key, p->key_len, "expected an IP address",
		    rp->err, rp->errlen);
	nd = node_for(v, p->value);
	if (nd == NULL)
		return bad_key(p->key, p->key_len, "too many nodes", rp->err,
		    rp->errlen);
	/* Two names at one address: a host left and another took its
	 * address. The first in key order keeps it; the other host's own
	 * registration rewrites its key. */
	if (nd->name[0] == '\0')
		snprintf(nd->name, sizeof(nd->name), "%s", name);
	return 1;
}

static int
parse_rest(const struct rparse *rp, const struct etcd_kv_pair *kvs,
    size_t n, struct reg_view *v)
{
	for (size_t i = 0; i < n; i++) {
		const struct etcd_kv_pair *p = &kvs[i];
		const char *rest = rest_of(rp, p), *ip, *ip_id, *ip_started;
		const char *ip_booted;
		struct reg_node *nd;
		int rc;

		if (rest == NULL)
			continue;
		rc = parse_host(rp, p, rest, v);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		ip_id = key_ip(rest, "ids/");
		ip_started = key_ip(rest, "started/");
		ip_booted = key_ip(rest, "booted/");
		ip = ip_id != NULL ? ip_id : ip_started != NULL ? ip_started :
		    ip_booted;
		if (strlen(p->key) != p->key_len) {
			/* "size\0x" is no key of ours, but "ids/10.0.0.1\0x"
			 * would pass for ids/10.0.0.1. */
			if (ip == NULL)
				continue;
			return bad_key(p->key, p->key_len, "expected a unicast "
			    "IP address at the end", rp->err, rp->errlen);
		}
		rc = parse_scalar(rp, p, rest, v);
		if (rc < 0)
			return -1;
		if (rc > 0 || ip == NULL)
			continue;
		if (!reg_valid_ip(ip))
			return bad_key(p->key, p->key_len, "expected a unicast "
			    "IP address at the end", rp->err, rp->errlen);
		nd = node_for(v, ip);
		if (nd == NULL)
			return bad_key(p->key, p->key_len, "too many nodes",
			    rp->err, rp->errlen);
		if (parse_per_node(rp, p, nd, ip == ip_started,
		    ip == ip_booted) < 0)
			return -1;
	}
	return 0;
}

/* Ids must be unique. The sealed set has none twice and comes first, so
 * the later of two nodes got its id from ids/<ip>. */
static int
check_ids(const struct rparse *rp, const struct reg_view *v)
{
	char why[256];

	for (size_t i = 0; i < v->n_nodes; i++) {
		for (size_t j = 0; j < i; j++) {
			char *k;

			if (v->nodes[i].id == 0 ||
			    v->nodes[i].id != v->nodes[j].id)
				continue;
			k = xasprintf("%sids/%s", rp->prefix, v->nodes[i].ip);
			snprintf(why, sizeof(why), "id %u is given to both %s "
			    "and %s", v->nodes[i].id, v->nodes[j].ip,
			    v->nodes[i].ip);
			bad_key(k, strlen(k), why, rp->err, rp->errlen);
			free(k);
			return -1;
		}
	}
	return 0;
}

int
reg_parse(const char *service, const struct etcd_kv_pair *kvs, size_t n,
    int64_t revision, struct reg_view *v, char *err, size_t errlen)
{
	char *prefix = reg_key(service, "");
	struct rparse rp = { .prefix = prefix, .plen = strlen(prefix),
	    .err = err, .errlen = errlen };
	int rc;

	reg_view_free(v);
	v->revision = revision;
	rc = parse_sealed(&rp, kvs, n, v) < 0 ||
	    parse_alive(&rp, kvs, n, v) < 0 ||
	    parse_rest(&rp, kvs, n, v) < 0 ||
	    check_ids(&rp, v) < 0 ? -1 : 0;
	free(prefix);
	if (rc < 0) {
		reg_view_free(v);
	} else if (v->n_nodes > 0 && v->n_nodes < v->cap) {
		/* A service keeps its view: no room it will not use. */
		v->nodes = xreallocarray(v->nodes, v->n_nodes,
		    sizeof(*v->nodes));
		v->cap = v->n_nodes;
	}
	return rc;
}

void
reg_view_free(struct reg_view *v)
{
	free(v->nodes);
	memset(v, 0, sizeof(*v));
}

const struct reg_node *
reg_find(const struct reg_view *v, const char *ip)
{
	for (size_t i = 0; i < v->n_nodes; i++) {
		if (strcmp(v->nodes[i].ip, ip) == 0)
			return &v->nodes[i];
	}
	return NULL;
}

const struct reg_node *
reg_find_name(const struct reg_view *v, const char *name)
{
	for (size_t i = 0; i < v->n_nodes; i++) {
		if (v->nodes[i].name[0] != '\0' &&
		    strcmp(v->nodes[i].name, name) == 0)
			return &v->nodes[i];
	}
	return NULL;
}

size_t
reg_alive(const struct reg_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n_nodes; i++)
		n += v->nodes[i].alive;
	return n;
}

char *
reg_seal_value(const struct reg_view *v, const char **ips, size_t *n)
{
	const struct reg_node *order[REG_MAX_NODES];
	size_t k = 0;
	json_t *o, *mem;
	char *text;

	if (v->size == 0 || v->sealed)
		return NULL;
	/* Alive nodes sorted by registration. */
	for (size_t i = 0; i < v->n_nodes; i++) {
		const struct reg_node *nd = &v->nodes[i];
		size_t j;
		if (!nd->alive)
			continue;
		for (j = k; j > 0 && order[j - 1]->create_revision >
		    nd->create_revision; j--)
			order[j] = order[j - 1];
		order[j] = nd;
		k++;
	}
	if (k < v->size)
		return NULL;
	o = json_object();
	mem = json_array();
	json_object_set_new(o, "size", json_integer(v->size));
	for (size_t i = 0; i < v->size; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "id", json_integer((json_int_t)i + 1));
		json_object_set_new(e, "ip", json_string(order[i]->ip));
		json_array_append_new(mem, e);
		ips[i] = order[i]->ip;
	}
	json_object_set_new(o, "members", mem);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		abort();
	*n = v->size;
	return text;
}

bool
reg_all_started(const struct reg_view *v)
{
	if (!v->sealed)
		return false;
	for (size_t i = 0; i < v->n_sealed; i++) {
		if (!v->nodes[i].started)
			return false;
	}
	return true;
}
