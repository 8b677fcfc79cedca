/* plan_from_dns() on a hostile SRV answer set, then what bootstrap does
 * with a good plan (argv, JSON, journal round trip).
 *
 * Input: lines of text, the way the zone and this host look to the
 * resolver after c-ares has parsed the answers:
 *
 *   @size 3              cfg size (0..64)
 *   @names fqdn          member_names: label | fqdn
 *   @scheme http         scheme: auto | http | https
 *   @name h1             cfg name
 *   @token T             cfg token
 *   @peer_port 2380      cfg peer_port
 *   @client_port 2379    cfg client_port
 *   @local 10.0.0.1      this host's addresses (default 10.0.0.1, fd00::1)
 *   @failed plain        that SRV set failed (ssl | plain | under)
 *   @tls cert            cert_file and key_file (both a readable file
 *                        in fuzz_dir()); "@tls ca" adds trusted_ca_file,
 *                        "@tls auth" client_cert_auth, "@tls peer" the
 *                        peer_* files
 *   SET PRIO WEIGHT PORT TARGET [ADDR...]
 *
 * SET is ssl, plain or under (or the full _etcd-server-ssl._tcp,
 * _etcd-server._tcp, _etcd_server._tcp). TARGET may hold \xNN escapes
 * for any byte; like the resolver, one trailing dot is dropped and at
 * most 255 bytes are kept; a name with an empty label, which c-ares
 * never returns, is skipped. ADDRs are IP literals, normalised as
 * inet_ntop() would print them (others are dropped: the resolver never
 * makes them); "-" is none. A set with records is DNS_OK unless marked
 * failed; a set without any is missing (NXDOMAIN/NODATA). */
#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <ctype.h>

#include "agent/plan.h"
#include "config/cfg.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_plan.h"
#include "resolver/dns.h"
#include "resolver/dnsname.h"
#include "resolver/localaddr.h"

#define MAX_LINES 1024
#define MAX_LOCAL 8

static int
set_of(const char *w)
{
	if (strcmp(w, "ssl") == 0 || strcmp(w, "_etcd-server-ssl._tcp") == 0)
		return DNS_SRV_SSL;
	if (strcmp(w, "plain") == 0 || strcmp(w, "_etcd-server._tcp") == 0)
		return DNS_SRV_PLAIN;
	if (strcmp(w, "under") == 0 || strcmp(w, "_etcd_server._tcp") == 0)
		return DNS_SRV_UNDERSCORE;
	return -1;
}

