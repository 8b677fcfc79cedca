/* agent/plan.c: TLS. https zones, pairs and journals with certificates
 * given or made from a CA, plan_check_tls(), and the TLS flags of etcd's
 * argv for a member and for an extra host's grpc-proxy. The fixture is in
 * plan_fix.h; the certificate files are placeholders in a temp dir. */
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/plan.h"
#include "lib/xmalloc.h"
#include "plan_fix.h"

/* ---- TLS: https zones and URLs with certificates -------------------- */

/* The files plan_check_tls() looks at; their contents do not matter to
 * the plan, only that they can be read. */
static char tls_dir[64];
static const char *const tls_files[] = {
	"ca.pem", "h.pem", "h.key", "peer.pem", "peer.key", "peer-ca.pem",
};

static char *
tls_path(const char *name)
{
	return xasprintf("%s/%s", tls_dir, name);
}

static int
tls_setup(void **state)
{
	struct fx *f;

	snprintf(tls_dir, sizeof(tls_dir), "/tmp/zooinit-tls-XXXXXX");
	if (mkdtemp(tls_dir) == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(tls_files) / sizeof(*tls_files); i++) {
		char *path = tls_path(tls_files[i]);
		FILE *fp = fopen(path, "w");

		free(path);
		if (fp == NULL)
			return -1;
		fputs("-----BEGIN PLACEHOLDER-----\n", fp);
		fclose(fp);
	}
	setup(state);
	f = *state;
	/* Borrowed by the cfg, like the other strings setup() sets. */
	f->c.cert_file = tls_path("h.pem");
	f->c.key_file = tls_path("h.key");
	f->c.trusted_ca_file = tls_path("ca.pem");
	return 0;
}

static int
tls_teardown(void **state)
{
	struct fx *f = *state;

	free(f->c.cert_file);
	free(f->c.key_file);
	free(f->c.trusted_ca_file);
	free(f->c.peer_cert_file);
	free(f->c.peer_key_file);
	free(f->c.peer_trusted_ca_file);
	for (size_t i = 0; i < sizeof(tls_files) / sizeof(*tls_files); i++) {
		char *path = tls_path(tls_files[i]);

		(void)unlink(path);
		free(path);
	}
	if (rmdir(tls_dir) < 0)
		fprintf(stderr, "rmdir %s: %s\n", tls_dir, strerror(errno));
	return teardown(state);
}

static enum plan_result
check_tls(struct fx *f)
{
	f->msg[0] = '\0';
	return plan_check_tls(&f->p, &f->c, f->msg, sizeof(f->msg));
}

/* The member argv of h2 in an https zone: want_argv with https URLs, then
 * the TLS flags (extra, NULL-terminated) in order. */
static void
assert_tls_argv(const struct plan *p, ...)
{
	static const char ic[] = "h1=https://10.0.0.1:2380,"
	    "h2=https://10.0.0.2:2380,h3=https://10.0.0.3:2380";
	const char *want[WANT_ARGC + 16];
	size_t n = 0;
	va_list ap;
	const char *s;

	for (size_t i = 0; i < WANT_ARGC; i++)
		want[n++] = want_argv[i];
	want[6] = want[8] = "https://10.0.0.2:2380";
	want[10] = want[12] = "https://10.0.0.2:2379";
	want[14] = ic;
	va_start(ap, p);
	while ((s = va_arg(ap, const char *)) != NULL && n < WANT_ARGC + 16)
		want[n++] = s;
	va_end(ap);
	assert_argv(p, want, n);
}

