/*
 * Unit tests for resolver/dns.c.
 *
 * The DNS server here is a FAKE that runs inside this test process, on the
 * same struct loop as the resolver (registered with loop_watch, so it is
 * all one poll loop: no threads, no fork). A real server such as dnsmasq
 * cannot be made to send malformed, oversized or hostile answers, which is
 * what this test is for.
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
#include "lib/fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ares.h>
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

static void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void
put8(struct msg *m, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(m, &c, 1);
}

static void
put16(struct msg *m, unsigned v)
{
	unsigned char c[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(m, c, 2);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void
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
static size_t
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
static void
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
static bool
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
static void
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

static void
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
static struct msg *
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

static void
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

static void
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

static void on_conn(struct loop *l, int fd, int events, void *arg);

static void
conn_close(struct conn *c)
{
	loop_unwatch(c->f->l, c->fd);
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->nout = c->off = c->nin = 0;
}

static void
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

static void
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

static void
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
static struct fake *
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

static void
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
static size_t
queries(const struct fake *f, const char *name, unsigned type)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_log; i++)
		n += f->qlog[i].type == type && strcmp(f->qlog[i].name, name) == 0;
	return n;
}

static size_t
queries_over(const struct fake *f, const char *name, unsigned type, bool tcp)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_log; i++)
		n += f->qlog[i].type == type && f->qlog[i].tcp == tcp &&
		    strcmp(f->qlog[i].name, name) == 0;
	return n;
}

/* How many A and AAAA queries the fake has seen. */
static size_t
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

static void
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

static int
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

static void
free_result(struct dns_result **r)
{
	if (*r != NULL) {
		dns_result_free(*r);
		free(*r);
		*r = NULL;
	}
}

static int
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

static void
on_stop(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l, 0);
}

static void
on_safety(struct loop *l, void *arg)
{
	struct fx *fx = arg;

	fx->timed_out = true;
	loop_stop(l, 2);
}

/* The dns_done_cb of most tests: keeps the first result (the callee owns
 * it), counts calls, stops the loop (after settle_ms if set). */
static void
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
static void
run(struct fx *fx)
{
	uint64_t safety = loop_timer(fx->l, SAFETY_MS, on_safety, fx);

	loop_run(fx->l);
	loop_cancel(fx->l, safety);
	if (fx->timed_out)
		fail_msg("safety stop: nothing ended within %d ms", SAFETY_MS);
}

static void
set_script(struct fx *fx, const struct entry *e, size_t n)
{
	fx->f->script = e;
	fx->f->n_script = n;
	fx->f->n_log = 0;
}

/* Looks up ZONE against script; returns the result, checked to have come
 * exactly once and never from inside dns_lookup(). */
static struct dns_result *
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
static const struct dns_target *
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
static void
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

static void
expect_no_addrs(const struct dns_target *t, const char *why)
{
	assert_int_equal(t->n_addrs, 0);
	assert_null(t->addrs);
	if (t->why == NULL)
		fail_msg("%s: why is NULL, expected \"%s\"", t->target, why);
	assert_string_equal(t->why, why);
}

static void
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

/* error is "<set>.zl.test: <what>". */
static void
expect_error(const struct dns_result *r, enum dns_service s, const char *what)
{
	char want[512];

	snprintf(want, sizeof(want), "%s.%s: %s", dns_service_label(s), ZONE,
	    what);
	assert_int_equal(r->status[s], DNS_FAILED);
	assert_non_null(r->error[s]);
	assert_string_equal(r->error[s], want);
}

/* ---- the result helpers on their own ----------------------------------- */

static void
test_service_names(void **state)
{
	(void)state;
	assert_string_equal(dns_service_label(DNS_SRV_SSL),
	    "_etcd-server-ssl._tcp");
	assert_string_equal(dns_service_label(DNS_SRV_PLAIN), "_etcd-server._tcp");
	assert_string_equal(dns_service_label(DNS_SRV_UNDERSCORE),
	    "_etcd_server._tcp");
	assert_string_equal(dns_service_scheme(DNS_SRV_SSL), "https");
	assert_string_equal(dns_service_scheme(DNS_SRV_PLAIN), "http");
	assert_string_equal(dns_service_scheme(DNS_SRV_UNDERSCORE), "http");
}

/* srv_name goes between the service and "._tcp", as etcd's
 * --discovery-srv-name puts it; none (NULL or "") leaves the names. */
