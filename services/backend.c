#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/backend.h"
#include "lib/file.h"
#include "lib/loop.h"
#include "lib/xmalloc.h"
#include "lib/str.h"
#include "resolver/dnsname.h"

#define ZK_CLIENT_PORT 2181
#define ZK_QUORUM_PORT 2888
#define ZK_ELECTION_PORT 3888
#define ZK_TICK_MS 2000
#define ZK_INIT_LIMIT 10
#define ZK_SYNC_LIMIT 5
#define ETCD_CLIENT_PORT 22379
#define ETCD_PEER_PORT 22380
#define PG_PORT 5432
#define PATRONI_REST_PORT 8008
#define PG_BIN_DIR "/usr/lib/postgresql/15/bin"

/* ---- small helpers ----------------------------------------------- */

static int
port_or(int port, int def, const char *what, int *out, char *err,
    size_t errlen)
{
	if (port == 0)
		port = def;
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "%s %d is not a TCP port; use 1..65535 "
		    "(or 0 for the default %d)", what, port, def);
		return -1;
	}
	*out = port;
	return 0;
}

/* Paths we write into config files and argv: absolute, printable ASCII
 * without backslashes (Java properties files treat them as escapes and
 * read other bytes as Latin-1), no leading or trailing blank. */
static int
path_ok(const char *what, const char *p, char *err, size_t errlen)
{
	char q[128];
	size_t n;

	if (p == NULL || p[0] == '\0') {
		snprintf(err, errlen, "%s is not set; give an absolute path",
		    what);
		return -1;
	}
	n = strlen(p);
	if (p[0] != '/' || n >= PATH_MAX || p[n - 1] == ' ') {
		snprintf(err, errlen, "%s \"%s\" is not an absolute path of "
		    "at most %d bytes", what, str_quote(p, q, sizeof(q)),
		    PATH_MAX - 1);
		return -1;
	}
	for (const char *c = p; *c != '\0'; c++) {
		if (*c < 0x20 || *c > 0x7e || *c == '\\') {
			snprintf(err, errlen, "%s \"%s\" has a byte zooinit "
			    "cannot write into config files (control, "
			    "non-ASCII or backslash); choose a plain path",
			    what, str_quote(p, q, sizeof(q)));
			return -1;
		}
	}
	return 0;
}

/* ---- member sets ------------------------------------------------- */

/* A member after validation: the address in inet_ntop's canonical form,
 * which is what every renderer writes. */
struct vmem {
	unsigned id;
	bool standby;
	bool v6;
	char ip[INET6_ADDRSTRLEN];
	unsigned char bin[16];
};

struct vset {
	struct vmem *m;
	size_t n;
	size_t self;		/* index of this node */
	size_t voters;		/* participants */
};

static int
check_ip(const char *ip, struct vmem *v, char *err, size_t errlen)
{
	char q[80];
	struct in_addr a4;
	struct in6_addr a6;

	if (ip == NULL) {
		snprintf(err, errlen, "member %u has no address", v->id);
		return -1;
	}
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		uint32_t h = ntohl(a4.s_addr);

		if (h == 0 || h == 0xffffffffu || (h >> 28) == 0xe) {
			snprintf(err, errlen, "member %u has address %s, which "
			    "is not a unicast address a service can bind to; "
			    "publish the member's own address", v->id, ip);
			return -1;
		}
		v->v6 = false;
		memset(v->bin, 0, sizeof(v->bin));
		memcpy(v->bin, &a4, 4);
		inet_ntop(AF_INET, &a4, v->ip, sizeof(v->ip));
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		    IN6_IS_ADDR_MULTICAST(&a6)) {
			snprintf(err, errlen, "member %u has address %s, which "
			    "is not a unicast address a service can bind to; "
			    "publish the member's own address", v->id, ip);
			return -1;
		}
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			snprintf(err, errlen, "member %u has the IPv4-mapped "
			    "address %s; publish it as plain IPv4", v->id, ip);
			return -1;
		}
		if (IN6_IS_ADDR_LINKLOCAL(&a6)) {
			snprintf(err, errlen, "member %u has the link-local "
			    "address %s, which needs a zone the services "
			    "cannot take; publish a global or ULA address",
			    v->id, ip);
			return -1;
		}
		v->v6 = true;
		memcpy(v->bin, &a6, 16);
		inet_ntop(AF_INET6, &a6, v->ip, sizeof(v->ip));
		return 0;
	}
	snprintf(err, errlen, "member %u has address \"%s\", which is not an "
	    "IPv4 or IPv6 literal; members must be published by address",
	    v->id, str_quote(ip, q, sizeof(q)));
	return -1;
}

static void
vset_free(struct vset *v)
{
	free(v->m);
	v->m = NULL;
}

static int
vset_load(const struct be_set *s, struct vset *v, char *err, size_t errlen)
{
	bool self = false;

	memset(v, 0, sizeof(*v));
	if (s == NULL || s->m == NULL || s->n == 0) {
		snprintf(err, errlen, "the member set is empty; a sealed set "
		    "needs at least this node");
		return -1;
	}
	if (s->n > BE_ID_MAX) {
		snprintf(err, errlen, "the member set has %zu members; at "
		    "most %d fit ZooKeeper's myid range", s->n, BE_ID_MAX);
		return -1;
	}
	v->m = xcalloc(s->n, sizeof(*v->m));
	v->n = s->n;
	for (size_t i = 0; i < s->n; i++) {
		struct vmem *m = &v->m[i];

		m->id = s->m[i].id;
		m->standby = s->m[i].standby;
		if (m->id < 1 || m->id > BE_ID_MAX) {
			snprintf(err, errlen, "member id %u is out of range; "
			    "ids are 1..%d", m->id, BE_ID_MAX);
			goto fail;
		}
		if (check_ip(s->m[i].ip, m, err, errlen) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (v->m[j].id == m->id) {
				snprintf(err, errlen, "member id %u appears "
				    "twice in the set; ids must be unique",
				    m->id);
				goto fail;
			}
			if (v->m[j].v6 == m->v6 &&
			    memcmp(v->m[j].bin, m->bin, 16) == 0) {
				snprintf(err, errlen, "members %u and %u "
				    "share the address %s; each member needs "
				    "its own", v->m[j].id, m->id, m->ip);
				goto fail;
			}
		}
		if (!m->standby)
			v->voters++;
		if (m->id == s->self_id) {
			v->self = i;
			self = true;
		}
	}
	if (!self) {
		snprintf(err, errlen, "this node's id %u is not in the member "
		    "set; the set was sealed without it", s->self_id);
		goto fail;
	}
	if (v->voters == 0) {
		snprintf(err, errlen, "the member set has only standbys; at "
		    "least one member must be a participant");
		goto fail;
	}
	return 0;
fail:
	vset_free(v);
	return -1;
}

