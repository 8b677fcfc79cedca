#include "lib/fmacros.h"

#include <stdbool.h>
#include <stddef.h>

#include "config/cfg_key.h"
#include "config/etcd_args.h"
#include "config/svc_file.h"

/* Checks between keys, once every layer is in, so a message can name the
 * layer each side came from. Each looks only at whether and where keys
 * were set (ld->src), never at the layer order. */

/* Where the key was set, or NULL when it kept its default. */
static const char *
src_of(const struct load *ld, const char *name)
{
	return ld->src[cfg_key_index(cfg_key_by_name(name))];
}

/* This host's address comes from one of ip, interface, or netmask with
 * hint. */
static int
check_addr_keys(struct load *ld)
{
	static const char *const ways[] = { "ip", "interface", "netmask" };
	const char *mask = src_of(ld, "netmask"), *hint = src_of(ld, "hint");
	size_t set[3], n = 0;

	if ((mask == NULL) != (hint == NULL)) {
		bool has_mask = mask != NULL;

		return cfg_ld_fail(ld, "%s (from %s) needs %s as well: the "
		    "local address is picked inside hint/netmask, so give "
		    "both or neither", has_mask ? "netmask" : "hint",
		    has_mask ? mask : hint, has_mask ? "hint" : "netmask");
	}
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		if (src_of(ld, ways[i]) != NULL)
			set[n++] = i;
	}
	if (n > 1)
		return cfg_ld_fail(ld, "%s (from %s) and %s (from %s) are both "
		    "set; choose one way to find this host's address: ip, "
		    "interface, or netmask with hint", ways[set[0]],
		    src_of(ld, ways[set[0]]), ways[set[1]],
		    src_of(ld, ways[set[1]]));
	return 0;
}

static int
check_discovery_keys(struct load *ld)
{
	const char *disc = src_of(ld, "discovery");
	const char *dend = src_of(ld, "discovery_endpoints");

	/* The token alone names what discovery serve/new create. */
	if (dend != NULL && src_of(ld, "discovery_token") == NULL)
		return cfg_ld_fail(ld, "discovery_endpoints (from %s) needs "
		    "discovery_token as well: v3 discovery asks those "
		    "endpoints about that token", dend);
	if (disc != NULL && dend != NULL)
		return cfg_ld_fail(ld, "discovery (from %s) and "
		    "discovery_endpoints (from %s) are both set; use the v2 "
		    "URL or the v3 endpoints and token, not both", disc, dend);
	return 0;
}

/* A certificate is useless without its key and the reverse; a peer pair
 * half set would pair one file with the other's default. */
static int
check_tls_pairs(struct load *ld)
{
	static const char *const pairs[][2] = {
		{ "cert_file", "key_file" },
		{ "peer_cert_file", "peer_key_file" },
		{ "ca_file", "ca_key_file" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *a = src_of(ld, pairs[i][0]);
		const char *b = src_of(ld, pairs[i][1]);
		bool has_a = a != NULL;

		if ((a == NULL) == (b == NULL))
			continue;
		return cfg_ld_fail(ld, "%s (from %s) needs %s as well: a "
		    "certificate and its key go together, so set both or "
		    "neither", pairs[i][has_a ? 0 : 1], has_a ? a : b,
		    pairs[i][has_a ? 1 : 0]);
	}
	return 0;
}

/* etcd_args must not repeat what zooinit gives etcd itself. */
static int
check_etcd_args(struct load *ld)
{
	const struct cfg *c = &ld->c;
	const char *src = src_of(ld, "etcd_args");
	char msg[400];

	for (size_t i = 0; i < c->n_etcd_args; i++)
		if (eargs_check(c->etcd_args[i], msg, sizeof(msg)) < 0)
			return cfg_ld_fail(ld, "%s: etcd_args: %s",
			    src != NULL ? src : "etcd_args", msg);
	return 0;
}

int
cfg_ld_check(struct load *ld)
{
	const struct cfg *c = &ld->c;
	struct svc_flat f = {
		.services = c->services, .n_services = c->n_services,
		.config_file = c->config_file,
		.data_dir = c->data_dir, .seed_data_dir = c->seed_data_dir,
		.services_src = src_of(ld, "services"),
		.data_dir_src = src_of(ld, "data_dir"),
		.seed_data_dir_src = src_of(ld, "seed_data_dir"),
	};

	if (check_addr_keys(ld) == -1 || check_discovery_keys(ld) == -1 ||
	    check_tls_pairs(ld) == -1 || check_etcd_args(ld) == -1)
		return -1;
	return svc_check(c->svcs, c->n_svcs, &f, ld->err, ld->errlen);
}
