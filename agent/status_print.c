#include "lib/fmacros.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/plan.h"
#include "agent/status_impl.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* zooinit status, the output: the member table, the summary line and the
 * services as text, or all of it as one JSON object. */

static json_t *
jstrs(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, plan_json_string(v[i]));
	return a;
}

/* Writes bytes the way etcdctl does (SI units): "20 kB", "1.5 MB". */
static void
human_size(int64_t bytes, char *out, size_t outlen)
{
	static const char *const unit[] = {
		"B", "kB", "MB", "GB", "TB", "PB", "EB",
	};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1000) {
		snprintf(out, outlen, "%" PRId64 " B", bytes);
		return;
	}
	while (v >= 1000 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1000;
		u++;
	}
	snprintf(out, outlen, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

enum { C_NAME, C_ID, C_ROLE, C_LEADER, C_HEALTH, C_VERSION, C_DB, C_PEER,
	C_CLIENT, NCOL };

/* Prints head and the n rows of ncol cells in cells (row after row, each
 * a new string, freed here) as a table whose columns are as wide as
 * their widest cell, each line after indent; the last column is not
 * padded. */
static void
print_cells(FILE *out, const char *indent, const char *const *head,
    char **cells, size_t n, size_t ncol)
{
	size_t *w = xcalloc(ncol, sizeof(*w));

	for (size_t c = 0; c < ncol; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < n * ncol; i++)
		if (strlen(cells[i]) > w[i % ncol])
			w[i % ncol] = strlen(cells[i]);
	for (size_t i = 0; i <= n; i++) {
		const char *const *row = i == 0 ? head :
		    (const char *const *)cells + (i - 1) * ncol;

		fprintf(out, "%s", indent);
		for (size_t c = 0; c + 1 < ncol; c++)
			fprintf(out, "%-*s  ", (int)w[c], row[c]);
		fprintf(out, "%s\n", row[ncol - 1]);
	}
	for (size_t i = 0; i < n * ncol; i++)
		free(cells[i]);
	free(w);
}

static void
print_table(const struct status *s, FILE *out)
{
	static const char *const head[NCOL] = {
		"NAME", "ID", "ROLE", "LEADER", "HEALTH", "VERSION", "DB SIZE",
		"PEER URL", "CLIENT URL",
	};
	size_t n = s->members.n;
	char *(*cell)[NCOL] = xcalloc(n > 0 ? n : 1, sizeof(*cell));

	for (size_t i = 0; i < n; i++) {
		const struct mem *m = &s->mems[i];
		const struct etcd_member *e = m->m;
		char size[32], *urls;

		cell[i][C_NAME] = e->name[0] != '\0' ?
		    status_clean(e->name, CELL_MAX) : xstrdup("-");
		cell[i][C_ID] = xasprintf("%016" PRIx64, e->id);
		cell[i][C_ROLE] = xstrdup(e->learner ? "learner" : "voter");
		cell[i][C_LEADER] = xstrdup(m->leader ? "*" : "");
		if (m->healthy && m->catching_up)
			cell[i][C_HEALTH] = xstrdup("healthy, catching up");
		else if (m->healthy)
			cell[i][C_HEALTH] = xstrdup("healthy");
		else if (m->base == NULL)
			cell[i][C_HEALTH] = xstrdup("unstarted");
		else
			cell[i][C_HEALTH] = xasprintf("unhealthy: %s",
			    m->reason);
		if (m->self_status) {
			human_size(m->st.db_size, size, sizeof(size));
			cell[i][C_VERSION] = status_clean(m->st.version, CELL_MAX);
			cell[i][C_DB] = xstrdup(size);
		} else {
			cell[i][C_VERSION] = xstrdup("-");
			cell[i][C_DB] = xstrdup("-");
		}
		urls = xjoin(e->peer_urls, e->n_peer_urls, ",");
		cell[i][C_PEER] = urls[0] != '\0' ?
		    status_clean(urls, 2 * CELL_MAX) : xstrdup("-");
		free(urls);
		urls = xjoin(e->client_urls, e->n_client_urls, ",");
		cell[i][C_CLIENT] = urls[0] != '\0' ?
		    status_clean(urls, 2 * CELL_MAX) : xstrdup("-");
		free(urls);
	}
	print_cells(out, "", head, &cell[0][0], n, NCOL);
	free(cell);
}

/* "cluster ID: 3 members (3 voters), leader h2, healthy", or with
 * "unhealthy: " and what is wrong. */
static void
print_summary(const struct status *s, FILE *out)
{
	size_t voters = 0, learners = 0, bad = 0, listed = 0;
	char *leader = status_leader_label(s);

	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *m = &s->mems[i];

		if (m->m->learner)
			learners++;
		else {
			voters++;
			if (!m->healthy)
				bad++;
		}
	}
	fprintf(out, "cluster %016" PRIx64 ": %zu member%s (%zu voter%s",
	    s->members.cluster_id, s->members.n, s->members.n == 1 ? "" : "s",
	    voters, voters == 1 ? "" : "s");
	if (learners > 0)
		fprintf(out, ", %zu learner%s", learners,
		    learners == 1 ? "" : "s");
	if (leader != NULL)
		fprintf(out, "), leader %s, ", leader);
	else
		fprintf(out, "), no leader, ");
	free(leader);
	if (s->healthy) {
		fprintf(out, "healthy\n");
		return;
	}
	fprintf(out, "unhealthy: ");
	if (s->leader_id == 0)
		fprintf(out, "no leader is known%s", bad > 0 ? "; " : "");
	if (bad > 0)
		fprintf(out, "voter%s ", bad == 1 ? "" : "s");
	for (size_t i = 0; i < s->members.n && bad > 0; i++) {
		const struct mem *m = &s->mems[i];
		char *name;

		if (m->m->learner || m->healthy)
			continue;
		if (listed == SUMMARY_NAMES) {
			fprintf(out, ", ...");
			break;
		}
		name = status_member_label(m->m);
		fprintf(out, "%s%s", listed > 0 ? ", " : "", name);
		free(name);
		listed++;
	}
	if (bad > 0)
		fprintf(out, " %s not healthy", bad == 1 ? "is" : "are");
	fprintf(out, "\n");
}

