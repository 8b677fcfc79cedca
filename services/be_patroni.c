#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/file.h"
#include "lib/str.h"
#include "lib/url.h"
#include "lib/xmalloc.h"
#include "resolver/dnsname.h"
#include "services/be_int.h"

/* Patroni (3.x, etcd3 DCS) over the agent's own etcd: patroni.yml in the
 * data dir, Patroni's REST API /health as the health check. */

#define PG_PORT 5432
#define PATRONI_REST_PORT 8008
#define PG_BIN_DIR "/usr/lib/postgresql/15/bin"

/* Decodes one UTF-8 sequence at s; returns its length and the code point,
 * or 0 for an invalid, overlong or surrogate sequence. */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Appends s as a YAML double-quoted scalar in pure ASCII: quotes and
 * backslashes escaped, everything outside printable ASCII as \xNN, \uNNNN
 * or \UNNNNNNNN, so no byte can end the scalar, fold a line or change
 * the encoding. s must be valid UTF-8 (str_utf8_valid). */
static void
yq(struct sbuf *b, const char *s)
{
	uint32_t cp;

	sb_printf(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; ) {
		size_t n = utf8_next(p, &cp);

		if (n == 0)
			abort();	/* callers check str_utf8_valid first */
		p += n;
		if (cp == '"' || cp == '\\')
			sb_printf(b, "\\%c", (char)cp);
		else if (cp >= 0x20 && cp < 0x7f)
			sb_printf(b, "%c", (char)cp);
		else if (cp < 0x100)
			sb_printf(b, "\\x%02x", (unsigned)cp);
		else if (cp < 0x10000)
			sb_printf(b, "\\u%04x", (unsigned)cp);
		else
			sb_printf(b, "\\U%08x", (unsigned)cp);
	}
	sb_printf(b, "\"");
}

/* A role name PostgreSQL takes unquoted and pg_hba.conf needs no quotes
 * for; pg_ names are reserved. */
static bool
pg_user_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || strncmp(s, "pg_", 3) == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return false;
	}
	return true;
}

/* Takes http(s)://HOST:PORT[/] with HOST an IP literal ([v6]) or a host
 * name; writes "HOST:PORT" (canonical, IPv6 bracketed) and the scheme
 * ("http" or "https", static). */
static int
etcd_url(const char *u, char *hostport, size_t hplen, const char **scheme,
    char *err, size_t errlen)
{
	char q[128], canon[INET6_ADDRSTRLEN], why[128];
	struct url_parts p;
	struct in6_addr a6;
	struct in_addr a4;

	/* libcurl would take user info, a query, a fragment or a zone id,
	 * none of which Patroni's hosts list can say. */
	if (strpbrk(u, "@?#%") != NULL ||
	    url_split(u, &p, why, sizeof(why)) < 0 || p.port == 0 ||
	    !(p.path[0] == '\0' || strcmp(p.path, "/") == 0))
		goto bad;
	*scheme = strcmp(p.scheme, "https") == 0 ? "https" : "http";
	if (strchr(p.host, ':') != NULL) {
		if (inet_pton(AF_INET6, p.host, &a6) != 1)
			goto bad;
		inet_ntop(AF_INET6, &a6, canon, sizeof(canon));
		snprintf(hostport, hplen, "[%s]:%u", canon, p.port);
		return 0;
	}
	if (inet_pton(AF_INET, p.host, &a4) == 1)
		inet_ntop(AF_INET, &a4, canon, sizeof(canon));
	else if (dns_hostname_valid(p.host) && strlen(p.host) < sizeof(canon)
	    && p.host[strlen(p.host) - 1] != '.')
		snprintf(canon, sizeof(canon), "%s", p.host);
	else
		goto bad;
	snprintf(hostport, hplen, "%s:%u", canon, p.port);
	return 0;
bad:
	snprintf(err, errlen, "etcd URL \"%s\" is not http(s)://HOST:PORT "
	    "with HOST an IP address or host name", str_quote(u, q, sizeof(q)));
	return -1;
}

