#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent/plan.h"
#include "agent/plan_impl.h"
#include "config/etcd_args.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* What etcd is started with: its TLS files, checked, and its argv. */

/* A file etcd or zooinit will open must be a readable regular file now:
 * etcd would otherwise fail later, in its own words, after the plan. */
static bool
tls_file_ok(const char *key, const char *path, char *msg, size_t msglen)
{
	char q[256];
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		err = errno;
	else if (fstat(fd, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (fd >= 0)
		close(fd);
	if (err == 0)
		return true;
	str_seterr(msg, msglen, "%s is set to \"%s\", which cannot be read: "
	    "%s; point %s at a readable PEM file", key,
	    str_quote(path, q, sizeof(q)),
	    err == EINVAL ? "not a regular file" : strerror(err), key);
	return false;
}

/* etcd's grpc-proxy presents cert_file to the members and exits at once
 * when its subject has a Common Name (the members would take the CN for a
 * user name): say so before it runs. A file that is no PEM certificate is
 * left to etcd's own words. */
static bool
proxy_cert_ok(const char *path, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "re");
	X509 *x;
	int idx = -1;

	if (f == NULL)
		return true;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return true;
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x),
	    NID_commonName, -1);
	X509_free(x);
	if (idx < 0)
		return true;
	str_seterr(msg, msglen, "this host runs etcd's grpc-proxy, which "
	    "shows cert_file %s to the members and refuses a certificate "
	    "whose subject has a Common Name (CN); give this host a "
	    "certificate without a CN, its address in subjectAltName", path);
	return false;
}

const char *const plan_tls_names[PLAN_TLS_NFILES] = {
	"server.crt", "server.key", "peer.crt", "peer.key", "client.crt",
	"client.key",
};

char *
plan_tls_made_path(const char *data_dir, enum plan_tls_file f)
{
	char *dir = plan_state_dir(data_dir);
	char *path = xasprintf("%s/%s/%s", dir, PLAN_TLS_DIR,
	    plan_tls_names[f]);

	free(dir);
	return path;
}

/* The files zooinit makes from ca_file; certs.c makes them. */
static enum plan_result
made_tls(struct plan *p, const struct cfg *c, char *msg, size_t msglen)
{
	char **f = p->tls_made;

	if (!tls_file_ok("ca_file", c->ca_file, msg, msglen))
		return PLAN_FAIL;
	for (size_t i = 0; i < PLAN_TLS_NFILES; i++)
		f[i] = plan_tls_made_path(p->data_dir, (enum plan_tls_file)i);
	p->tls = (struct plan_tls){
		.cert_file = f[PLAN_TLS_SERVER_CRT],
		.key_file = f[PLAN_TLS_SERVER_KEY],
		.peer_cert_file = f[PLAN_TLS_PEER_CRT],
		.peer_key_file = f[PLAN_TLS_PEER_KEY],
		.client_cert_file = f[PLAN_TLS_CLIENT_CRT],
		.client_key_file = f[PLAN_TLS_CLIENT_KEY],
		.trusted_ca_file = c->trusted_ca_file ? c->trusted_ca_file :
		    c->ca_file,
		.peer_trusted_ca_file = c->peer_trusted_ca_file ?
		    c->peer_trusted_ca_file : c->ca_file,
		.client_cert_auth = true,
		.made = true,
	};
	return PLAN_OK;
}

enum plan_result
plan_check_tls(struct plan *p, const struct cfg *c, char *msg,
    size_t msglen)
{
	struct plan_tls t = { 0 };
	/* Defaults are the same files, checked once under their own key. */
	const struct {
		const char *key, *path;
	} files[] = {
		{ "cert_file", c->cert_file },
		{ "key_file", c->key_file },
		{ "trusted_ca_file", c->trusted_ca_file },
		{ "peer_cert_file", c->peer_cert_file },
		{ "peer_key_file", c->peer_key_file },
		{ "peer_trusted_ca_file", c->peer_trusted_ca_file },
	};

	memset(&p->tls, 0, sizeof(p->tls));
	for (size_t i = 0; i < PLAN_TLS_NFILES; i++) {
		free(p->tls_made[i]);
		p->tls_made[i] = NULL;
	}
	if (p->scheme == NULL || strcmp(p->scheme, "https") != 0)
		return PLAN_OK;
	if (!plan_tls_configured(c, p->source_detail, msg, msglen))
		return PLAN_FAIL;
	/* Given certificates win over making them. */
	if (c->cert_file == NULL && c->ca_file != NULL)
		return made_tls(p, c, msg, msglen);
	if (c->client_cert_auth == CFG_ON && c->trusted_ca_file == NULL) {
		str_seterr(msg, msglen, "client_cert_auth is on but "
		    "trusted_ca_file is not set; etcd checks client "
		    "certificates against that CA, so set it");
		return PLAN_FAIL;
	}
	t.cert_file = c->cert_file;
	t.key_file = c->key_file;
	t.trusted_ca_file = c->trusted_ca_file;
	t.peer_cert_file = c->peer_cert_file ? c->peer_cert_file : c->cert_file;
	t.peer_key_file = c->peer_key_file ? c->peer_key_file : c->key_file;
	t.peer_trusted_ca_file = c->peer_trusted_ca_file ?
	    c->peer_trusted_ca_file : c->trusted_ca_file;
	t.client_cert_auth = c->client_cert_auth == CFG_ON;
	if (t.client_cert_auth) {
		t.client_cert_file = t.cert_file;
		t.client_key_file = t.key_file;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i].path != NULL &&
		    !tls_file_ok(files[i].key, files[i].path, msg, msglen))
			return PLAN_FAIL;
	if (p->proxy && !proxy_cert_ok(t.cert_file, msg, msglen))
		return PLAN_FAIL;
	p->tls = t;
	return PLAN_OK;
}