static void
test_service_names_srv_name(void **state)
{
	static const struct {
		enum dns_service s;
		const char *srv_name, *want;
	} cases[] = {
		{ DNS_SRV_SSL, NULL, "_etcd-server-ssl._tcp.zl.test" },
		{ DNS_SRV_PLAIN, "", "_etcd-server._tcp.zl.test" },
		{ DNS_SRV_SSL, "blue", "_etcd-server-ssl-blue._tcp.zl.test" },
		{ DNS_SRV_PLAIN, "blue", "_etcd-server-blue._tcp.zl.test" },
		{ DNS_SRV_UNDERSCORE, "blue", "_etcd_server-blue._tcp.zl.test" },
		{ DNS_SRV_PLAIN, "a-1", "_etcd-server-a-1._tcp.zl.test" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = dns_service_name(cases[i].s, cases[i].srv_name,
		    "zl.test");
		assert_string_equal(n, cases[i].want);
		free(n);
	}
}

static void
test_result_add_and_addrs(void **state)
{
	struct dns_result r;
	struct dns_target *t;
	char name[32] = "h1.zl.test";

	(void)state;
	memset(&r, 0, sizeof(r));
	dns_result_free(&r);	/* safe on a zeroed struct */

	t = dns_result_add(&r, DNS_SRV_PLAIN, name, 2380, 10, 20);
	/* The target is copied. */
	name[0] = 'X';
	assert_string_equal(t->target, "h1.zl.test");
	assert_int_equal(t->svc, DNS_SRV_PLAIN);
	assert_int_equal(t->port, 2380);
	assert_int_equal(t->priority, 10);
	assert_int_equal(t->weight, 20);
	assert_int_equal(t->n_addrs, 0);
	assert_null(t->addrs);
	assert_null(t->why);

	t->why = strdup("no A/AAAA record");
	/* IPv4 before IPv6; numeric order within a family (10.0.0.9 before
	 * 10.0.0.10, which text order would swap); duplicates once, also
	 * when spelt differently (fd00::0002 is fd00::2). */
	dns_target_add_addr(t, "fd00::2");
	assert_null(t->why);	/* an address clears why */
	dns_target_add_addr(t, "10.0.0.10");
	dns_target_add_addr(t, "::1");
	dns_target_add_addr(t, "10.0.0.9");
	dns_target_add_addr(t, "10.0.0.10");
	dns_target_add_addr(t, "fd00::0002");
	dns_target_add_addr(t, "192.168.0.1");
	dns_target_add_addr(t, "fd00::10");
	dns_target_add_addr(t, "fd00::9");
	dns_target_add_addr(t, "10.0.0.9");
	expect_addrs(t, 7, "10.0.0.9", "10.0.0.10", "192.168.0.1", "::1",
	    "fd00::2", "fd00::9", "fd00::10");

	/* Appending reallocates: records stay in order, fields intact. */
	for (unsigned i = 0; i < 40; i++) {
		char n[32];

		snprintf(n, sizeof(n), "m%u.zl.test", i);
		dns_result_add(&r, DNS_SRV_UNDERSCORE, n, 3000 + i, i, 0);
	}
	assert_int_equal(r.n, 41);
	assert_string_equal(r.t[0].target, "h1.zl.test");
	assert_int_equal(r.t[0].n_addrs, 7);
	assert_string_equal(r.t[40].target, "m39.zl.test");
	assert_int_equal(r.t[40].port, 3039);
	assert_int_equal(r.t[40].svc, DNS_SRV_UNDERSCORE);

	dns_result_free(&r);
	assert_null(r.t);
	assert_int_equal(r.n, 0);
	dns_result_free(&r);	/* and again: it was zeroed */
}

/* ---- lookups against the fake ------------------------------------------ */

static void
test_happy(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV,
		    RR_SRV3("h1." ZONE, 2380, 20, 5),
		    RR_SRV3("h2." ZONE, 2381, 10, 0),
		    RR_SRV3("h3." ZONE, 2382, 30, 100)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		ANSWER("h1." ZONE, QT_AAAA, RR_AAAA("fd00::1")),
		ANSWER("h2." ZONE, QT_A, RR_A("10.0.0.20"), RR_A("10.0.0.3"),
		    RR_A("10.0.0.20")),
		NODATA("h2." ZONE, QT_AAAA),
		ANSWER("h3." ZONE, QT_A, RR_A("10.0.0.9")),
		ANSWER("h3." ZONE, QT_AAAA, RR_AAAA("fd00::10"),
		    RR_AAAA("fd00::9")),
		/* ssl and underscore sets: not scripted, so NXDOMAIN */
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	assert_int_equal(r->n, 3);
	/* Answer order, not priority order. */
	assert_string_equal(r->t[0].target, "h1." ZONE);
	assert_string_equal(r->t[1].target, "h2." ZONE);
	assert_string_equal(r->t[2].target, "h3." ZONE);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(r->t[i].svc, DNS_SRV_PLAIN);
		assert_int_equal(r->t[i].port, 2380 + i);
		assert_null(r->t[i].why);
	}
	assert_int_equal(r->t[0].priority, 20);
	assert_int_equal(r->t[0].weight, 5);
	assert_int_equal(r->t[1].priority, 10);
	assert_int_equal(r->t[1].weight, 0);
	assert_int_equal(r->t[2].priority, 30);
	assert_int_equal(r->t[2].weight, 100);
	expect_addrs(&r->t[0], 2, "10.0.0.1", "fd00::1");
	/* The duplicate A answer once; 10.0.0.3 sorts before 10.0.0.20. */
	expect_addrs(&r->t[1], 2, "10.0.0.3", "10.0.0.20");
	expect_addrs(&r->t[2], 3, "10.0.0.9", "fd00::9", "fd00::10");
	/* Each SRV set asked once, each target's A and AAAA once. */
	assert_int_equal(queries(fx->f, SSL_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, US_Q, QT_SRV), 1);
	assert_int_equal(addr_queries(fx->f), 6);
}

static void
test_nodata_is_missing(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		NODATA(SSL_Q, QT_SRV),
		NODATA(PLAIN_Q, QT_SRV),
		ANSWER_C(US_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_MISSING, DNS_OK);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->t[0].svc, DNS_SRV_UNDERSCORE);
	expect_addrs(find(r, DNS_SRV_UNDERSCORE, "h1." ZONE, 2380), 1,
	    "10.0.0.1");
}

/* NOERROR whose answer section holds no SRV record (only a CNAME to a
 * name without SRV records: what a recursive server returns for an alias
 * whose target has no data) is NODATA for the SRV set. */
