#include "lib/fmacros.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/prom.h"
#include "lib/xmalloc.h"

static bool
name_valid(const char *s, const char *first)
{
	static const char rest[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

	if (s[0] == '\0' || strchr(first, s[0]) == NULL)
		return false;
	for (s++; *s != '\0'; s++) {
		if (strchr(rest, *s) == NULL && !(first[0] == ':' && *s == ':'))
			return false;
	}
	return true;
}

bool
prom_metric_name_valid(const char *s)
{
	return name_valid(s, ":_abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

bool
prom_label_name_valid(const char *s)
{
	return name_valid(s, "_abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strncmp(s, "__", 2) != 0;
}

static void
refuse(struct prom *p, const char *what, const char *name)
{
	log_error("internal: metrics: %s \"%s\" refused", what, name);
	p->bad = true;
}

void
prom_family(struct prom *p, const char *name, enum prom_type type,
    const char *help)
{
	free(p->help);
	p->help = NULL;
	p->family[0] = '\0';
	if (!prom_metric_name_valid(name) || strlen(name) >= sizeof(p->family)) {
		refuse(p, "metric name", name);
		return;
	}
	for (size_t i = 0; i < p->seen.n; i++) {
		if (strcmp(p->seen.v[i], name) == 0) {
			refuse(p, "second family", name);
			return;
		}
	}
	strv_add(&p->seen, name);
	snprintf(p->family, sizeof(p->family), "%s", name);
	p->help = xstrdup(help);
	p->type = type;
	p->header_out = false;
}

/* s with each of the bytes in special as a backslash escape: newline as
 * \n, the others as themselves. */
static void
put_escaped(struct sbuf *b, const char *s, const char *special)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			sb_puts(b, "\\n");
		else if (strchr(special, *s) != NULL)
			sb_printf(b, "\\%c", *s);
		else
			sb_putn(b, s, 1);
	}
}

static void
header(struct prom *p)
{
	static const char *const types[] = { "gauge", "counter", "untyped" };

	sb_printf(&p->out, "# HELP %s ", p->family);
	put_escaped(&p->out, p->help, "\\");
	sb_printf(&p->out, "\n# TYPE %s %s\n", p->family, types[p->type]);
	p->header_out = true;
}

/* Integers as integers (counters read best so), NaN and infinities as
 * the format spells them, anything else in as few digits as give the
 * same double back. */
static void
put_value(struct sbuf *b, double v)
{
	char s[40];

	if (v != v) {
		sb_puts(b, "NaN");
	} else if (v > DBL_MAX || v < -DBL_MAX) {
		sb_puts(b, v > 0 ? "+Inf" : "-Inf");
	} else if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
		sb_printf(b, "%.0f", v);
	} else {
		snprintf(s, sizeof(s), "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, sizeof(s), "%.17g", v);
		sb_puts(b, s);
	}
}

void
prom_sample(struct prom *p, const char *const *labels, double value)
{
	if (p->family[0] == '\0')
		return;
	for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		if (!prom_label_name_valid(labels[i])) {
			refuse(p, "label name", labels[i]);
			return;
		}
	}
	if (!p->header_out)
		header(p);
	sb_puts(&p->out, p->family);
	for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		sb_printf(&p->out, "%s%s=\"", i == 0 ? "{" : ",", labels[i]);
		put_escaped(&p->out, labels[i + 1] ? labels[i + 1] : "",
		    "\\\"");
		sb_puts(&p->out, "\"");
	}
	if (labels != NULL && labels[0] != NULL)
		sb_puts(&p->out, "}");
	sb_puts(&p->out, " ");
	put_value(&p->out, value);
	sb_puts(&p->out, "\n");
}

void
prom_one(struct prom *p, const char *name, enum prom_type type,
    const char *help, double value)
{
	prom_family(p, name, type, help);
	prom_sample(p, NULL, value);
}

char *
prom_take(struct prom *p)
{
	char *s = sb_take(&p->out);

	prom_free(p);
	return s;
}

void
prom_free(struct prom *p)
{
	sb_free(&p->out);
	free(p->help);
	strv_free(strv_take(&p->seen));
	*p = (struct prom){ 0 };
}
