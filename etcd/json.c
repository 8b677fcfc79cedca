#include "lib/fmacros.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "etcd/json.h"
#include "lib/str.h"

void
ej_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
ej_quote(const char *s, size_t n, char *out, size_t outlen)
{
	return str_quote_n(s, n, out, outlen);
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
		ej_seterr(err, errlen, "%s: empty answer, expected a JSON object",
		    what);
		return NULL;
	}
	/* DECODE_ANY so that a bare null or string gets a clear "expected
	 * a JSON object" rather than a parse error. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &je);
	if (root == NULL) {
		/* jansson's text quotes the input: untrusted bytes. */
		ej_seterr(err, errlen, "%s: invalid JSON at line %d column %d: %s",
		    what, je.line, je.column, str_quote(je.text, q, sizeof(q)));
		return NULL;
	}
	if (!json_is_object(root)) {
		ej_seterr(err, errlen, "%s: expected a JSON object, found %s",
		    what, ej_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

int
ej_digits(const char *what, const char *key, const char *s, size_t n,
    size_t from, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	uint64_t x = 0;
	char q[64];

	for (size_t i = from; i < n; i++) {
		unsigned d = (unsigned char)s[i] - (unsigned)'0';

		if (d > 9) {
			ej_seterr(err, errlen, "%s: \"%s\" should be decimal "
			    "digits, found \"%s\"", what, key,
			    ej_quote(s, n, q, sizeof(q)));
			return -1;
		}
		if (x > (max - d) / 10) {
			ej_seterr(err, errlen, "%s: \"%s\" is out of range: %s",
			    what, key, ej_quote(s, n, q, sizeof(q)));
			return -1;
		}
		x = x * 10 + d;
	}
	*out = x;
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
		ej_seterr(err, errlen, "%s: \"%s\" should be true or false, "
		    "found %s", what, key, ej_type_name(v));
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}
