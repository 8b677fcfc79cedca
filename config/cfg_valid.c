#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_valid.h"
#include "lib/httpd.h"
#include "lib/str.h"
#include "lib/url.h"
#include "resolver/dnsname.h"

/* The rule each kind of value meets. A value that passes may still be
 * wrong for the cluster (a URL nobody answers); that is the plan's to
 * find. These only keep out what could never work or could harm: text
 * that breaks a log line, an argv or a URL. */

bool
cfg_valid_domain(const char *s)
{
	return dns_hostname_valid(s);
}

/* The longest label is "_etcd-server-ssl-" (17 bytes) plus the name. */
bool
cfg_valid_srv_name(const char *s)
{
	return strlen(s) <= 63 - 17 && dns_member_name_valid(s, false);
}

bool
cfg_valid_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

bool
cfg_valid_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/* c-ares takes only literals, so a host name here could never work. */
bool
cfg_valid_dns_server(const char *s)
{
	char host[64];
	unsigned port;

	if (cfg_valid_ip(s))
		return true;
	/* ADDR:PORT or [V6]:PORT as metrics_listen reads it, a literal. */
	return httpd_split_listen(s, host, sizeof(host), &port, NULL, 0) == 0 &&
	    (s[0] == '[' || cfg_valid_ipv4(host));
}

/* lib/httpd.c binds it; "" turns the page off. */
bool
cfg_valid_listen(const char *s)
{
	char host[256];
	unsigned port;

	return s[0] == '\0' || httpd_split_listen(s, host, sizeof(host),
	    &port, NULL, 0) == 0;
}

bool
cfg_valid_name(const char *s)
{
	return dns_member_name_valid(s, true);
}

/* The kernel's own rule (dev_valid_name), narrowed to printable ASCII
 * because the name ends up in log lines. */
bool
cfg_valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 15 || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == ':')
			return false;
	}
	return true;
}

bool
cfg_valid_netmask(const char *s)
{
	struct in_addr a;
	uint32_t inv;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	/* Contiguous means the host part, inverted, is 2^n - 1. */
	inv = ~ntohl(a.s_addr);
	return (inv & (inv + 1)) == 0;
}

/* Printable ASCII without spaces: tokens and URLs reach etcd's argv
 * and logs. */
static bool
printable_word(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Paths reach etcd's argv, logs and the plan's JSON: non-empty UTF-8
 * without control characters. */
bool
cfg_valid_path(const char *s)
{
	return *s != '\0' && str_utf8_valid(s, true);
}

bool
cfg_valid_text(const char *s)
{
	return str_utf8_valid(s, true);
}

bool
cfg_valid_utf8(const char *s)
{
	return str_utf8_valid(s, false);
}

/* The token goes to etcd's command line and into member IDs. */
bool
cfg_valid_token(const char *s)
{
	return printable_word(s, 128);
}

/* The discovery token becomes a path segment of the v2 discovery URL
 * (.../v2/keys/_etcd/registry/TOKEN, built by discovery new and serve)
 * and a segment of the v3 discovery key prefix /_etcd/registry/TOKEN/.
 * Escaping it would give a key other etcds (and the public discovery
 * service's tokens, which are hex) do not expect, and '/', '?', '#' or
 * '%' would change what the URL or key means; so only the characters a
 * URL carries as they are. Dots alone ("." and "..") would be dot
 * segments that libcurl and proxies fold away. */
bool
cfg_valid_url_token(const char *s)
{
	size_t len = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~");

	return s[len] == '\0' && len >= 1 && len <= 128 &&
	    strspn(s, ".") != len;
}

bool
cfg_valid_source(const char *s)
{
	return strcmp(s, "dns") == 0 || strcmp(s, "token") == 0 ||
	    strcmp(s, "static") == 0;
}

/* libcurl parses it, as everything that later uses the URL does. */
bool
cfg_valid_url(const char *s)
{
	struct url_parts u;
	char err[128];

	return printable_word(s, 512) &&
	    url_split(s, &u, err, sizeof(err)) == 0;
}

/* The full check (names, URLs, duplicates) is the plan's; here only the
 * shape, so a typo fails at load time. */
bool
cfg_valid_initial_cluster(const char *s)
{
	return printable_word(s, 8192) && strchr(s, '=') != NULL;
}