/* "3.4.23 on h1, h2; 3.5.21 on h3": the members that answered, by
 * version, into b. */
static void
versions_text(const struct status *s, struct sbuf *b)
{
	for (size_t i = 0; i < s->n_by_version; i++) {
		const struct mem *m = &s->mems[s->by_version[i]];
		bool first = i == 0 || status_version_cmp(s->mems[s->by_version[
		    i - 1]].st.version, m->st.version) != 0;
		char *name = status_member_label(m->m);

		if (first) {
			char *v = status_clean(m->st.version, CELL_MAX);

			sb_printf(b, "%s%s on ", i > 0 ? "; " : "", v);
			free(v);
		} else {
			sb_puts(b, ", ");
		}
		sb_puts(b, name);
		free(name);
	}
}

/* One line when the members run different etcd versions: etcd runs a
 * cluster at its lowest member's version, so a mixed cluster is an
 * upgrade (or a rollback) under way or left half done. */
static void
print_versions(const struct status *s, FILE *out)
{
	struct sbuf b = { .max = 4096 };

	if (s->n_versions < 2)
		return;
	versions_text(s, &b);
	fprintf(out, "mixed etcd versions: %s; the cluster keeps the features "
	    "of the oldest until every member runs the same version: finish "
	    "the upgrade (or the rollback)\n", sb_str(&b));
	sb_free(&b);
}

static void
fmt_left(int64_t secs, char *buf, size_t len)
{
	if (secs < 0)
		snprintf(buf, len, "ended");
	else if (secs < 3600)
		snprintf(buf, len, "%" PRId64 " s left", secs);
	else if (secs < 2 * 86400)
		snprintf(buf, len, "%" PRId64 " h left", secs / 3600);
	else
		snprintf(buf, len, "%" PRId64 " d left", secs / 86400);
}