static void
test_srv_answer_without_srv_is_missing(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_CNAME("elsewhere." ZONE)),
		ANSWER(US_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	assert_int_equal(r->n, 1);
	if (r->status[DNS_SRV_PLAIN] == DNS_OK)
		fail_msg("BUG resolver/dns.c got_srv(): an SRV answer with no "
		    "SRV record (CNAME only) gives DNS_OK with no records; "
		    "dns.h says NODATA is DNS_MISSING");
	expect_status(r, DNS_MISSING, DNS_MISSING, DNS_OK);
}

static void
test_servfail_refused(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(SSL_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		RCODE(PLAIN_Q, QT_SRV, ACT_SERVFAIL),
		RCODE(US_Q, QT_SRV, ACT_REFUSED),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_OK, DNS_FAILED, DNS_FAILED);
	/* The message names the set that failed... */
	assert_true(strncmp(r->error[DNS_SRV_PLAIN], PLAIN_Q ": ",
	    strlen(PLAIN_Q ": ")) == 0);
	assert_true(strncmp(r->error[DNS_SRV_UNDERSCORE], US_Q ": ",
	    strlen(US_Q ": ")) == 0);
	/* ...and says what the server answered: it was reached. */
	if (strstr(r->error[DNS_SRV_PLAIN], ares_strerror(ARES_ECONNREFUSED)))
		fail_msg("BUG resolver/dns.c dns_resolver_new(): without "
		    "ARES_FLAG_NOCHECKRESP c-ares 1.18 turns SERVFAIL/REFUSED "
		    "into ARES_ECONNREFUSED; got \"%s\"",
		    r->error[DNS_SRV_PLAIN]);
	expect_error(r, DNS_SRV_PLAIN, ares_strerror(ARES_ESERVFAIL));
	expect_error(r, DNS_SRV_UNDERSCORE, ares_strerror(ARES_EREFUSED));
	/* A failed set keeps the one that answered. */
	assert_int_equal(r->n, 1);
	expect_addrs(find(r, DNS_SRV_SSL, "h1." ZONE, 2380), 1, "10.0.0.1");
}

static void
test_timeout_all(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RCODE(SSL_Q, QT_SRV, ACT_DROP),
		RCODE(PLAIN_Q, QT_SRV, ACT_DROP),
		RCODE(US_Q, QT_SRV, ACT_DROP),
	};
	const struct dns_result *r;
	int64_t took;

	fx_resolver(fx, 200, 1);
	/* Keep running well past the timeout: a second callback would show. */
	fx->settle_ms = 500;
	r = lookup(fx, script, ARRAY_SIZE(script));
	took = fx->done_ms - fx->start_ms;
	expect_status(r, DNS_FAILED, DNS_FAILED, DNS_FAILED);
	for (int s = 0; s < DNS_SRV_N; s++)
		expect_error(r, (enum dns_service)s,
		    ares_strerror(ARES_ETIMEOUT));
	assert_int_equal(r->n, 0);
	assert_int_equal(fx->calls, 1);
	/* One try of 200 ms each, in parallel. */
	if (took < 190 || took > 1500)
		fail_msg("timed out after %lld ms, expected about 200",
		    (long long)took);
	assert_int_equal(queries(fx->f, SSL_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, US_Q, QT_SRV), 1);
}

/* The etcd 3.4 case from NOTES.md, but with a set that times out: the set
 * fails, the others still come back resolved. */
static void
test_timeout_one_set(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RCODE(SSL_Q, QT_SRV, ACT_DROP),
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r;

	fx_resolver(fx, 200, 1);
	r = lookup(fx, script, ARRAY_SIZE(script));
	expect_status(r, DNS_FAILED, DNS_OK, DNS_MISSING);
	expect_error(r, DNS_SRV_SSL, ares_strerror(ARES_ETIMEOUT));
	assert_int_equal(r->n, 1);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
}

/* ---- malformed SRV answers ------------------------------------------------ */

/* An SRV RR's owner (a pointer to the question), type, class and TTL. */
static void
put_srv_head(struct msg *m)
{
	put16(m, 0xc00c);
	put16(m, QT_SRV);
	put16(m, 1);
	put32(m, 60);
}

/* The message ends inside the RR's fixed part. */
static void
raw_truncated_rr(struct msg *m)
{
	set16(m, 6, 1);
	put16(m, 0xc00c);
	put16(m, QT_SRV);
	put16(m, 1);
}

/* rdlength promises 400 bytes; 18 follow. */
static void
raw_rdlength_past_end(struct msg *m)
{
	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 400);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put_name(m, "h1." ZONE);
}

/* rdlength too short for priority, weight and port. */
static void
raw_rdlength_short(struct msg *m)
{
	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 4);
	put16(m, 10);
	put16(m, 10);
}

/* The target is a compression pointer to itself. */
static void
raw_pointer_self(struct msg *m)
{
	size_t at;

	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 8);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	at = m->len;
	put16(m, 0xc000 | (unsigned)at);
}

/* The target is label "a" and then a pointer back to that label. */
static void
raw_pointer_cycle(struct msg *m)
{
	size_t at;

	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 10);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	at = m->len;
	put8(m, 1);
	put8(m, 'a');
	put16(m, 0xc000 | (unsigned)at);
}

/* The target points past the end of the message. */
static void
raw_pointer_past_end(struct msg *m)
{
	set16(m, 6, 1);
	put_srv_head(m);
	put16(m, 8);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put16(m, 0xc000 | 0x3fff);
}

