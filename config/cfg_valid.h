#ifndef ZOOINIT_CFG_VALID_H
#define ZOOINIT_CFG_VALID_H

#include <stdbool.h>

/* Internal to config/: the rule each value must meet, one predicate per
 * kind of value, shared by the flat keys (cfg.c) and the service groups
 * (svc.c). Each takes a NUL-terminated string and says whether it is
 * acceptable; the key tables pair each with the sentence a message
 * shows. */

/* Non-empty printable UTF-8 (no control characters, no overlong or
 * surrogate forms): the rule for paths and program names. */
bool cfg_valid_path(const char *s);
/* The same rule, the empty string allowed (a hook's argument). */
bool cfg_valid_text(const char *s);
/* Well-formed UTF-8, control characters allowed (a password). */
bool cfg_valid_utf8(const char *s);
/* 1 to 128 printable ASCII characters without spaces: a token that only
 * reaches etcd's command line (initial-cluster-token). */
bool cfg_valid_token(const char *s);
#define CFG_TOKEN_EXPECT "1 to 128 printable ASCII characters without " \
	"spaces"
/* 1 to 128 of the characters a URL carries as they are (RFC 3986
 * unreserved: letters, digits, '-', '.', '_', '~'), not dots alone: a
 * token that becomes a URL path segment and an etcd key segment (the
 * discovery token). */
bool cfg_valid_url_token(const char *s);
#define CFG_URL_TOKEN_EXPECT "1 to 128 letters, digits, '-', '.', '_' " \
	"or '~', not dots alone (the token goes into URLs as it is)"

/* A DNS domain: letters, digits and hyphens in dot-separated labels. */
bool cfg_valid_domain(const char *s);
/* An SRV service suffix (etcd's --discovery-srv-name): one DNS label
 * short enough that "_etcd-server-ssl-" plus it is a label too. */
bool cfg_valid_srv_name(const char *s);
#define CFG_SRV_NAME_EXPECT "1 to 46 letters, digits or hyphens, not " \
	"starting or ending with a hyphen (one DNS label)"
/* A member name: as a domain, without a trailing dot. */
bool cfg_valid_name(const char *s);
/* An IPv4 or IPv6 address literal. */
bool cfg_valid_ip(const char *s);
/* A dotted IPv4 address. */
bool cfg_valid_ipv4(const char *s);
/* A contiguous IPv4 netmask. */
bool cfg_valid_netmask(const char *s);
/* ADDR, ADDR:PORT or [IPV6]:PORT, ADDR a literal (c-ares takes no
 * names). */
bool cfg_valid_dns_server(const char *s);
/* HOST:PORT to listen on (lib/httpd.h), or "" for none. */
bool cfg_valid_listen(const char *s);
/* A network interface name, by the kernel's rule, in printable ASCII. */
bool cfg_valid_ifname(const char *s);
/* "dns", "token" or "static". */
bool cfg_valid_source(const char *s);
/* An http:// or https:// URL with a host, as libcurl parses it, in
 * printable ASCII without spaces. */
bool cfg_valid_url(const char *s);
/* NAME=URL[,NAME=URL...] in shape only (the plan checks the rest). */
bool cfg_valid_initial_cluster(const char *s);

#endif
