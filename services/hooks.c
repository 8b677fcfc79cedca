#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services/hooks.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* ---- environment ----------------------------------------------------- */

#define NAME_MAX_LEN 253
#define IP_MAX_LEN 64
#define URL_MAX_LEN 1024

static const char *const env_names[] = {
	"ZOOINIT_CLUSTER_BACKEND", "ZOOINIT_CLUSTER_SERVICE",
	"ZOOINIT_CLUSTER_EVENT", "ZOOINIT_SERVER_IP_LIST", "ZOOINIT_LOCAL_IP",
	"ZOOINIT_MASTER_IP", "ZOOINIT_QUORUM", "ZOOINIT_QURORUM",
	"ZOOINIT_NODE_ID", "ZOOINIT_ETCD_ENDPOINTS", "ZOOINIT_ETCD_CA_FILE",
	"ZOOINIT_ETCD_CERT_FILE", "ZOOINIT_ETCD_KEY_FILE",
};
#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

enum vkind { V_NAME, V_IP, V_URL, V_PATH };

static bool
in_set(unsigned char ch, const char *extra)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' && strchr(extra, ch));
}

static bool
valid_chars(const char *s, size_t max, const char *extra)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (n >= max || !in_set((unsigned char)s[n], extra))
			return false;
	}
	return n > 0;
}

static bool
valid_ip(const char *s)
{
	char buf[IP_MAX_LEN];
	unsigned char bin[16];
	const char *zone = strchr(s, '%');
	size_t len = zone ? (size_t)(zone - s) : strlen(s);

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (zone == NULL)
		return inet_pton(AF_INET, buf, bin) == 1 ||
		    inet_pton(AF_INET6, buf, bin) == 1;
	/* An interface name, as the kernel and cfg allow it, minus oddities. */
	return inet_pton(AF_INET6, buf, bin) == 1 &&
	    valid_chars(zone + 1, 15, "._-");
}

/* A file path from the configuration: printable ASCII. */
static bool
valid_path(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (n >= URL_MAX_LEN || s[n] < 0x20 || s[n] > 0x7e)
			return false;
	return n > 0;
}

static bool
valid(enum vkind k, const char *s)
{
	switch (k) {
	case V_NAME:
		return valid_chars(s, NAME_MAX_LEN, "._-");
	case V_IP:
		return valid_ip(s);
	case V_URL:
		return valid_chars(s, URL_MAX_LEN, "._~:/[]%-");
	case V_PATH:
		return valid_path(s);
	}
	return false;
}

static const char *const expected[] = {
	[V_NAME] = "1-253 letters, digits, '.', '_' or '-'",
	[V_IP] = "a numeric IPv4 or IPv6 address",
	[V_URL] = "a URL of letters, digits and \"._~:/[]%-\"",
	[V_PATH] = "a path of printable ASCII characters",
};

/* Writes s into buf for an error message: printable ASCII as it is,
 * anything else as \xNN, cut at about 60 characters. */
static const char *
quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (o >= 60) {
			snprintf(buf + o, len - o, "...");
			return buf;
		}
		if (ch < 0x20 || ch >= 0x7f || ch == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	return buf;
}

/* Checks one value; NULL and "" pass (they mean "not known"). */
static int
check(enum vkind k, const char *what, const char *s, char *err,
    size_t errlen)
{
	char q[80];

	if (s == NULL || s[0] == '\0' || valid(k, s))
		return 0;
	snprintf(err, errlen, "hook environment: %s \"%s\" is not %s; "
	    "refusing to pass it to hooks", what, quote(s, q, sizeof(q)),
	    expected[k]);
	return -1;
}

