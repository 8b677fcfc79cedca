#include "lib/fmacros.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "etcd/api.h"
#include "etcd/http.h"
#include "etcd/json.h"
#include "etcd/snap.h"
#include "etcd/snap_save.h"
#include "lib/file.h"
#include "lib/loop.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define STATUS_TIMEOUT_MS 5000
/* A stream that sends nothing this long is given up: etcd sends a chunk
 * as soon as it has read it from its db. */
#define STALL_MS 20000

struct etcd_snap_save {
	struct etcd_http *http;
	char *base;
	char *prefix;		/* of the temporary file's name */
	char *tmp;		/* the temporary file's path, once made */
	int fd;
	bool leader_only;
	etcd_snap_done_cb done;
	void *arg;
	uint64_t status_req, stream_req;
	uint64_t stall_timer;
	struct etcd_snap_check chk;
	struct etcd_snap_result res;
	char err[512];
	char *url;
};

/* The one teardown, after the callback or on a cancel: a failed save's
 * temp file goes with it (a good one was renamed by the caller). */
static void
save_free(struct etcd_snap_save *s)
{
	loop_cancel(etcd_http_loop(s->http), s->stall_timer);
	if (s->fd >= 0)
		close(s->fd);
	/* Renamed by the caller, it is gone already (ENOENT): fine. */
	if (s->tmp != NULL)
		(void)unlink(s->tmp);
	etcd_snap_check_free(&s->chk);
	free(s->tmp);
	free(s->prefix);
	free(s->base);
	free(s->url);
	free(s);
}

static void
finish(struct etcd_snap_save *s, enum etcd_snap_code code)
{
	s->res.code = code;
	s->res.error = code == ETCD_SNAP_OK ? NULL : s->err;
	s->res.tmp_path = code == ETCD_SNAP_OK ? s->tmp : NULL;
	s->res.url = s->url;
	s->done(s->arg, &s->res);
	save_free(s);
}

static int
write_all(struct etcd_snap_save *s, const unsigned char *p, size_t n)
{
	if (file_write_all(s->fd, p, n) < 0)
		return str_seterr(s->err, sizeof(s->err), "cannot write %s: %s",
		    s->tmp, strerror(errno));
	return 0;
}

static void
on_stall(struct loop *l, void *arg)
{
	struct etcd_snap_save *s = arg;

	(void)l;
	s->stall_timer = 0;
	etcd_http_cancel(s->http, s->stream_req);
	s->stream_req = 0;
	snprintf(s->err, sizeof(s->err), "POST %s: nothing came for %d s "
	    "(after %" PRIu64 " bytes): giving up", s->url, STALL_MS / 1000,
	    s->chk.received);
	finish(s, ETCD_SNAP_UNREACHABLE);
}

static void
arm_stall(struct etcd_snap_save *s)
{
	struct loop *l = etcd_http_loop(s->http);

	loop_cancel(l, s->stall_timer);
	s->stall_timer = loop_timer(l, STALL_MS, on_stall, s);
}

static void
on_line(void *arg, const char *line, size_t len)
{
	struct etcd_snap_save *s = arg;
	const unsigned char *data;
	size_t n;
	bool etcd_err;
	enum etcd_snap_code code = ETCD_SNAP_BAD;

	arm_stall(s);
	if (etcd_snap_feed(&s->chk, line, len, &data, &n, &etcd_err, s->err,
	    sizeof(s->err)) == 0) {
		/* The file ends in the sha256, as etcdctl's does: etcd's
		 * restore refuses a snapshot without it. */
		if (s->chk.phase == ETCD_SNAP_DONE) {
			data = s->chk.buf;
			n = ETCD_SNAP_SHA256_LEN;
		}
		if (write_all(s, data, n) == 0)
			return;
		code = ETCD_SNAP_LOCAL;
	} else if (etcd_err) {
		code = ETCD_SNAP_UNREACHABLE;
	}
	etcd_http_cancel(s->http, s->stream_req);
	s->stream_req = 0;
	finish(s, code);
}

/* The revision inside the db, mapped rather than read: only the pages
 * on the way to the last key are touched. */
static void
db_revision(struct etcd_snap_save *s)
{
	size_t len = (size_t)s->chk.received;
	void *m;
	int64_t rev;

	if (len == 0)
		return;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, s->fd, 0);
	if (m == MAP_FAILED)
		return;
	if (etcd_snap_db_revision(m, len, &rev) == 0) {
		s->res.revision = rev;
		s->res.revision_from_db = true;
	}
	munmap(m, len);
}

