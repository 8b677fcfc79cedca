#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xmalloc.h"
#include "services/be_int.h"

/* The member set and the checks every backend shares. */

int
be_port_or(int port, int def)
{
	return port != 0 ? port : def;
}

int
be_port(int port, int def, const char *what, int *out, char *err,
    size_t errlen)
{
	port = be_port_or(port, def);
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "%s %d is not a TCP port; use 1..65535 "
		    "(or 0 for the default %d)", what, port, def);
		return -1;
	}
	*out = port;
	return 0;
}

/* Paths we write into config files and argv: absolute, printable ASCII
 * without backslashes (Java properties files treat them as escapes and
 * read other bytes as Latin-1), no leading or trailing blank. */
int
be_path_ok(const char *what, const char *p, char *err, size_t errlen)
{
	char q[128];
	size_t n;

	if (p == NULL || p[0] == '\0') {
		snprintf(err, errlen, "%s is not set; give an absolute path",
		    what);
		return -1;
	}
	n = strlen(p);
	if (p[0] != '/' || n >= PATH_MAX || p[n - 1] == ' ') {
		snprintf(err, errlen, "%s \"%s\" is not an absolute path of "
		    "at most %d bytes", what, str_quote(p, q, sizeof(q)),
		    PATH_MAX - 1);
		return -1;
	}
	for (const char *c = p; *c != '\0'; c++) {
		if (*c < 0x20 || *c > 0x7e || *c == '\\') {
			snprintf(err, errlen, "%s \"%s\" has a byte zooinit "
			    "cannot write into config files (control, "
			    "non-ASCII or backslash); choose a plain path",
			    what, str_quote(p, q, sizeof(q)));
			return -1;
		}
	}
	return 0;
}

/* ---- member sets ------------------------------------------------- */

static int
check_ip(const char *ip, struct be_vmem *v, char *err, size_t errlen)
{
	char q[80];
	struct in_addr a4;
	struct in6_addr a6;

	if (ip == NULL) {
		snprintf(err, errlen, "member %u has no address", v->id);
		return -1;
	}
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		uint32_t h = ntohl(a4.s_addr);

		if (h == 0 || h == 0xffffffffu || (h >> 28) == 0xe) {
			snprintf(err, errlen, "member %u has address %s, which "
			    "is not a unicast address a service can bind to; "
			    "publish the member's own address", v->id, ip);
			return -1;
		}
		v->v6 = false;
		memset(v->bin, 0, sizeof(v->bin));
		memcpy(v->bin, &a4, 4);
		inet_ntop(AF_INET, &a4, v->ip, sizeof(v->ip));
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		    IN6_IS_ADDR_MULTICAST(&a6)) {
			snprintf(err, errlen, "member %u has address %s, which "
			    "is not a unicast address a service can bind to; "
			    "publish the member's own address", v->id, ip);
			return -1;
		}
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			snprintf(err, errlen, "member %u has the IPv4-mapped "
			    "address %s; publish it as plain IPv4", v->id, ip);
			return -1;
		}
		if (IN6_IS_ADDR_LINKLOCAL(&a6)) {
			snprintf(err, errlen, "member %u has the link-local "
			    "address %s, which needs a zone the services "
			    "cannot take; publish a global or ULA address",
			    v->id, ip);
			return -1;
		}
		v->v6 = true;
		memcpy(v->bin, &a6, 16);
		inet_ntop(AF_INET6, &a6, v->ip, sizeof(v->ip));
		return 0;
	}
	snprintf(err, errlen, "member %u has address \"%s\", which is not an "
	    "IPv4 or IPv6 literal; members must be published by address",
	    v->id, str_quote(ip, q, sizeof(q)));
	return -1;
}

void
be_vset_free(struct be_vset *v)
{
	free(v->m);
	v->m = NULL;
}

int
be_vset_load(const struct be_set *s, struct be_vset *v, char *err,
    size_t errlen)
{
	bool self = false;

	memset(v, 0, sizeof(*v));
	if (s == NULL || s->m == NULL || s->n == 0) {
		snprintf(err, errlen, "the member set is empty; a sealed set "
		    "needs at least this node");
		return -1;
	}
	if (s->n > BE_ID_MAX) {
		snprintf(err, errlen, "the member set has %zu members; at "
		    "most %d fit ZooKeeper's myid range", s->n, BE_ID_MAX);
		return -1;
	}
	v->m = xcalloc(s->n, sizeof(*v->m));
	v->n = s->n;
	for (size_t i = 0; i < s->n; i++) {
		struct be_vmem *m = &v->m[i];

		m->id = s->m[i].id;
		m->standby = s->m[i].standby;
		if (m->id < 1 || m->id > BE_ID_MAX) {
			snprintf(err, errlen, "member id %u is out of range; "
			    "ids are 1..%d", m->id, BE_ID_MAX);
			goto fail;
		}
		if (check_ip(s->m[i].ip, m, err, errlen) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (v->m[j].id == m->id) {
				snprintf(err, errlen, "member id %u appears "
				    "twice in the set; ids must be unique",
				    m->id);
				goto fail;
			}
			if (v->m[j].v6 == m->v6 &&
			    memcmp(v->m[j].bin, m->bin, 16) == 0) {
				snprintf(err, errlen, "members %u and %u "
				    "share the address %s; each member needs "
				    "its own", v->m[j].id, m->id, m->ip);
				goto fail;
			}
		}
		if (!m->standby)
			v->voters++;
		if (m->id == s->self_id) {
			v->self = i;
			self = true;
		}
	}
	if (!self) {
		snprintf(err, errlen, "this node's id %u is not in the member "
		    "set; the set was sealed without it", s->self_id);
		goto fail;
	}
	if (v->voters == 0) {
		snprintf(err, errlen, "the member set has only standbys; at "
		    "least one member must be a participant");
		goto fail;
	}
	return 0;
fail:
	be_vset_free(v);
	return -1;
}

int
be_set_check(const struct be_set *s, char *err, size_t errlen)
{
	struct be_vset v;

	if (be_vset_load(s, &v, err, errlen) < 0)
		return -1;
	be_vset_free(&v);
	return 0;
}

void
be_host_part(const struct be_vmem *m, char *out, size_t outlen)
{
	snprintf(out, outlen, m->v6 ? "[%s]" : "%s", m->ip);
}