/* Checks a list and joins it with commas into a new string. */
static char *
join(enum vkind k, const char *what, const char *const *v, size_t n,
    char *err, size_t errlen)
{
	size_t len = 1, o = 0;
	char *s;

	if (n > 0 && v == NULL) {
		snprintf(err, errlen, "hook environment: %s has %zu entries "
		    "but no array", what, n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL || v[i][0] == '\0') {
			snprintf(err, errlen, "hook environment: entry %zu of "
			    "%s is empty; expected %s", i + 1, what,
			    expected[k]);
			return NULL;
		}
		if (check(k, what, v[i], err, errlen) < 0)
			return NULL;
		len += strlen(v[i]) + 1;
	}
	s = xmalloc(len);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		if (i > 0)
			s[o++] = ',';
		memcpy(s + o, v[i], l);
		o += l;
	}
	s[o] = '\0';
	return s;
}

char **
hook_env(const struct hook_env *vars, char *const *base_environ, char *err,
    size_t errlen)
{
	const char *val[N_ENV];
	char *ips = NULL, *eps = NULL, quorum[16] = "", *own[N_ENV + 1];
	char **env, **merged;

	if ((unsigned)vars->event >= HOOK_NEVENTS) {
		snprintf(err, errlen, "hook environment: unknown event %d",
		    (int)vars->event);
		return NULL;
	}
	if (check(V_NAME, "the backend", vars->backend, err, errlen) < 0 ||
	    check(V_NAME, "the service name", vars->service, err, errlen) < 0 ||
	    check(V_IP, "the local IP", vars->local_ip, err, errlen) < 0 ||
	    check(V_IP, "the master IP", vars->master_ip, err, errlen) < 0 ||
	    check(V_NAME, "the node ID", vars->node_id, err, errlen) < 0 ||
	    check(V_PATH, "the etcd CA file", vars->etcd_ca_file, err,
	    errlen) < 0 ||
	    check(V_PATH, "the etcd certificate file", vars->etcd_cert_file,
	    err, errlen) < 0 ||
	    check(V_PATH, "the etcd key file", vars->etcd_key_file, err,
	    errlen) < 0)
		return NULL;
	ips = join(V_IP, "the server IP list", vars->server_ips,
	    vars->n_server_ips, err, errlen);
	if (ips == NULL)
		return NULL;
	eps = join(V_URL, "the etcd endpoints", vars->etcd_endpoints,
	    vars->n_etcd_endpoints, err, errlen);
	if (eps == NULL) {
		free(ips);
		return NULL;
	}
	if (vars->quorum > 0)
		snprintf(quorum, sizeof(quorum), "%u", vars->quorum);

	/* The same order as env_names. */
	val[0] = vars->backend;
	val[1] = vars->service;
	val[2] = hook_event_name(vars->event);
	val[3] = ips;
	val[4] = vars->local_ip;
	val[5] = vars->master_ip;
	val[6] = quorum;
	val[7] = quorum;
	val[8] = vars->node_id;
	val[9] = eps;
	val[10] = vars->etcd_ca_file;
	val[11] = vars->etcd_cert_file;
	val[12] = vars->etcd_key_file;

	/* Ours go over the base's: any of the same name is replaced. */
	for (size_t i = 0; i < N_ENV; i++)
		own[i] = xasprintf("%s=%s", env_names[i],
		    val[i] != NULL ? val[i] : "");
	own[N_ENV] = NULL;
	merged = strv_overlay(base_environ, own);
	env = strv_dup(merged);
	free(merged);
	for (size_t i = 0; i < N_ENV; i++)
		free(own[i]);
	free(ips);
	free(eps);
	return env;
}

void
hook_env_free(char **envp)
{
	strv_free(envp);
}

/* ---- running --------------------------------------------------------- */

#define READ_CHUNK 4096
#define READS_PER_WAKE 16	/* then let other descriptors have a turn */

struct hook {
	struct hook *next;
	struct loop *loop;
	uint64_t id;
	char *name;
	hook_done_cb cb;
	void *arg;
	pid_t pid;		/* 0: never started */
	int fd;			/* read end of the output pipe, or -1 */
	bool exited;		/* reaped; status is valid */
	bool cancelled;		/* waits only to be reaped */
	bool timed_out;
	int status;
	char *error;
	int timeout_ms;
	uint64_t timeout_timer, kill_timer, drain_timer, done_timer;
	int64_t started_ms;

