#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/loop.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "services/backend.h"

/* ZooKeeper's four-letter words on the event loop, and the parser of the
 * answer to "srvr": the ZooKeeper backend's health check. */

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