int
be_set_check(const struct be_set *s, char *err, size_t errlen)
{
	struct vset v;

	if (vset_load(s, &v, err, errlen) < 0)
		return -1;
	vset_free(&v);
	return 0;
}

/* "[v6]" or "v4": the host part of HOST:PORT and of URLs. */
static void
host_part(const struct vmem *m, char *out, size_t outlen)
{
	snprintf(out, outlen, m->v6 ? "[%s]" : "%s", m->ip);
}

/* ---- ZooKeeper ---------------------------------------------------- */

struct zk_params {
	int client, quorum, election, tick, init, sync;
};

static int
zk_params(const struct be_zk_opts *o, struct zk_params *p, char *err,
    size_t errlen)
{
	if (o == NULL) {
		snprintf(err, errlen, "no ZooKeeper options given");
		return -1;
	}
	if (path_ok("ZooKeeper data dir", o->data_dir, err, errlen) < 0 ||
	    port_or(o->client_port, ZK_CLIENT_PORT, "ZooKeeper client port",
	    &p->client, err, errlen) < 0 ||
	    port_or(o->quorum_port, ZK_QUORUM_PORT, "ZooKeeper quorum port",
	    &p->quorum, err, errlen) < 0 ||
	    port_or(o->election_port, ZK_ELECTION_PORT,
	    "ZooKeeper election port", &p->election, err, errlen) < 0)
		return -1;
	if (p->client == p->quorum || p->client == p->election ||
	    p->quorum == p->election) {
		snprintf(err, errlen, "ZooKeeper's client (%d), quorum (%d) "
		    "and election (%d) ports must differ", p->client,
		    p->quorum, p->election);
		return -1;
	}
	p->tick = o->tick_ms ? o->tick_ms : ZK_TICK_MS;
	p->init = o->init_limit ? o->init_limit : ZK_INIT_LIMIT;
	p->sync = o->sync_limit ? o->sync_limit : ZK_SYNC_LIMIT;
	if (p->tick < 1 || p->tick > 60000 || p->init < 1 ||
	    p->init > 1000 || p->sync < 1 || p->sync > 1000) {
		snprintf(err, errlen, "ZooKeeper timing tickTime=%d "
		    "initLimit=%d syncLimit=%d is out of range; use "
		    "1..60000 ms and 1..1000 ticks", p->tick, p->init, p->sync);
		return -1;
	}
	return 0;
}

int
be_zk_render(const struct be_set *s, const struct be_zk_opts *o,
    char **zoo_cfg, char **myid, char *err, size_t errlen)
{
	struct vset v;
	struct zk_params p;
	struct sbuf b = { 0 };
	const struct vmem *me;

	*zoo_cfg = NULL;
	*myid = NULL;
	if (vset_load(s, &v, err, errlen) < 0)
		return -1;
	if (zk_params(o, &p, err, errlen) < 0) {
		vset_free(&v);
		return -1;
	}
	me = &v.m[v.self];
	sb_printf(&b, "# Written by zooinit from the sealed member set; "
	    "rewritten on every start.\n");
	sb_printf(&b, "tickTime=%d\ninitLimit=%d\nsyncLimit=%d\n", p.tick,
	    p.init, p.sync);
	sb_printf(&b, "dataDir=%s\n", o->data_dir);
	sb_printf(&b, "clientPort=%d\n", p.client);
	/* InetAddress.getByName takes IPv6 bare here. */
	sb_printf(&b, "clientPortAddress=%s\n", me->ip);
	sb_printf(&b, "4lw.commands.whitelist=ruok,srvr,stat,mntr,conf\n");
	sb_printf(&b, "admin.enableServer=false\n");
	/* The set is sealed: no member may be added by reconfig. */
	sb_printf(&b, "reconfigEnabled=false\n");
	if (v.n > 1) {
		/* Even a single voter with observers must run the quorum
		 * protocol, so never fall back to standalone. */
		sb_printf(&b, "standaloneEnabled=false\n");
		if (me->standby)
			sb_printf(&b, "peerType=observer\n");
		for (size_t i = 0; i < v.n; i++) {
			char h[INET6_ADDRSTRLEN + 2];

			host_part(&v.m[i], h, sizeof(h));
			sb_printf(&b, "server.%u=%s:%d:%d%s\n", v.m[i].id, h,
			    p.quorum, p.election,
			    v.m[i].standby ? ":observer" : "");
		}
	}
	*zoo_cfg = sb_take(&b);
	*myid = xasprintf("%u\n", me->id);
	vset_free(&v);
	return 0;
}

