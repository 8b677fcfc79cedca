/*
 * Shared by the resolver/dns.c unit tests (test_dns_result.c,
 * test_dns_srv.c, test_dns_target.c, test_dns_lifetime.c): a DNS message
 * builder, a fake DNS server and the fixture and checks the lookups use.
 * Header-only; include it after lib/fmacros.h.
 *
 * The DNS server here is a FAKE that runs inside the test process, on the
 * same struct loop as the resolver (registered with loop_watch, so it is
 * all one poll loop: no threads, no fork). A real server such as dnsmasq
 * cannot be made to send malformed, oversized or hostile answers, which is
 * what these tests are for.
 *
 * The fake listens on 127.0.0.1 on an ephemeral UDP port and on the same
 * TCP port. Like a real server it truncates answers over 512 bytes on UDP
 * (TC bit, question only) and serves them whole over TCP, where c-ares
 * retries. What it answers comes from a per-test script of (qname, qtype)
 * entries; anything not scripted gets NXDOMAIN. It logs every query it
 * reads so tests can check what the resolver asked, and what it did not.
 * Traffic goes only to 127.0.0.1, and every lookup is bounded by a safety
 * timer that fails the test if it fires.
 */
#ifndef ZOOINIT_TESTS_DNS_FIX_H
#define ZOOINIT_TESTS_DNS_FIX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/loop.h"
#include "resolver/dns.h"

#define ZONE "zl.test"
#define SSL_Q "_etcd-server-ssl._tcp." ZONE
#define PLAIN_Q "_etcd-server._tcp." ZONE
#define US_Q "_etcd_server._tcp." ZONE

#define QT_A 1
#define QT_CNAME 5
#define QT_AAAA 28
#define QT_SRV 33

#define RC_NOERROR 0
#define RC_SERVFAIL 2
#define RC_NXDOMAIN 3
#define RC_REFUSED 5

#define UDP_MAX 512		/* larger answers go out truncated on UDP */
#define MSG_MAX 65535
#define TEXT_MAX 1100		/* a 255-byte name with every byte as \DDD */
#define SFX_MAX 64		/* names remembered for compression */
#define LOG_MAX 512
#define CONN_MAX 8
#define DELAY_MAX 16
#define SAFETY_MS 5000		/* no lookup here may take longer */
#define QUERY_TIMEOUT_MS 2000	/* generous: valgrind is slow */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- DNS message builder ----------------------------------------------- */

struct msg {
	unsigned char b[MSG_MAX];
	size_t len;
	size_t qend;		/* end of the question section */
	bool compress;
	size_t n_sfx;
	struct {
		size_t off;
		char text[TEXT_MAX];
	} sfx[SFX_MAX];		/* name suffixes written so far */
};

static inline void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static inline void
put8(struct msg *m, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(m, &c, 1);
}

static inline void
put16(struct msg *m, unsigned v)
{
	unsigned char c[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(m, c, 2);
}

static inline void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static inline void
set16(struct msg *m, size_t off, size_t v)
{
	m->b[off] = (unsigned char)(v >> 8);
	m->b[off + 1] = (unsigned char)v;
}

struct label {
	unsigned char b[63];
	size_t len;
	size_t start;		/* where the label starts in the text */
};

/* Splits a name in presentation form into wire labels. "\DDD" is the byte
 * of that decimal value and "\c" the character c (so "a\.b" is one label):
 * the form c-ares uses when it hands a name back, so a script's text is
 * also what the resolver is expected to report. "" and "." are the root. */
static inline size_t
split_name(const char *text, struct label *lab, size_t max)
{
	const char *p = text;
	size_t n = 0;

	if (strcmp(text, ".") == 0)
		return 0;
	while (*p != '\0') {
		struct label *l;

		assert_true(n < max);
		l = &lab[n++];
		l->len = 0;
		l->start = (size_t)(p - text);
		while (*p != '\0' && *p != '.') {
			unsigned c;

			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '9' &&
			    p[2] >= '0' && p[2] <= '9' && p[3] >= '0' &&
			    p[3] <= '9') {
				c = (unsigned)(p[1] - '0') * 100 +
				    (unsigned)(p[2] - '0') * 10 +
				    (unsigned)(p[3] - '0');
				p += 4;
			} else if (p[0] == '\\' && p[1] != '\0') {
				c = (unsigned char)p[1];
				p += 2;
			} else {
				c = (unsigned char)*p++;
			}
			assert_true(c < 256 && l->len < sizeof(l->b));
			l->b[l->len++] = (unsigned char)c;
		}
		assert_true(l->len > 0);
		if (*p == '.')
			p++;
	}
	return n;
}

