#ifndef ZOOINIT_PKI_H
#define ZOOINIT_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* A small certificate authority on OpenSSL's libcrypto: making a CA,
 * loading and checking one, and minting ECDSA P-256 certificates signed by
 * it. Everything but the file helpers works in memory on PEM text, so the
 * unit tests need no files. Nothing here logs: a key never reaches a log
 * line, and errors are one sentence in the caller's buffer. */

/* The CA's file names in the directory of `zooinit ca init`. */
#define PKI_CA_CERT "ca.crt"
#define PKI_CA_KEY "ca.key"
/* How long a CA made by pki_ca_init() lasts: ten years. */
#define PKI_CA_LIFETIME (10L * 365 * 86400)

struct pki_ca;

/* What a minted certificate is for: its extended key usage. */
enum pki_kind {
	PKI_SERVER,	/* serverAuth and clientAuth: etcd's client URLs
			   (its gateway presents it to etcd itself) */
	PKI_PEER,	/* serverAuth and clientAuth: etcd's peer URLs */
	PKI_CLIENT,	/* clientAuth: zooinit and the services */
};

/* A certificate to mint. Borrowed strings. */
struct pki_req {
	enum pki_kind kind;
	const char *name;	/* the subject's OU: the member name */
	const char *const *ips;	/* IP subjectAltNames (v4 or v6 literals) */
	size_t n_ips;
	const char *const *dns;	/* DNS subjectAltNames */
	size_t n_dns;
	long lifetime;		/* seconds; cut at the CA's own end */
	time_t now;
};

/* Makes a new CA in dir (created 0700 when missing): ca.crt (0644) and
 * ca.key (0600), valid PKI_CA_LIFETIME from now. Refuses when either file
 * exists. Returns 0, or -1 with one sentence in err. */
int pki_ca_init(const char *dir, char *err, size_t errlen);

/* Loads the CA from PEM text: its certificate and its unencrypted key.
 * Checks that the key is the certificate's, that the certificate is a CA
 * and valid at now. Returns a new CA (free with pki_ca_free()), or NULL
 * with one sentence in err naming cert_what and key_what (the keys or
 * paths the text came from). */
struct pki_ca *pki_ca_parse(const char *cert_pem, const char *key_pem,
    const char *cert_what, const char *key_what, time_t now, char *err,
    size_t errlen);

/* Reads the CA from its files through pki_ca_parse(); first refuses a key
 * file that group or others may read (mode & 077). */
struct pki_ca *pki_ca_load(const char *cert_file, const char *key_file,
    time_t now, char *err, size_t errlen);

/* Frees ca; NULL is ignored. */
void pki_ca_free(struct pki_ca *ca);

/* Returns the CA certificate's PEM text; borrowed, valid until
 * pki_ca_free(). */
const char *pki_ca_pem(const struct pki_ca *ca);

/* Mints a certificate for r signed by ca. key_pem is the key to certify
 * (NULL: a new P-256 key is made). On success returns 0 with *cert_out
 * and *key_out new strings (the key's PEM; free both with free()); on
 * failure -1 with err set. */
int pki_mint(const struct pki_ca *ca, const struct pki_req *r,
    const char *key_pem, char **cert_out, char **key_out, char *err,
    size_t errlen);

/* Mints r into cert_path and key_path atomically (temp file + rename,
 * the certificate 0644, the key 0600). An existing readable PEM key
 * at key_path is kept, so that etcd, which reads the two files separately
 * on every handshake, never sees a certificate beside a key that is not
 * its own. Returns 0, or -1 with err set. */
int pki_mint_files(const struct pki_ca *ca, const struct pki_req *r,
    const char *cert_path, const char *key_path, char *err,
    size_t errlen);

/* What pki_cert_info() tells about a certificate. */
struct pki_info {
	time_t not_before, not_after;
	char serial[80];	/* hex */
};

/* Reads the first certificate of the PEM text. Returns 0 or -1. */
int pki_cert_info(const char *pem, struct pki_info *out);

/* Reads a whole small file into a new string (free with free()).
 * Returns NULL with err set. */
char *pki_read_file(const char *path, char *err, size_t errlen);

#endif
