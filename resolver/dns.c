#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "resolver/dns.h"
#include "resolver/dnsname.h"

/* c-ares 1.18 keeps T_SRV etc. in arpa/nameser.h under other names. */
#define Q_CLASS_IN 1
#define Q_TYPE_A 1
#define Q_TYPE_AAAA 28
#define Q_TYPE_SRV 33

static const char *const svc_labels[DNS_SRV_N] = {
	"_etcd-server-ssl._tcp", "_etcd-server._tcp", "_etcd_server._tcp",
};

const char *
dns_service_label(enum dns_service s)
{
	return svc_labels[s];
}

char *
dns_service_name(enum dns_service s, const char *srv_name, const char *domain)
{
	const char *l = svc_labels[s];
	size_t svc_len = strcspn(l, ".");	/* "_etcd-server-ssl" */

	if (srv_name == NULL || srv_name[0] == '\0')
		return xasprintf("%s.%s", l, domain);
	return xasprintf("%.*s-%s%s.%s", (int)svc_len, l, srv_name,
	    l + svc_len, domain);
}

const char *
dns_service_scheme(enum dns_service s)
{
	return s == DNS_SRV_SSL ? "https" : "http";
}

void
dns_result_free(struct dns_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct dns_target *t = &r->t[i];
		for (size_t j = 0; j < t->n_addrs; j++)
			free(t->addrs[j]);
		free(t->addrs);
		free(t->target);
		free(t->why);
	}
	free(r->t);
	for (int s = 0; s < DNS_SRV_N; s++)
		free(r->error[s]);
	free(r->domain);
	free(r->srv_name);
	memset(r, 0, sizeof(*r));
}

struct dns_target *
dns_result_add(struct dns_result *r, enum dns_service svc, const char *target,
    unsigned port, unsigned priority, unsigned weight)
{
	struct dns_target *t;

	r->t = xreallocarray(r->t, r->n + 1, sizeof(*r->t));
	t = &r->t[r->n++];
	memset(t, 0, sizeof(*t));
	t->svc = svc;
	t->target = xstrdup(target);
	t->port = port;
	t->priority = priority;
	t->weight = weight;
	return t;
}

/* Orders IPv4 literals before IPv6 ones, then bytewise, so every host
 * picks the same address for a target. */
static int
addr_cmp(const char *a, const char *b)
{
	int a6 = strchr(a, ':') != NULL, b6 = strchr(b, ':') != NULL;
	unsigned char ba[16], bb[16];

	if (a6 != b6)
		return a6 - b6;
	if (inet_pton(a6 ? AF_INET6 : AF_INET, a, ba) == 1 &&
	    inet_pton(b6 ? AF_INET6 : AF_INET, b, bb) == 1)
		return memcmp(ba, bb, a6 ? 16 : 4);
	return strcmp(a, b);
}

void
dns_target_add_addr(struct dns_target *t, const char *addr)
{
	size_t i;

	for (i = 0; i < t->n_addrs; i++) {
		int c = addr_cmp(addr, t->addrs[i]);
		if (c == 0)
			return;
		if (c < 0)
			break;
	}
	t->addrs = xreallocarray(t->addrs, t->n_addrs + 1, sizeof(*t->addrs));
	memmove(&t->addrs[i + 1], &t->addrs[i],
	    (t->n_addrs - i) * sizeof(*t->addrs));
	t->addrs[i] = xstrdup(addr);
	t->n_addrs++;
	free(t->why);
	t->why = NULL;
}

/* ---- the resolver ---------------------------------------------------- */

struct dns_resolver;

/* One outstanding query; freed when its answer arrives. */
struct query {
	struct dns_resolver *r;
	int kind;		/* Q_TYPE_SRV, Q_TYPE_A or Q_TYPE_AAAA */
	enum dns_service svc;	/* for SRV */
	char *target;		/* for A/AAAA: the name asked about */
	unsigned gen;
};

/* The c-ares channel lives for one lookup: an idle one holds about 74 KB
 * (c-ares 1.18's query tables), and each lookup reads /etc/resolv.conf
 * afresh when no servers are given (DHCP may have changed it). */
