#ifndef ZOOINIT_ETCD_DIAG_H
#define ZOOINIT_ETCD_DIAG_H

#include <stddef.h>

#include "lib/sup.h"

/* Why an etcd exited, read from what it printed (etcd 3.4's capnslog
 * "C | ..." lines, 3.5+'s JSON log lines, Go's flag package). */
enum etcd_complaint {
	ETCD_COMPLAINT_NONE = 0,	/* nothing recognised */
	ETCD_COMPLAINT_FLAGS,		/* it refused its command line */
	ETCD_COMPLAINT_BIND,		/* it cannot listen on an address */
	ETCD_COMPLAINT_FATAL,		/* another fatal line */
};

/* Scans output (an etcd's stdout and stderr, NUL-terminated, possibly cut)
 * for its complaint and writes the first one as printable text into msg
 * (hostile bytes escaped; "" for NONE). */
enum etcd_complaint etcd_complaint(const char *output, char *msg,
    size_t msglen);

/* An exit this soon after the first start of an argv is etcd refusing
 * what it was given, not a crash. */
#define ETCD_AT_ONCE_MS 1000

/* The complaint of an etcd that exited within ETCD_AT_ONCE_MS of the first
 * start of its argv (supervised with capture_output), else NONE. */
enum etcd_complaint etcd_first_start_complaint(const struct sup_exit *ex,
    char *msg, size_t msglen);

#endif