	/* Output. */
	char line[HOOK_LINE_MAX];
	size_t len;
	bool skipping;		/* the rest of an overlong line */
	size_t logged;		/* bytes logged so far */
	bool capped;		/* HOOK_OUTPUT_MAX reached */
};

/* Every hook started and not yet finished, cancelled ones awaiting their
 * reaping included. */
static struct {
	struct hook *head;
	uint64_t next_id;
} reg = { NULL, 1 };

static void
unlink_hook(struct hook *h)
{
	for (struct hook **p = &reg.head; *p != NULL; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			return;
		}
	}
}

static struct hook *
find_id(uint64_t id)
{
	for (struct hook *h = reg.head; h != NULL; h = h->next) {
		if (h->id == id && !h->cancelled)
			return h;
	}
	return NULL;
}

static void
stop_timers(struct hook *h)
{
	loop_cancel(h->loop, h->timeout_timer);
	loop_cancel(h->loop, h->kill_timer);
	loop_cancel(h->loop, h->drain_timer);
	loop_cancel(h->loop, h->done_timer);
	h->timeout_timer = h->kill_timer = h->drain_timer = h->done_timer = 0;
}

static void
close_output(struct hook *h)
{
	if (h->fd < 0)
		return;
	loop_unwatch(h->loop, h->fd);
	close(h->fd);
	h->fd = -1;
}

static void
free_hook(struct hook *h)
{
	free(h->name);
	free(h->error);
	free(h);
}

/* Kills the process group while its leader is not reaped, so the group
 * id cannot have been reused: hook_reaped() is told of the exit while the
 * leader is still a zombie (proc_reap()), and marks it exited then. */
static void
kill_group(struct hook *h, int sig)
{
	if (h->pid > 0 && !h->exited)
		(void)kill(-h->pid, sig);
}

/* -- output -- */

/* Logs one line (without its newline): control characters and DEL as
 * \xNN, a trailing CR dropped, the result cut at HOOK_LINE_MAX. */
static void
emit(struct hook *h, const char *s, size_t n, bool cut)
{
	char out[HOOK_LINE_MAX + 1];
	size_t o = 0, i;

	if (h->capped)
		return;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			if (o + 4 > HOOK_LINE_MAX)
				break;
			snprintf(out + o, sizeof(out) - o, "\\x%02x", ch);
			o += 4;
		} else {
			if (o + 1 > HOOK_LINE_MAX)
				break;
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	cut = cut || i < n;
	if (h->logged + o > HOOK_OUTPUT_MAX) {
		h->capped = true;
		log_info("hook %s: output truncated: more than %d KiB; the "
		    "rest is discarded", h->name, HOOK_OUTPUT_MAX / 1024);
		return;
	}
	h->logged += o;
	log_info("hook %s: %s%s", h->name, out, cut ? " [line truncated]" : "");
}

static void
consume(struct hook *h, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && !h->capped; i++) {
		char ch = buf[i];

		if (ch == '\n') {
			if (!h->skipping)
				emit(h, h->line, h->len, false);
			h->skipping = false;
			h->len = 0;
		} else if (h->skipping) {
			continue;
		} else if (h->len == sizeof(h->line)) {
			emit(h, h->line, h->len, true);
			h->skipping = true;
			h->len = 0;
		} else {
			h->line[h->len++] = ch;
		}
	}
}

/* The last line may lack its newline. */
static void
flush_output(struct hook *h)
{
	if (h->len > 0 && !h->skipping)
		emit(h, h->line, h->len, false);
	h->len = 0;
	h->skipping = false;
}

/* -- completion -- */

static void
on_done(struct loop *l, void *arg)
{
	struct hook *h = arg;
	struct hook_result r = {
		.id = h->id, .name = h->name, .status = h->status,
		.timed_out = h->timed_out, .error = h->error,
	};
	char how[128];

	(void)l;
	h->done_timer = 0;
	unlink_hook(h);
	if (r.error == NULL)
		log_debug("hook %s (pid %d) %s after %lld ms", h->name,
		    (int)h->pid, hook_result_str(&r, how, sizeof(how)),
		    (long long)(loop_now_ms() - h->started_ms));
	h->cb(h->arg, &r);
	free_hook(h);
}