/* The header counts three answers; one follows. */
static void
raw_ancount_lies(struct msg *m)
{
	size_t rdlen_at;

	set16(m, 6, 3);
	put_srv_head(m);
	rdlen_at = m->len;
	put16(m, 0);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put_name(m, "h1." ZONE);
	set16(m, rdlen_at, m->len - rdlen_at - 2);
}

/* A good record, then one whose target loops: nothing of the set may be
 * kept (and h1 not be asked about). */
static void
raw_good_then_bad(struct msg *m)
{
	size_t rdlen_at, at;

	set16(m, 6, 2);
	put_srv_head(m);
	rdlen_at = m->len;
	put16(m, 0);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2380);
	put_name(m, "h1." ZONE);
	set16(m, rdlen_at, m->len - rdlen_at - 2);
	put_srv_head(m);
	put16(m, 8);
	put16(m, 10);
	put16(m, 10);
	put16(m, 2381);
	at = m->len;
	put16(m, 0xc000 | (unsigned)at);
}

static void
malformed_case(void **state, void (*raw)(struct msg *m))
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RAW(PLAIN_Q, QT_SRV, raw),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_FAILED, DNS_MISSING);
	expect_error(r, DNS_SRV_PLAIN, "malformed SRV answer");
	assert_int_equal(r->n, 0);
	assert_int_equal(addr_queries(fx->f), 0);
}

static void
test_malformed_truncated_rr(void **state)
{
	malformed_case(state, raw_truncated_rr);
}

static void
test_malformed_rdlength_past_end(void **state)
{
	malformed_case(state, raw_rdlength_past_end);
}

static void
test_malformed_rdlength_short(void **state)
{
	malformed_case(state, raw_rdlength_short);
}

static void
test_malformed_pointer_self(void **state)
{
	malformed_case(state, raw_pointer_self);
}

static void
test_malformed_pointer_cycle(void **state)
{
	malformed_case(state, raw_pointer_cycle);
}

static void
test_malformed_pointer_past_end(void **state)
{
	malformed_case(state, raw_pointer_past_end);
}

static void
test_malformed_ancount_lies(void **state)
{
	malformed_case(state, raw_ancount_lies);
}

static void
test_malformed_good_then_bad(void **state)
{
	malformed_case(state, raw_good_then_bad);
}

/* ---- big answers: TC over UDP, then TCP ---------------------------------- */

static void
test_huge_answer_rejected(void **state)
{
	struct fx *fx = *state;
	enum { N = 300 };
	static char names[N][32];
	struct rr *rrs = calloc(N, sizeof(*rrs));
	struct entry script[1];
	const struct dns_result *r;
	char what[128];

	assert_non_null(rrs);
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "m%zu." ZONE, i);
		rrs[i] = (struct rr)RR_SRV(names[i], 2380);
	}
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = N, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));
	free(rrs);

	/* Truncated over UDP, asked again and served whole over TCP. */
	assert_true(fx->f->n_tc >= 1);
	assert_int_equal(queries_over(fx->f, PLAIN_Q, QT_SRV, false), 1);
	assert_int_equal(queries_over(fx->f, PLAIN_Q, QT_SRV, true), 1);
	snprintf(what, sizeof(what),
	    "answer has %d records, more than the %d accepted", N,
	    DNS_MAX_RECORDS);
	expect_status(r, DNS_MISSING, DNS_FAILED, DNS_MISSING);
	expect_error(r, DNS_SRV_PLAIN, what);
	assert_non_null(strstr(r->error[DNS_SRV_PLAIN],
	    "more than the 256 accepted"));
	assert_int_equal(r->n, 0);
	assert_int_equal(addr_queries(fx->f), 0);
}

static void
test_big_answer_accepted(void **state)
{
	struct fx *fx = *state;
	enum { N = 200, HOSTS = 20 };
	static char names[HOSTS][32], addrs[HOSTS][32];
	struct rr *rrs = calloc(N + HOSTS, sizeof(*rrs));
	struct entry script[1 + HOSTS];
	const struct dns_result *r;

	assert_non_null(rrs);
	memset(script, 0, sizeof(script));
	for (size_t h = 0; h < HOSTS; h++) {
		snprintf(names[h], sizeof(names[h]), "n%02zu." ZONE, h);
		snprintf(addrs[h], sizeof(addrs[h]), "10.2.0.%zu", h + 1);
		rrs[N + h] = (struct rr)RR_A(addrs[h]);
		script[1 + h] = (struct entry){ .qname = names[h],
		    .qtype = QT_A, .act = ACT_ANSWER, .rr = &rrs[N + h],
		    .n_rr = 1 };
	}
	/* 200 records over 20 targets: also 20 A queries, not 200. */
	for (size_t i = 0; i < N; i++)
		rrs[i] = (struct rr)RR_SRV(names[i % HOSTS],
		    (unsigned)(3000 + i));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = N, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));

	assert_true(fx->f->n_tc >= 1);
	assert_int_equal(queries_over(fx->f, PLAIN_Q, QT_SRV, true), 1);
	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	assert_int_equal(r->n, N);
	for (size_t i = 0; i < N; i++) {
		assert_string_equal(r->t[i].target, names[i % HOSTS]);
		assert_int_equal(r->t[i].port, 3000 + i);
		expect_addrs(&r->t[i], 1, addrs[i % HOSTS]);
		assert_null(r->t[i].why);
	}
	for (size_t h = 0; h < HOSTS; h++) {
		assert_int_equal(queries(fx->f, names[h], QT_A), 1);
		assert_int_equal(queries(fx->f, names[h], QT_AAAA), 1);
	}
	assert_int_equal(addr_queries(fx->f), 2 * HOSTS);
	free(rrs);
}

