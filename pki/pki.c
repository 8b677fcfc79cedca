#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "lib/file.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* The PEM files this module reads are small; a bigger one is not ours. */
#define PEM_MAX (1024 * 1024)
/* Certificates start a minute in the past: the clocks of the hosts that
 * check them are never exactly this one's. */
#define BACKDATE 60

struct pki_ca {
	X509 *cert;
	EVP_PKEY *key;
	char *pem;
};

/* ---- PEM text ------------------------------------------------------- */

static char *
bio_take(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = xmalloc((size_t)n + 1);

	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

static char *
key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s;

	if (b == NULL || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL))
		abort();
	s = bio_take(b);
	/* The memory BIO held the key: clear it before it is freed. */
	{
		char *data;
		long n = BIO_get_mem_data(b, &data);

		OPENSSL_cleanse(data, (size_t)n);
	}
	BIO_free(b);
	return s;
}

static char *
cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s;

	if (b == NULL || !PEM_write_bio_X509(b, x))
		abort();
	s = bio_take(b);
	BIO_free(b);
	return s;
}

static X509 *
parse_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	return x;
}

static EVP_PKEY *
parse_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	return k;
}

/* Frees a string that held a private key, clearing it first. */
static void
free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

char *
pki_read_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct sbuf b = { .max = PEM_MAX };
	char buf[4096];
	ssize_t n;

	if (fd < 0) {
		str_seterr(err, errlen, "%s cannot be read: %s", path,
		    strerror(errno));
		return NULL;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (b.len + (size_t)n > PEM_MAX) {
			str_seterr(err, errlen, "%s is larger than %d bytes; "
			    "it is no PEM certificate or key", path, PEM_MAX);
			close(fd);
			free_secret(sb_take(&b));
			return NULL;
		}
		sb_putn(&b, buf, (size_t)n);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		str_seterr(err, errlen, "%s cannot be read: %s", path,
		    strerror(errno));
		free_secret(sb_take(&b));
		return NULL;
	}
	return sb_take(&b);
}

/* ---- certificates ----------------------------------------------------- */

static time_t
asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static void
fmt_time(const ASN1_TIME *t, char *buf, size_t len)
{
	time_t when = asn1_to_time(t);

	if (when == 0 || str_utc(when, buf, len)[0] == '\0')
		snprintf(buf, len, "(an unreadable date)");
}

int
pki_cert_info(const char *pem, struct pki_info *out)
{
	X509 *x = parse_cert(pem);
	BIGNUM *bn;
	char *hex;

	memset(out, 0, sizeof(*out));
	if (x == NULL)
		return -1;
	out->not_before = asn1_to_time(X509_get0_notBefore(x));
	out->not_after = asn1_to_time(X509_get0_notAfter(x));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	snprintf(out->serial, sizeof(out->serial), "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return 0;
}

/* A random positive 127-bit serial: unique without a serial file. */
static void
set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();

	if (bn == NULL || !BN_rand(bn, 127, BN_RAND_TOP_ANY,
	    BN_RAND_BOTTOM_ANY) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		abort();
	BN_free(bn);
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL || !X509_add_ext(x, e, -1))
		abort();
	X509_EXTENSION_free(e);
}

/* subjectAltName from the request, built name by name: names from DNS
 * are untrusted text, and a comma in a configuration string would add a
 * name. */
static int
add_sans(X509 *x, const struct pki_req *r, char *err, size_t errlen)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int rc = -1;

	for (size_t i = 0; i < r->n_ips; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(r->ips[i]);
		GENERAL_NAME *g;

		if (ip == NULL) {
			str_seterr(err, errlen, "\"%s\" is no IP address for "
			    "a certificate", r->ips[i]);
			goto out;
		}
		g = GENERAL_NAME_new();
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		sk_GENERAL_NAME_push(gens, g);
	}
	for (size_t i = 0; i < r->n_dns; i++) {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		GENERAL_NAME *g;

		if (s == NULL || !ASN1_STRING_set(s, r->dns[i], -1))
			abort();
		g = GENERAL_NAME_new();
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	rc = 0;
	if (sk_GENERAL_NAME_num(gens) > 0 &&
	    !X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0))
		abort();
out:
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return rc;
}

