#include "lib/fmacros.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "etcd/diag.h"
#include "lib/str.h"

#define LINE_MAX_SCAN 4096

/* Go's flag package: the first line, then the usage text. */
static bool
is_flag_error(const char *line)
{
	return strncmp(line, "flag provided but not defined: ", 31) == 0 ||
	    strstr(line, "flag needs an argument: ") == line ||
	    strncmp(line, "invalid value ", 14) == 0 ||
	    strncmp(line, "invalid argument ", 17) == 0 ||
	    strstr(line, "error verifying flags") != NULL;
}

static enum etcd_complaint
kind_of(const char *text)
{
	return strstr(text, "bind: ") != NULL ? ETCD_COMPLAINT_BIND :
	    ETCD_COMPLAINT_FATAL;
}

/* 3.5+: {"level":"fatal","msg":"...","error":"..."}; also the "failed to
 * start etcd" warning that precedes an exit. */
static enum etcd_complaint
json_line(const char *line, size_t n, char *msg, size_t msglen)
{
	json_t *o = json_loadb(line, n, 0, NULL);
	const char *level, *m, *e;
	enum etcd_complaint k = ETCD_COMPLAINT_NONE;
	char text[LINE_MAX_SCAN];

	if (o == NULL)
		return k;
	level = json_string_value(json_object_get(o, "level"));
	m = json_string_value(json_object_get(o, "msg"));
	e = json_string_value(json_object_get(o, "error"));
	if (level != NULL && m != NULL && (strcmp(level, "fatal") == 0 ||
	    strcmp(level, "panic") == 0 ||
	    strcmp(m, "failed to start etcd") == 0)) {
		snprintf(text, sizeof(text), "%s%s%s", m, e ? ": " : "",
		    e ? e : "");
		str_quote(text, msg, msglen);
		k = kind_of(text);
	}
	json_decref(o);
	return k;
}

enum etcd_complaint
etcd_complaint(const char *output, char *msg, size_t msglen)
{
	const char *p = output;

	if (msglen > 0)
		msg[0] = '\0';
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char line[LINE_MAX_SCAN];
		const char *c;
		enum etcd_complaint k;

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		if (is_flag_error(line)) {
			str_quote(line, msg, msglen);
			return ETCD_COMPLAINT_FLAGS;
		}
		c = strstr(line, " C | ");
		if (c != NULL) {
			str_quote(c + 5, msg, msglen);
			return kind_of(c + 5);
		}
		if (line[0] == '{') {
			k = json_line(line, strlen(line), msg, msglen);
			if (k != ETCD_COMPLAINT_NONE)
				return k;
		}
		p = end ? end + 1 : NULL;
	}
	return ETCD_COMPLAINT_NONE;
}

enum etcd_complaint
etcd_first_start_complaint(const struct sup_exit *ex, char *msg,
    size_t msglen)
{
	if (msglen > 0)
		msg[0] = '\0';
	if (ex == NULL || ex->status == -1 || ex->starts != 1 ||
	    ex->ran_ms >= ETCD_AT_ONCE_MS || ex->output == NULL)
		return ETCD_COMPLAINT_NONE;
	return etcd_complaint(ex->output, msg, msglen);
}