/* Fails when path holds a myid other than id. A missing file is fine. */
static int
myid_matches(const char *path, unsigned id, char *err, size_t errlen)
{
	char buf[32], q[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	char *end;
	unsigned long old = strtoul(buf, &end, 10);

	while (*end == '\n' || *end == '\r' || *end == ' ' || *end == '\t')
		end++;
	if (end == buf || *end != '\0' || buf[0] < '0' || buf[0] > '9') {
		snprintf(err, errlen, "%s holds \"%s\", not a member id; if "
		    "this data dir is meant for member %u, remove the file",
		    path, str_quote(buf, q, sizeof(q)), id);
		return -1;
	}
	if (old != id) {
		snprintf(err, errlen, "%s says this data belongs to ZooKeeper "
		    "member %lu, but this node is member %u of the sealed "
		    "set; move the data dir away or fix the set", path, old,
		    id);
		return -1;
	}
	return 0;
}

int
be_zk_write(const char *conf_dir, const struct be_set *s,
    const struct be_zk_opts *o, char *err, size_t errlen)
{
	char *cfg, *myid, *cfg_path = NULL, *myid_path = NULL;
	int rc = -1;

	if (be_zk_render(s, o, &cfg, &myid, err, errlen) < 0)
		return -1;
	if (conf_dir == NULL || conf_dir[0] == '\0') {
		snprintf(err, errlen, "no ZooKeeper config dir given");
		goto out;
	}
	cfg_path = xasprintf("%s/zoo.cfg", conf_dir);
	myid_path = xasprintf("%s/myid", o->data_dir);
	if (file_mkdirs(conf_dir, 0700, err, errlen) < 0 ||
	    file_mkdirs(o->data_dir, 0700, err, errlen) < 0 ||
	    myid_matches(myid_path, s->self_id, err, errlen) < 0 ||
	    file_write_atomic(myid_path, myid, 0644, err, errlen) < 0 ||
	    file_write_atomic(cfg_path, cfg, 0644, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	free(cfg_path);
	free(myid_path);
	free(cfg);
	free(myid);
	return rc;
}

char *
be_zk_classpath(const char *jar_dir, char *err, size_t errlen)
{
	char *zk, *slf, *cp;

	if (jar_dir == NULL)
		jar_dir = BE_ZK_JAR_DIR;
	if (jar_dir[0] == '\0' || strchr(jar_dir, ':') != NULL) {
		snprintf(err, errlen, "ZooKeeper jar dir \"%s\" cannot be "
		    "part of a Java class path; name a dir without ':'",
		    jar_dir);
		return NULL;
	}
	zk = xasprintf("%s/zookeeper.jar", jar_dir);
	if (access(zk, R_OK) < 0) {
		snprintf(err, errlen, "cannot read %s (%s); install Debian's "
		    "zookeeper package (libzookeeper-java) or point zooinit "
		    "at the dir that holds zookeeper.jar", zk,
		    strerror(errno));
		free(zk);
		return NULL;
	}
	/* Without an SLF4J binding ZooKeeper runs silently; Debian's
	 * zookeeper.jar names none in its manifest. */
	slf = xasprintf("%s/slf4j-simple.jar", jar_dir);
	if (access(slf, R_OK) == 0)
		cp = xasprintf("%s:%s", zk, slf);
	else
		cp = xstrdup(zk);
	free(slf);
	free(zk);
	return cp;
}

char **
be_zk_argv(const char *java, const char *conf_dir, const char *classpath)
{
	struct strv a = { 0 };
	char *cfg = xasprintf("%s/zoo.cfg", conf_dir);

	strv_add(&a, java);
	/* Let the supervisor restart a JVM that ran out of heap rather than
	 * keep a half-dead one. */
	strv_add(&a, "-XX:+ExitOnOutOfMemoryError");
	strv_add(&a, "-Dzookeeper.jmx.log4j.disable=true");
	strv_add2(&a, "-cp", classpath);
	strv_add(&a, "org.apache.zookeeper.server.quorum.QuorumPeerMain");
	strv_add(&a, cfg);
	free(cfg);
	return a.v;
}

/* ---- four-letter words -------------------------------------------- */

struct fourlw {
	struct fourlw *next;
	uint64_t id;
	struct loop *l;
	int fd;			/* -1 once closed */
	uint64_t timer;
	enum { FL_CONNECT, FL_SEND, FL_READ, FL_DONE } state;
	char word[5];
	size_t sent;
	char *buf;
	size_t len, cap;
	be_4lw_cb cb;
	void *arg;
	int timeout_ms;
	char peer[INET6_ADDRSTRLEN + 8];
	bool ok;
	char err[256];
};

/* Pending requests of every loop; touched from the loop thread only. */
static struct fourlw *fl_pending;
static uint64_t fl_next_id = 1;

static void
fl_unlink(struct fourlw *r)
{
	for (struct fourlw **p = &fl_pending; *p != NULL; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			return;
		}
	}
}

static void
fl_close(struct fourlw *r)
{
	if (r->fd >= 0) {
		loop_unwatch(r->l, r->fd);
		close(r->fd);
		r->fd = -1;
	}
	loop_cancel(r->l, r->timer);
	r->timer = 0;
}

static void
fl_destroy(struct fourlw *r)
{
	fl_close(r);
	free(r->buf);
	free(r);
}

/* Delivers the outcome and frees the request. */
static void
fl_finish(struct fourlw *r)
{
	struct be_4lw_result res;

	fl_unlink(r);
	fl_close(r);
	res.ok = r->ok;
	res.text = r->buf != NULL ? r->buf : "";
	res.len = r->len;
	res.error = r->ok ? NULL : r->err;
	r->cb(r->l, &res, r->arg);
	free(r->buf);
	free(r);
}

static void
fl_deferred(struct loop *l, void *arg)
{
	struct fourlw *r = arg;

	(void)l;
	r->timer = 0;
	fl_finish(r);
}

static void fl_fail(struct fourlw *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records an error and finishes from a fresh loop turn, so the callback
 * never runs inside be_4lw() itself. */
static void
fl_fail(struct fourlw *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->ok = false;
	r->state = FL_DONE;
	fl_close(r);
	r->timer = loop_timer(r->l, 0, fl_deferred, r);
}

static void
fl_timeout(struct loop *l, void *arg)
{
	struct fourlw *r = arg;

	(void)l;
	r->timer = 0;
	fl_fail(r, "ZooKeeper at %s did not answer \"%s\" within %d ms",
	    r->peer, r->word, r->timeout_ms);
}

static void
fl_read(struct fourlw *r)
{
	for (;;) {
		/* Room for one byte past the cap tells an answer that is too
		 * long from one that is exactly BE_4LW_MAX. */
		if (r->cap - r->len < 1024 && r->cap < BE_4LW_MAX + 2) {
			r->cap = r->cap ? r->cap * 2 : 4096;
			if (r->cap > BE_4LW_MAX + 2)
				r->cap = BE_4LW_MAX + 2;
			r->buf = xrealloc(r->buf, r->cap);
		}
		ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			fl_fail(r, "reading from ZooKeeper at %s: %s", r->peer,
			    strerror(errno));
			return;
		}
		if (n == 0)
			break;
		r->len += (size_t)n;
		r->buf[r->len] = '\0';
		if (r->len > BE_4LW_MAX) {
			fl_fail(r, "ZooKeeper at %s answered \"%s\" with more "
			    "than %d bytes; that is not ZooKeeper", r->peer,
			    r->word, BE_4LW_MAX);
			return;
		}
	}
	r->buf[r->len] = '\0';
	/* ZooKeeper answers a word outside 4lw.commands.whitelist in
	 * plain text rather than closing. */
	if (strstr(r->buf, "is not executed because it is not in the "
	    "whitelist") != NULL) {
		fl_fail(r, "ZooKeeper at %s refuses \"%s\": add it to "
		    "4lw.commands.whitelist in zoo.cfg", r->peer, r->word);
		return;
	}
	r->ok = true;
	r->state = FL_DONE;
	fl_close(r);
	fl_finish(r);
}

static void
fl_io(struct loop *l, int fd, int events, void *arg)
{
	struct fourlw *r = arg;

	(void)l;
	(void)fd;
	(void)events;
	if (r->state == FL_CONNECT) {
		int e = 0;
		socklen_t elen = sizeof(e);

		if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
		if (e == EINPROGRESS)
			return;
		if (e != 0) {
			fl_fail(r, "cannot connect to ZooKeeper at %s: %s",
			    r->peer, strerror(e));
			return;
		}
		r->state = FL_SEND;
	}
	if (r->state == FL_SEND) {
		while (r->sent < 4) {
			ssize_t n = send(r->fd, r->word + r->sent,
			    4 - r->sent, MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				return;
			if (n < 0) {
				fl_fail(r, "sending \"%s\" to ZooKeeper at "
				    "%s: %s", r->word, r->peer,
				    strerror(errno));
				return;
			}
			r->sent += (size_t)n;
		}
		r->state = FL_READ;
		loop_watch(r->l, r->fd, LOOP_READ, fl_io, r);
		return;
	}
	if (r->state == FL_READ)
		fl_read(r);
}

static bool
word_ok(const char *w)
{
	if (w == NULL || strlen(w) != 4)
		return false;
	for (int i = 0; i < 4; i++) {
		if (w[i] < 'a' || w[i] > 'z')
			return false;
	}
	return true;
}

uint64_t
be_4lw(struct loop *l, const char *ip, int port, const char *word,
    int timeout_ms, be_4lw_cb cb, void *arg)
{
	struct fourlw *r = xcalloc(1, sizeof(*r));
	struct sockaddr_storage ss;
	socklen_t sslen;
	char q[80];

	r->id = fl_next_id++;
	r->l = l;
	r->fd = -1;
	r->cb = cb;
	r->arg = arg;
	r->timeout_ms = timeout_ms;
	r->next = fl_pending;
	fl_pending = r;
	snprintf(r->word, sizeof(r->word), "%s", word_ok(word) ? word : "?");
	memset(&ss, 0, sizeof(ss));
	if (ip != NULL && inet_pton(AF_INET, ip,
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in);
		snprintf(r->peer, sizeof(r->peer), "%s:%d", ip, port);
	} else if (ip != NULL && inet_pton(AF_INET6, ip,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in6);
		snprintf(r->peer, sizeof(r->peer), "[%s]:%d", ip, port);
	} else {
		fl_fail(r, "ZooKeeper address \"%s\" is not an IPv4 or IPv6 "
		    "literal", ip != NULL ? str_quote(ip, q, sizeof(q)) : "");
		return r->id;
	}
	if (!word_ok(word)) {
		fl_fail(r, "\"%s\" is not a ZooKeeper four-letter word",
		    word != NULL ? str_quote(word, q, sizeof(q)) : "");
		return r->id;
	}
	if (port < 1 || port > 65535 || timeout_ms < 1) {
		fl_fail(r, "bad request to ZooKeeper: port %d, timeout %d ms; "
		    "use 1..65535 and a positive timeout", port, timeout_ms);
		return r->id;
	}
	r->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		fl_fail(r, "cannot open a socket for ZooKeeper at %s: %s",
		    r->peer, strerror(errno));
		return r->id;
	}
	if (connect(r->fd, (struct sockaddr *)&ss, sslen) < 0 &&
	    errno != EINPROGRESS) {
		fl_fail(r, "cannot connect to ZooKeeper at %s: %s", r->peer,
		    strerror(errno));
		return r->id;
	}
	/* Connected or not, the first writable turn checks SO_ERROR. */
	r->state = FL_CONNECT;
	r->timer = loop_timer(l, timeout_ms, fl_timeout, r);
	loop_watch(l, r->fd, LOOP_WRITE, fl_io, r);
	return r->id;
}

void
be_4lw_cancel(struct loop *l, uint64_t id)
{
	for (struct fourlw *r = fl_pending; id != 0 && r != NULL;
	    r = r->next) {
		if (r->id == id && r->l == l) {
			fl_unlink(r);
			fl_destroy(r);
			return;
		}
	}
}

void
be_4lw_cancel_all(struct loop *l)
{
	struct fourlw **p = &fl_pending;

	while (*p != NULL) {
		struct fourlw *r = *p;

		if (r->l != l) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		fl_destroy(r);
	}
}

/* ---- srvr ---------------------------------------------------------- */

const char *
be_zk_mode_str(enum be_zk_mode m)
{
	switch (m) {
	case BE_ZK_LEADER: return "leader";
	case BE_ZK_FOLLOWER: return "follower";
	case BE_ZK_OBSERVER: return "observer";
	case BE_ZK_STANDALONE: return "standalone";
	case BE_ZK_READ_ONLY: return "read-only";
	case BE_ZK_NOT_SERVING: return "not serving";
	case BE_ZK_UNKNOWN: break;
	}
	return "unknown";
}

/* Parses a whole unsigned number in base (16 needs its "0x"). */
static bool
parse_u64(const char *s, size_t n, int base, uint64_t *out)
{
	char tmp[32], *end;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (base == 16) {
		if (n < 3 || tmp[0] != '0' || (tmp[1] != 'x' && tmp[1] != 'X'))
			return false;
	} else if (tmp[0] < '0' || tmp[0] > '9') {
		return false;
	}
	errno = 0;
	unsigned long long v = strtoull(tmp, &end, base);

	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

int
be_zk_parse_srvr(const char *text, struct be_zk_srvr *out)
{
	static const struct {
		const char *s;
		enum be_zk_mode m;
	} modes[] = {
		{ "leader", BE_ZK_LEADER },
		{ "follower", BE_ZK_FOLLOWER },
		{ "observer", BE_ZK_OBSERVER },
		{ "standalone", BE_ZK_STANDALONE },
		{ "read-only", BE_ZK_READ_ONLY },
	};
	static const char not_serving[] =
	    "This ZooKeeper instance is not currently serving requests";
	bool have_zxid = false, have_nodes = false;
	struct be_zk_srvr z = { 0 };

	/* Filled only on success: a failed parse leaves *out zeroed. */
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return -1;
	if (strncmp(text, not_serving, strlen(not_serving)) == 0) {
		out->mode = BE_ZK_NOT_SERVING;
		return 0;
	}
	for (const char *line = text; *line != '\0'; ) {
		const char *nl = strchr(line, '\n');
		size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
		const char *next = nl != NULL ? nl + 1 : line + n;

		if (n > 0 && line[n - 1] == '\r')
			n--;
#define KEY(k) (n >= sizeof(k) - 1 && memcmp(line, k, sizeof(k) - 1) == 0)
		if (KEY("Zookeeper version: ")) {
			size_t k = sizeof("Zookeeper version: ") - 1;
			size_t vn = n - k;

			if (vn >= sizeof(z.version))
				vn = sizeof(z.version) - 1;
			/* It came from the network and may be logged. */
			for (size_t i = 0; i < vn; i++) {
				char c = line[k + i];

				z.version[i] = c >= 0x20 && c < 0x7f ? c : '?';
			}
			z.version[vn] = '\0';
		} else if (KEY("Zxid: ")) {
			size_t k = sizeof("Zxid: ") - 1;

			if (!parse_u64(line + k, n - k, 16, &z.zxid))
				return -1;
			have_zxid = true;
		} else if (KEY("Node count: ")) {
			size_t k = sizeof("Node count: ") - 1;

			if (!parse_u64(line + k, n - k, 10, &z.nodes))
				return -1;
			have_nodes = true;
		} else if (KEY("Mode: ")) {
			size_t k = sizeof("Mode: ") - 1;

			for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]);
			    i++) {
				if (n - k == strlen(modes[i].s) &&
				    memcmp(line + k, modes[i].s, n - k) == 0)
					z.mode = modes[i].m;
			}
			if (z.mode == BE_ZK_UNKNOWN)
				return -1;
		}
#undef KEY
		line = next;
	}
	if (z.mode == BE_ZK_UNKNOWN || !have_zxid || !have_nodes)
		return -1;
	*out = z;
	return 0;
}