static void
set_times(X509 *x, time_t now, long lifetime, const X509 *cap)
{
	if (X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE, &now) ==
	    NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, lifetime, &now) == NULL)
		abort();
	/* Nothing a CA signs outlives the CA. */
	if (cap != NULL && ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(cap)) > 0)
		X509_set1_notAfter(x, X509_get0_notAfter(cap));
}

static EVP_PKEY *
new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		abort();
	return k;
}

int
pki_mint(const struct pki_ca *ca, const struct pki_req *r,
    const char *kpem, char **cert_out, char **key_out, char *err,
    size_t errlen)
{
	static const char *const eku[] = {
		/* etcd's JSON gateway presents the server certificate to
		 * etcd's own gRPC server: it is a client too. */
		[PKI_SERVER] = "serverAuth,clientAuth",
		[PKI_PEER] = "serverAuth,clientAuth",
		[PKI_CLIENT] = "clientAuth",
	};
	EVP_PKEY *k = kpem ? parse_key(kpem) : new_key();
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	*cert_out = *key_out = NULL;
	if (k == NULL) {
		str_seterr(err, errlen, "the key to certify is no PEM private "
		    "key");
		X509_free(x);
		X509_NAME_free(n);
		return -1;
	}
	X509_set_version(x, 2);
	set_serial(x);
	set_times(x, r->now, r->lifetime, ca->cert);
	/* No Common Name: etcd's grpc-proxy refuses a certificate with one,
	 * and etcd would take it for a user name. */
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"zooinit", -1, -1, 0);
	if (r->name != NULL)
		X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8,
		    (const unsigned char *)r->name, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	X509_set_issuer_name(x, X509_get_subject_name(ca->cert));
	X509_set_pubkey(x, k);
	add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(x, ca->cert, NID_key_usage,
	    "critical,digitalSignature,keyEncipherment");
	add_ext(x, ca->cert, NID_ext_key_usage, eku[r->kind]);
	add_ext(x, ca->cert, NID_subject_key_identifier, "hash");
	add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always");
	if (add_sans(x, r, err, errlen) < 0)
		goto fail;
	if (X509_sign(x, ca->key, EVP_sha256()) <= 0) {
		str_seterr(err, errlen, "signing the certificate failed");
		goto fail;
	}
	*cert_out = cert_pem(x);
	*key_out = key_pem(k);
	X509_free(x);
	EVP_PKEY_free(k);
	return 0;
fail:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	return -1;
}

/* ---- the CA ----------------------------------------------------------- */

struct pki_ca *
pki_ca_parse(const char *cpem, const char *kpem, const char *cert_what,
    const char *key_what, time_t now, char *err, size_t errlen)
{
	struct pki_ca *ca = xcalloc(1, sizeof(*ca));
	char when[64];

	ca->cert = parse_cert(cpem);
	if (ca->cert == NULL) {
		str_seterr(err, errlen, "%s holds no PEM certificate; give "
		    "the CA's certificate (ca.crt of zooinit ca init)",
		    cert_what);
		goto fail;
	}
	ca->key = parse_key(kpem);
	if (ca->key == NULL) {
		str_seterr(err, errlen, "%s holds no unencrypted PEM private "
		    "key; give the CA's key (ca.key of zooinit ca init)",
		    key_what);
		goto fail;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		str_seterr(err, errlen, "%s is not the key of the CA in %s "
		    "(their public keys differ); give the key the CA was "
		    "made with", key_what, cert_what);
		goto fail;
	}
	if (X509_check_ca(ca->cert) < 1) {
		str_seterr(err, errlen, "%s is not a CA certificate (no "
		    "basicConstraints CA:TRUE); make a CA with zooinit ca "
		    "init DIR", cert_what);
		goto fail;
	}
	if (X509_cmp_time(X509_get0_notAfter(ca->cert), &now) < 0) {
		fmt_time(X509_get0_notAfter(ca->cert), when, sizeof(when));
		str_seterr(err, errlen, "the CA in %s expired on %s; make a "
		    "new one with zooinit ca init DIR and give every host its "
		    "ca_file and ca_key_file", cert_what, when);
		goto fail;
	}
	if (X509_cmp_time(X509_get0_notBefore(ca->cert), &now) > 0) {
		fmt_time(X509_get0_notBefore(ca->cert), when, sizeof(when));
		str_seterr(err, errlen, "the CA in %s is not valid before %s; "
		    "check this host's clock", cert_what, when);
		goto fail;
	}
	ca->pem = xstrdup(cpem);
	return ca;
fail:
	pki_ca_free(ca);
	return NULL;
}

