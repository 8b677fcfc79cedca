#include "lib/fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/certs.h"
#include "etcd/http.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "pki/pki.h"

/* A renewal that failed (the CA unreadable for a moment) is tried again
 * after this long, or sooner when the certificates end sooner. */
#define RETRY_MS (60 * 1000)

/* What to make, copied from the plan: the renewal outlives it. */
struct certs {
	struct loop *loop;
	uint64_t timer;
	char *ca_file, *ca_key_file;
	long lifetime;
	char *name;
	char *ips[2];
	size_t n_ips;
	char *dns[3];
	size_t n_dns;
	char *files[PLAN_TLS_NFILES];
	char *dir;
};

static void
certs_clear(struct certs *cs)
{
	free(cs->ca_file);
	free(cs->ca_key_file);
	free(cs->name);
	for (size_t i = 0; i < cs->n_ips; i++)
		free(cs->ips[i]);
	for (size_t i = 0; i < cs->n_dns; i++)
		free(cs->dns[i]);
	for (size_t i = 0; i < PLAN_TLS_NFILES; i++)
		free(cs->files[i]);
	free(cs->dir);
}

void
certs_free(struct certs *cs)
{
	if (cs == NULL)
		return;
	loop_cancel(cs->loop, cs->timer);
	certs_clear(cs);
	free(cs);
}

static void
add_dns(struct certs *cs, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return;
	for (size_t i = 0; i < cs->n_dns; i++)
		if (strcmp(cs->dns[i], name) == 0)
			return;
	cs->dns[cs->n_dns++] = xstrdup(name);
}

/* The names: every address etcd listens on and advertises (one: the
 * plan's), the SRV target, the member name, and localhost when etcd
 * listens on a loopback address. */
static void
certs_fill(struct certs *cs, const struct plan *p, const struct cfg *c)
{
	const struct plan_member *me = plan_me(p);
	char *dir;

	cs->ca_file = xstrdup(c->ca_file);
	cs->ca_key_file = xstrdup(c->ca_key_file);
	cs->lifetime = c->cert_lifetime;
	cs->name = xstrdup(me->name);
	cs->ips[cs->n_ips++] = xstrdup(me->addr);
	add_dns(cs, me->host);
	add_dns(cs, me->name);
	if (strcmp(me->addr, "127.0.0.1") == 0 || strcmp(me->addr, "::1") == 0)
		add_dns(cs, "localhost");
	for (size_t i = 0; i < PLAN_TLS_NFILES; i++)
		cs->files[i] = xstrdup(p->tls_made[i]);
	dir = xstrdup(p->tls_made[0]);
	*strrchr(dir, '/') = '\0';
	cs->dir = dir;
}

/* Makes the three certificates; returns the seconds until the renewal,
 * or -1 with err set. */