/* ---- Consul -------------------------------------------------------- */

static bool
consul_dc_ok(const char *s)
{
	/* Consul's validateBasicName: ^[a-z0-9_-]+$ */
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

char **
be_consul_argv(const char *consul, const struct be_set *s,
    const struct be_consul_opts *o, char *err, size_t errlen)
{
	struct vset v;
	struct strv a = { 0 };
	char name[16], q[80], buf[32];
	const char *node;
	const struct vmem *me;

	if (vset_load(s, &v, err, errlen) < 0)
		return NULL;
	if (o == NULL) {
		snprintf(err, errlen, "no Consul options given");
		goto fail;
	}
	if (path_ok("Consul data dir", o->data_dir, err, errlen) < 0)
		goto fail;
	me = &v.m[v.self];
	snprintf(name, sizeof(name), "n%u", me->id);
	node = o->node != NULL ? o->node : name;
	if (!dns_member_name_valid(node, false)) {
		snprintf(err, errlen, "Consul node name \"%s\" is not one DNS "
		    "label (letters, digits, '-'); Consul could not serve it "
		    "over DNS", str_quote(node, q, sizeof(q)));
		goto fail;
	}
	if (o->datacenter != NULL && !consul_dc_ok(o->datacenter)) {
		snprintf(err, errlen, "Consul datacenter \"%s\" may hold only "
		    "lowercase letters, digits, '-' and '_'",
		    str_quote(o->datacenter, q, sizeof(q)));
		goto fail;
	}
	strv_add(&a, consul);
	strv_add(&a, "agent");
	if (!me->standby) {
		strv_add(&a, "-server");
		snprintf(buf, sizeof(buf), "%zu", v.voters);
		strv_add2(&a, "-bootstrap-expect", buf);
	}
	/* Consul reads these with net.ParseIP: IPv6 without brackets. */
	strv_add2(&a, "-bind", me->ip);
	strv_add2(&a, "-advertise", me->ip);
	strv_add2(&a, "-client", me->ip);
	strv_add2(&a, "-data-dir", o->data_dir);
	if (o->datacenter != NULL)
		strv_add2(&a, "-datacenter", o->datacenter);
	strv_add2(&a, "-node", node);
	for (size_t i = 0; i < v.n; i++) {
		char h[INET6_ADDRSTRLEN + 2];

		if (i == v.self || v.m[i].standby)
			continue;
		/* -retry-join wants IPv6 literals in brackets. */
		host_part(&v.m[i], h, sizeof(h));
		strv_add2(&a, "-retry-join", h);
	}
	vset_free(&v);
	return a.v;
fail:
	vset_free(&v);
	strv_free(a.v);
	return NULL;
}

/* ---- etcd ---------------------------------------------------------- */

char **
be_etcd_argv(const char *etcd, const struct be_set *s,
    const struct be_etcd_opts *o, char *err, size_t errlen)
{
	struct vset v;
	struct strv a = { 0 };
	struct sbuf ic = { 0 };
	char h[INET6_ADDRSTRLEN + 2], name[16], q[80];
	char *peer = NULL, *client = NULL;
	int cport, pport;
	const struct vmem *me;

	if (vset_load(s, &v, err, errlen) < 0)
		return NULL;
	if (o == NULL) {
		snprintf(err, errlen, "no etcd options given");
		goto fail;
	}
	me = &v.m[v.self];
	if (me->standby) {
		snprintf(err, errlen, "member %u is a standby, and standbys "
		    "are not members of the service etcd; run no etcd on this "
		    "node and use the participants' client URLs", me->id);
		goto fail;
	}
	if (path_ok("etcd data dir", o->data_dir, err, errlen) < 0 ||
	    port_or(o->client_port, ETCD_CLIENT_PORT, "etcd client port",
	    &cport, err, errlen) < 0 ||
	    port_or(o->peer_port, ETCD_PEER_PORT, "etcd peer port", &pport,
	    err, errlen) < 0)
		goto fail;
	if (cport == pport) {
		snprintf(err, errlen, "etcd client and peer ports are both %d; "
		    "they must differ", cport);
		goto fail;
	}
	bool tok_ok = o->token != NULL && o->token[0] != '\0' &&
	    strlen(o->token) <= 256;

	for (const char *c = o->token; tok_ok && *c != '\0'; c++)
		tok_ok = *c > 0x20 && *c < 0x7f;
	if (!tok_ok) {
		snprintf(err, errlen, "etcd cluster token \"%s\" must be "
		    "1..256 printable ASCII characters without blanks, the "
		    "same on every member", o->token != NULL ?
		    str_quote(o->token, q, sizeof(q)) : "");
		goto fail;
	}
	for (size_t i = 0; i < v.n; i++) {
		if (v.m[i].standby)
			continue;
		host_part(&v.m[i], h, sizeof(h));
		sb_printf(&ic, "%sn%u=http://%s:%d", ic.len ? "," : "",
		    v.m[i].id, h, pport);
	}
	host_part(me, h, sizeof(h));
	snprintf(name, sizeof(name), "n%u", me->id);
	peer = xasprintf("http://%s:%d", h, pport);
	client = xasprintf("http://%s:%d", h, cport);
	strv_add(&a, etcd);
	strv_add2(&a, "--name", name);
	strv_add2(&a, "--data-dir", o->data_dir);
	strv_add2(&a, "--listen-peer-urls", peer);
	strv_add2(&a, "--initial-advertise-peer-urls", peer);
	strv_add2(&a, "--listen-client-urls", client);
	strv_add2(&a, "--advertise-client-urls", client);
	strv_add2(&a, "--initial-cluster", sb_str(&ic));
	strv_add2(&a, "--initial-cluster-token", o->token);
	/* Ignored by etcd once the data dir holds a member. */
	strv_add2(&a, "--initial-cluster-state", "new");
	free(ic.p);
	free(peer);
	free(client);
	vset_free(&v);
	return a.v;
fail:
	free(ic.p);
	vset_free(&v);
	strv_free(a.v);
	return NULL;
}

/* ---- Patroni ------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s; returns its length and the code point,
 * or 0 for an invalid, overlong or surrogate sequence. */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool
utf8_ok(const char *s)
{
	uint32_t cp;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; ) {
		size_t n = utf8_next(p, &cp);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* Appends s as a YAML double-quoted scalar in pure ASCII: quotes and
 * backslashes escaped, everything outside printable ASCII as \xNN, \uNNNN
 * or \UNNNNNNNN, so no byte can end the scalar, fold a line or change
 * the encoding. s must be valid UTF-8 (utf8_ok). */
static void
yq(struct sbuf *b, const char *s)
{
	uint32_t cp;

	sb_printf(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; ) {
		size_t n = utf8_next(p, &cp);

		if (n == 0)
			abort();	/* callers check utf8_ok first */
		p += n;
		if (cp == '"' || cp == '\\')
			sb_printf(b, "\\%c", (char)cp);
		else if (cp >= 0x20 && cp < 0x7f)
			sb_printf(b, "%c", (char)cp);
		else if (cp < 0x100)
			sb_printf(b, "\\x%02x", (unsigned)cp);
		else if (cp < 0x10000)
			sb_printf(b, "\\u%04x", (unsigned)cp);
		else
			sb_printf(b, "\\U%08x", (unsigned)cp);
	}
	sb_printf(b, "\"");
}

/* A role name PostgreSQL takes unquoted and pg_hba.conf needs no quotes
 * for; pg_ names are reserved. */
static bool
pg_user_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || strncmp(s, "pg_", 3) == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return false;
	}
	return true;
}

