#include "lib/fmacros.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "services/be_int.h"

/* ZooKeeper: zoo.cfg and myid in the data dir, the JVM in the
 * foreground, "srvr" as the health check. */

#define ZK_CLIENT_PORT 2181
#define ZK_QUORUM_PORT 2888
#define ZK_ELECTION_PORT 3888
#define ZK_TICK_MS 2000
#define ZK_INIT_LIMIT 10
#define ZK_SYNC_LIMIT 5

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
	if (be_path_ok("ZooKeeper data dir", o->data_dir, err, errlen) < 0 ||
	    be_port(o->client_port, ZK_CLIENT_PORT, "ZooKeeper client port",
	    &p->client, err, errlen) < 0 ||
	    be_port(o->quorum_port, ZK_QUORUM_PORT, "ZooKeeper quorum port",
	    &p->quorum, err, errlen) < 0 ||
	    be_port(o->election_port, ZK_ELECTION_PORT,
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
	struct be_vset v;
	struct zk_params p;
	struct sbuf b = { 0 };
	const struct be_vmem *me;

	*zoo_cfg = NULL;
	*myid = NULL;
	if (be_vset_load(s, &v, err, errlen) < 0)
		return -1;
	if (zk_params(o, &p, err, errlen) < 0) {
		be_vset_free(&v);
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

			be_host_part(&v.m[i], h, sizeof(h));
			sb_printf(&b, "server.%u=%s:%d:%d%s\n", v.m[i].id, h,
			    p.quorum, p.election,
			    v.m[i].standby ? ":observer" : "");
		}
	}
	*zoo_cfg = sb_take(&b);
	*myid = xasprintf("%u\n", me->id);
	be_vset_free(&v);
	return 0;
}

/* Fails when path holds a myid other than id. A missing file is fine.
 * The data dir belongs to the service's user, who may have put a link
 * (to /etc/shadow, say) or a FIFO there: only a regular file of its own,
 * reached without following a link, is read, and nothing else of it
 * reaches a message. */
static int
myid_matches(const char *path, unsigned id, char *err, size_t errlen)
{
	char buf[32], q[64];
	ssize_t n;
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s%s", path,
		    strerror(errno), errno == ELOOP ? " (it is a symbolic "
		    "link; zooinit writes myid itself: remove the link)" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		snprintf(err, errlen, "%s is not a regular file with a single "
		    "name; zooinit writes myid itself: remove it", path);
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

/* Data dir and config dir are one: zoo.cfg sits beside myid. */
static int
zk_prepare(const struct be_env *e, char ***argv, char *err, size_t errlen)
{
	const struct svc_cfg *c = e->cfg;
	struct be_zk_opts o = { .data_dir = c->data_dir,
	    .client_port = c->client_port, .quorum_port = c->peer_port,
	    .election_port = c->election_port };
	char *cp, *myid, *zcfg;
	int rc;

	myid = xasprintf("%s/myid", c->data_dir);
	zcfg = xasprintf("%s/zoo.cfg", c->data_dir);
	rc = be_zk_write(c->data_dir, e->set, &o, err, errlen) < 0 ||
	    be_give(e, myid, err, errlen) < 0 ||
	    be_give(e, zcfg, err, errlen) < 0 ? -1 : 0;
	free(myid);
	free(zcfg);
	if (rc < 0)
		return -1;
	cp = be_zk_classpath(NULL, err, errlen);
	if (cp == NULL)
		return -1;
	*argv = be_zk_argv(e->bin, c->data_dir, cp);
	free(cp);
	return 0;
}

static void
on_srvr(struct loop *l, const struct be_4lw_result *r, void *arg)
{
	struct be_check *c = arg;
	struct be_zk_srvr st;
	bool ok;

	(void)l;
	c->zk_req = 0;
	ok = r->ok && be_zk_parse_srvr(r->text, &st) == 0 &&
	    st.mode != BE_ZK_NOT_SERVING && st.mode != BE_ZK_UNKNOWN;
	c->done(c->arg, ok, !r->ok ? r->error : ok ? NULL :
	    "ZooKeeper is not serving (no quorum)");
}

/* "srvr", not "ruok": ZooKeeper says imok before it serves. */
static void
zk_check(struct be_check *c)
{
	c->zk_req = be_4lw(c->loop, c->ip, be_port_or(c->cfg->client_port,
	    ZK_CLIENT_PORT), "srvr", BE_CHECK_TIMEOUT_MS, on_srvr, c);
}

const struct backend_ops be_zookeeper = {
	.name = "zookeeper",
	.package = "zookeeper and a JRE",
	.prepare = zk_prepare,
	.check = zk_check,
};
