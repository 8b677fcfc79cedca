#include "lib/fmacros.h"

#include <errno.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/cfg_file.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* Reading a libconfig file: its text, its @include lines, where a
 * setting is, and an integer as the user wrote it. */

/* A config file is a few kilobytes; the cap keeps a wrong -f (a log, a
 * device) from being slurped whole. */
#define CFG_FILE_MAX (1024 * 1024)

char *
cfg_quote(const char *s, char *out, size_t outlen)
{
	char q[CFG_QUOTE_MAX];

	snprintf(out, outlen, "\"%s\"", str_quote(s, q, sizeof(q)));
	return out;
}

int
cfg_file_read(const char *path, char **out, char *why, size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap, got;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		fclose(f);
		return -1;
	}
	/* fopen() opens a directory, and libconfig would then report a
	 * puzzling syntax error instead. */
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s", strerror(EISDIR));
		fclose(f);
		return -1;
	}
	cap = 4096;
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0 || len > CFG_FILE_MAX)
			break;
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s", strerror(EIO));
		goto bad;
	}
	if (len > CFG_FILE_MAX) {
		snprintf(why, whylen, "larger than %d bytes", CFG_FILE_MAX);
		goto bad;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whylen, "not a text file (it has a NUL byte)");
		goto bad;
	}
	buf[len] = '\0';
	fclose(f);
	*out = buf;
	return 0;
bad:
	fclose(f);
	free(buf);
	return -1;
}

/* libconfig names the main file NULL (it is read from a string here) and
 * an included one by its @include text, which it opened relative to the
 * include dir. */
char *
cfg_file_source(const struct cfg_file *fx, const char *file)
{
	if (file == NULL)
		return xstrdup(fx->path);
	return xasprintf("%s/%s", fx->dir, file);
}

/* Parses the integer literal at p as libconfig would, but in 64 bits:
 * optional sign, decimal or 0x hex, optional L/LL. Returns -1 when p
 * holds no literal; sets *overflow when it exceeds even 64 bits. */
static int
parse_literal(const char *p, long long *v, bool *overflow, char *lit,
    size_t litlen)
{
	const char *d = (*p == '-' || *p == '+') ? p + 1 : p;
	int base = (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) ? 16 : 10;
	char *end;

	errno = 0;
	*v = strtoll(p, &end, base);
	if (end == p)
		return -1;
	*overflow = errno == ERANGE;
	end += strspn(end, "L");
	snprintf(lit, litlen, "%.*s", (int)(end - p), p);
	return 0;
}

/* libconfig 1.5 reads a decimal literal beyond int range through atoi():
 * 99999999999 arrives as a CONFIG_TYPE_INT holding 1215752191 and
 * 4294967301 as 5, which is even in range. Only the text says what the
 * user wrote, so find the (skip+1)th "key = literal" from the setting's
 * line on and parse the literal again. Returns -1 when it cannot be
 * found. */
static int
rescan_int(const char *text, unsigned line, const char *key, unsigned skip,
    long long *v, bool *overflow, char *lit, size_t litlen)
{
	const char *p = text, *q;
	size_t klen = strlen(key);

	for (unsigned l = 1; l < line; l++) {
		p = strchr(p, '\n');
		if (p == NULL)
			return -1;
		p++;
	}
	while (*p != '\0') {
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			q = strstr(p + 2, "*/");
			if (q == NULL)
				return -1;
			p = q + 2;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '"')
				p++;
		} else if ((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || *p == '*') {
			q = p;
			p += strspn(p, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-*");
			if ((size_t)(p - q) != klen ||
			    memcmp(q, key, klen) != 0)
				continue;
			q = p + strspn(p, " \t\r\n");
			if (*q != '=' && *q != ':')
				continue;
			if (skip > 0) {
				skip--;
				continue;
			}
			q++;
			q += strspn(q, " \t\r\n");
			return parse_literal(q, v, overflow, lit, litlen);
		} else {
			p++;
		}
	}
	return -1;
}

