#include "lib/fmacros.h"

#include <string.h>

#include "config/cfg_valid.h"
#include "config/etcd_args.h"
#include "lib/str.h"

/* Every flag agent/plan_argv.c gives etcd (a member or its grpc-proxy),
 * with the key that decides it; tests/unit/test_etcd_args.c builds
 * plans with every option on and fails when plan_argv.c writes a flag
 * missing here. Then the flags that would undo the plan: discovery (the
 * members come from zooinit's plan), automatic TLS (zooinit reaches etcd
 * with the configured files) and --config-file (etcd then ignores every
 * command-line flag). */
static const struct {
	const char *name, *key;
} owned[] = {
	{ "name", "name" },
	{ "data-dir", "data_dir" },
	{ "wal-dir", "data_dir" },
	{ "listen-peer-urls", "the plan (ip, peer_port)" },
	{ "initial-advertise-peer-urls", "the plan (ip, peer_port)" },
	{ "listen-client-urls", "the plan (ip, client_port)" },
	{ "advertise-client-urls", "the plan (ip, client_port)" },
	{ "initial-cluster", "the plan (sources)" },
	{ "initial-cluster-token", "token" },
	{ "initial-cluster-state", "the plan (new or existing)" },
	{ "discovery", "sources" },
	{ "discovery-srv", "sources" },
	{ "discovery-srv-name", "sources" },
	{ "discovery-fallback", "sources" },
	{ "discovery-proxy", "sources" },
	{ "discovery-token", "sources" },
	{ "discovery-endpoints", "sources" },
	{ "cert-file", "cert_file" },
	{ "key-file", "key_file" },
	{ "trusted-ca-file", "trusted_ca_file" },
	{ "client-cert-auth", "client_cert_auth" },
	{ "auto-tls", "cert_file" },
	{ "peer-cert-file", "peer_cert_file" },
	{ "peer-key-file", "peer_key_file" },
	{ "peer-trusted-ca-file", "peer_trusted_ca_file" },
	{ "peer-client-cert-auth", "client_cert_auth" },
	{ "peer-auto-tls", "peer_cert_file" },
	{ "config-file", "the config file (etcd would ignore every "
	    "other flag)" },
	/* The grpc-proxy's own, for an extra host. */
	{ "endpoints", "the plan (members)" },
	{ "listen-addr", "the plan (ip, client_port)" },
	{ "advertise-client-url", "the plan (ip, client_port)" },
	{ "cacert", "trusted_ca_file" },
	{ "cert", "cert_file" },
	{ "key", "key_file" },
};

#define N_OWNED (sizeof(owned) / sizeof(owned[0]))

const char *
eargs_owned_flag(size_t i)
{
	return i < N_OWNED ? owned[i].name : NULL;
}

const char *
eargs_name(const char *s, size_t *len)
{
	const char *n = strncmp(s, "--", 2) == 0 ? s + 2 : s;

	*len = strcspn(n, "= ");
	return n;
}

bool
eargs_valid(const char *s)
{
	size_t len;
	const char *n, *rest;

	if (strncmp(s, "--", 2) != 0 || !cfg_valid_text(s))
		return false;
	n = eargs_name(s, &len);
	if (len == 0 || n[0] == '-' ||
	    strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-._") != len)
		return false;
	rest = n + len;
	/* "--flag " would hand etcd an empty value by accident. */
	return rest[0] != ' ' || rest[1] != '\0';
}

int
eargs_check(const char *s, char *msg, size_t msglen)
{
	size_t len;
	const char *n = eargs_name(s, &len);

	for (size_t i = 0; i < N_OWNED; i++) {
		if (strlen(owned[i].name) != len ||
		    strncmp(owned[i].name, n, len) != 0)
			continue;
		str_seterr(msg, msglen, "--%s is a flag zooinit gives etcd "
		    "itself, from %s; remove \"%s\" from etcd_args", owned[i].name,
		    owned[i].key, s);
		return -1;
	}
	return 0;
}

const char *
eargs_spaced_value(const char *s)
{
	size_t len;
	const char *n = eargs_name(s, &len);

	return n[len] == ' ' ? n + len + 1 : NULL;
}