static void
test_tls_https_zone(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem"),
	    *key = tls_path("h.key");

	add_three(f, SSL);
	expect_ok(f);
	assert_string_equal(f->p.scheme, "https");
	assert_string_equal(f->p.source_detail, "_etcd-server-ssl._tcp.zl.test");
	assert_member(&f->p.m[0], "h1", "h1.zl.test", "10.0.0.1",
	    "https://10.0.0.1:2380", "https://10.0.0.1:2379", false);
	assert_member(&f->p.m[1], "h2", "h2.zl.test", "10.0.0.2",
	    "https://10.0.0.2:2380", "https://10.0.0.2:2379", true);
	assert_member(&f->p.m[2], "h3", "h3.zl.test", "10.0.0.3",
	    "https://10.0.0.3:2380", "https://10.0.0.3:2379", false);

	/* client_cert_auth off: etcd gets no client CA, since etcd 3.4
	 * would then demand client certificates anyway. */
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_string_equal(f->p.tls.cert_file, crt);
	assert_string_equal(f->p.tls.peer_key_file, key);
	assert_false(f->p.tls.client_cert_auth);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--peer-cert-file", crt, "--peer-key-file", key,
	    "--peer-trusted-ca-file", ca, NULL);

	/* on: both CAs and both switches. */
	f->c.client_cert_auth = CFG_ON;
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.client_cert_auth);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--trusted-ca-file", ca,
	    "--peer-cert-file", crt, "--peer-key-file", key,
	    "--peer-trusted-ca-file", ca,
	    "--client-cert-auth", "--peer-client-cert-auth", NULL);

	/* The plan's JSON shows etcd's TLS flags in its argv. */
	char *s = plan_json(&f->p);
	assert_contains(s, "\"--peer-client-cert-auth\"");
	assert_contains(s, "\"https://10.0.0.2:2379\"");
	free(s);

	/* scheme = "https" agrees with the zone. */
	f->c.scheme = CFG_SCHEME_HTTPS;
	expect_ok(f);
	assert_string_equal(f->p.m[1].client_url, "https://10.0.0.2:2379");
	free(ca);
	free(crt);
	free(key);
}

/* A CA instead of certificates: the files zooinit makes in the state
 * directory, client_cert_auth on; given certificates win. */
static void
test_tls_made_from_ca(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem");
	const char *d = "/var/lib/zooinit/etcd.zooinit/tls/";
	char *sc = xasprintf("%sserver.crt", d), *sk = xasprintf("%sserver.key", d);
	char *pc = xasprintf("%speer.crt", d), *pk = xasprintf("%speer.key", d);

	add_three(f, SSL);
	free(f->c.cert_file);
	free(f->c.key_file);
	free(f->c.trusted_ca_file);
	f->c.cert_file = f->c.key_file = f->c.trusted_ca_file = NULL;
	f->c.ca_file = ca;
	f->c.ca_key_file = ca;
	expect_ok(f);
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.made);
	assert_true(f->p.tls.client_cert_auth);
	assert_string_equal(f->p.tls.client_cert_file,
	    "/var/lib/zooinit/etcd.zooinit/tls/client.crt");
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p, "--cert-file", sc, "--key-file", sk,
	    "--trusted-ca-file", ca, "--peer-cert-file", pc,
	    "--peer-key-file", pk, "--peer-trusted-ca-file", ca,
	    "--client-cert-auth", "--peer-client-cert-auth", NULL);

	/* Given files win; checking again drops the made paths. */
	f->c.cert_file = crt;
	f->c.key_file = crt;
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_false(f->p.tls.made);
	assert_null(f->p.tls_made[0]);
	assert_string_equal(f->p.tls.cert_file, crt);
	f->c.cert_file = f->c.key_file = NULL;
	f->c.ca_file = f->c.ca_key_file = NULL;
	free(ca);
	free(crt);
	free(sc);
	free(sk);
	free(pc);
	free(pk);
}

static void
test_tls_https_zone_without_certs(void **state)
{
	struct fx *f = *state;

	add_three(f, SSL);
	free(f->c.cert_file);
	free(f->c.key_file);
	f->c.cert_file = f->c.key_file = NULL;
	assert_int_equal(build(f), PLAN_FAIL);
	assert_string_equal(f->msg, "_etcd-server-ssl._tcp.zl.test asks for "
	    "https peers; set cert_file and key_file (and trusted_ca_file) to "
	    "give etcd its certificates, or ca_file and ca_key_file to have "
	    "zooinit make them");
	/* A key without its certificate is no better. */
	f->c.key_file = tls_path("h.key");
	expect_fail(f, "_etcd-server-ssl._tcp.zl.test asks for https peers");
	/* Certificates do not make an http zone https. */
	f->c.cert_file = tls_path("h.pem");
	reset_result(f);
	add_three(f, PLAIN);
	expect_ok(f);
	assert_string_equal(f->p.m[1].client_url, "http://10.0.0.2:2379");
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_null(f->p.tls.cert_file);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want_argv, WANT_ARGC);
}

