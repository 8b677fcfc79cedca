#ifndef ZOOINIT_PROM_H
#define ZOOINIT_PROM_H

#include <stdbool.h>

#include "lib/str.h"

/* Prometheus' text exposition format, version 0.0.4: families of
 * samples, each family introduced once by "# HELP" and "# TYPE" lines
 * and its samples together. The header is written with the family's
 * first sample, so a family without samples leaves no trace. Label
 * values are escaped (backslash, double quote, newline), and so is the
 * help text (backslash, newline). A name that is not a valid metric or
 * label name, or a family begun a second time, is a bug of the caller:
 * it is logged, nothing of it is written, and p->bad is set. */

#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type { PROM_GAUGE = 0, PROM_COUNTER, PROM_UNTYPED };

struct prom {
	struct sbuf out;	/* the page so far */
	char family[128];	/* the family samples go to; "" none */
	char *help;		/* its help, until the header is out */
	enum prom_type type;
	bool header_out;
	struct strv seen;	/* every family begun */
	bool bad;		/* a name was refused */
};

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]* for
 * labels (names beginning "__" are Prometheus' own). */
bool prom_metric_name_valid(const char *s);
bool prom_label_name_valid(const char *s);

/* Begins family name (a counter's name ends in _total) with its type
 * and help (copied). Zero-initialise p before the first call. */
void prom_family(struct prom *p, const char *name, enum prom_type type,
    const char *help);
/* One sample of the current family. labels: NULL, or name, value pairs
 * ending with a NULL name (borrowed; values any UTF-8 text). */
void prom_sample(struct prom *p, const char *const *labels, double value);
/* A family with one sample and no labels. */
void prom_one(struct prom *p, const char *name, enum prom_type type,
    const char *help, double value);
/* Returns the page as a new string (free with free()) and resets p. */
char *prom_take(struct prom *p);
void prom_free(struct prom *p);

#endif