/* At most DNS_MAX_ADDRS addresses per target and family. */
static void
test_addr_cap(void **state)
{
	struct fx *fx = *state;
	enum { N = 20 };
	static char a4[N][32], a6[N][48];
	struct rr *rrs = calloc(2 * N + 1, sizeof(*rrs));
	struct entry script[3];
	const struct dns_result *r;
	const struct dns_target *t;

	assert_non_null(rrs);
	for (size_t i = 0; i < N; i++) {
		snprintf(a4[i], sizeof(a4[i]), "10.3.0.%zu", i + 1);
		snprintf(a6[i], sizeof(a6[i]), "fd00::3:%zx", i + 1);
		rrs[i] = (struct rr)RR_A(a4[i]);
		rrs[N + i] = (struct rr)RR_AAAA(a6[i]);
	}
	rrs[2 * N] = (struct rr)RR_SRV("h1." ZONE, 2380);
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = &rrs[2 * N], .n_rr = 1 };
	script[1] = (struct entry){ .qname = "h1." ZONE, .qtype = QT_A,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = N, .compress = true };
	script[2] = (struct entry){ .qname = "h1." ZONE, .qtype = QT_AAAA,
	    .act = ACT_ANSWER, .rr = &rrs[N], .n_rr = N, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));
	free(rrs);

	t = find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380);
	assert_int_equal(t->n_addrs, 2 * DNS_MAX_ADDRS);
	for (size_t i = 0; i < t->n_addrs; i++) {
		bool v6 = strchr(t->addrs[i], ':') != NULL;

		assert_int_equal(v6, i >= DNS_MAX_ADDRS);
	}
}

/* ---- hostile and odd targets --------------------------------------------- */

static void
fill_labels(char *out, size_t n_labels, const size_t *lens)
{
	size_t o = 0;

	for (size_t i = 0; i < n_labels; i++) {
		if (i > 0)
			out[o++] = '.';
		memset(out + o, 'a' + (int)i, lens[i]);
		o += lens[i];
	}
	out[o] = '\0';
}

static void
test_hostile_targets(void **state)
{
	struct fx *fx = *state;
	static char n255[256], n319[320];
	static const size_t l255[] = { 63, 63, 63, 63 };
	static const size_t l319[] = { 63, 63, 63, 63, 63 };
	/* Each in the presentation form c-ares hands back: reserved
	 * characters as \c, bytes outside printable ASCII as \DDD. */
	const char *hostile[] = {
		"a\\;b." ZONE,		/* shell metacharacter */
		"x/y." ZONE,		/* path separator */
		"\\.\\./etc",		/* one label "../etc" */
		"a b." ZONE,		/* space */
		"a\\010b." ZONE,	/* newline */
		"a\\000b." ZONE,	/* NUL */
		"10\\.0\\.0\\.7",	/* one label that reads as an IPv4 */
		"h1\\." ZONE,		/* a dot inside a label */
		"-h." ZONE,		/* leading hyphen */
		"",			/* the root: "service not offered" */
		n255,			/* 255 bytes: over the 253 of a name */
	};
	enum { NH = ARRAY_SIZE(hostile) };
	struct rr rrs[NH + 2];
	struct entry script[2];
	const struct dns_result *r;

	fill_labels(n255, 4, l255);
	fill_labels(n319, 5, l319);
	assert_int_equal(strlen(n255), 255);
	for (size_t i = 0; i < NH; i++)
		rrs[i] = (struct rr)RR_SRV(hostile[i], (unsigned)(2400 + i));
	rrs[NH] = (struct rr)RR_SRV(n319, 2399);
	rrs[NH + 1] = (struct rr)RR_SRV("ok." ZONE, 2380);
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = rrs, .n_rr = ARRAY_SIZE(rrs) };
	script[1] = (struct entry)ANSWER("ok." ZONE, QT_A, RR_A("10.0.0.5"));
	r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	assert_int_equal(r->n, NH + 2);
	/* Every record kept, in answer order, with its raw target; none
	 * resolved, each saying why. */
	for (size_t i = 0; i < NH; i++) {
		assert_string_equal(r->t[i].target, hostile[i]);
		assert_int_equal(r->t[i].port, 2400 + i);
		expect_no_addrs(&r->t[i], "not a valid host name");
	}
	/* Longer than any name may be: kept cut to 255 bytes (dns.c keeps
	 * "at most a host name's worth"), still not resolved. */
	assert_int_equal(strlen(r->t[NH].target), 255);
	assert_memory_equal(r->t[NH].target, n319, 255);
	expect_no_addrs(&r->t[NH], "not a valid host name");
	expect_addrs(find(r, DNS_SRV_PLAIN, "ok." ZONE, 2380), 1, "10.0.0.5");

	/* Only the valid target was asked about. */
	for (size_t i = 0; i < fx->f->n_log; i++) {
		const struct qlog *q = &fx->f->qlog[i];

		if (q->type != QT_SRV && strcmp(q->name, "ok." ZONE) != 0)
			fail_msg("query type %u sent for hostile name \"%s\"",
			    q->type, q->name);
	}
	assert_int_equal(queries(fx->f, "ok." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "ok." ZONE, QT_AAAA), 1);
	assert_int_equal(addr_queries(fx->f), 2);
}