/* Parses http(s)://HOST:PORT[/] with HOST an IP literal ([v6]) or a host
 * name; writes "HOST:PORT" (canonical, IPv6 bracketed) and the scheme. */
static int
etcd_url(const char *u, char *hostport, size_t hplen, const char **scheme,
    char *err, size_t errlen)
{
	char host[256], q[128], canon[INET6_ADDRSTRLEN];
	const char *p, *end;
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long port;
	bool v6 = false;

	if (strncmp(u, "http://", 7) == 0) {
		*scheme = "http";
		p = u + 7;
	} else if (strncmp(u, "https://", 8) == 0) {
		*scheme = "https";
		p = u + 8;
	} else {
		goto bad;
	}
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL || end[1] != ':' ||
		    (size_t)(end - p - 1) >= sizeof(host))
			goto bad;
		memcpy(host, p + 1, (size_t)(end - p - 1));
		host[end - p - 1] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			goto bad;
		inet_ntop(AF_INET6, &a6, canon, sizeof(canon));
		v6 = true;
		p = end + 1;
	} else {
		end = strchr(p, ':');
		if (end == NULL || (size_t)(end - p) >= sizeof(host))
			goto bad;
		memcpy(host, p, (size_t)(end - p));
		host[end - p] = '\0';
		if (inet_pton(AF_INET, host, &a4) == 1)
			inet_ntop(AF_INET, &a4, canon, sizeof(canon));
		else if (dns_hostname_valid(host) &&
		    host[strlen(host) - 1] != '.')
			snprintf(canon, sizeof(canon), "%.*s",
			    (int)sizeof(canon) - 1, host);
		else
			goto bad;
		if (strlen(host) >= sizeof(canon))
			goto bad;
		p = end;
	}
	/* p is at the ':' before the port. */
	if (p[1] < '0' || p[1] > '9')
		goto bad;
	char *pe;

	errno = 0;
	port = strtoul(p + 1, &pe, 10);
	if (errno != 0 || port < 1 || port > 65535 ||
	    !(*pe == '\0' || (pe[0] == '/' && pe[1] == '\0')))
		goto bad;
	snprintf(hostport, hplen, v6 ? "[%s]:%lu" : "%s:%lu", canon, port);
	return 0;
