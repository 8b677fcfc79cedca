#ifndef ZOOINIT_ETCD_MAINT_H
#define ZOOINIT_ETCD_MAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Answers of etcd's maintenance calls through the v3 JSON gateway (3.4
 * to 3.7), parsed strictly like etcd/api.h's: hostile input, 64-bit
 * numbers as JSON strings, zero values left out by etcd. Shapes seen on
 * the real binaries:
 *   POST /v3/maintenance/alarm {"action":"GET"}
 *     -> {"alarms":[{"memberID":"136...","alarm":"NOSPACE"}]}, or {} when
 *        none (3.4 sends no header here)
 *   POST /v3/maintenance/alarm {"action":"DEACTIVATE","memberID":"N",
 *        "alarm":"NOSPACE"} -> the alarms it deactivated, same shape
 *   POST /v3/kv/compaction {"revision":"R","physical":true} -> {"header":..}
 *        or {"error":"etcdserver: mvcc: required revision has been
 *        compacted",...,"code":11}
 *   POST /v3/maintenance/defragment {} -> {} (3.4) or {"header":..}
 *   POST /v3/maintenance/status {} -> header.revision, dbSize,
 *        dbSizeInUse, leader, and dbSizeQuota from 3.6 on.
 * Parsers return 0, or -1 with the reason in err (errlen bytes, always
 * NUL-terminated) and *out untouched. */

#define ETCD_MAX_ALARMS 1024

enum etcd_alarm_type {
	ETCD_ALARM_NONE = 0,
	ETCD_ALARM_NOSPACE,
	ETCD_ALARM_CORRUPT,
	ETCD_ALARM_OTHER	/* a name or number this etcd.h does not know */
};

struct etcd_alarm {
	uint64_t member_id;
	enum etcd_alarm_type type;
};

struct etcd_alarms {
	struct etcd_alarm *v;	/* owned; free with etcd_alarms_free() */
	size_t n;
};

/* Parses an alarm answer (GET or DEACTIVATE). */
int etcd_parse_alarms(const char *body, size_t len, struct etcd_alarms *out,
    char *err, size_t errlen);
void etcd_alarms_free(struct etcd_alarms *a);
/* "NOSPACE", "CORRUPT", ...: static storage. */
const char *etcd_alarm_name(enum etcd_alarm_type t);

/* Checks a call that answers with nothing but an optional header
 * (compaction, defragment): the body must be a JSON object that is not
 * one of etcd's error objects. what names the call in err. Returns 0,
 * 1 for a compaction etcd answers "required revision has been compacted"
 * (someone compacted there or later already), or -1. */
int etcd_parse_ack(const char *what, long status, const char *body,
    size_t len, char *err, size_t errlen);

#endif