/* Appends a name; with m->compress, ends it with a pointer to an earlier
 * copy of its longest known suffix. */
static inline void
put_name(struct msg *m, const char *text)
{
	struct label lab[128];
	size_t n = split_name(text, lab, ARRAY_SIZE(lab));

	for (size_t i = 0; i < n; i++) {
		const char *sfx = text + lab[i].start;

		for (size_t j = 0; m->compress && j < m->n_sfx; j++) {
			if (strcmp(m->sfx[j].text, sfx) == 0) {
				put16(m, 0xc000 | (unsigned)m->sfx[j].off);
				return;
			}
		}
		if (m->n_sfx < SFX_MAX && m->len < 0x3fff &&
		    strlen(sfx) < TEXT_MAX) {
			m->sfx[m->n_sfx].off = m->len;
			memcpy(m->sfx[m->n_sfx].text, sfx, strlen(sfx) + 1);
			m->n_sfx++;
		}
		put8(m, (unsigned)lab[i].len);
		put(m, lab[i].b, lab[i].len);
	}
	put8(m, 0);
}

/* Reads an uncompressed name (queries carry no pointers) into
 * presentation form, escaped as c-ares escapes names. */
static inline bool
get_name(const unsigned char *b, size_t len, size_t *off, char *out,
    size_t outlen)
{
	size_t p = *off, o = 0;

	for (;;) {
		size_t n;

		if (p >= len)
			return false;
		n = b[p++];
		if (n == 0)
			break;
		if (n > 63 || p + n > len)
			return false;
		if (o > 0) {
			if (o + 1 >= outlen)
				return false;
			out[o++] = '.';
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = b[p++];

			if (o + 5 >= outlen)
				return false;
			if (c < 0x20 || c > 0x7e)
				o += (size_t)snprintf(out + o, 5, "\\%03u", c);
			else if (strchr("\".;\\()@$", c) != NULL) {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else
				out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	*off = p;
	return true;
}

/* A header answering query q. */
static inline void
put_header(struct msg *m, const unsigned char *q, unsigned rcode)
{
	put8(m, q[0]);
	put8(m, q[1]);
	/* QR, the query's opcode, AA, the query's RD; then RA and rcode. */
	put8(m, 0x80u | (q[2] & 0x78u) | 0x04u | (q[2] & 0x01u));
	put8(m, 0x80u | rcode);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
}

struct rr {
	unsigned type;		/* QT_A, QT_AAAA, QT_SRV or QT_CNAME */
	const char *owner;	/* NULL: the question's name */
	const char *data;	/* address, SRV target or CNAME target */
	unsigned prio, weight, port;
};

static inline void
put_rr(struct msg *m, const char *qname, const struct rr *rr)
{
	unsigned char addr[16];
	size_t rdlen_at;

	if (rr->owner == NULL && m->compress)
		put16(m, 0xc00c);
	else
		put_name(m, rr->owner != NULL ? rr->owner : qname);
	put16(m, rr->type);
	put16(m, 1);
	put32(m, 60);
	rdlen_at = m->len;
	put16(m, 0);
	switch (rr->type) {
	case QT_A:
		assert_int_equal(inet_pton(AF_INET, rr->data, addr), 1);
		put(m, addr, 4);
		break;
	case QT_AAAA:
		assert_int_equal(inet_pton(AF_INET6, rr->data, addr), 1);
		put(m, addr, 16);
		break;
	case QT_SRV:
		put16(m, rr->prio);
		put16(m, rr->weight);
		put16(m, rr->port);
		put_name(m, rr->data);
		break;
	case QT_CNAME:
		put_name(m, rr->data);
		break;
	default:
		fail_msg("no builder for RR type %u", rr->type);
	}
	set16(m, rdlen_at, m->len - rdlen_at - 2);
}

/* ---- the fake server ----------------------------------------------------- */

enum act { ACT_ANSWER = 0, ACT_NXDOMAIN, ACT_SERVFAIL, ACT_REFUSED, ACT_DROP,
	ACT_RAW };

/* What to answer to one (qname, qtype). ACT_ANSWER with no records is
 * NODATA; ACT_RAW has raw() append what follows the question. */
struct entry {
	const char *qname;
	unsigned qtype;
	enum act act;
	const struct rr *rr;
	size_t n_rr;
	bool compress;
	int delay_ms;		/* UDP only: answer this much later */
	void (*raw)(struct msg *m);
};

#define RR_SRV(t, p) { .type = QT_SRV, .data = (t), .prio = 10, \
	.weight = 10, .port = (p) }
#define RR_SRV3(t, p, pr, w) { .type = QT_SRV, .data = (t), .prio = (pr), \
	.weight = (w), .port = (p) }
#define RR_A(a) { .type = QT_A, .data = (a) }
#define RR_AAAA(a) { .type = QT_AAAA, .data = (a) }
#define RR_CNAME(n) { .type = QT_CNAME, .data = (n) }

#define ANSWER(q, t, ...) { .qname = (q), .qtype = (t), .act = ACT_ANSWER, \
	.rr = (const struct rr[]){ __VA_ARGS__ }, \
	.n_rr = sizeof((const struct rr[]){ __VA_ARGS__ }) / sizeof(struct rr) }