bad:
	snprintf(err, errlen, "etcd URL \"%s\" is not http(s)://HOST:PORT "
	    "with HOST an IP address or host name", str_quote(u, q, sizeof(q)));
	return -1;
}

static void
hba_pair(struct sbuf *b, const char *repl, const char *su, const char *ip,
    int bits)
{
	char line[200];

	snprintf(line, sizeof(line), "host replication %s %s/%d "
	    "scram-sha-256", repl, ip, bits);
	sb_printf(b, "    - ");
	yq(b, line);
	snprintf(line, sizeof(line), "host all %s %s/%d scram-sha-256", su,
	    ip, bits);
	sb_printf(b, "\n    - ");
	yq(b, line);
	sb_printf(b, "\n");
}

/* The pg_hba list (indented for a key two spaces in): local peer for
 * the admin, then replication and the superuser (Patroni itself,
 * pg_rewind) with a password from loopback and from every member's
 * address. Loopback is there because a connection to a 127.x member
 * address (zooinit's demo) comes from 127.0.0.1. Names were checked by
 * pg_user_ok. */
static void
hba_lines(struct sbuf *b, const struct vset *v, const char *repl,
    const char *su)
{
	sb_printf(b, "  pg_hba:\n    - ");
	yq(b, "local all all peer");
	sb_printf(b, "\n");
	hba_pair(b, repl, su, "127.0.0.1", 32);
	hba_pair(b, repl, su, "::1", 128);
	for (size_t i = 0; i < v->n; i++)
		hba_pair(b, repl, su, v->m[i].ip, v->m[i].v6 ? 128 : 32);
}