static void
hba_pair(struct sbuf *b, const char *repl, const char *su, const char *ip,
    int bits)
{
	char line[200];

	snprintf(line, sizeof(line), "host replication %s %s/%d "
	    "scram-sha-256", repl, ip, bits);
	sb_printf(b, "    - ");
	yq(b, line);
	snprintf(line, sizeof(line), "host all %s %s/%d scram-sha-256", su,
	    ip, bits);
	sb_printf(b, "\n    - ");
	yq(b, line);
	sb_printf(b, "\n");
}

/* The pg_hba list (indented for a key two spaces in): local peer for
 * the admin, then replication and the superuser (Patroni itself,
 * pg_rewind) with a password from loopback and from every member's
 * address. Loopback is there because a connection to a 127.x member
 * address (zooinit's demo) comes from 127.0.0.1. Names were checked by
 * pg_user_ok. */
static void
hba_lines(struct sbuf *b, const struct be_vset *v, const char *repl,
    const char *su)
{
	sb_printf(b, "  pg_hba:\n    - ");
	yq(b, "local all all peer");
	sb_printf(b, "\n");
	hba_pair(b, repl, su, "127.0.0.1", 32);
	hba_pair(b, repl, su, "::1", 128);
	for (size_t i = 0; i < v->n; i++)
		hba_pair(b, repl, su, v->m[i].ip, v->m[i].v6 ? 128 : 32);
}

/* Patroni's options with the defaults filled in. */
struct pat {
	char name[16];
	const char *nm, *repl, *su, *bin;
	int pg_port, rest_port;
};

/* Fills p from o for member id, checking every name, password, path and
 * port. Returns 0, or -1 with err set. */
static int
pat_check(const struct be_patroni_opts *o, unsigned id, struct pat *p,
    char *err, size_t errlen)
{
	char q[80];

	snprintf(p->name, sizeof(p->name), "n%u", id);
	p->nm = o->name != NULL ? o->name : p->name;
	p->repl = o->repl_user != NULL ? o->repl_user : "replicator";
	p->su = o->su_user != NULL ? o->su_user : "postgres";
	p->bin = o->bin_dir != NULL ? o->bin_dir : PG_BIN_DIR;
	if (o->scope == NULL || !dns_member_name_valid(o->scope, false)) {
		snprintf(err, errlen, "Patroni scope \"%s\" is not one DNS "
		    "label (letters, digits, '-')", o->scope != NULL ?
		    str_quote(o->scope, q, sizeof(q)) : "");
		return -1;
	}
	if (!dns_member_name_valid(p->nm, false)) {
		snprintf(err, errlen, "Patroni member name \"%s\" is not one "
		    "DNS label (letters, digits, '-')",
		    str_quote(p->nm, q, sizeof(q)));
		return -1;
	}
	if (!pg_user_ok(p->repl) || !pg_user_ok(p->su)) {
		snprintf(err, errlen, "PostgreSQL user \"%s\" is not a plain "
		    "role name (a-z, 0-9, '_', not starting with a digit or "
		    "pg_)", str_quote(pg_user_ok(p->repl) ? p->su : p->repl,
		    q, sizeof(q)));
		return -1;
	}
	if (strcmp(p->repl, p->su) == 0) {
		snprintf(err, errlen, "the replication user and the superuser "
		    "are both \"%s\"; Patroni needs two roles", p->su);
		return -1;
	}
	if (o->repl_password == NULL || o->repl_password[0] == '\0' ||
	    o->su_password == NULL || o->su_password[0] == '\0' ||
	    !str_utf8_valid(o->repl_password, false) ||
	    !str_utf8_valid(o->su_password, false)) {
		snprintf(err, errlen, "the replication and superuser passwords "
		    "must be set and be valid UTF-8");
		return -1;
	}
	if (be_path_ok("PostgreSQL data dir", o->data_dir, err, errlen) < 0 ||
	    be_path_ok("PostgreSQL bin dir", p->bin, err, errlen) < 0 ||
	    (o->pgpass != NULL &&
	    be_path_ok("Patroni pgpass file", o->pgpass, err, errlen) < 0) ||
	    (o->socket_dir != NULL && be_path_ok("PostgreSQL socket dir",
	    o->socket_dir, err, errlen) < 0) ||
	    be_port(o->pg_port, PG_PORT, "PostgreSQL port", &p->pg_port, err,
	    errlen) < 0 ||
	    be_port(o->rest_port, PATRONI_REST_PORT, "Patroni REST API port",
	    &p->rest_port, err, errlen) < 0)
		return -1;
	if (p->pg_port == p->rest_port) {
		snprintf(err, errlen, "PostgreSQL and Patroni's REST API both "
		    "have port %d; they must differ", p->pg_port);
		return -1;
	}
	if (o->etcd_urls == NULL || o->etcd_urls[0] == NULL) {
		snprintf(err, errlen, "Patroni needs at least one etcd client "
		    "URL");
		return -1;
	}
	return 0;
}