void
cfg_describe(const config_setting_t *s, char *out, size_t outlen)
{
	char q[CFG_QUOTE_MAX + 2];

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(out, outlen, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(out, outlen, "the number %g",
		    config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(out, outlen, "%s",
		    config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		snprintf(out, outlen, "the string %s",
		    cfg_quote(config_setting_get_string(s), q, sizeof(q)));
		break;
	case CONFIG_TYPE_GROUP:
		snprintf(out, outlen, "a group");
		break;
	case CONFIG_TYPE_ARRAY:
		snprintf(out, outlen, "an array");
		break;
	case CONFIG_TYPE_LIST:
		snprintf(out, outlen, "a list");
		break;
	default:
		snprintf(out, outlen, "nothing");
		break;
	}
}

static bool
same_file(const config_setting_t *a, const config_setting_t *b)
{
	const char *fa = config_setting_source_file(a);
	const char *fb = config_setting_source_file(b);

	return fa == fb || (fa != NULL && fb != NULL && strcmp(fa, fb) == 0);
}

/* Counts the settings named like s on s's line that come before it, in
 * file order; returns true once s is reached. The rescan must skip as many
 * "name =" as in a = { size = 3; }; b = { size = 4294967301; };. Only
 * what precedes s is walked, and that has passed the checks (no unknown
 * keys, capped lists), so the walk stays short. */
static bool
count_before(const config_setting_t *at, const config_setting_t *s,
    unsigned *n)
{
	const char *name = config_setting_name(at);

	if (at == s)
		return true;
	if (name != NULL && strcmp(name, config_setting_name(s)) == 0 &&
	    config_setting_source_line(at) == config_setting_source_line(s) &&
	    same_file(at, s))
		(*n)++;
	if (config_setting_is_aggregate(at)) {
		for (int i = 0; i < config_setting_length(at); i++) {
			if (count_before(config_setting_get_elem(at,
			    (unsigned)i), s, n))
				return true;
		}
	}
	return false;
}

int
cfg_file_int(const struct cfg_file *fx, const config_setting_t *s,
    long long *out, char *found, size_t foundlen)
{
	int type = config_setting_type(s);
	const char *name = config_setting_name(s);
	long long v, lv;
	bool overflow = false;
	char lit[64], why[128];
	char *other = NULL, *path;
	const char *text = fx->text;
	unsigned skip = 0;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		cfg_describe(s, found, foundlen);
		return -1;
	}
	v = config_setting_get_int64(s);
	snprintf(found, foundlen, "%lld", v);
	if (type == CONFIG_TYPE_INT && name != NULL) {
		if (config_setting_source_file(s) != NULL) {
			path = cfg_file_source(fx,
			    config_setting_source_file(s));
			if (cfg_file_read(path, &other, why, sizeof(why)) == 0)
				text = other;
			else
				text = NULL;
			free(path);
		}
		if (fx->root != NULL)
			count_before(fx->root, s, &skip);
		/* Trust the rescan only where it agrees with libconfig in
		 * the low 32 bits that atoi() kept, so a scanner slip can
		 * never reject a good file. Beyond 64 bits strtoll() gave
		 * LLONG_MAX or LLONG_MIN, out of every range. */
		if (text != NULL && rescan_int(text,
		    config_setting_source_line(s), name, skip, &lv, &overflow,
		    lit, sizeof(lit)) == 0 &&
		    (overflow || (uint32_t)lv == (uint32_t)v)) {
			snprintf(found, foundlen, "%s", lit);
			v = lv;
		}
		free(other);
	}
	*out = v;
	return 0;
}

char *
cfg_file_where(const struct cfg_file *fx, const config_setting_t *s)
{
	char *file = cfg_file_source(fx, config_setting_source_file(s));
	char *where = xasprintf("%s:%u", file, config_setting_source_line(s));

	free(file);
	return where;
}

/* The name of the @include on the line at q (past "@include"), or NULL
 * when it has no quoted name; a new string. */
static char *
include_name(const char *q)
{
	char *name;
	size_t n = 0;

	q += strspn(q, " \t");
	if (*q != '"')
		return NULL;
	name = xmalloc(strlen(q));
	for (q++; *q != '\0' && *q != '"' && *q != '\n'; q++) {
		if (*q == '\\' && q[1] != '\0')
			q++;
		name[n++] = *q;
	}
	name[n] = '\0';
	return name;
}

/* libconfig 1.5 opens an @include that names a directory ("", ".")
 * without complaint, then its scanner fails to read it and calls exit(2)
 * with no file or line. So every @include line (one that starts with it,
 * as libconfig's scanner wants) of text, and of the files it includes in
 * turn, is checked first: an existing name that is not a regular file is
 * an error here. Names that do not exist are left to libconfig, which
 * reports them. */
static int
check_includes(const char *file, const char *text, const char *dir,
    int depth, char *err, size_t errlen)
{
	unsigned line = 1;

	if (depth > 10)
		return 0;	/* libconfig stops deeper includes itself */
	for (const char *p = text; *p != '\0'; p++) {
		const char *q = p + strspn(p, " \t");
		char *name = NULL, *path, *sub = NULL, why[128];
		struct stat st;
		int rc = 0;

		if (strncmp(q, "@include", 8) == 0 &&
		    (q[8] == ' ' || q[8] == '\t'))
			name = include_name(q + 8);
		if (name != NULL) {
			path = xasprintf("%s/%s", dir, name);
			if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
				snprintf(err, errlen, "%s:%u: @include \"%s\": "
				    "not a regular file", file, line, name);
				rc = -1;
			} else if (stat(path, &st) == 0 &&
			    cfg_file_read(path, &sub, why, sizeof(why)) == 0) {
				rc = check_includes(path, sub, dir, depth + 1,
				    err, errlen);
			}
			free(sub);
			free(path);
			free(name);
			if (rc < 0)
				return -1;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		line++;
	}
	return 0;
}

int
cfg_file_check_includes(const char *file, const char *text, const char *dir,
    char *err, size_t errlen)
{
	return check_includes(file, text, dir, 0, err, errlen);
}