#define ANSWER_C(q, t, ...) { .qname = (q), .qtype = (t), .act = ACT_ANSWER, \
	.rr = (const struct rr[]){ __VA_ARGS__ }, .compress = true, \
	.n_rr = sizeof((const struct rr[]){ __VA_ARGS__ }) / sizeof(struct rr) }
#define NODATA(q, t) { .qname = (q), .qtype = (t), .act = ACT_ANSWER }
#define RCODE(q, t, a) { .qname = (q), .qtype = (t), .act = (a) }
#define RAW(q, t, f) { .qname = (q), .qtype = (t), .act = ACT_RAW, .raw = (f) }

struct fake;

struct conn {
	struct fake *f;
	int fd;			/* -1: slot free */
	unsigned char in[4096];
	size_t nin;
	unsigned char *out;
	size_t nout, off;
};

struct delayed {
	struct fake *f;
	uint64_t timer;		/* 0: slot free */
	unsigned char *buf;
	size_t len;
	struct sockaddr_in to;
};

struct qlog {
	char name[TEXT_MAX];
	unsigned type;
	bool tcp;
};

struct fake {
	struct loop *l;
	int udp, lsn;
	unsigned port;
	struct conn conn[CONN_MAX];
	struct delayed delayed[DELAY_MAX];
	const struct entry *script;
	size_t n_script;
	struct qlog qlog[LOG_MAX];
	size_t n_log;
	size_t n_tc;		/* answers sent truncated over UDP */
};

/* Builds the answer to query q, or returns NULL to drop it. */
static inline struct msg *
answer(struct fake *f, const unsigned char *q, size_t qlen, bool tcp,
    int *delay_ms)
{
	char name[TEXT_MAX];
	const struct entry *e = NULL;
	size_t off = 12;
	unsigned type, qclass, rcode = RC_NXDOMAIN;
	struct msg *m;

	*delay_ms = 0;
	if (qlen < 12 || (q[2] & 0x80) != 0 || q[4] != 0 || q[5] != 1)
		return NULL;
	if (!get_name(q, qlen, &off, name, sizeof(name)) || off + 4 > qlen)
		return NULL;
	type = (unsigned)q[off] << 8 | q[off + 1];
	qclass = (unsigned)q[off + 2] << 8 | q[off + 3];
	if (f->n_log < LOG_MAX) {
		struct qlog *lg = &f->qlog[f->n_log++];

		memcpy(lg->name, name, strlen(name) + 1);
		lg->type = type;
		lg->tcp = tcp;
	}
	for (size_t i = 0; i < f->n_script && e == NULL; i++) {
		if (f->script[i].qtype == type &&
		    strcasecmp(f->script[i].qname, name) == 0)
			e = &f->script[i];
	}
	if (e != NULL) {
		if (e->act == ACT_DROP)
			return NULL;
		rcode = e->act == ACT_NXDOMAIN ? RC_NXDOMAIN :
		    e->act == ACT_SERVFAIL ? RC_SERVFAIL :
		    e->act == ACT_REFUSED ? RC_REFUSED : RC_NOERROR;
		*delay_ms = e->delay_ms;
	}
	m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->compress = e != NULL && e->compress;
	put_header(m, q, rcode);
	put_name(m, name);
	put16(m, type);
	put16(m, qclass);
	m->qend = m->len;
	if (e != NULL && e->act == ACT_ANSWER) {
		for (size_t i = 0; i < e->n_rr; i++)
			put_rr(m, name, &e->rr[i]);
		set16(m, 6, e->n_rr);
	} else if (e != NULL && e->act == ACT_RAW) {
		e->raw(m);
	}
	return m;
}