static void
test_tls_peer_files(void **state)
{
	struct fx *f = *state;
	char *crt = tls_path("h.pem"), *key = tls_path("h.key"),
	    *pcrt = tls_path("peer.pem"), *pkey = tls_path("peer.key"),
	    *pca = tls_path("peer-ca.pem");

	f->c.peer_cert_file = xstrdup(pcrt);
	f->c.peer_key_file = xstrdup(pkey);
	f->c.peer_trusted_ca_file = xstrdup(pca);
	add_three(f, SSL);
	expect_ok(f);
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--peer-cert-file", pcrt, "--peer-key-file", pkey,
	    "--peer-trusted-ca-file", pca, NULL);

	/* Without any CA: the system's verifies, and no CA flag is given. */
	free(f->c.trusted_ca_file);
	free(f->c.peer_trusted_ca_file);
	f->c.trusted_ca_file = f->c.peer_trusted_ca_file = NULL;
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_tls_argv(&f->p,
	    "--cert-file", crt, "--key-file", key,
	    "--peer-cert-file", pcrt, "--peer-key-file", pkey, NULL);
	free(crt);
	free(key);
	free(pcrt);
	free(pkey);
	free(pca);
}

static void
test_tls_check_failures(void **state)
{
	struct fx *f = *state;
	char *want;

	add_three(f, SSL);
	expect_ok(f);

	/* A missing file: the key and the path are named. */
	free(f->c.key_file);
	f->c.key_file = tls_path("missing.key");
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_message_clean(f->msg);
	want = xasprintf("key_file is set to \"%s/missing.key\", which cannot "
	    "be read: No such file or directory; point key_file at a readable "
	    "PEM file", tls_dir);
	assert_string_equal(f->msg, want);
	free(want);
	assert_null(f->p.tls.cert_file);
	free(f->c.key_file);
	f->c.key_file = tls_path("h.key");

	/* A directory is not a certificate. */
	f->c.peer_trusted_ca_file = xstrdup(tls_dir);
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_contains(f->msg, "peer_trusted_ca_file is set to");
	assert_contains(f->msg, tls_dir);
	assert_contains(f->msg, "Is a directory");
	free(f->c.peer_trusted_ca_file);
	f->c.peer_trusted_ca_file = NULL;

	/* Nor is a device. */
	f->c.peer_cert_file = xstrdup("/dev/null");
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_string_equal(f->msg, "peer_cert_file is set to \"/dev/null\", "
	    "which cannot be read: not a regular file; point peer_cert_file "
	    "at a readable PEM file");
	free(f->c.peer_cert_file);
	f->c.peer_cert_file = NULL;

	/* Client certificates are checked against trusted_ca_file. */
	f->c.client_cert_auth = CFG_ON;
	free(f->c.trusted_ca_file);
	f->c.trusted_ca_file = NULL;
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_contains(f->msg, "client_cert_auth is on but trusted_ca_file "
	    "is not set");
	assert_null(f->p.tls.cert_file);

	/* An https plan that skipped the zone's check (a journal) is
	 * stopped here too. */
	free(f->c.cert_file);
	f->c.cert_file = NULL;
	assert_int_equal(check_tls(f), PLAN_FAIL);
	assert_string_equal(f->msg, "_etcd-server-ssl._tcp.zl.test asks for "
	    "https peers; set cert_file and key_file (and trusted_ca_file) to "
	    "give etcd its certificates, or ca_file and ca_key_file to have "
	    "zooinit make them");
}

