#ifndef ZOOINIT_DNSNAME_H
#define ZOOINIT_DNSNAME_H

#include <stdbool.h>
#include <stddef.h>

/* Names that come from DNS are untrusted: they may reach etcd's argv, a
 * log line or a path only after one of these checks. */

/* True when s is a host name of RFC 1035 labels: letters, digits and
 * hyphens, no label starting or ending with a hyphen, each label 1..63
 * bytes, at most 253 bytes without the optional trailing dot. */
bool dns_hostname_valid(const char *s);

/* True when s is a valid member name: one RFC 1035 label, or (with
 * allow_dots) a host name as above without the trailing dot. */
bool dns_member_name_valid(const char *s, bool allow_dots);

#endif