struct dns_resolver {
	struct loop *loop;
	ares_channel ch;	/* NULL between lookups */
	int timeout_ms, tries;
	char *servers;		/* c-ares's CSV form, NULL: resolv.conf */
	uint64_t ares_timer;
	uint64_t done_timer;
	bool busy;
	unsigned gen;		/* bumps on cancel so stale answers are dropped */
	int pending;		/* queries in flight, plus one while sending */
	int srv_pending;	/* SRV queries in flight */
	struct dns_result *res;
	dns_done_cb cb;
	void *arg;
};

static void reschedule(struct dns_resolver *r);

static void
on_fd(struct loop *l, int fd, int events, void *arg)
{
	struct dns_resolver *r = arg;

	(void)l;
	ares_process_fd(r->ch, (events & LOOP_READ) ? fd : ARES_SOCKET_BAD,
	    (events & LOOP_WRITE) ? fd : ARES_SOCKET_BAD);
	reschedule(r);
}

static void
on_ares_timer(struct loop *l, void *arg)
{
	struct dns_resolver *r = arg;

	(void)l;
	r->ares_timer = 0;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	reschedule(r);
}

/* c-ares asks for a socket to be watched (or no longer). */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	int ev = (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0);

	if (ev == 0)
		loop_unwatch(r->loop, fd);
	else
		loop_watch(r->loop, fd, ev, on_fd, r);
}

static void
reschedule(struct dns_resolver *r)
{
	struct timeval tv, *tvp;

	loop_cancel(r->loop, r->ares_timer);
	r->ares_timer = 0;
	if (r->ch == NULL)
		return;
	tvp = ares_timeout(r->ch, NULL, &tv);
	if (tvp != NULL)
		r->ares_timer = loop_timer(r->loop,
		    (int64_t)tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1,
		    on_ares_timer, r);
}

static void
on_done(struct loop *l, void *arg)
{
	struct dns_resolver *r = arg;
	struct dns_result *res = r->res;

	(void)l;
	r->done_timer = 0;
	r->res = NULL;
	r->busy = false;
	/* No query is left: nothing is called back from here. */
	if (r->ch != NULL) {
		ares_destroy(r->ch);
		r->ch = NULL;
	}
	reschedule(r);
	r->cb(r->arg, res);
}

static void
query_finished(struct dns_resolver *r)
{
	if (--r->pending == 0)
		r->done_timer = loop_timer(r->loop, 0, on_done, r);
}

static void send_query(struct dns_resolver *r, int kind, enum dns_service svc,
    const char *name, const char *target);

static void
set_error(struct dns_result *res, enum dns_service svc, const char *what,
    int status)
{
	char *name = dns_service_name(svc, res->srv_name, res->domain);

	free(res->error[svc]);
	res->error[svc] = xasprintf("%s: %s", name,
	    what ? what : ares_strerror(status));
	free(name);
	res->status[svc] = DNS_FAILED;
}

static void
got_srv(struct dns_resolver *r, enum dns_service svc, int status,
    unsigned char *abuf, int alen)
{
	struct dns_result *res = r->res;
	struct ares_srv_reply *srv = NULL;
	size_t count = 0;

	if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
		res->status[svc] = DNS_MISSING;
		return;
	}
	if (status != ARES_SUCCESS) {
		set_error(res, svc, NULL, status);
		return;
	}
	status = ares_parse_srv_reply(abuf, alen, &srv);
	/* An answer with only other types (a CNAME, say) holds no SRV. */
	if (status == ARES_ENODATA || (status == ARES_SUCCESS && srv == NULL)) {
		res->status[svc] = DNS_MISSING;
		return;
	}
	if (status != ARES_SUCCESS) {
		set_error(res, svc, "malformed SRV answer", status);
		return;
	}
	for (struct ares_srv_reply *p = srv; p != NULL; p = p->next)
		count++;
	if (count > DNS_MAX_RECORDS) {
		char what[96];
		snprintf(what, sizeof(what),
		    "answer has %zu records, more than the %d accepted",
		    count, DNS_MAX_RECORDS);
		set_error(res, svc, what, 0);
		ares_free_data(srv);
		return;
	}
	res->status[svc] = DNS_OK;
	for (struct ares_srv_reply *p = srv; p != NULL; p = p->next) {
		char name[256];
		size_t len = strlen(p->host);

		/* Keep at most a host name's worth; the plan rejects what is
		 * not a valid name and quotes it in its message. */
		if (len > 0 && p->host[len - 1] == '.')
			len--;
		snprintf(name, sizeof(name), "%.*s", (int)len, p->host);
		dns_result_add(res, svc, name, p->port, p->priority, p->weight);
	}
	ares_free_data(srv);
}