static inline void
on_delayed(struct loop *l, void *arg)
{
	struct delayed *d = arg;

	(void)l;
	sendto(d->f->udp, d->buf, d->len, 0, (struct sockaddr *)&d->to,
	    sizeof(d->to));
	free(d->buf);
	d->buf = NULL;
	d->timer = 0;
}

static inline void
on_udp(struct loop *l, int fd, int events, void *arg)
{
	struct fake *f = arg;

	(void)events;
	for (int i = 0; i < 256; i++) {
		unsigned char q[4096];
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		struct msg *m;
		ssize_t n;
		int delay;

		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n < 0)
			break;
		m = answer(f, q, (size_t)n, false, &delay);
		if (m == NULL)
			continue;
		if (m->len > UDP_MAX) {
			m->b[2] |= 0x02;	/* TC: ask again over TCP */
			set16(m, 6, 0);
			set16(m, 8, 0);
			set16(m, 10, 0);
			m->len = m->qend;
			f->n_tc++;
		}
		if (delay > 0) {
			struct delayed *d = NULL;

			for (size_t j = 0; j < DELAY_MAX && d == NULL; j++) {
				if (f->delayed[j].timer == 0)
					d = &f->delayed[j];
			}
			assert_non_null(d);
			d->f = f;
			d->buf = malloc(m->len);
			assert_non_null(d->buf);
			memcpy(d->buf, m->b, m->len);
			d->len = m->len;
			d->to = from;
			d->timer = loop_timer(l, delay, on_delayed, d);
		} else {
			sendto(fd, m->b, m->len, 0, (struct sockaddr *)&from,
			    fromlen);
		}
		free(m);
	}
}

static inline void on_conn(struct loop *l, int fd, int events, void *arg);

static inline void
conn_close(struct conn *c)
{
	loop_unwatch(c->f->l, c->fd);
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->nout = c->off = c->nin = 0;
}

static inline void
conn_flush(struct conn *c)
{
	while (c->off < c->nout) {
		ssize_t n = write(c->fd, c->out + c->off, c->nout - c->off);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			conn_close(c);
			return;
		}
		c->off += (size_t)n;
	}
	if (c->off == c->nout)
		c->off = c->nout = 0;
	loop_watch(c->f->l, c->fd, LOOP_READ | (c->nout > 0 ? LOOP_WRITE : 0),
	    on_conn, c);
}

static inline void
on_conn(struct loop *l, int fd, int events, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)l;
	(void)fd;
	if (events & LOOP_WRITE) {
		conn_flush(c);
		if (c->fd < 0)
			return;
	}
	if (!(events & LOOP_READ))
		return;
	n = read(c->fd, c->in + c->nin, sizeof(c->in) - c->nin);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->nin += (size_t)n;
	while (c->nin >= 2) {
		size_t ql = (size_t)c->in[0] << 8 | c->in[1];
		struct msg *m;
		int delay;

		if (ql + 2 > sizeof(c->in)) {
			conn_close(c);
			return;
		}
		if (c->nin < ql + 2)
			break;
		m = answer(c->f, c->in + 2, ql, true, &delay);
		if (m != NULL) {
			c->out = realloc(c->out, c->nout + 2 + m->len);
			assert_non_null(c->out);
			c->out[c->nout] = (unsigned char)(m->len >> 8);
			c->out[c->nout + 1] = (unsigned char)m->len;
			memcpy(c->out + c->nout + 2, m->b, m->len);
			c->nout += 2 + m->len;
			free(m);
		}
		memmove(c->in, c->in + 2 + ql, c->nin - 2 - ql);
		c->nin -= 2 + ql;
	}
	conn_flush(c);
}

