#include "lib/fmacros.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etcd/json.h"
#include "etcd/maint.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define COMPACTED_MSG "etcdserver: mvcc: required revision has been compacted"

static const char *const alarm_names[] = {
	[ETCD_ALARM_NONE] = "NONE",
	[ETCD_ALARM_NOSPACE] = "NOSPACE",
	[ETCD_ALARM_CORRUPT] = "CORRUPT",
	[ETCD_ALARM_OTHER] = "OTHER",
};

const char *
etcd_alarm_name(enum etcd_alarm_type t)
{
	return (unsigned)t <= ETCD_ALARM_OTHER ? alarm_names[t] : "OTHER";
}

/* The gateway writes enums by name; a number is taken too. A name from a
 * newer etcd is OTHER, not an error: it is still an alarm. */
static int
get_alarm_type(const char *what, json_t *o, enum etcd_alarm_type *t,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "alarm");

	*t = ETCD_ALARM_NONE;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		*t = i >= 0 && i < ETCD_ALARM_OTHER ? (enum etcd_alarm_type)i :
		    ETCD_ALARM_OTHER;
		return 0;
	}
	if (!json_is_string(v)) {
		str_seterr(err, errlen, "%s: \"alarm\" should be a string, "
		    "found %s", what, ej_type_name(v));
		return -1;
	}
	*t = ETCD_ALARM_OTHER;
	for (int i = 0; i < ETCD_ALARM_OTHER; i++)
		if (strcmp(json_string_value(v), alarm_names[i]) == 0 &&
		    strlen(alarm_names[i]) == json_string_length(v))
			*t = (enum etcd_alarm_type)i;
	return 0;
}

/* An error object in place of an answer: {"error","message","code"}
 * (3.4, 3.5), {"code","message"} (3.6+), {"error":{...}} or a stream's
 * {"grpc_code",...}. Returns the object holding the message, or NULL for
 * an answer; err then says what etcd said. */
static json_t *
error_of(const char *what, json_t *root, char *err, size_t errlen)
{
	json_t *e = json_object_get(root, "error");

	if (json_is_object(e))
		root = e;
	else if (e == NULL && json_object_get(root, "grpc_code") == NULL &&
	    (json_object_get(root, "code") == NULL ||
	    json_object_get(root, "message") == NULL))
		return NULL;
	if (ej_etcd_error(what, root, err, errlen) < 0)
		str_seterr(err, errlen, "%s: an \"error\" in the answer", what);
	return root;
}

static bool
is_error(const char *what, json_t *root, char *err, size_t errlen)
{
	return error_of(what, root, err, errlen) != NULL;
}

int
etcd_parse_alarms(const char *body, size_t len, struct etcd_alarms *out,
    char *err, size_t errlen)
{
	const char *what = "alarm";
	struct etcd_alarms a = { 0 };
	json_t *root, *arr;
	size_t n;

	root = ej_load(what, body, len, err, errlen);
	if (root == NULL)
		return -1;
	if (is_error(what, root, err, errlen))
		goto fail;
	arr = json_object_get(root, "alarms");
	if (arr != NULL && !json_is_array(arr)) {
		str_seterr(err, errlen, "%s: \"alarms\" should be an array, "
		    "found %s", what, ej_type_name(arr));
		goto fail;
	}
	n = arr != NULL ? json_array_size(arr) : 0;
	if (n > ETCD_MAX_ALARMS) {
		str_seterr(err, errlen, "%s: %zu alarms, more than the %d "
		    "believed", what, n, ETCD_MAX_ALARMS);
		goto fail;
	}
	a.v = n > 0 ? xcalloc(n, sizeof(*a.v)) : NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		char w[32];

		snprintf(w, sizeof(w), "alarm %zu", i);
		if (!json_is_object(o)) {
			str_seterr(err, errlen, "%s should be an object, found "
			    "%s", w, ej_type_name(o));
			goto fail;
		}
		if (ej_get_u64(w, o, "memberID", true, UINT64_MAX,
		    &a.v[i].member_id, err, errlen) < 0 ||
		    get_alarm_type(w, o, &a.v[i].type, err, errlen) < 0)
			goto fail;
		a.n = i + 1;
	}
	json_decref(root);
	*out = a;
	return 0;
fail:
	free(a.v);
	json_decref(root);
	return -1;
}

void
etcd_alarms_free(struct etcd_alarms *a)
{
	if (a == NULL)
		return;
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

int
etcd_parse_ack(const char *what, long status, const char *body, size_t len,
    char *err, size_t errlen)
{
	json_t *root = ej_load(what, body, len, err, errlen);
	char q[EJ_QUOTE_MAX + 8];
	int rc = 0;

	if (root == NULL)
		return -1;
	json_t *e = error_of(what, root, err, errlen);

	if (e != NULL) {
		json_t *m = json_object_get(e, "message");

		if (!json_is_string(m))
			m = json_object_get(e, "error");
		rc = json_is_string(m) &&
		    strcmp(json_string_value(m), COMPACTED_MSG) == 0 ? 1 : -1;
	} else if (status != 200) {
		str_seterr(err, errlen, "%s: HTTP %ld with %s", what, status,
		    str_quote_n(body, len, q, sizeof(q)));
		rc = -1;
	}
	json_decref(root);
	return rc;
}