/* The longest valid name (253 bytes) is asked about and resolves. */
static void
test_longest_valid_name(void **state)
{
	struct fx *fx = *state;
	static char n253[254];
	static const size_t lens[] = { 63, 63, 63, 61 };
	struct rr rrs[2];
	struct entry script[2];
	const struct dns_result *r;

	fill_labels(n253, 4, lens);
	assert_int_equal(strlen(n253), 253);
	rrs[0] = (struct rr)RR_SRV(n253, 2380);
	rrs[1] = (struct rr)RR_A("10.0.0.253");
	memset(script, 0, sizeof(script));
	script[0] = (struct entry){ .qname = PLAIN_Q, .qtype = QT_SRV,
	    .act = ACT_ANSWER, .rr = &rrs[0], .n_rr = 1 };
	/* Compressed, the answer fits in 512 bytes: one query each, UDP. */
	script[1] = (struct entry){ .qname = n253, .qtype = QT_A,
	    .act = ACT_ANSWER, .rr = &rrs[1], .n_rr = 1, .compress = true };
	r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	expect_addrs(find(r, DNS_SRV_PLAIN, n253, 2380), 1, "10.0.0.253");
	assert_int_equal(queries(fx->f, n253, QT_A), 1);
	assert_int_equal(queries(fx->f, n253, QT_AAAA), 1);
}

static void
test_ipv4_literal_target(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("10.0.0.7", 2380),
		    RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		/* Would be wrong to use: the literal is the address. */
		ANSWER("10.0.0.7", QT_A, RR_A("10.9.9.9")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));
	const struct dns_target *t;

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	t = find(r, DNS_SRV_PLAIN, "10.0.0.7", 2380);
	expect_addrs(t, 1, "10.0.0.7");
	assert_null(t->why);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
	assert_int_equal(queries(fx->f, "10.0.0.7", QT_A), 0);
	assert_int_equal(queries(fx->f, "10.0.0.7", QT_AAAA), 0);
	assert_int_equal(addr_queries(fx->f), 2);
}

/* ---- address lookups -------------------------------------------------------- */

static void
test_target_without_address(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h2." ZONE, 2380), RR_SRV("h3." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		ANSWER("h3." ZONE, QT_AAAA, RR_AAAA("fd00::3")),
		/* h2: NXDOMAIN on A and AAAA (not scripted) */
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
	assert_null(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380)->why);
	expect_no_addrs(find(r, DNS_SRV_PLAIN, "h2." ZONE, 2380),
	    "no A/AAAA record");
	expect_addrs(find(r, DNS_SRV_PLAIN, "h3." ZONE, 2380), 1, "fd00::3");
	assert_null(find(r, DNS_SRV_PLAIN, "h3." ZONE, 2380)->why);
	assert_int_equal(queries(fx->f, "h2." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "h2." ZONE, QT_AAAA), 1);
}

static void
test_address_servfail(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h2." ZONE, 2380), RR_SRV("h3." ZONE, 2380)),
		/* h1: the A query fails, AAAA is NXDOMAIN (default). */
		RCODE("h1." ZONE, QT_A, ACT_SERVFAIL),
		/* h2: the same, but the failure arrives last. */
		{ .qname = "h2." ZONE, .qtype = QT_A, .act = ACT_SERVFAIL,
		    .delay_ms = 100 },
		/* h3: A answers, AAAA fails: the address is what counts. */
		ANSWER("h3." ZONE, QT_A, RR_A("10.0.0.3")),
		RCODE("h3." ZONE, QT_AAAA, ACT_SERVFAIL),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));
	const char *names[] = { "h1." ZONE, "h2." ZONE };
	const struct dns_target *t;

	expect_status(r, DNS_MISSING, DNS_OK, DNS_MISSING);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		t = find(r, DNS_SRV_PLAIN, names[i], 2380);
		assert_int_equal(t->n_addrs, 0);
		assert_non_null(t->why);
		if (strcmp(t->why, "no A/AAAA record") == 0)
			fail_msg("%s: a failed A query reads \"no A/AAAA "
			    "record\"", names[i]);
		if (strcmp(t->why, ares_strerror(ARES_ECONNREFUSED)) == 0)
			fail_msg("BUG resolver/dns.c dns_resolver_new(): "
			    "SERVFAIL on %s's A query reads \"%s\" (c-ares "
			    "1.18 without ARES_FLAG_NOCHECKRESP)", names[i],
			    t->why);
		assert_string_equal(t->why, ares_strerror(ARES_ESERVFAIL));
	}
	t = find(r, DNS_SRV_PLAIN, "h3." ZONE, 2380);
	expect_addrs(t, 1, "10.0.0.3");
	assert_null(t->why);
}

static void
test_same_target_twice(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h1." ZONE, 2381), RR_SRV("h2." ZONE, 2380)),
		ANSWER(US_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
		ANSWER("h1." ZONE, QT_AAAA, RR_AAAA("fd00::1")),
		ANSWER("h2." ZONE, QT_A, RR_A("10.0.0.2")),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));

	expect_status(r, DNS_MISSING, DNS_OK, DNS_OK);
	assert_int_equal(r->n, 4);
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 2, "10.0.0.1",
	    "fd00::1");
	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2381), 2, "10.0.0.1",
	    "fd00::1");
	expect_addrs(find(r, DNS_SRV_UNDERSCORE, "h1." ZONE, 2380), 2,
	    "10.0.0.1", "fd00::1");
	expect_addrs(find(r, DNS_SRV_PLAIN, "h2." ZONE, 2380), 1, "10.0.0.2");
	for (size_t i = 0; i < r->n; i++)
		assert_null(r->t[i].why);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_AAAA), 1);
	assert_int_equal(addr_queries(fx->f), 4);
}