static inline void
on_accept(struct loop *l, int fd, int events, void *arg)
{
	struct fake *f = arg;
	struct conn *c = NULL;
	int s;

	(void)events;
	s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s < 0)
		return;
	for (size_t i = 0; i < CONN_MAX && c == NULL; i++) {
		if (f->conn[i].fd < 0)
			c = &f->conn[i];
	}
	if (c == NULL) {
		close(s);
		return;
	}
	c->f = f;
	c->fd = s;
	c->nin = c->nout = c->off = 0;
	loop_watch(l, s, LOOP_READ, on_conn, c);
}

/* Starts the fake on 127.0.0.1, UDP and TCP on one ephemeral port. */
static inline struct fake *
fake_new(struct loop *l)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->l = l;
	f->udp = f->lsn = -1;
	for (size_t i = 0; i < CONN_MAX; i++)
		f->conn[i].fd = -1;
	/* The UDP port the kernel picks may be taken for TCP: try again. */
	for (int attempt = 0; attempt < 50 && f->lsn < 0; attempt++) {
		struct sockaddr_in sa;
		socklen_t salen = sizeof(sa);
		int u, t, one = 1;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(u >= 0);
		assert_int_equal(bind(u, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(getsockname(u, (struct sockaddr *)&sa, &salen),
		    0);
		t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(t >= 0);
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(t, 8) == 0) {
			f->udp = u;
			f->lsn = t;
			f->port = ntohs(sa.sin_port);
		} else {
			close(u);
			close(t);
		}
	}
	assert_true(f->lsn >= 0);
	loop_watch(l, f->udp, LOOP_READ, on_udp, f);
	loop_watch(l, f->lsn, LOOP_READ, on_accept, f);
	return f;
}

static inline void
fake_free(struct fake *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < CONN_MAX; i++) {
		if (f->conn[i].fd >= 0)
			conn_close(&f->conn[i]);
	}
	for (size_t i = 0; i < DELAY_MAX; i++) {
		loop_cancel(f->l, f->delayed[i].timer);
		free(f->delayed[i].buf);
	}
	loop_unwatch(f->l, f->udp);
	loop_unwatch(f->l, f->lsn);
	close(f->udp);
	close(f->lsn);
	free(f);
}

/* How many queries for (name, type) the fake has seen. */
static inline size_t
queries(const struct fake *f, const char *name, unsigned type)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_log; i++)
		n += f->qlog[i].type == type && strcmp(f->qlog[i].name, name) == 0;
	return n;
}

/* How many A and AAAA queries the fake has seen. */
static inline size_t
addr_queries(const struct fake *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_log; i++)
		n += f->qlog[i].type == QT_A || f->qlog[i].type == QT_AAAA;
	return n;
}

/* ---- fixture --------------------------------------------------------------- */

struct fx {
	struct loop *l;
	struct fake *f;
	struct dns_resolver *r;
	struct dns_result *res, *res2;
	int calls, calls2;
	int relookup_rc;
	int settle_ms;		/* keep running this long after the callback */
	bool timed_out;
	int64_t start_ms, done_ms;
	size_t log_at_free;
};

static inline void
fx_resolver(struct fx *fx, int timeout_ms, int tries)
{
	char server[32], err[256];
	char *servers[1] = { server };

	dns_resolver_free(fx->r);
	snprintf(server, sizeof(server), "127.0.0.1:%u", fx->f->port);
	fx->r = dns_resolver_new(fx->l, servers, 1, timeout_ms, tries, err,
	    sizeof(err));
	if (fx->r == NULL)
		fail_msg("dns_resolver_new: %s", err);
}

static inline int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->l = loop_new();
	fx->f = fake_new(fx->l);
	fx_resolver(fx, QUERY_TIMEOUT_MS, 1);
	*state = fx;
	return 0;
}

static inline void
free_result(struct dns_result **r)
{
	if (*r != NULL) {
		dns_result_free(*r);
		free(*r);
		*r = NULL;
	}
}