/* Delivers the result from the loop once both the exit and the end of
 * the output are in. */
static void
maybe_done(struct hook *h)
{
	if (h->done_timer != 0 || h->fd >= 0 || (h->pid > 0 && !h->exited))
		return;
	h->done_timer = loop_timer(h->loop, 0, on_done, h);
}

/* Reads what is there; returns true at end of file or on an error. */
static bool
drain(struct hook *h)
{
	char buf[READ_CHUNK];

	for (int i = 0; i < READS_PER_WAKE; i++) {
		ssize_t r = read(h->fd, buf, sizeof(buf));

		if (r > 0) {
			consume(h, buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (r < 0)
			log_warn("hook %s: reading its output: %s", h->name,
			    strerror(errno));
		return true;
	}
	return false;
}

static void
on_output(struct loop *l, int fd, int events, void *arg)
{
	struct hook *h = arg;

	(void)l;
	(void)fd;
	(void)events;
	if (!drain(h))
		return;
	flush_output(h);
	close_output(h);
	loop_cancel(h->loop, h->drain_timer);
	h->drain_timer = 0;
	maybe_done(h);
}

static void
on_drain(struct loop *l, void *arg)
{
	struct hook *h = arg;

	(void)l;
	h->drain_timer = 0;
	if (h->fd >= 0 && !drain(h))
		log_warn("hook %s: a process it started outside its process "
		    "group still holds its output open; no longer reading it",
		    h->name);
	flush_output(h);
	close_output(h);
	maybe_done(h);
}

static void
on_kill(struct loop *l, void *arg)
{
	struct hook *h = arg;

	(void)l;
	h->kill_timer = 0;
	log_warn("hook %s (pid %d) still runs %d ms after SIGTERM; sending "
	    "SIGKILL", h->name, (int)h->pid, HOOK_KILL_MS);
	kill_group(h, SIGKILL);
}

static void
on_timeout(struct loop *l, void *arg)
{
	struct hook *h = arg;

	h->timeout_timer = 0;
	h->timed_out = true;
	log_warn("hook %s (pid %d) did not finish within %d ms; sending "
	    "SIGTERM", h->name, (int)h->pid, h->timeout_ms);
	kill_group(h, SIGTERM);
	h->kill_timer = loop_timer(l, HOOK_KILL_MS, on_kill, h);
}

/* -- starting -- */

/* Moves fd to 3 or above, so dup2 onto 1 and 2 in the child cannot
 * clobber it (the agent may run with 0-2 closed). */
static int
above_stdio(int fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static char *
spawn_error(const char *path, int err)
{
	const char *hint = "";

	switch (err) {
	case ENOENT:
		hint = "; check the hook's path (no PATH search is done)";
		break;
	case EACCES:
		hint = "; it must be an executable file (chmod +x)";
		break;
	case ENOEXEC:
		hint = "; a script needs a #! line";
		break;
	}
	return xasprintf("cannot run %s: %s%s", path, strerror(err), hint);
}

static int
start(struct hook *h, char *const argv[], char *const envp[])
{
	struct stat st;
	int p[2];

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		h->error = xstrdup("no hook command given");
		return -1;
	}
	/* posix_spawn reports these too, but not under valgrind, and a
	 * check first gives the clearer message for a directory. */
	if (stat(argv[0], &st) < 0) {
		h->error = spawn_error(argv[0], errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		h->error = xasprintf("cannot run %s: it is not a regular file",
		    argv[0]);
		return -1;
	}
	if (access(argv[0], X_OK) < 0) {
		h->error = spawn_error(argv[0], errno);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		h->error = xasprintf("cannot make a pipe for the output of %s: "
		    "%s", argv[0], strerror(errno));
		return -1;
	}
	p[0] = above_stdio(p[0]);
	p[1] = above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		h->error = xasprintf("cannot set up the output pipe of %s: %s",
		    argv[0], strerror(errno));
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return -1;
	}
	h->pid = proc_spawn_io(argv, envp, p[1], p[1]);
	if (h->pid < 0) {
		int e = errno;

		h->pid = 0;
		close(p[0]);
		close(p[1]);
		h->error = spawn_error(argv[0], e);
		return -1;
	}
	close(p[1]);
	h->fd = p[0];
	loop_watch(h->loop, h->fd, LOOP_READ, on_output, h);
	return 0;
}

uint64_t
hook_run(struct loop *l, const char *name, char *const argv[],
    char *const envp[], int timeout_ms, hook_done_cb cb, void *arg)
{
	struct hook *h = xcalloc(1, sizeof(*h));

	h->loop = l;
	h->id = reg.next_id++;
	h->name = xstrdup(name != NULL ? name : "?");
	h->cb = cb;
	h->arg = arg;
	h->fd = -1;
	h->status = -1;
	h->timeout_ms = timeout_ms;
	h->started_ms = loop_now_ms();
	h->next = reg.head;
	reg.head = h;

	if (start(h, argv, envp) < 0) {
		maybe_done(h);
		return h->id;
	}
	log_debug("hook %s: started %s (pid %d)", h->name, argv[0],
	    (int)h->pid);
	if (timeout_ms > 0)
		h->timeout_timer = loop_timer(l, timeout_ms, on_timeout, h);
	return h->id;
}

void
hook_cancel(uint64_t id)
{
	struct hook *h = id != 0 ? find_id(id) : NULL;

	if (h == NULL)
		return;
	stop_timers(h);
	close_output(h);
	if (h->pid > 0 && !h->exited) {
		log_debug("hook %s (pid %d) cancelled", h->name, (int)h->pid);
		kill_group(h, SIGKILL);
		/* Kept until reaped, so the reaper knows the pid. */
		h->cancelled = true;
		return;
	}
	unlink_hook(h);
	free_hook(h);
}

void
hook_cancel_all(void)
{
	while (reg.head != NULL) {
		struct hook *h = reg.head;

		reg.head = h->next;
		stop_timers(h);
		close_output(h);
		kill_group(h, SIGKILL);
		free_hook(h);
	}
}

bool
hook_reaped(pid_t pid, int status)
{
	struct hook *h;

	for (h = reg.head; h != NULL; h = h->next) {
		if (pid > 0 && h->pid == pid && !h->exited)
			break;
	}
	if (h == NULL)
		return false;
	/* Whatever it left behind in its group goes too (see hooks.h). The
	 * leader is a zombie until this returns, so the id is still its. */
	kill_group(h, SIGKILL);
	h->exited = true;
	h->status = status;
	if (h->cancelled) {
		unlink_hook(h);
		free_hook(h);
		return true;
	}
	loop_cancel(h->loop, h->timeout_timer);
	loop_cancel(h->loop, h->kill_timer);
	h->timeout_timer = h->kill_timer = 0;
	if (h->fd >= 0)
		h->drain_timer = loop_timer(h->loop, HOOK_DRAIN_MS, on_drain,
		    h);
	maybe_done(h);
	return true;
}

size_t
hook_count(void)
{
	size_t n = 0;

	for (struct hook *h = reg.head; h != NULL; h = h->next)
		n++;
	return n;
}

/* ---- results --------------------------------------------------------- */

bool
hook_succeeded(const struct hook_result *r)
{
	return r->error == NULL && !r->timed_out && r->status != -1 &&
	    WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

const char *
hook_result_str(const struct hook_result *r, char *buf, size_t len)
{
	char how[96];

	if (r->error != NULL)
		snprintf(buf, len, "could not start: %s", r->error);
	else if (r->timed_out)
		snprintf(buf, len, "timed out and %s",
		    proc_status_str(r->status, how, sizeof(how)));
	else
		proc_status_str(r->status, buf, len);
	return buf;
}