static long
certs_make(struct certs *cs, const struct pki_ca *ca, bool renew, char *err,
    size_t errlen)
{
	static const enum pki_kind kinds[] = { PKI_SERVER, PKI_PEER,
		PKI_CLIENT };
	struct pki_req r = {
		.name = cs->name,
		.ips = (const char *const *)cs->ips, .n_ips = cs->n_ips,
		.dns = (const char *const *)cs->dns, .n_dns = cs->n_dns,
		.lifetime = cs->lifetime, .now = time(NULL),
	};
	struct pki_info info;
	char *pem, until[32];
	long left;

	if (file_mkdirs(cs->dir, 0700, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		r.kind = kinds[i];
		if (pki_mint_files(ca, &r, cs->files[2 * i],
		    cs->files[2 * i + 1], err, errlen) < 0)
			return -1;
	}
	pem = pki_read_file(cs->files[PLAN_TLS_SERVER_CRT], err, errlen);
	if (pem == NULL)
		return -1;
	if (pki_cert_info(pem, &info) < 0) {
		free(pem);
		return str_seterr(err, errlen, "%s holds no certificate",
		    cs->files[PLAN_TLS_SERVER_CRT]);
	}
	free(pem);
	left = (long)(info.not_after - r.now);
	log_info("TLS: %s this member's certificates in %s from the CA in "
	    "%s: server.crt serial %s, valid until %s; renewing in %ld s%s",
	    renew ? "renewed" : "made", cs->dir, cs->ca_file, info.serial,
	    str_utc(info.not_after, until, sizeof(until)), left - left / 3,
	    renew ? " (etcd reads the new files on its next handshakes)" : "");
	if (left < cs->lifetime - 60)
		log_warn("TLS: the CA in %s ends before cert_lifetime does; "
		    "the certificates end with it: make a new CA in time",
		    cs->ca_file);
	return left - left / 3;
}

/* What the child of certs_run() is to do. */
struct run {
	struct certs *cs;
	bool renew;
};

/* In the child: loads the CA and makes the files; out is the seconds
 * until the renewal, or the error. */
static int
run_child(void *arg, char *out, size_t outlen)
{
	struct run *run = arg;
	struct pki_ca *ca;
	long next = -1;

	ca = pki_ca_load(run->cs->ca_file, run->cs->ca_key_file, time(NULL),
	    out, outlen);
	if (ca != NULL)
		next = certs_make(run->cs, ca, run->renew, out, outlen);
	if (next < 0)
		return -1;
	snprintf(out, outlen, "%ld", next);
	return 0;
}

/* Makes the certificates in a child process: OpenSSL keeps what it
 * fetched to parse the CA and make keys (about 70 kB) for the life of
 * the process that did it, and the agent lives long. Returns the seconds
 * until the renewal, or with err set -1 (the CA refused, the files not
 * made) or CERTS_UNRUN (no child could run). */
static long
certs_run(struct certs *cs, bool renew, char *err, size_t errlen)
{
	struct run run = { .cs = cs, .renew = renew };
	char *end;
	long next;
	int rc;

	rc = proc_isolate(run_child, &run, err, errlen);
	if (rc == PROC_ISOLATE_UNRUN)
		return CERTS_UNRUN;
	if (rc < 0)
		return -1;
	next = strtol(err, &end, 10);
	if (end == err || *end != '\0' || next < 0)
		return str_seterr(err, errlen, "making the certificates "
		    "gave no renewal time");
	err[0] = '\0';
	return next;
}

static void
on_renew(struct loop *l, void *arg)
{
	struct certs *cs = arg;
	char err[512] = "";
	long next;

	(void)l;
	cs->timer = 0;
	next = certs_run(cs, true, err, sizeof(err));
	if (next < 0) {
		log_error("TLS: cannot renew this member's certificates: %s; "
		    "trying again in %d s", err, RETRY_MS / 1000);
		cs->timer = loop_timer(cs->loop, RETRY_MS, on_renew, cs);
		return;
	}
	cs->timer = loop_timer(cs->loop, next * 1000, on_renew, cs);
}

int
certs_setup(struct certs **cp, struct loop *l, struct etcd_http *h,
    const struct plan *p, const struct cfg *c, bool plan_only, char *err,
    size_t errlen)
{
	struct certs *cs;
	struct pki_ca *ca;
	long next;

	certs_free(*cp);
	*cp = NULL;
	if (p->tls.cert_file == NULL)
		return 0;
	if (!p->tls.made) {
		log_info("TLS: etcd uses the given certificate files "
		    "(cert_file %s)%s", p->tls.cert_file, c->ca_file ?
		    "; ca_file is not used to make any" : "");
		return 0;
	}
	if (plan_only) {
		/* A command that ends: the CA is checked in this process. */
		ca = pki_ca_load(c->ca_file, c->ca_key_file, time(NULL), err,
		    errlen);
		if (ca == NULL)
			return -1;
		pki_ca_free(ca);
		return 0;
	}
	cs = xcalloc(1, sizeof(*cs));
	cs->loop = l;
	certs_fill(cs, p, c);
	next = certs_run(cs, false, err, errlen);
	if (next < 0) {
		certs_free(cs);
		return (int)next;
	}
	etcd_http_set_tls(h, p->tls.trusted_ca_file, p->tls.client_cert_file,
	    p->tls.client_key_file);
	cs->timer = loop_timer(l, next * 1000, on_renew, cs);
	*cp = cs;
	return 0;
}