/* Records an address answer for every record whose target is name. */
static void
got_addr(struct dns_resolver *r, int kind, const char *name, int status,
    unsigned char *abuf, int alen)
{
	struct dns_result *res = r->res;
	char text[INET6_ADDRSTRLEN];
	const char *why = NULL;
	int naddr = DNS_MAX_ADDRS;

	struct ares_addrttl a4[DNS_MAX_ADDRS];
	struct ares_addr6ttl a6[DNS_MAX_ADDRS];

	if (status == ARES_SUCCESS) {
		if (kind == Q_TYPE_A)
			status = ares_parse_a_reply(abuf, alen, NULL, a4, &naddr);
		else
			status = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &naddr);
	}
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
		why = "no A/AAAA record";
	else if (status != ARES_SUCCESS)
		why = ares_strerror(status);

	for (size_t i = 0; i < res->n; i++) {
		struct dns_target *t = &res->t[i];

		if (strcmp(t->target, name) != 0)
			continue;
		if (why != NULL) {
			/* Keep the more telling reason: a failure beats a
			 * missing record of the other family. */
			if (t->n_addrs == 0 && (t->why == NULL ||
			    strcmp(why, "no A/AAAA record") != 0)) {
				free(t->why);
				t->why = xstrdup(why);
			}
			continue;
		}
		for (int j = 0; j < naddr; j++) {
			if (kind == Q_TYPE_A)
				inet_ntop(AF_INET, &a4[j].ipaddr, text, sizeof(text));
			else
				inet_ntop(AF_INET6, &a6[j].ip6addr, text, sizeof(text));
			dns_target_add_addr(t, text);
		}
	}
}

static bool
is_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Once every SRV set has answered, asks for each valid target's addresses
 * (once per distinct name). */
static void
resolve_targets(struct dns_resolver *r)
{
	struct dns_result *res = r->res;

	for (size_t i = 0; i < res->n; i++) {
		struct dns_target *t = &res->t[i];
		bool seen = false;

		if (!dns_hostname_valid(t->target)) {
			t->why = xstrdup("not a valid host name");
			continue;
		}
		if (is_literal(t->target)) {
			dns_target_add_addr(t, t->target);
			continue;
		}
		/* Every record starts with the reason an empty answer gives;
		 * the answers for its name replace it. */
		t->why = xstrdup("no A/AAAA record");
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(res->t[j].target, t->target) == 0;
		if (seen)
			continue;
		/* A trailing dot keeps search domains out of it. */
		char *fq = xasprintf("%s.", t->target);
		send_query(r, Q_TYPE_A, 0, fq, t->target);
		send_query(r, Q_TYPE_AAAA, 0, fq, t->target);
		free(fq);
	}
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct dns_resolver *r = q->r;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || q->gen != r->gen) {
		free(q->target);
		free(q);
		return;
	}
	if (q->kind == Q_TYPE_SRV) {
		got_srv(r, q->svc, status, abuf, alen);
		/* The last SRV answer starts the address round while its own
		 * query still counts as pending, so the round cannot end
		 * before the address queries are sent. */
		if (--r->srv_pending == 0)
			resolve_targets(r);
	} else {
		got_addr(r, q->kind, q->target, status, abuf, alen);
	}
	free(q->target);
	free(q);
	query_finished(r);
}