static void
test_tls_pairs(void **state)
{
	struct fx *f = *state;
	char *crt = tls_path("h.pem");

	pairs_ok(f, "h3=https://10.0.0.3:2380,h1=https://10.0.0.1:2380,"
	    "h2=https://10.0.0.2:2380", "h2");
	assert_string_equal(f->p.scheme, "https");
	assert_string_equal(f->p.m[0].peer_url, "https://10.0.0.1:2380");
	assert_string_equal(f->p.m[0].client_url, "https://10.0.0.1:2379");
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_string_equal(f->p.argv[WANT_ARGC], "--cert-file");
	assert_string_equal(f->p.argv[WANT_ARGC + 1], crt);

	/* The setting and the URLs must agree, either way round. */
	f->c.scheme = CFG_SCHEME_HTTPS;
	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", "h2");
	pairs_fail(f, P3, "h2", "scheme mismatch: scheme is set to https but "
	    DISC " gives http peer URLs; use https URLs or set scheme = "
	    "\"http\"");
	f->c.scheme = CFG_SCHEME_HTTP;
	pairs_fail(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380",
	    "h2", "scheme is set to http but", "gives https peer URLs");
	free(crt);
}

/* An extra host's grpc-proxy: a TLS client of the members and a TLS
 * server for this host's clients. */
static void
test_tls_proxy(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem"),
	    *key = tls_path("h.key");
	const char *want[] = {
		"/usr/bin/etcd", "grpc-proxy", "start",
		"--endpoints", "https://10.0.0.1:2379,https://10.0.0.2:2379",
		"--listen-addr", "10.0.0.9:2379",
		"--advertise-client-url", "10.0.0.9:2379",
		"--data-dir", "/var/lib/zooinit/etcd/proxy",
		"--cacert", ca, "--cert", crt, "--key", key,
		"--cert-file", crt, "--key-file", key,
		"--trusted-ca-file", ca,
	};
	const char *want_off[] = {
		"/usr/bin/etcd", "grpc-proxy", "start",
		"--endpoints", "https://10.0.0.1:2379,https://10.0.0.2:2379",
		"--listen-addr", "10.0.0.9:2379",
		"--advertise-client-url", "10.0.0.9:2379",
		"--data-dir", "/var/lib/zooinit/etcd/proxy",
		"--cacert", ca, "--cert", crt, "--key", key,
		"--cert-file", crt, "--key-file", key,
	};

	f->c.client_cert_auth = CFG_ON;
	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", NULL);
	make_proxy(f, "h9", "10.0.0.9");
	assert_string_equal(plan_me(&f->p)->client_url, "https://10.0.0.9:2379");
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want, sizeof(want) / sizeof(*want));

	/* off: the proxy verifies the members and still shows its
	 * certificate (etcd 3.5+ takes no --cacert without --cert); its own
	 * clients need none. */
	f->c.client_cert_auth = CFG_OFF;
	assert_int_equal(check_tls(f), PLAN_OK);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want_off, sizeof(want_off) / sizeof(*want_off));
	free(ca);
	free(crt);
	free(key);
}

/* A token with a CA alone: the host registers https (a CA asks for TLS
 * as an _etcd-server-ssl zone does), the plan from the https pairs makes
 * its files, and an extra's grpc-proxy shows its client certificate to
 * the members and serves its server certificate. */
