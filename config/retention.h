#ifndef ZOOINIT_RETENTION_H
#define ZOOINIT_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

/* The compact_retention key: how much history the leader's agent keeps
 * when it compacts etcd's key space.
 *   ""  or "0"          off
 *   "10000"             keep the last 10000 revisions
 *   "90s" "30m" "1h" "7d"  keep what was written in that time
 * A count of 1 to 10^15 revisions, or 1 s to 366 days, one unit (s, m, h
 * or d), no spaces. */

#define RETENTION_EXPECT "0 (off), a number of revisions such as 10000, " \
	"or a time such as 90s, 30m, 1h or 7d (at most 366d)"

struct retention {
	int64_t revisions;	/* > 0: keep this many revisions */
	int64_t seconds;	/* > 0: keep this much time */
};			/* both 0: off */

/* Parses s into *r; returns 0, or -1 with *r untouched. */
int retention_parse(const char *s, struct retention *r);
/* For the key table's valid(). */
bool retention_valid(const char *s);

#endif
