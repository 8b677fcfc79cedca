#include "lib/fmacros.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/json.h"
#include "lib/log.h"
#include "lib/str.h"

/* jansson fails only when out of memory; the agent aborts then, as
 * xmalloc does. */
static void
oom_if(bool failed)
{
	if (failed) {
		log_error("jansson: out of memory building a message");
		abort();
	}
}

json_t *
ej_obj(void)
{
	json_t *o = json_object();

	oom_if(o == NULL);
	return o;
}

json_t *
ej_arr(void)
{
	json_t *a = json_array();

	oom_if(a == NULL);
	return a;
}

void
ej_set(json_t *o, const char *key, json_t *v)
{
	oom_if(v == NULL || json_object_set_new(o, key, v) < 0);
}

void
ej_append(json_t *a, json_t *v)
{
	oom_if(v == NULL || json_array_append_new(a, v) < 0);
}

char *
ej_dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	oom_if(s == NULL);
	json_decref(o);
	return s;
}

const char *
ej_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "a number";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

json_t *
ej_load(const char *what, const char *body, size_t len, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *root;
	char q[120];

	if (len == 0) {
		str_seterr(err, errlen, "%s: empty answer, expected a JSON object",
		    what);
		return NULL;
	}
	/* DECODE_ANY so that a bare null or string gets a clear "expected
	 * a JSON object" rather than a parse error. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &je);
	if (root == NULL) {
		/* jansson's text quotes the input: untrusted bytes. */
		str_seterr(err, errlen, "%s: invalid JSON at line %d column %d: %s",
		    what, je.line, je.column, str_quote(je.text, q, sizeof(q)));
		return NULL;
	}
	if (!json_is_object(root)) {
		str_seterr(err, errlen, "%s: expected a JSON object, found %s",
		    what, ej_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Parses the decimal digits s[from..n) into *out, at most max; the
 * messages quote all n bytes of s as the value of key. */
static int
digits(const char *what, const char *key, const char *s, size_t n,
    size_t from, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	uint64_t x = 0;
	char q[EJ_QUOTE_MAX];

	if (from == n) {
		str_seterr(err, errlen, "%s: \"%s\" should be decimal digits, "
		    "found \"%s\"", what, key, str_quote_n(s, n, q, sizeof(q)));
		return -1;
	}
	for (size_t i = from; i < n; i++) {
		unsigned d = (unsigned char)s[i] - (unsigned)'0';

		if (d > 9) {
			str_seterr(err, errlen, "%s: \"%s\" should be decimal "
			    "digits, found \"%s\"", what, key,
			    str_quote_n(s, n, q, sizeof(q)));
			return -1;
		}
		if (x > (max - d) / 10) {
			str_seterr(err, errlen, "%s: \"%s\" is out of range: %s",
			    what, key, str_quote_n(s, n, q, sizeof(q)));
			return -1;
		}
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* Finds obj[key] as a non-empty string: returns 1 with its bytes, 0 when
 * it is missing and may be, or -1 with the reason in err. */
static int
num_text(const char *what, json_t *obj, const char *key, bool required,
    const char **s, size_t *n, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		if (!required)
			return 0;
		str_seterr(err, errlen, "%s: missing \"%s\"", what, key);
		return -1;
	}
	if (!json_is_string(v)) {
		str_seterr(err, errlen, "%s: \"%s\" should be a string of decimal "
		    "digits, found %s", what, key, ej_type_name(v));
		return -1;
	}
	*s = json_string_value(v);
	*n = json_string_length(v);
	if (*n == 0) {
		str_seterr(err, errlen, "%s: \"%s\" is an empty string, expected "
		    "decimal digits", what, key);
		return -1;
	}
	return 1;
}

int
ej_get_u64(const char *what, json_t *obj, const char *key, bool required,
    uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	const char *s;
	size_t n;
	int rc = num_text(what, obj, key, required, &s, &n, err, errlen);

	*out = 0;
	if (rc <= 0)
		return rc;
	return digits(what, key, s, n, 0, max, out, err, errlen);
}

int
ej_get_i64(const char *what, json_t *obj, const char *key, int64_t min,
    int64_t *out, char *err, size_t errlen)
{
	const char *s;
	size_t n;
	uint64_t x, lim = (uint64_t)INT64_MAX;
	bool neg;
	int rc = num_text(what, obj, key, false, &s, &n, err, errlen);

	*out = 0;
	if (rc <= 0)
		return rc;
	neg = s[0] == '-';
	if (digits(what, key, s, n, neg ? 1 : 0, neg ? lim + 1 : lim, &x, err,
	    errlen) < 0)
		return -1;
	if (neg)
		*out = x == lim + 1 ? INT64_MIN : -(int64_t)x;
	else
		*out = (int64_t)x;
	if (*out < min) {
		str_seterr(err, errlen, "%s: \"%s\" should be at least %" PRId64
		    ", found %" PRId64, what, key, min, *out);
		*out = 0;
		return -1;
	}
	return 0;
}

int
ej_get_bool(const char *what, json_t *obj, const char *key, bool *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = false;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		str_seterr(err, errlen, "%s: \"%s\" should be true or false, "
		    "found %s", what, key, ej_type_name(v));
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
ej_error_parts(json_t *o, char *q, size_t qlen)
{
	json_t *msg = json_object_get(o, "message");
	json_t *code = json_object_get(o, "grpc_code");
	json_int_t c;

	if (code == NULL)
		code = json_object_get(o, "code");
	if (!json_is_string(msg) && json_is_string(json_object_get(o,
	    "error")))
		msg = json_object_get(o, "error");
	if (!json_is_string(msg))
		return -2;
	c = json_is_integer(code) ? json_integer_value(code) : -1;
	if (c < 0 || c > 100)
		c = -1;
	str_quote_n(json_string_value(msg), json_string_length(msg), q, qlen);
	return (int)c;
}

int
ej_etcd_error(const char *what, json_t *o, char *err, size_t errlen)
{
	char q[EJ_QUOTE_MAX * 2];
	int c = ej_error_parts(o, q, sizeof(q));

	if (c == -2)
		return -1;
	if (c < 0)
		str_seterr(err, errlen, "%s: etcd error: %s", what, q);
	else
		str_seterr(err, errlen, "%s: etcd error: %s (gRPC code %d)", what,
		    q, c);
	return c < 0 ? 0 : c;
}

int
ej_http_detail(long status, const char *body, size_t len, char *out,
    size_t outlen)
{
	char q[EJ_QUOTE_MAX * 2];
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *e = json_object_get(root, "error");
	int c = ej_error_parts(json_is_object(e) ? e : root, q, sizeof(q));

	json_decref(root);
	if (c >= 0)
		snprintf(out, outlen, "etcd error: %s (gRPC code %d, HTTP %ld)",
		    q, c, status);
	else if (c == -1)
		snprintf(out, outlen, "etcd error: %s (HTTP %ld)", q, status);
	else
		snprintf(out, outlen, "HTTP %ld%s%s", status,
		    len > 0 ? ": " : "", str_quote_n(body, len, q, sizeof(q)));
	return c < 0 ? 0 : c;
}