static void
test_tls_token_ca(void **state)
{
	struct fx *f = *state;
	char *ca = tls_path("ca.pem"), *crt = tls_path("h.pem");
	const char *d = "/var/lib/zooinit/etcd.zooinit/tls/";
	char *sc = xasprintf("%sserver.crt", d), *sk = xasprintf("%sserver.key", d);
	char *cc = xasprintf("%sclient.crt", d), *ck = xasprintf("%sclient.key", d);
	const char *want[] = {
		"/usr/bin/etcd", "grpc-proxy", "start",
		"--endpoints", "https://10.0.0.1:2379,https://10.0.0.2:2379",
		"--listen-addr", "10.0.0.9:2379",
		"--advertise-client-url", "10.0.0.9:2379",
		"--data-dir", "/var/lib/zooinit/etcd/proxy",
		"--cacert", ca, "--cert", cc, "--key", ck,
		"--cert-file", sc, "--key-file", sk,
		"--trusted-ca-file", ca,
	};

	free(f->c.cert_file);
	free(f->c.key_file);
	free(f->c.trusted_ca_file);
	f->c.cert_file = f->c.key_file = f->c.trusted_ca_file = NULL;
	assert_string_equal(plan_token_scheme(&f->c), "http");
	f->c.ca_file = ca;
	f->c.ca_key_file = ca;
	assert_string_equal(plan_token_scheme(&f->c), "https");
	f->c.scheme = CFG_SCHEME_HTTP;
	assert_string_equal(plan_token_scheme(&f->c), "http");
	f->c.scheme = CFG_SCHEME_AUTO;
	/* Given certificates win over the CA, as they do for the files:
	 * scheme = "https" asks for TLS with them. */
	f->c.cert_file = crt;
	assert_string_equal(plan_token_scheme(&f->c), "http");
	f->c.scheme = CFG_SCHEME_HTTPS;
	assert_string_equal(plan_token_scheme(&f->c), "https");
	f->c.scheme = CFG_SCHEME_AUTO;
	f->c.cert_file = NULL;

	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", "h2");
	assert_string_equal(f->p.scheme, "https");
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.made);
	assert_string_equal(plan_me(&f->p)->client_url, "https://10.0.0.2:2379");

	pairs_ok(f, "h1=https://10.0.0.1:2380,h2=https://10.0.0.2:2380", NULL);
	make_proxy(f, "h9", "10.0.0.9");
	assert_int_equal(check_tls(f), PLAN_OK);
	assert_true(f->p.tls.made);
	plan_build_argv(&f->p);
	assert_argv(&f->p, want, sizeof(want) / sizeof(*want));
	f->c.ca_file = f->c.ca_key_file = NULL;
	free(ca);
	free(crt);
	free(sc);
	free(sk);
	free(cc);
	free(ck);
}

/* A restart from the journal gets its TLS flags from the configuration,
 * which is where certificates are renewed; the journal keeps none. */
static void
test_tls_journal(void **state)
{
	struct fx *f = *state;
	char *crt = tls_path("h.pem");

	add_three(f, SSL);
	expect_ok(f);
	make_dir(f);
	assert_int_equal(plan_journal_write(&f->p, f->dir, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(read_journal(f), 0);
	assert_string_equal(f->q.scheme, "https");
	f->msg[0] = '\0';
	assert_int_equal(plan_check_tls(&f->q, &f->c, f->msg, sizeof(f->msg)),
	    PLAN_OK);
	plan_build_argv(&f->q);
	assert_string_equal(f->q.argv[WANT_ARGC - 1], "existing");
	assert_string_equal(f->q.argv[WANT_ARGC], "--cert-file");
	assert_string_equal(f->q.argv[WANT_ARGC + 1], crt);
	free(crt);

	/* Without certificates now, the restart is refused with the
	 * journal named. */
	free(f->c.cert_file);
	f->c.cert_file = NULL;
	assert_int_equal(plan_check_tls(&f->q, &f->c, f->msg, sizeof(f->msg)),
	    PLAN_FAIL);
	assert_contains(f->msg, PLAN_JOURNAL " asks for https peers");
}

#define TLS(f) cmocka_unit_test_setup_teardown(f, tls_setup, tls_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TLS(test_tls_https_zone),
		TLS(test_tls_https_zone_without_certs),
		TLS(test_tls_made_from_ca),
		TLS(test_tls_peer_files),
		TLS(test_tls_check_failures),
		TLS(test_tls_pairs),
		TLS(test_tls_proxy),
		TLS(test_tls_token_ca),
		TLS(test_tls_journal),
	};

	return cmocka_run_group_tests_name("plan_tls", tests, NULL, NULL);
}
