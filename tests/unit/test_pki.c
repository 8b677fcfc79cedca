#include "lib/fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agent/status_impl.h"
#include "etcd/http.h"
#include "lib/xmalloc.h"
#include "pki/pki.h"

/* A CA made by pki_ca_init() in a temporary directory, loaded. */
struct fx {
	char dir[64];
	char *crt, *key;
	struct pki_ca *ca;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/zooinit-pki-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if (pki_ca_init(f->dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	f->crt = xasprintf("%s/ca.crt", f->dir);
	f->key = xasprintf("%s/ca.key", f->dir);
	f->ca = pki_ca_load(f->crt, f->key, time(NULL), err, sizeof(err));
	*state = f;
	return f->ca != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(cmd);
	pki_ca_free(f->ca);
	free(f->crt);
	free(f->key);
	free(f);
	return 0;
}

static X509 *
pem_x509(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	return x;
}

/* Whether cert verifies against the CA for purpose at now. */
static bool
verifies(const char *ca_pem, const char *cert, int purpose, time_t now)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *ca = pem_x509(ca_pem), *x = pem_x509(cert);
	int ok;

	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(ctx, st, x, NULL);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(ca);
	X509_free(x);
	return ok == 1;
}

static char *
ext_text(const char *cert, int nid)
{
	X509 *x = pem_x509(cert);
	int i = X509_get_ext_by_NID(x, nid, -1);
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	assert_true(i >= 0);
	X509V3_EXT_print(b, X509_get_ext(x, i), 0, 0);
	n = BIO_get_mem_data(b, &data);
	s = xmalloc((size_t)n + 1);
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	X509_free(x);
	return s;
}

static void
test_mint_peer(void **state)
{
	struct fx *f = *state;
	const char *ips[] = { "10.0.0.2", "fd00::2" };
	const char *dns[] = { "h2.zl.test", "h2" };
	time_t now = time(NULL);
	struct pki_req r = { .kind = PKI_PEER, .name = "h2", .ips = ips,
		.n_ips = 2, .dns = dns, .n_dns = 2, .lifetime = 3600,
		.now = now };
	char *cert, *key, *san, *eku, err[256];
	struct pki_info info;

	assert_int_equal(pki_mint(f->ca, &r, NULL, &cert, &key, err,
	    sizeof(err)), 0);
	san = ext_text(cert, NID_subject_alt_name);
	assert_non_null(strstr(san, "IP Address:10.0.0.2"));
	assert_non_null(strstr(san, "IP Address:FD00:0:0:0:0:0:0:2"));
	assert_non_null(strstr(san, "DNS:h2.zl.test"));
	assert_non_null(strstr(san, "DNS:h2"));
	eku = ext_text(cert, NID_ext_key_usage);
	assert_non_null(strstr(eku, "TLS Web Server Authentication"));
	assert_non_null(strstr(eku, "TLS Web Client Authentication"));
	assert_true(verifies(pki_ca_pem(f->ca), cert, X509_PURPOSE_SSL_SERVER,
	    now));
	assert_true(verifies(pki_ca_pem(f->ca), cert, X509_PURPOSE_SSL_CLIENT,
	    now));
	/* Past its lifetime it no longer verifies. */
	assert_false(verifies(pki_ca_pem(f->ca), cert,
	    X509_PURPOSE_SSL_SERVER, now + 3601));
	assert_int_equal(pki_cert_info(cert, &info), 0);
	assert_int_equal(info.not_after - now, 3600);
	assert_true(strlen(info.serial) > 8);
	assert_non_null(strstr(key, "PRIVATE KEY"));
	free(san);
	free(eku);
	free(cert);
	free(key);
}

/* A client certificate is for clients only; a renewal with the same key
 * certifies that key again under a new serial. */
static void
test_mint_client_same_key(void **state)
{
	struct fx *f = *state;
	const char *ips[] = { "10.0.0.2" };
	time_t now = time(NULL);
	struct pki_req r = { .kind = PKI_CLIENT, .name = "h2", .ips = ips,
		.n_ips = 1, .lifetime = 60, .now = now };
	char *c1, *k1, *c2, *k2, *eku, err[256];
	struct pki_info i1, i2;

	assert_int_equal(pki_mint(f->ca, &r, NULL, &c1, &k1, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_mint(f->ca, &r, k1, &c2, &k2, err,
	    sizeof(err)), 0);
	eku = ext_text(c1, NID_ext_key_usage);
	assert_string_equal(eku, "TLS Web Client Authentication");
	assert_true(verifies(pki_ca_pem(f->ca), c1, X509_PURPOSE_SSL_CLIENT,
	    now));
	assert_false(verifies(pki_ca_pem(f->ca), c1, X509_PURPOSE_SSL_SERVER,
	    now));
	assert_string_equal(k1, k2);
	pki_cert_info(c1, &i1);
	pki_cert_info(c2, &i2);
	assert_string_not_equal(i1.serial, i2.serial);
	free(eku);
	free(c1);
	free(k1);
	free(c2);
	free(k2);
}

static void
test_mint_bad_ip(void **state)
{
	struct fx *f = *state;
	const char *ips[] = { "10.0.0.2,DNS:evil" };
	struct pki_req r = { .kind = PKI_SERVER, .ips = ips, .n_ips = 1,
		.lifetime = 60, .now = time(NULL) };
	char *c, *k, err[256] = "";

	assert_int_equal(pki_mint(f->ca, &r, NULL, &c, &k, err, sizeof(err)),
	    -1);
	assert_null(c);
	assert_non_null(strstr(err, "is no IP address"));
}

static void
test_ca_errors(void **state)
{
	struct fx *f = *state;
	char err[512], *msg;
	char *other = xasprintf("%s/other", f->dir), *okey;
	struct pki_ca *ca;

	/* Another CA's key. */
	assert_int_equal(pki_ca_init(other, err, sizeof(err)), 0);
	okey = xasprintf("%s/ca.key", other);
	assert_null(pki_ca_load(f->crt, okey, time(NULL), err, sizeof(err)));
	msg = xasprintf("ca_key_file %s is not the key of the CA in ca_file "
	    "%s (their public keys differ)", okey, f->crt);
	assert_non_null(strstr(err, msg));
	free(msg);
	/* Expired: eleven years on. */
	assert_null(pki_ca_load(f->crt, f->key, time(NULL) + 11L * 365 * 86400,
	    err, sizeof(err)));
	assert_non_null(strstr(err, "expired on"));
	/* A key others may read. */
	assert_int_equal(chmod(f->key, 0640), 0);
	assert_null(pki_ca_load(f->crt, f->key, time(NULL), err, sizeof(err)));
	msg = xasprintf("ca_key_file %s may be read by group or others (mode "
	    "0640)", f->key);
	assert_non_null(strstr(err, msg));
	free(msg);
	assert_int_equal(chmod(f->key, 0600), 0);
	/* A leaf certificate is no CA. */
	assert_null(pki_ca_parse("junk", "junk", "ca_file x", "ca_key_file y",
	    time(NULL), err, sizeof(err)));
	assert_string_equal(err, "ca_file x holds no PEM certificate; give "
	    "the CA's certificate (ca.crt of zooinit ca init)");
	/* Never overwrites. */
	assert_int_equal(pki_ca_init(f->dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists already"));
	ca = pki_ca_load(f->crt, f->key, time(NULL), err, sizeof(err));
	assert_non_null(ca);
	pki_ca_free(ca);
	free(other);
	free(okey);
}

static void
test_ca_files(void **state)
{
	struct fx *f = *state;
	struct stat st;
	const char *ips[] = { "127.0.0.1" };
	struct pki_req r = { .kind = PKI_SERVER, .ips = ips, .n_ips = 1,
		.lifetime = 600, .now = time(NULL) };
	char *c = xasprintf("%s/s.crt", f->dir), *k = xasprintf("%s/s.key",
	    f->dir), err[256], *k1, *k2;

	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(pki_mint_files(f->ca, &r, c, k, err, sizeof(err)), 0);
	assert_int_equal(stat(k, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	k1 = pki_read_file(k, err, sizeof(err));
	/* Renewal keeps the key. */
	assert_int_equal(pki_mint_files(f->ca, &r, c, k, err, sizeof(err)), 0);
	k2 = pki_read_file(k, err, sizeof(err));
	assert_string_equal(k1, k2);
	free(k1);
	free(k2);
	free(c);
	free(k);
}

static void
test_cert_times(void **state)
{
	(void)state;
	assert_int_equal(etcd_http_cert_time("Jan  1 00:00:00 2030 GMT"),
	    1893456000);
	assert_int_equal(etcd_http_cert_time("Dec 31 23:59:59 1999 GMT"),
	    946684799);
	assert_int_equal(etcd_http_cert_time("2030-01-01"), 0);
	assert_int_equal(etcd_http_cert_time(""), 0);
	/* A third of 90 s left is close; more is not; ended is. */
	assert_false(status_cert_close(0, 90, 59));
	assert_true(status_cert_close(0, 90, 61));
	assert_true(status_cert_close(0, 90, 90));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mint_peer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mint_client_same_key,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mint_bad_ip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ca_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ca_files, setup,
		    teardown),
		cmocka_unit_test(test_cert_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