struct pki_ca *
pki_ca_load(const char *cert_file, const char *key_file, time_t now,
    char *err, size_t errlen)
{
	struct stat st;
	char *cpem, *kpem, cw[300], kw[300];
	struct pki_ca *ca;

	if (stat(key_file, &st) < 0) {
		str_seterr(err, errlen, "ca_key_file %s cannot be read: %s",
		    key_file, strerror(errno));
		return NULL;
	}
	if ((st.st_mode & 077) != 0) {
		str_seterr(err, errlen, "ca_key_file %s may be read by group "
		    "or others (mode %04o); the CA key signs every member's "
		    "certificate: chmod 600 it", key_file,
		    (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	cpem = pki_read_file(cert_file, err, errlen);
	if (cpem == NULL)
		return NULL;
	kpem = pki_read_file(key_file, err, errlen);
	if (kpem == NULL) {
		free(cpem);
		return NULL;
	}
	snprintf(cw, sizeof(cw), "ca_file %s", cert_file);
	snprintf(kw, sizeof(kw), "ca_key_file %s", key_file);
	ca = pki_ca_parse(cpem, kpem, cw, kw, now, err, errlen);
	free(cpem);
	free_secret(kpem);
	return ca;
}

void
pki_ca_free(struct pki_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->pem);
	free(ca);
}

const char *
pki_ca_pem(const struct pki_ca *ca)
{
	return ca->pem;
}

/* A self-signed CA certificate for k. */
static X509 *
make_ca_cert(EVP_PKEY *k, time_t now)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char host[256] = "", cn[320];

	gethostname(host, sizeof(host) - 1);
	snprintf(cn, sizeof(cn), "zooinit CA %s %lld", host, (long long)now);
	X509_set_version(x, 2);
	set_serial(x);
	set_times(x, now, PKI_CA_LIFETIME, NULL);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"zooinit", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_set_pubkey(x, k);
	add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(x, x, NID_subject_key_identifier, "hash");
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
	return x;
}

int
pki_ca_init(const char *dir, char *err, size_t errlen)
{
	char *cpath = xasprintf("%s/%s", dir, PKI_CA_CERT);
	char *kpath = xasprintf("%s/%s", dir, PKI_CA_KEY);
	const char *paths[] = { cpath, kpath };
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	char *cp = NULL, *kp = NULL;
	struct stat st;
	int rc = -1;

	for (size_t i = 0; i < 2; i++) {
		if (lstat(paths[i], &st) == 0) {
			str_seterr(err, errlen, "%s exists already; zooinit "
			    "ca init never overwrites a CA: remove it or "
			    "choose another directory", paths[i]);
			goto out;
		}
	}
	if (file_mkdirs(dir, 0700, err, errlen) < 0)
		goto out;
	k = new_key();
	x = make_ca_cert(k, time(NULL));
	kp = key_pem(k);
	cp = cert_pem(x);
	if (file_write_atomic(kpath, kp, 0600, err, errlen) < 0 ||
	    file_write_atomic(cpath, cp, 0644, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	free_secret(kp);
	free(cp);
	X509_free(x);
	EVP_PKEY_free(k);
	free(cpath);
	free(kpath);
	return rc;
}

/* ---- files ------------------------------------------------------------ */

int
pki_mint_files(const struct pki_ca *ca, const struct pki_req *r,
    const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	char *old = NULL, *cp = NULL, *kp = NULL, ignore[8];
	EVP_PKEY *k;
	int rc = -1;

	/* A missing or unreadable key is made anew. */
	old = pki_read_file(key_path, ignore, sizeof(ignore));
	if (old != NULL) {
		/* A key that does not parse is replaced. */
		k = parse_key(old);
		if (k == NULL) {
			free_secret(old);
			old = NULL;
		}
		EVP_PKEY_free(k);
	}
	if (pki_mint(ca, r, old, &cp, &kp, err, errlen) < 0)
		goto out;
	if (old == NULL &&
	    file_write_atomic(key_path, kp, 0600, err, errlen) < 0)
		goto out;
	if (file_write_atomic(cert_path, cp, 0644, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	free_secret(old);
	free_secret(kp);
	free(cp);
	return rc;
}