/* The certificates the members served: one line for all, then one per
 * certificate close to its end. */
static void
print_certs(const struct status *s, FILE *out)
{
	int64_t now = (int64_t)time(NULL);
	size_t n = 0;
	char when[40], left[32];

	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *m = &s->mems[i];
		char *name;

		if (m->cert_not_after == 0)
			continue;
		if (n++ == SUMMARY_NAMES) {
			fprintf(out, ", ...");
			break;
		}
		name = status_member_label(m->m);
		str_utc((time_t)m->cert_not_after, when, sizeof(when));
		fmt_left(m->cert_not_after - now, left, sizeof(left));
		fprintf(out, "%s%s until %s (%s)", n == 1 ? "certificates: " :
		    ", ", name, when, left);
		free(name);
	}
	if (n > 0)
		fprintf(out, "\n");
	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *m = &s->mems[i];
		char *name;

		if (m->cert_not_after == 0 || !status_cert_close(
		    m->cert_not_before, m->cert_not_after, now))
			continue;
		name = status_member_label(m->m);
		str_utc((time_t)m->cert_not_after, when, sizeof(when));
		fmt_left(m->cert_not_after - now, left, sizeof(left));
		fprintf(out, "certificate of %s %s %s (%s), less than a third "
		    "of its lifetime: renew it (zooinit renews the ones it "
		    "makes at two thirds: see that agent's log)\n", name,
		    now >= m->cert_not_after ? "ended" : "ends", when, left);
		free(name);
	}
}

/* One line per learner: it does not vote, however healthy, until it is
 * promoted. */
static void
print_learners(const struct status *s, FILE *out)
{
	size_t listed = 0;

	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *m = &s->mems[i];
		const struct mem *ldr = NULL;
		char *name;

		if (!m->m->learner)
			continue;
		if (listed++ == SUMMARY_NAMES) {
			fprintf(out, "more learners: see the table\n");
			break;
		}
		for (size_t j = 0; j < s->members.n; j++)
			if (s->mems[j].leader && s->mems[j].self_status)
				ldr = &s->mems[j];
		name = status_member_label(m->m);
		fprintf(out, "learner %s is not a voter until it is promoted", name);
		free(name);
		if (m->healthy && m->catching_up && ldr != NULL)
			fprintf(out, ": catching up with the leader (raft index "
			    "%" PRIu64 " of %" PRIu64 ")", m->st.raft_index,
			    ldr->st.raft_index);
		else if (m->healthy && ldr != NULL)
			fprintf(out, ": in sync with the leader, ready to be "
			    "promoted");
		fprintf(out, "\n");
	}
}

/* A node's role: in the sealed set or not; before the seal, neither. */
static const char *
node_role(const struct svc *sv, const struct reg_node *nd)
{
	if (!sv->sealed)
		return NULL;
	return nd->participant ? "participant" : "standby";
}

enum { S_ID, S_ADDR, S_ROLE, S_REG, S_STARTED, S_BOOTED, SNCOL };