static unsigned
number(const char *w, unsigned max)
{
	unsigned long v;
	char *end;

	if (w == NULL || !isdigit((unsigned char)w[0]))
		return 0;
	v = strtoul(w, &end, 10);
	return v > max ? max : (unsigned)v;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes \xNN in w in place; stops at a decoded NUL, as a C string
 * from c-ares would. */
static void
unescape(char *w)
{
	char *o = w;

	for (const char *p = w; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 &&
		    hexval(p[3]) >= 0) {
			*o++ = (char)(hexval(p[2]) * 16 + hexval(p[3]));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* Normalises an address literal into out, or returns -1. */
static int
literal(const char *w, char *out, size_t outlen)
{
	unsigned char buf[16];
	int af = AF_INET;

	if (inet_pton(af, w, buf) != 1) {
		af = AF_INET6;
		if (inet_pton(af, w, buf) != 1)
			return -1;
	}
	return inet_ntop(af, buf, out, (socklen_t)outlen) != NULL ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char data_dir[FUZZ_PATH], pem[FUZZ_PATH];
	char *text = fuzz_strndup(data, size), *save = NULL;
	char *local_v[MAX_LOCAL], addr[64], msg[1024], tokbuf[160];
	char namebuf[320];
	struct local_addrs self = { local_v, 0, (char *)"--ip" };
	struct dns_result r;
	struct cfg c;
	struct plan p;
	bool failed[DNS_SRV_N] = { false };
	size_t lines = 0;
	enum plan_result res;

	fuzz_init_common();
	if (data_dir[0] == '\0') {
		fuzz_subdir("data", data_dir);
		snprintf(pem, sizeof(pem), "%s/cert.pem", fuzz_dir());
		fuzz_write_file(pem, "-----BEGIN CERTIFICATE-----\n", 28);
	}

	/* What cfg_load() would give with no settings but the domain. */
	memset(&c, 0, sizeof(c));
	c.domain = (char *)"zl.test";
	c.data_dir = data_dir;
	c.etcd = (char *)"etcd";
	c.client_port = 2379;
	c.resolve_timeout = 120;
	c.health_interval = 5;
	c.stop_timeout = 10;
	c.log_level = LOG_INFO;

	memset(&r, 0, sizeof(r));
	r.domain = strdup("zl.test");

	for (char *line = strtok_r(text, "\n", &save); line != NULL &&
	    lines < MAX_LINES; line = strtok_r(NULL, "\n", &save), lines++) {
		char *ws = NULL;
		char *w = strtok_r(line, " \t\r", &ws);
		char *arg;
		int s;

		if (w == NULL || w[0] == '#')
			continue;
		if (w[0] == '@') {
			arg = strtok_r(NULL, " \t\r", &ws);
			if (arg == NULL)
				continue;
			s = set_of(arg);
			if (strcmp(w, "@size") == 0) {
				c.size = (int)number(arg, CFG_MAX_MEMBERS);
			} else if (strcmp(w, "@names") == 0) {
				c.member_names = strcmp(arg, "fqdn") == 0 ?
				    CFG_NAMES_FQDN : CFG_NAMES_LABEL;
			} else if (strcmp(w, "@scheme") == 0) {
				c.scheme = CFG_SCHEME_AUTO;
				if (strcmp(arg, "http") == 0)
					c.scheme = CFG_SCHEME_HTTP;
				else if (strcmp(arg, "https") == 0)
					c.scheme = CFG_SCHEME_HTTPS;
			} else if (strcmp(w, "@name") == 0) {
				/* cfg_load() lets only valid names through. */
				if (dns_member_name_valid(arg, true)) {
					snprintf(namebuf, sizeof(namebuf), "%s",
					    arg);
					c.name = namebuf;
				}
			} else if (strcmp(w, "@token") == 0) {
				/* cfg_load()'s rule: 1 to 128 printable ASCII
				 * bytes, no spaces. */
				size_t tl = strlen(arg);
				bool ok = tl <= 128;
				for (size_t i = 0; i < tl && ok; i++)
					ok = arg[i] > 0x20 && arg[i] < 0x7f;
				if (ok) {
					memcpy(tokbuf, arg, tl + 1);
					c.token = tokbuf;
				}
			} else if (strcmp(w, "@peer_port") == 0) {
				c.peer_port = (int)number(arg, 65535);
			} else if (strcmp(w, "@client_port") == 0) {
				c.client_port = (int)number(arg, 65535);
				if (c.client_port == 0)
					c.client_port = 1;
			} else if (strcmp(w, "@local") == 0) {
				if (self.n < MAX_LOCAL &&
				    literal(arg, addr, sizeof(addr)) == 0)
					local_v[self.n++] = strdup(addr);
			} else if (strcmp(w, "@failed") == 0 && s >= 0) {
				failed[s] = true;
			} else if (strcmp(w, "@tls") == 0) {
				if (strcmp(arg, "cert") == 0)
					c.cert_file = c.key_file = pem;
				else if (strcmp(arg, "ca") == 0)
					c.trusted_ca_file = pem;
				else if (strcmp(arg, "auth") == 0)
					c.client_cert_auth = CFG_ON;
				else if (strcmp(arg, "peer") == 0)
					c.peer_cert_file = c.peer_key_file =
					    c.peer_trusted_ca_file = pem;
			}
			continue;
		}
		s = set_of(w);
		if (s < 0)
			continue;
		unsigned prio = number(strtok_r(NULL, " \t\r", &ws), 65535);
		unsigned weight = number(strtok_r(NULL, " \t\r", &ws), 65535);
		unsigned port = number(strtok_r(NULL, " \t\r", &ws), 65535);
		char *target = strtok_r(NULL, " \t\r", &ws);
		char name[256];
		size_t len;

		if (target == NULL)
			continue;
		unescape(target);
		len = strlen(target);
		if (len > 0 && target[len - 1] == '.')
			len--;
		snprintf(name, sizeof(name), "%.*s", (int)len, target);
		/* c-ares writes a dot inside a label as "\." and the root as
		 * "", so an empty label never reaches the resolver's result. */
		len = strlen(name);
		if (len > 0 && (name[0] == '.' || name[len - 1] == '.' ||
		    strstr(name, "..") != NULL))
			continue;
		struct dns_target *t = dns_result_add(&r, (enum dns_service)s,
		    name, port, prio, weight);
		for (arg = strtok_r(NULL, " \t\r", &ws); arg != NULL;
		    arg = strtok_r(NULL, " \t\r", &ws)) {
			if (t->n_addrs < 2 * DNS_MAX_ADDRS &&
			    literal(arg, addr, sizeof(addr)) == 0)
				dns_target_add_addr(t, addr);
		}
		if (t->n_addrs == 0)
			t->why = strdup("no A/AAAA record");
	}
	if (self.n == 0) {
		local_v[self.n++] = strdup("10.0.0.1");
		local_v[self.n++] = strdup("fd00::1");
	}
	/* As the resolver reports the three lookups: a set with records
	 * answered, one without is NXDOMAIN/NODATA unless it failed. */
	for (int s = 0; s < DNS_SRV_N; s++)
		r.status[s] = DNS_MISSING;
	for (size_t i = 0; i < r.n; i++)
		r.status[r.t[i].svc] = DNS_OK;
	for (int s = 0; s < DNS_SRV_N; s++) {
		if (failed[s]) {
			r.status[s] = DNS_FAILED;
			r.error[s] = strdup("timeout");
		}
	}

	msg[0] = '\0';
	res = plan_from_dns(&c, &r, &self, &p, msg, sizeof(msg));
	FUZZ_CHECK(res == PLAN_OK || res == PLAN_WAIT || res == PLAN_FAIL);
	FUZZ_CHECK(memchr(msg, '\0', sizeof(msg)) != NULL && msg[0] != '\0');
	if (res == PLAN_OK) {
		FUZZ_CHECK(strcmp(p.source, "dns") == 0);
		/* A client's plan lists the members only; plan_client_me()
		 * (host name, routes) gives it its own entry later. */
		FUZZ_CHECK(p.proxy || p.m[p.self].self);
		for (size_t i = 0; i < p.n; i++) {
			FUZZ_CHECK(!(p.proxy && p.m[i].self));
			FUZZ_CHECK(dns_member_name_valid(p.m[i].name, true));
			FUZZ_CHECK(p.m[i].host != NULL &&
			    dns_hostname_valid(p.m[i].host));
		}
		/* What bootstrap does next for a member; it opens only
		 * pem. */
		if (!p.proxy && plan_check_tls(&p, &c, msg, sizeof(msg)) ==
		    PLAN_OK)
			fuzz_plan_exercise(&p, &c, true);
		else if (!p.proxy)
			FUZZ_CHECK(strcmp(p.scheme, "https") == 0);
		plan_free(&p);
	} else {
		/* "p is left zeroed" */
		FUZZ_CHECK(p.m == NULL && p.n == 0 && p.argv == NULL &&
		    p.token == NULL && p.initial_cluster == NULL);
	}

	dns_result_free(&r);
	for (size_t i = 0; i < self.n; i++)
		free(local_v[i]);
	free(text);
	return 0;
}