char *
be_patroni_render(const struct be_set *s, const struct be_patroni_opts *o,
    char *err, size_t errlen)
{
	struct vset v;
	struct sbuf b = { 0 };
	char name[16], q[80], h[INET6_ADDRSTRLEN + 2], hp[300];
	const char *nm, *repl, *su, *bin, *scheme = NULL;
	int pg_port, rest_port;
	const struct vmem *me;

	if (vset_load(s, &v, err, errlen) < 0)
		return NULL;
	if (o == NULL) {
		snprintf(err, errlen, "no Patroni options given");
		goto fail;
	}
	me = &v.m[v.self];
	snprintf(name, sizeof(name), "n%u", me->id);
	nm = o->name != NULL ? o->name : name;
	repl = o->repl_user != NULL ? o->repl_user : "replicator";
	su = o->su_user != NULL ? o->su_user : "postgres";
	bin = o->bin_dir != NULL ? o->bin_dir : PG_BIN_DIR;
	if (o->scope == NULL || !dns_member_name_valid(o->scope, false)) {
		snprintf(err, errlen, "Patroni scope \"%s\" is not one DNS "
		    "label (letters, digits, '-')", o->scope != NULL ?
		    str_quote(o->scope, q, sizeof(q)) : "");
		goto fail;
	}
	if (!dns_member_name_valid(nm, false)) {
		snprintf(err, errlen, "Patroni member name \"%s\" is not one "
		    "DNS label (letters, digits, '-')",
		    str_quote(nm, q, sizeof(q)));
		goto fail;
	}
	if (!pg_user_ok(repl) || !pg_user_ok(su)) {
		snprintf(err, errlen, "PostgreSQL user \"%s\" is not a plain "
		    "role name (a-z, 0-9, '_', not starting with a digit or "
		    "pg_)", str_quote(pg_user_ok(repl) ? su : repl, q,
		    sizeof(q)));
		goto fail;
	}
	if (strcmp(repl, su) == 0) {
		snprintf(err, errlen, "the replication user and the superuser "
		    "are both \"%s\"; Patroni needs two roles", su);
		goto fail;
	}
	if (o->repl_password == NULL || o->repl_password[0] == '\0' ||
	    o->su_password == NULL || o->su_password[0] == '\0' ||
	    !utf8_ok(o->repl_password) || !utf8_ok(o->su_password)) {
		snprintf(err, errlen, "the replication and superuser passwords "
		    "must be set and be valid UTF-8");
		goto fail;
	}
	if (path_ok("PostgreSQL data dir", o->data_dir, err, errlen) < 0 ||
	    path_ok("PostgreSQL bin dir", bin, err, errlen) < 0 ||
	    (o->pgpass != NULL &&
	    path_ok("Patroni pgpass file", o->pgpass, err, errlen) < 0) ||
	    (o->socket_dir != NULL &&
	    path_ok("PostgreSQL socket dir", o->socket_dir, err, errlen) < 0) ||
	    port_or(o->pg_port, PG_PORT, "PostgreSQL port", &pg_port, err,
	    errlen) < 0 ||
	    port_or(o->rest_port, PATRONI_REST_PORT, "Patroni REST API port",
	    &rest_port, err, errlen) < 0)
		goto fail;
	if (pg_port == rest_port) {
		snprintf(err, errlen, "PostgreSQL and Patroni's REST API both "
		    "have port %d; they must differ", pg_port);
		goto fail;
	}
	if (o->etcd_urls == NULL || o->etcd_urls[0] == NULL) {
		snprintf(err, errlen, "Patroni needs at least one etcd client "
		    "URL");
		goto fail;
	}

	sb_printf(&b, "# Written by zooinit from the sealed member set; "
	    "rewritten on every start.\n");
	sb_printf(&b, "scope: ");
	yq(&b, o->scope);
	sb_printf(&b, "\nname: ");
	yq(&b, nm);
	host_part(me, h, sizeof(h));
	snprintf(hp, sizeof(hp), "%s:%d", h, rest_port);
	sb_printf(&b, "\nrestapi:\n  listen: ");
	yq(&b, hp);
	sb_printf(&b, "\n  connect_address: ");
	yq(&b, hp);
	sb_printf(&b, "\netcd3:\n  hosts:\n");
	for (size_t i = 0; o->etcd_urls[i] != NULL; i++) {
		const char *sch;

		if (etcd_url(o->etcd_urls[i], hp, sizeof(hp), &sch, err,
		    errlen) < 0)
			goto fail;
		if (scheme != NULL && strcmp(scheme, sch) != 0) {
			snprintf(err, errlen, "etcd URLs mix http and https; "
			    "Patroni speaks one protocol to all of them");
			goto fail;
		}
		scheme = sch;
		sb_printf(&b, "    - ");
		yq(&b, hp);
		sb_printf(&b, "\n");
	}
	sb_printf(&b, "  protocol: ");
	yq(&b, scheme);

	sb_printf(&b, "\nbootstrap:\n"
	    "  dcs:\n"
	    "    ttl: 30\n"
	    "    loop_wait: 10\n"
	    "    retry_timeout: 10\n"
	    "    maximum_lag_on_failover: 1048576\n"
	    "    postgresql:\n"
	    "      use_pg_rewind: true\n"
	    "  initdb:\n"
	    "    - encoding: \"UTF8\"\n"
	    "    - \"data-checksums\"\n");
	/* Patroni 3.0's validator wants bootstrap.pg_hba; postgresql.pg_hba
	 * is what it writes on every start. Both get the same lines. */
	hba_lines(&b, &v, repl, su);
	sb_printf(&b, "postgresql:\n  listen: ");
	snprintf(hp, sizeof(hp), "%s:%d", h, pg_port);
	yq(&b, hp);
	sb_printf(&b, "\n  connect_address: ");
	yq(&b, hp);
	sb_printf(&b, "\n  data_dir: ");
	yq(&b, o->data_dir);
	sb_printf(&b, "\n  bin_dir: ");
	yq(&b, bin);
	if (o->pgpass != NULL) {
		sb_printf(&b, "\n  pgpass: ");
		yq(&b, o->pgpass);
	}
	if (o->socket_dir != NULL) {
		/* Hosts sharing one machine must not share the default
		 * /var/run/postgresql socket. */
		sb_printf(&b, "\n  parameters:\n    unix_socket_directories: ");
		yq(&b, o->socket_dir);
	}
	sb_printf(&b, "\n  authentication:\n    replication:\n"
	    "      username: ");
	yq(&b, repl);
	sb_printf(&b, "\n      password: ");
	yq(&b, o->repl_password);
	sb_printf(&b, "\n    superuser:\n      username: ");
	yq(&b, su);
	sb_printf(&b, "\n      password: ");
	yq(&b, o->su_password);
	/* pg_rewind as the superuser: one role fewer to create. */
	sb_printf(&b, "\n    rewind:\n      username: ");
	yq(&b, su);
	sb_printf(&b, "\n      password: ");
	yq(&b, o->su_password);
	sb_printf(&b, "\n");
	hba_lines(&b, &v, repl, su);
	sb_printf(&b, "tags:\n  nofailover: %s\n  noloadbalance: false\n"
	    "  clonefrom: false\n  nosync: false\n",
	    me->standby ? "true" : "false");
	vset_free(&v);
	return sb_take(&b);
fail:
	free(b.p);
	vset_free(&v);
	return NULL;
}