static inline int
teardown(void **state)
{
	struct fx *fx = *state;

	dns_resolver_free(fx->r);
	free_result(&fx->res);
	free_result(&fx->res2);
	fake_free(fx->f);
	loop_free(fx->l);
	free(fx);
	return 0;
}

static inline void
on_stop(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l, 0);
}

static inline void
on_safety(struct loop *l, void *arg)
{
	struct fx *fx = arg;

	fx->timed_out = true;
	loop_stop(l, 2);
}

/* The dns_done_cb of most tests: keeps the first result (the callee owns
 * it), counts calls, stops the loop (after settle_ms if set). */
static inline void
on_result(void *arg, struct dns_result *r)
{
	struct fx *fx = arg;

	fx->calls++;
	fx->done_ms = loop_now_ms();
	if (fx->res == NULL) {
		fx->res = r;
	} else {
		dns_result_free(r);
		free(r);
	}
	if (fx->settle_ms == 0)
		loop_stop(fx->l, 0);
	else if (fx->calls == 1)
		loop_timer(fx->l, fx->settle_ms, on_stop, fx);
}

/* Runs the loop (once per test: loop_run does not restart after
 * loop_stop) under the safety timer. */
static inline void
run(struct fx *fx)
{
	uint64_t safety = loop_timer(fx->l, SAFETY_MS, on_safety, fx);

	loop_run(fx->l);
	loop_cancel(fx->l, safety);
	if (fx->timed_out)
		fail_msg("safety stop: nothing ended within %d ms", SAFETY_MS);
}

static inline void
set_script(struct fx *fx, const struct entry *e, size_t n)
{
	fx->f->script = e;
	fx->f->n_script = n;
	fx->f->n_log = 0;
}

/* Looks up ZONE against script; returns the result, checked to have come
 * exactly once and never from inside dns_lookup(). */
static inline struct dns_result *
lookup(struct fx *fx, const struct entry *e, size_t n)
{
	set_script(fx, e, n);
	fx->start_ms = loop_now_ms();
	assert_int_equal(dns_lookup(fx->r, ZONE, on_result, fx), 0);
	assert_int_equal(fx->calls, 0);
	run(fx);
	assert_int_equal(fx->calls, 1);
	assert_non_null(fx->res);
	assert_string_equal(fx->res->domain, ZONE);
	return fx->res;
}

/* The record of set svc with this target and port. */
static inline const struct dns_target *
find(const struct dns_result *r, enum dns_service svc, const char *target,
    unsigned port)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->t[i].svc == svc && r->t[i].port == port &&
		    strcmp(r->t[i].target, target) == 0)
			return &r->t[i];
	}
	fail_msg("no record %s %s:%u in the result", dns_service_label(svc),
	    target, port);
	return NULL;
}

/* t's addresses are exactly the n given, in this order. */
static inline void
expect_addrs(const struct dns_target *t, size_t n, ...)
{
	va_list ap;
	bool ok = t->n_addrs == n;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *a = va_arg(ap, const char *);

		if (ok && strcmp(t->addrs[i], a) != 0)
			ok = false;
	}
	va_end(ap);
	if (!ok) {
		char got[1024] = "";
		size_t o = 0;

		for (size_t i = 0; i < t->n_addrs && o < sizeof(got); i++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
			    i ? ", " : "", t->addrs[i]);
		fail_msg("%s: expected %zu addresses, got %zu: [%s]", t->target,
		    n, t->n_addrs, got);
	}
}

static inline void
expect_status(const struct dns_result *r, enum dns_status ssl,
    enum dns_status plain, enum dns_status us)
{
	assert_int_equal(r->status[DNS_SRV_SSL], ssl);
	assert_int_equal(r->status[DNS_SRV_PLAIN], plain);
	assert_int_equal(r->status[DNS_SRV_UNDERSCORE], us);
	for (int s = 0; s < DNS_SRV_N; s++) {
		if (r->status[s] != DNS_FAILED)
			assert_null(r->error[s]);
		else
			assert_non_null(r->error[s]);
	}
}

/* A test on a fresh fixture: a loop, the fake and a resolver. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif /* ZOOINIT_TESTS_DNS_FIX_H */