/* etcd's grpc-proxy for the members, serving this host's clients. */
static void
proxy_argv(const struct plan *p, struct strv *v)
{
	const struct plan_member *me = plan_me(p);
	struct sbuf b = { .max = 4096 };
	/* grpc-proxy takes host:port without a scheme. */
	const char *hostport = me->client_url + strlen(p->scheme) + 3;
	char *dir = xasprintf("%s/proxy", p->data_dir);

	for (size_t i = 0; i < p->n; i++)
		sb_printf(&b, "%s%s", i ? "," : "", p->m[i].client_url);
	strv_add(v, "grpc-proxy");
	strv_add(v, "start");
	strv_add2(v, "--endpoints", sb_str(&b));
	strv_add2(v, "--listen-addr", hostport);
	strv_add2(v, "--advertise-client-url", hostport);
	strv_add2(v, "--data-dir", dir);
	if (p->tls.cert_file != NULL) {
		/* The proxy is a client of the members and a server for this
		 * host's clients, like a member. It always shows a
		 * certificate: etcd 3.5+ cannot take --cacert without --cert
		 * (it opens the empty file name to check its CN). To the
		 * members it shows the client certificate when there is one
		 * (a made one has no CN), else cert_file. */
		const char *cc = p->tls.client_cert_file != NULL ?
		    p->tls.client_cert_file : p->tls.cert_file;
		const char *ck = p->tls.client_cert_file != NULL ?
		    p->tls.client_key_file : p->tls.key_file;

		if (p->tls.trusted_ca_file != NULL)
			strv_add2(v, "--cacert", p->tls.trusted_ca_file);
		strv_add2(v, "--cert", cc);
		strv_add2(v, "--key", ck);
		strv_add2(v, "--cert-file", p->tls.cert_file);
		strv_add2(v, "--key-file", p->tls.key_file);
		if (p->tls.client_cert_auth)
			strv_add2(v, "--trusted-ca-file",
			    p->tls.trusted_ca_file);
	}
	free(dir);
	sb_free(&b);
}

/* A member's flags. */
static void
member_argv(const struct plan *p, struct strv *v)
{
	const struct plan_member *me = plan_me(p);

	strv_add2(v, "--name", me->name);
	strv_add2(v, "--data-dir", p->data_dir);
	strv_add2(v, "--listen-peer-urls", me->peer_url);
	strv_add2(v, "--initial-advertise-peer-urls", me->peer_url);
	strv_add2(v, "--listen-client-urls", me->client_url);
	strv_add2(v, "--advertise-client-urls", me->client_url);
	if (p->discovery) {
		strv_add2(v, "--discovery", p->token);
	} else {
		strv_add2(v, "--initial-cluster", p->initial_cluster);
		strv_add2(v, "--initial-cluster-token", p->token);
	}
	strv_add2(v, "--initial-cluster-state", p->state);
	if (p->tls.cert_file == NULL)
		return;
	strv_add2(v, "--cert-file", p->tls.cert_file);
	strv_add2(v, "--key-file", p->tls.key_file);
	/* etcd 3.4 demands a client certificate from every client once it
	 * has --trusted-ca-file, whatever --client-cert-auth says; so the
	 * client CA goes to etcd only when client_cert_auth is on. Peers
	 * always present theirs, so the peer CA can always be given. */
	if (p->tls.client_cert_auth)
		strv_add2(v, "--trusted-ca-file", p->tls.trusted_ca_file);
	strv_add2(v, "--peer-cert-file", p->tls.peer_cert_file);
	strv_add2(v, "--peer-key-file", p->tls.peer_key_file);
	if (p->tls.peer_trusted_ca_file != NULL)
		strv_add2(v, "--peer-trusted-ca-file",
		    p->tls.peer_trusted_ca_file);
	if (p->tls.client_cert_auth) {
		strv_add(v, "--client-cert-auth");
		strv_add(v, "--peer-client-cert-auth");
	}
}

void
plan_build_argv(struct plan *p)
{
	struct strv v = { 0 };

	strv_free(p->argv);
	strv_add(&v, p->etcd);
	if (p->proxy)
		proxy_argv(p, &v);
	else
		member_argv(p, &v);
	/* The operator's own flags come last; the config refused the ones
	 * above. grpc-proxy takes other flags than a member. */
	for (size_t i = 0; !p->proxy && i < p->n_etcd_args; i++) {
		const char *a = p->etcd_args[i], *val = eargs_spaced_value(a);

		if (val == NULL) {
			strv_add(&v, a);
			continue;
		}
		char *flag = xstrndup(a, (size_t)(val - 1 - a));
		strv_add2(&v, flag, val);
		free(flag);
	}
	p->argc = v.n;
	p->argv = strv_take(&v);
}