/* One service: a line, then its nodes as a table like the members'. */
static void
print_service(const struct svc *sv, FILE *out)
{
	static const char *const head[SNCOL] = {
		"ID", "ADDRESS", "ROLE", "REGISTERED", "STARTED", "BOOTED",
	};
	char *name = sv->name_len > 0 ? status_clean_n(sv->name, sv->name_len,
	    CELL_MAX) : xstrdup("-");
	char *(*cell)[SNCOL];

	if (sv->error != NULL) {
		char *e = status_clean(sv->error, 4 * CELL_MAX);

		fprintf(out, "service %s: registry unreadable: %s\n", name, e);
		free(e);
		free(name);
		return;
	}
	fprintf(out, "service %s: ", name);
	free(name);
	if (sv->size > 0)
		fprintf(out, "size %u, ", sv->size);
	else
		fprintf(out, "no size yet, ");
	fprintf(out, "%s, ", sv->sealed ? "sealed" : "not sealed");
	if (sv->leader[0] != '\0')
		fprintf(out, "leader %s\n", sv->leader);
	else
		fprintf(out, "no leader\n");
	if (sv->n_nodes == 0)
		return;
	cell = xcalloc(sv->n_nodes, sizeof(*cell));
	for (size_t i = 0; i < sv->n_nodes; i++) {
		const struct reg_node *nd = &sv->nodes[i];
		const char *role = node_role(sv, nd);

		cell[i][S_ID] = nd->id > 0 ? xasprintf("%u", nd->id) :
		    xstrdup("-");
		cell[i][S_ADDR] = xstrdup(nd->ip);
		cell[i][S_ROLE] = xstrdup(role != NULL ? role : "-");
		cell[i][S_REG] = xstrdup(nd->alive ? "yes" : "no");
		cell[i][S_STARTED] = xstrdup(nd->started ? "yes" : "no");
		cell[i][S_BOOTED] = xstrdup(nd->booted ? "yes" : "no");
	}
	print_cells(out, "  ", head, &cell[0][0], sv->n_nodes, SNCOL);
	free(cell);
}

/* After the cluster: each service, or why the registry could not be read;
 * nothing when no service has keys. */
static void
print_services(const struct status *s, FILE *out)
{
	if (s->reg_error != NULL) {
		char *e = status_clean(s->reg_error, 4 * CELL_MAX);

		fprintf(out, "\nservices: registry unreadable: %s\n", e);
		free(e);
		return;
	}
	for (size_t i = 0; i < s->n_svcs; i++) {
		fprintf(out, "\n");
		print_service(&s->svcs[i], out);
	}
}

static json_t *
json_service(const struct svc *sv)
{
	json_t *j = json_object(), *a;

	json_object_set_new(j, "name", plan_json_stringn(sv->name,
	    sv->name_len));
	if (sv->error != NULL) {
		json_object_set_new(j, "error", plan_json_string(sv->error));
		return j;
	}
	json_object_set_new(j, "size", sv->size > 0 ?
	    json_integer(sv->size) : json_null());
	json_object_set_new(j, "sealed", json_boolean(sv->sealed));
	json_object_set_new(j, "leader", sv->leader[0] != '\0' ?
	    json_string(sv->leader) : json_null());
	a = json_array();
	for (size_t i = 0; i < sv->n_nodes; i++) {
		const struct reg_node *nd = &sv->nodes[i];
		const char *role = node_role(sv, nd);
		json_t *n = json_object();

		json_object_set_new(n, "id", nd->id > 0 ?
		    json_integer(nd->id) : json_null());
		json_object_set_new(n, "ip", json_string(nd->ip));
		json_object_set_new(n, "role", role != NULL ?
		    json_string(role) : json_null());
		json_object_set_new(n, "registered", json_boolean(nd->alive));
		json_object_set_new(n, "started", json_boolean(nd->started));
		json_object_set_new(n, "booted", json_boolean(nd->booted));
		json_array_append_new(a, n);
	}
	json_object_set_new(j, "nodes", a);
	json_object_set_new(j, "error", json_null());
	return j;
}

/* [{"version": "3.4.23", "members": ["h1", "h2"]}, ...], lowest first:
 * the members that answered for themselves. */
static json_t *
json_versions(const struct status *s)
{
	json_t *a = json_array(), *g = NULL;

	for (size_t i = 0; i < s->n_by_version; i++) {
		const struct mem *m = &s->mems[s->by_version[i]];
		char *name = status_member_label(m->m);

		if (i == 0 || status_version_cmp(s->mems[s->by_version[i - 1]].
		    st.version, m->st.version) != 0) {
			g = json_object();
			json_object_set_new(g, "version",
			    plan_json_string(m->st.version));
			json_object_set_new(g, "members", json_array());
			json_array_append_new(a, g);
		}
		json_array_append_new(json_object_get(g, "members"),
		    plan_json_string(name));
		free(name);
	}
	return a;
}