/* A target listed twice whose A and AAAA answers are a CNAME to a name
 * without addresses (NOERROR, no address): neither record has an address,
 * so each must say why. */
static void
test_same_target_twice_no_address(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("c1." ZONE, 2380)),
		ANSWER(US_Q, QT_SRV, RR_SRV("c1." ZONE, 2380)),
		ANSWER("c1." ZONE, QT_A, RR_CNAME("gone." ZONE)),
		ANSWER("c1." ZONE, QT_AAAA, RR_CNAME("gone." ZONE)),
	};
	const struct dns_result *r = lookup(fx, script, ARRAY_SIZE(script));
	const struct dns_target *t;

	expect_status(r, DNS_MISSING, DNS_OK, DNS_OK);
	assert_int_equal(queries(fx->f, "c1." ZONE, QT_A), 1);
	expect_no_addrs(find(r, DNS_SRV_PLAIN, "c1." ZONE, 2380),
	    "no A/AAAA record");
	t = find(r, DNS_SRV_UNDERSCORE, "c1." ZONE, 2380);
	assert_int_equal(t->n_addrs, 0);
	if (t->why == NULL)
		fail_msg("BUG resolver/dns.c resolve_targets(): the second "
		    "record for c1 has n_addrs 0 and why NULL (only the "
		    "first record of a name gets the initial why)");
	assert_string_equal(t->why, "no A/AAAA record");
}

/* ---- what goes on the wire ---------------------------------------------- */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Every query is for a fully qualified name in the zone: no search domain
 * appended, even with one in the environment and ndots high. */
static void
test_queries_are_fqdn(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};
	const struct dns_result *r;

	setenv("LOCALDOMAIN", "search.invalid", 1);
	setenv("RES_OPTIONS", "ndots:9", 1);
	fx_resolver(fx, QUERY_TIMEOUT_MS, 1);
	unsetenv("LOCALDOMAIN");
	unsetenv("RES_OPTIONS");
	r = lookup(fx, script, ARRAY_SIZE(script));

	expect_addrs(find(r, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1, "10.0.0.1");
	assert_int_equal(fx->f->n_log, 5);
	for (size_t i = 0; i < fx->f->n_log; i++) {
		const char *n = fx->f->qlog[i].name;

		if (!ends_with(n, "." ZONE) || strstr(n, "invalid") != NULL)
			fail_msg("query for \"%s\" is not under %s", n, ZONE);
	}
	assert_int_equal(queries(fx->f, SSL_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, US_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_A), 1);
	assert_int_equal(queries(fx->f, "h1." ZONE, QT_AAAA), 1);
}

/* ---- lifetime ----------------------------------------------------------- */

static void
on_free_now(struct loop *l, void *arg)
{
	struct fx *fx = arg;

	fx->log_at_free = fx->f->n_log;
	dns_resolver_free(fx->r);
	fx->r = NULL;
	/* Run on: a callback or a stale socket watch would show now. */
	loop_timer(l, 300, on_stop, fx);
}

static void
test_free_while_srv_in_flight(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		RCODE(SSL_Q, QT_SRV, ACT_DROP),
		RCODE(PLAIN_Q, QT_SRV, ACT_DROP),
		RCODE(US_Q, QT_SRV, ACT_DROP),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	assert_int_equal(dns_lookup(fx->r, ZONE, on_result, fx), 0);
	loop_timer(fx->l, 100, on_free_now, fx);
	run(fx);
	assert_int_equal(fx->log_at_free, 3);
	assert_int_equal(fx->calls, 0);
	assert_null(fx->res);
}

/* Frees the resolver once both targets' address queries have arrived. */
static void
on_poll_free(struct loop *l, void *arg)
{
	struct fx *fx = arg;

	if (addr_queries(fx->f) < 4) {
		loop_timer(l, 10, on_poll_free, fx);
		return;
	}
	on_free_now(l, fx);
}

static void
test_free_while_addr_in_flight(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380),
		    RR_SRV("h2." ZONE, 2380)),
		RCODE("h1." ZONE, QT_A, ACT_DROP),
		RCODE("h1." ZONE, QT_AAAA, ACT_DROP),
		RCODE("h2." ZONE, QT_A, ACT_DROP),
		RCODE("h2." ZONE, QT_AAAA, ACT_DROP),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	assert_int_equal(dns_lookup(fx->r, ZONE, on_result, fx), 0);
	loop_timer(fx->l, 10, on_poll_free, fx);
	run(fx);
	assert_int_equal(fx->log_at_free, 7);
	assert_int_equal(fx->calls, 0);
	assert_null(fx->res);
}

static void
on_second(void *arg, struct dns_result *r)
{
	struct fx *fx = arg;

	fx->calls2++;
	if (fx->res2 == NULL) {
		fx->res2 = r;
	} else {
		dns_result_free(r);
		free(r);
	}
	loop_stop(fx->l, 0);
}

/* The first lookup's callback starts the next: the resolver is free
 * again by the time its callback runs. */
static void
on_first(void *arg, struct dns_result *r)
{
	struct fx *fx = arg;

	fx->calls++;
	if (fx->res == NULL) {
		fx->res = r;
	} else {
		dns_result_free(r);
		free(r);
	}
	fx->relookup_rc = dns_lookup(fx->r, "other.test", on_second, fx);
	if (fx->relookup_rc != 0)
		loop_stop(fx->l, 0);
}