/* key: "value", on a new line, indented. */
static void
ykv(struct sbuf *b, const char *key, const char *value)
{
	sb_printf(b, "\n%s: ", key);
	yq(b, value);
}

/* The etcd3 section: every URL as HOST:PORT, one protocol for all;
 * over https the CA and the client certificate from o. */
static int
etcd_hosts(struct sbuf *b, const struct be_patroni_opts *o, char *err,
    size_t errlen)
{
	const char *const *urls = o->etcd_urls;
	const char *scheme = NULL;
	char hp[300];

	sb_printf(b, "\netcd3:\n  hosts:\n");
	for (size_t i = 0; urls[i] != NULL; i++) {
		const char *sch;

		if (etcd_url(urls[i], hp, sizeof(hp), &sch, err, errlen) < 0)
			return -1;
		if (scheme != NULL && strcmp(scheme, sch) != 0) {
			snprintf(err, errlen, "etcd URLs mix http and https; "
			    "Patroni speaks one protocol to all of them");
			return -1;
		}
		scheme = sch;
		sb_printf(b, "    - ");
		yq(b, hp);
		sb_printf(b, "\n");
	}
	sb_printf(b, "  protocol: ");
	yq(b, scheme);
	if (strcmp(scheme, "https") != 0)
		return 0;
	if ((o->cert == NULL) != (o->key == NULL)) {
		snprintf(err, errlen, "Patroni's etcd client certificate and "
		    "key must be given together");
		return -1;
	}
	if ((o->cacert != NULL && be_path_ok("Patroni's etcd CA file",
	    o->cacert, err, errlen) < 0) || (o->cert != NULL &&
	    (be_path_ok("Patroni's etcd certificate file", o->cert, err,
	    errlen) < 0 || be_path_ok("Patroni's etcd key file", o->key, err,
	    errlen) < 0)))
		return -1;
	if (o->cacert != NULL)
		ykv(b, "  cacert", o->cacert);
	if (o->cert != NULL) {
		ykv(b, "  cert", o->cert);
		ykv(b, "  key", o->key);
	}
	return 0;
}

/* The postgresql section up to its pg_hba list; h is this node's host. */
static void
pg_section(struct sbuf *b, const struct be_patroni_opts *o,
    const struct pat *p, const char *h)
{
	char hp[300];

	snprintf(hp, sizeof(hp), "%s:%d", h, p->pg_port);
	sb_printf(b, "postgresql:");
	ykv(b, "  listen", hp);
	ykv(b, "  connect_address", hp);
	ykv(b, "  data_dir", o->data_dir);
	ykv(b, "  bin_dir", p->bin);
	if (o->pgpass != NULL)
		ykv(b, "  pgpass", o->pgpass);
	if (o->socket_dir != NULL) {
		/* Hosts sharing one machine must not share the default
		 * /var/run/postgresql socket. */
		sb_printf(b, "\n  parameters:");
		ykv(b, "    unix_socket_directories", o->socket_dir);
	}
	sb_printf(b, "\n  authentication:\n    replication:");
	ykv(b, "      username", p->repl);
	ykv(b, "      password", o->repl_password);
	sb_printf(b, "\n    superuser:");
	ykv(b, "      username", p->su);
	ykv(b, "      password", o->su_password);
	/* pg_rewind as the superuser: one role fewer to create. */
	sb_printf(b, "\n    rewind:");
	ykv(b, "      username", p->su);
	ykv(b, "      password", o->su_password);
	sb_printf(b, "\n");
}