void
status_print_json(const struct status *s, FILE *out)
{
	json_t *o = json_object(), *a = json_array();
	char *leader = status_leader_label(s), *text;
	char id[24];

	snprintf(id, sizeof(id), "%016" PRIx64, s->members.cluster_id);
	json_object_set_new(o, "cluster_id", json_string(id));
	json_object_set_new(o, "healthy", json_boolean(s->healthy));
	json_object_set_new(o, "leader", plan_json_string(leader));
	free(leader);
	json_object_set_new(o, "this_host_note", s->note != NULL ?
	    plan_json_string(s->note) : json_null());
	for (size_t i = 0; i < s->members.n; i++) {
		const struct mem *m = &s->mems[i];
		const struct etcd_member *e = m->m;
		json_t *j = json_object();

		snprintf(id, sizeof(id), "%016" PRIx64, e->id);
		json_object_set_new(j, "name", plan_json_string(e->name));
		json_object_set_new(j, "id", json_string(id));
		json_object_set_new(j, "learner", json_boolean(e->learner));
		json_object_set_new(j, "leader", json_boolean(m->leader));
		json_object_set_new(j, "healthy", json_boolean(m->healthy));
		json_object_set_new(j, "error", m->detail != NULL ?
		    plan_json_string(m->detail) : json_null());
		json_object_set_new(j, "version", m->self_status ?
		    plan_json_string(m->st.version) : json_null());
		json_object_set_new(j, "db_size", m->self_status ?
		    json_integer(m->st.db_size) : json_null());
		json_object_set_new(j, "raft_index", m->self_status ?
		    json_integer((json_int_t)m->st.raft_index) : json_null());
		json_object_set_new(j, "catching_up", e->learner ?
		    json_boolean(m->catching_up) : json_null());
		json_object_set_new(j, "cert_not_after", m->cert_not_after ?
		    json_integer(m->cert_not_after) : json_null());
		json_object_set_new(j, "cert_close", m->cert_not_after ?
		    json_boolean(status_cert_close(m->cert_not_before,
		    m->cert_not_after, (int64_t)time(NULL))) : json_null());
		json_object_set_new(j, "peer_urls",
		    jstrs(e->peer_urls, e->n_peer_urls));
		json_object_set_new(j, "client_urls",
		    jstrs(e->client_urls, e->n_client_urls));
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "members", a);
	json_object_set_new(o, "mixed_versions", json_boolean(s->n_versions > 1));
	json_object_set_new(o, "versions", json_versions(s));
	/* Always a list, empty when the registry could not be read:
	 * services_error says so. */
	a = json_array();
	for (size_t i = 0; i < s->n_svcs; i++)
		json_array_append_new(a, json_service(&s->svcs[i]));
	json_object_set_new(o, "services", a);
	json_object_set_new(o, "services_error", s->reg_error != NULL ?
	    plan_json_string(s->reg_error) : json_null());
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		abort();	/* only on allocation failure */
	fprintf(out, "%s\n", text);
	free(text);
}

void
status_print_no_answer(const struct status *s)
{
	fprintf(stderr, "zooinit status: no etcd endpoint answered the member "
	    "list (");
	for (size_t i = 0; i < s->n_eps; i++) {
		const struct ep *e = &s->eps[i];
		char *b = status_clean(e->base, 2 * CELL_MAX);

		fprintf(stderr, "%s%s: %s", i > 0 ? ", " : "", b,
		    e->error != NULL ? e->error : "no answer in time");
		free(b);
	}
	fprintf(stderr, "); check that etcd runs there, or pass --endpoints "
	    "with a running member's client URL\n");
}

void
status_print_text(const struct status *s, FILE *out)
{
	print_table(s, out);
	print_summary(s, out);
	if (s->note != NULL)
		fprintf(out, "this host: %s\n", s->note);
	print_versions(s, out);
	print_learners(s, out);
	print_certs(s, out);
	print_services(s, out);
}