static void
test_busy_then_reuse(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	fx->relookup_rc = 99;
	assert_int_equal(dns_lookup(fx->r, ZONE, on_first, fx), 0);
	/* One lookup at a time; a refused one changes nothing. */
	assert_int_equal(dns_lookup(fx->r, ZONE, on_first, fx), -1);
	assert_int_equal(dns_lookup(fx->r, "other.test", on_second, fx), -1);
	assert_int_equal(fx->calls, 0);
	run(fx);

	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->relookup_rc, 0);
	assert_int_equal(fx->calls2, 1);
	assert_non_null(fx->res);
	assert_string_equal(fx->res->domain, ZONE);
	expect_status(fx->res, DNS_MISSING, DNS_OK, DNS_MISSING);
	expect_addrs(find(fx->res, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1,
	    "10.0.0.1");
	assert_non_null(fx->res2);
	assert_string_equal(fx->res2->domain, "other.test");
	expect_status(fx->res2, DNS_MISSING, DNS_MISSING, DNS_MISSING);
	assert_int_equal(fx->res2->n, 0);
	/* The refused calls sent nothing. */
	assert_int_equal(queries(fx->f, PLAIN_Q, QT_SRV), 1);
	assert_int_equal(queries(fx->f, "_etcd-server._tcp.other.test",
	    QT_SRV), 1);
}

/* c-ares fails these queries inside ares_query() (empty label): the
 * callback still runs later, from the loop, once. */
static void
test_bad_domain_fails_from_loop(void **state)
{
	struct fx *fx = *state;

	set_script(fx, NULL, 0);
	assert_int_equal(dns_lookup(fx->r, "zl..test", on_result, fx), 0);
	assert_int_equal(fx->calls, 0);
	fx->settle_ms = 100;
	run(fx);
	assert_int_equal(fx->calls, 1);
	assert_string_equal(fx->res->domain, "zl..test");
	assert_int_equal(fx->res->n, 0);
	for (int s = 0; s < DNS_SRV_N; s++) {
		char want[256];

		snprintf(want, sizeof(want), "%s.zl..test: %s",
		    dns_service_label((enum dns_service)s),
		    ares_strerror(ARES_EBADNAME));
		assert_int_equal(fx->res->status[s], DNS_FAILED);
		assert_string_equal(fx->res->error[s], want);
	}
	assert_int_equal(fx->f->n_log, 0);
}

/* Every query failed inside dns_lookup(), so the result is complete and
 * only its callback is pending: freeing now must cancel that too (else a
 * timer fires on a freed resolver). */
static void
test_free_before_callback_runs(void **state)
{
	struct fx *fx = *state;

	set_script(fx, NULL, 0);
	assert_int_equal(dns_lookup(fx->r, "zl..test", on_result, fx), 0);
	dns_resolver_free(fx->r);
	fx->r = NULL;
	loop_timer(fx->l, 200, on_stop, fx);
	run(fx);
	assert_int_equal(fx->calls, 0);
	assert_null(fx->res);
}

/* Freeing the resolver from its own callback is allowed. */
static void
on_result_free(void *arg, struct dns_result *r)
{
	struct fx *fx = arg;

	on_result(arg, r);
	dns_resolver_free(fx->r);
	fx->r = NULL;
}

static void
test_free_in_callback(void **state)
{
	struct fx *fx = *state;
	const struct entry script[] = {
		ANSWER(PLAIN_Q, QT_SRV, RR_SRV("h1." ZONE, 2380)),
		ANSWER("h1." ZONE, QT_A, RR_A("10.0.0.1")),
	};

	set_script(fx, script, ARRAY_SIZE(script));
	assert_int_equal(dns_lookup(fx->r, ZONE, on_result_free, fx), 0);
	fx->settle_ms = 200;
	run(fx);
	assert_int_equal(fx->calls, 1);
	assert_null(fx->r);
	expect_addrs(find(fx->res, DNS_SRV_PLAIN, "h1." ZONE, 2380), 1,
	    "10.0.0.1");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_names),
		cmocka_unit_test(test_service_names_srv_name),
		cmocka_unit_test(test_result_add_and_addrs),
		T(test_happy),
		T(test_nodata_is_missing),
		T(test_srv_answer_without_srv_is_missing),
		T(test_servfail_refused),
		T(test_timeout_all),
		T(test_timeout_one_set),
		T(test_malformed_truncated_rr),
		T(test_malformed_rdlength_past_end),
		T(test_malformed_rdlength_short),
		T(test_malformed_pointer_self),
		T(test_malformed_pointer_cycle),
		T(test_malformed_pointer_past_end),
		T(test_malformed_ancount_lies),
		T(test_malformed_good_then_bad),
		T(test_huge_answer_rejected),
		T(test_big_answer_accepted),
		T(test_addr_cap),
		T(test_hostile_targets),
		T(test_longest_valid_name),
		T(test_ipv4_literal_target),
		T(test_target_without_address),
		T(test_address_servfail),
		T(test_same_target_twice),
		T(test_same_target_twice_no_address),
		T(test_queries_are_fqdn),
		T(test_free_while_srv_in_flight),
		T(test_free_while_addr_in_flight),
		T(test_busy_then_reuse),
		T(test_bad_domain_fails_from_loop),
		T(test_free_before_callback_runs),
		T(test_free_in_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