char *
be_patroni_render(const struct be_set *s, const struct be_patroni_opts *o,
    char *err, size_t errlen)
{
	struct be_vset v;
	struct sbuf b = { 0 };
	struct pat p;
	char h[INET6_ADDRSTRLEN + 2], hp[300];
	const struct be_vmem *me;

	if (be_vset_load(s, &v, err, errlen) < 0)
		return NULL;
	if (o == NULL) {
		snprintf(err, errlen, "no Patroni options given");
		goto fail;
	}
	me = &v.m[v.self];
	if (pat_check(o, me->id, &p, err, errlen) < 0)
		goto fail;
	sb_printf(&b, "# Written by zooinit from the sealed member set; "
	    "rewritten on every start.\n");
	sb_printf(&b, "scope: ");
	yq(&b, o->scope);
	ykv(&b, "name", p.nm);
	be_host_part(me, h, sizeof(h));
	snprintf(hp, sizeof(hp), "%s:%d", h, p.rest_port);
	sb_printf(&b, "\nrestapi:");
	ykv(&b, "  listen", hp);
	ykv(&b, "  connect_address", hp);
	if (etcd_hosts(&b, o, err, errlen) < 0)
		goto fail;
	sb_printf(&b, "\nbootstrap:\n"
	    "  dcs:\n"
	    "    ttl: 30\n"
	    "    loop_wait: 10\n"
	    "    retry_timeout: 10\n"
	    "    maximum_lag_on_failover: 1048576\n"
	    "    postgresql:\n"
	    "      use_pg_rewind: true\n"
	    "  initdb:\n"
	    "    - encoding: \"UTF8\"\n"
	    "    - \"data-checksums\"\n");
	/* Patroni 3.0's validator wants bootstrap.pg_hba; postgresql.pg_hba
	 * is what it writes on every start. Both get the same lines. */
	hba_lines(&b, &v, p.repl, p.su);
	pg_section(&b, o, &p, h);
	hba_lines(&b, &v, p.repl, p.su);
	sb_printf(&b, "tags:\n  nofailover: %s\n  noloadbalance: false\n"
	    "  clonefrom: false\n  nosync: false\n",
	    me->standby ? "true" : "false");
	be_vset_free(&v);
	return sb_take(&b);
fail:
	sb_free(&b);
	be_vset_free(&v);
	return NULL;
}

/* patroni.yml in the data dir (0600: it holds the passwords), the
 * cluster in data/, the password file beside it. */
static int
patroni_prepare(const struct be_env *e, char ***argv, char *err,
    size_t errlen)
{
	const struct svc_cfg *c = e->cfg;
	struct be_patroni_opts o = { .scope = c->scope,
	    .bin_dir = c->pg_bin_dir, .pg_port = c->client_port,
	    .rest_port = c->rest_port, .socket_dir = c->data_dir,
	    .repl_password = c->repl_password,
	    .su_password = c->su_password, .etcd_urls = e->etcd_urls,
	    .cacert = e->tls[BE_TLS_CA], .cert = e->tls[BE_TLS_CERT],
	    .key = e->tls[BE_TLS_KEY] };
	char *yml, *path, *pgdata, *pgpass;
	struct strv a = { 0 };
	int rc = -1;

	pgdata = xasprintf("%s/data", c->data_dir);
	pgpass = xasprintf("%s/pgpass", c->data_dir);
	o.data_dir = pgdata;
	o.pgpass = pgpass;
	yml = be_patroni_render(e->set, &o, err, errlen);
	free(pgdata);
	free(pgpass);
	if (yml == NULL)
		return -1;
	path = xasprintf("%s/patroni.yml", c->data_dir);
	if (file_write_atomic(path, yml, 0600, err, errlen) == 0 &&
	    be_give(e, path, err, errlen) == 0) {
		strv_add(&a, e->bin);
		strv_add(&a, path);
		*argv = strv_take(&a);
		rc = 0;
	}
	free(yml);
	free(path);
	return rc;
}

static void
patroni_check(struct be_check *c)
{
	be_check_http(c, be_port_or(c->cfg->rest_port, PATRONI_REST_PORT),
	    NULL);
}

const struct backend_ops be_patroni = {
	.name = "patroni",
	.package = "patroni",
	.prepare = patroni_prepare,
	.check = patroni_check,
};