static void
send_query(struct dns_resolver *r, int kind, enum dns_service svc,
    const char *name, const char *target)
{
	struct query *q = xcalloc(1, sizeof(*q));

	q->r = r;
	q->kind = kind;
	q->svc = svc;
	q->target = target ? xstrdup(target) : NULL;
	q->gen = r->gen;
	r->pending++;
	ares_query(r->ch, name, Q_CLASS_IN, kind, on_answer, q);
}

/* Opens r->ch. Returns 0, or -1 with err set. */
static int
channel_open(struct dns_resolver *r, char *err, size_t errlen)
{
	struct ares_options o;
	int st;

	memset(&o, 0, sizeof(o));
	o.timeout = r->timeout_ms;
	o.tries = r->tries;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	/* NOCHECKRESP: without it c-ares 1.18 turns SERVFAIL and REFUSED
	 * into "Could not contact DNS servers", hiding what the server said. */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP;
	st = ares_init_options(&r->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS);
	if (st != ARES_SUCCESS) {
		r->ch = NULL;
		snprintf(err, errlen, "cannot start the DNS resolver: %s",
		    ares_strerror(st));
		return -1;
	}
	/* c-ares's CSV parser takes the forms config validated: ADDR,
	 * ADDR:PORT, [V6]:PORT. */
	if (r->servers != NULL) {
		st = ares_set_servers_ports_csv(r->ch, r->servers);
		if (st != ARES_SUCCESS) {
			snprintf(err, errlen, "DNS servers \"%s\": %s",
			    r->servers, ares_strerror(st));
			ares_destroy(r->ch);
			r->ch = NULL;
			return -1;
		}
	}
	return 0;
}

struct dns_resolver *
dns_resolver_new(struct loop *l, char *const *servers, size_t n_servers,
    int timeout_ms, int tries, char *err, size_t errlen)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));

	r->loop = l;
	r->timeout_ms = timeout_ms;
	r->tries = tries;
	r->servers = n_servers > 0 ? xjoin(servers, n_servers, ",") : NULL;
	/* Opened once here so that bad servers are told at once. */
	if (channel_open(r, err, errlen) < 0) {
		free(r->servers);
		free(r);
		return NULL;
	}
	return r;
}

void
dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	r->gen++;
	if (r->ch != NULL)	/* answers in flight see ARES_EDESTRUCTION */
		ares_destroy(r->ch);
	loop_cancel(r->loop, r->ares_timer);
	loop_cancel(r->loop, r->done_timer);
	if (r->res != NULL) {
		dns_result_free(r->res);
		free(r->res);
	}
	free(r->servers);
	free(r);
}

int
dns_lookup(struct dns_resolver *r, const char *domain, dns_done_cb cb,
    void *arg)
{
	return dns_lookup_named(r, domain, NULL, cb, arg);
}

int
dns_lookup_named(struct dns_resolver *r, const char *domain,
    const char *srv_name, dns_done_cb cb, void *arg)
{
	char err[256];

	if (r->busy)
		return -1;
	r->busy = true;
	r->cb = cb;
	r->arg = arg;
	r->res = xcalloc(1, sizeof(*r->res));
	r->res->domain = xstrdup(domain);
	if (srv_name != NULL && srv_name[0] != '\0')
		r->res->srv_name = xstrdup(srv_name);
	/* c-ares may answer inside ares_query (no servers, say); holding one
	 * count keeps the round open until every query is sent. */
	r->pending = 1;
	r->srv_pending = DNS_SRV_N;
	if (r->ch == NULL && channel_open(r, err, sizeof(err)) < 0) {
		for (int s = 0; s < DNS_SRV_N; s++)
			set_error(r->res, (enum dns_service)s, err, 0);
		query_finished(r);
		return 0;
	}
	for (int s = 0; s < DNS_SRV_N; s++) {
		char *base = dns_service_name((enum dns_service)s, srv_name,
		    domain);
		char *name = xasprintf("%s.", base);

		free(base);
		send_query(r, Q_TYPE_SRV, (enum dns_service)s, name, NULL);
		free(name);
	}
	query_finished(r);
	reschedule(r);
	return 0;
}