static void
on_stream_done(void *arg, const struct etcd_http_result *r)
{
	struct etcd_snap_save *s = arg;
	char why[400];

	s->stream_req = 0;
	loop_cancel(etcd_http_loop(s->http), s->stall_timer);
	s->stall_timer = 0;
	if (r->status < 200 || r->status > 299 || r->error != NULL) {
		snprintf(s->err, sizeof(s->err), "POST %s: %s "
		    "(after %" PRIu64 " bytes)", s->url,
		    etcd_http_why(r, why, sizeof(why)), s->chk.received);
		finish(s, ETCD_SNAP_UNREACHABLE);
		return;
	}
	if (etcd_snap_end(&s->chk, s->err, sizeof(s->err)) < 0) {
		finish(s, ETCD_SNAP_BAD);
		return;
	}
	db_revision(s);
	if (fsync(s->fd) < 0 || close(s->fd) < 0) {
		s->fd = -1;
		snprintf(s->err, sizeof(s->err), "cannot sync %s: %s", s->tmp,
		    strerror(errno));
		finish(s, ETCD_SNAP_LOCAL);
		return;
	}
	s->fd = -1;
	s->res.bytes = s->chk.received;
	finish(s, ETCD_SNAP_OK);
}

static void
on_status(void *arg, const struct etcd_http_result *r)
{
	struct etcd_snap_save *s = arg;
	struct etcd_status st;
	char why[400], err[300];

	s->status_req = 0;
	if (r->status != 200) {
		snprintf(s->err, sizeof(s->err), "POST %s/v3/maintenance/"
		    "status: %s", s->base, etcd_http_why(r, why, sizeof(why)));
		finish(s, ETCD_SNAP_UNREACHABLE);
		return;
	}
	if (etcd_parse_status(r->body, r->len, &st, err, sizeof(err)) < 0) {
		snprintf(s->err, sizeof(s->err), "POST %s/v3/maintenance/"
		    "status: %s", s->base, err);
		finish(s, ETCD_SNAP_BAD);
		return;
	}
	s->res.revision = st.revision;
	s->res.cluster_id = st.cluster_id;
	s->res.member_id = st.member_id;
	s->res.leader = st.leader;
	if (s->leader_only && (st.leader == 0 || st.leader != st.member_id)) {
		snprintf(s->err, sizeof(s->err), "member %016" PRIx64 " is not "
		    "the leader (%016" PRIx64 " is)", st.member_id, st.leader);
		finish(s, ETCD_SNAP_NOT_LEADER);
		return;
	}
	/* The file only now: the members that do not lead never make
	 * one, and a directory that cannot take it is said once per try. */
	s->fd = file_mktemp(s->prefix, &s->tmp, s->err, sizeof(s->err));
	if (s->fd < 0) {
		finish(s, ETCD_SNAP_LOCAL);
		return;
	}
	s->res.streamed = true;
	arm_stall(s);
	s->stream_req = etcd_http_stream(s->http, s->url, "{}",
	    ETCD_SNAP_LINE_MAX, on_line, on_stream_done, NULL, s);
}

struct etcd_snap_save *
etcd_snap_save_start(struct etcd_http *h, const char *base_url,
    const char *tmp_prefix, bool leader_only, etcd_snap_done_cb done,
    void *arg)
{
	struct etcd_snap_save *s = xcalloc(1, sizeof(*s));
	char *url;

	s->http = h;
	s->base = xstrdup(base_url);
	s->fd = -1;
	s->leader_only = leader_only;
	s->done = done;
	s->arg = arg;
	s->res.started_ms = loop_now_ms();
	s->url = xasprintf("%s/v3/maintenance/snapshot", base_url);
	s->prefix = xstrdup(tmp_prefix);
	etcd_snap_check_init(&s->chk);
	url = xasprintf("%s/v3/maintenance/status", base_url);
	s->status_req = etcd_http_post_json(h, url, "{}", STATUS_TIMEOUT_MS,
	    on_status, s);
	free(url);
	return s;
}

void
etcd_snap_save_cancel(struct etcd_snap_save *s)
{
	if (s == NULL)
		return;
	etcd_http_cancel(s->http, s->status_req);
	etcd_http_cancel(s->http, s->stream_req);
	save_free(s);
}
