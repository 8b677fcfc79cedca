/* What a metrics scraper (or anyone who reaches metrics_listen) sends:
 * httpd_parse() of the request head, checked against its header comment
 * and for growing prefixes; the same bytes (up to the first NUL) as a
 * listen address (httpd_split_listen()) and as a Prometheus label value
 * and help text (lib/prom.h), whose escaping must read back to them.
 *
 * Input: the request head's bytes. */
#include "lib/fmacros.h"

#include "fuzz/fuzz.h"
#include "lib/httpd.h"
#include "lib/prom.h"

static void
check_parse(const uint8_t *data, size_t size)
{
	struct httpd_req r, r2;
	int st = httpd_parse((const char *)data, size, &r);

	FUZZ_CHECK(st == 0 || st == 200 || st == 400 || st == 414 ||
	    st == 431 || st == 505);
	if (st == 0)
		FUZZ_CHECK(size < HTTPD_REQ_MAX);
	if (st == 200) {
		FUZZ_CHECK(r.method[0] != '\0');
		FUZZ_CHECK(r.path[0] == '/' && strchr(r.path, '?') == NULL);
		FUZZ_CHECK(strlen(r.path) < HTTPD_PATH_MAX);
		FUZZ_CHECK(r.minor == 0 || r.minor == 1);
		for (const char *p = r.path; *p != '\0'; p++)
			FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
	}
	/* A verdict never changes as more bytes arrive, but an incomplete
	 * head may still become anything. */
	for (size_t n = 0; n < size && n < 512; n++) {
		int sn = httpd_parse((const char *)data, n, &r2);

		FUZZ_CHECK(sn == 0 || sn == st);
	}
}

static void
check_listen(const char *s)
{
	char host[256], err[256];
	unsigned port = 0;

	if (httpd_split_listen(s, host, sizeof(host), &port, err,
	    sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(port >= 1 && port <= 65535);
	FUZZ_CHECK(host[0] != '\0' && strchr(host, '[') == NULL &&
	    strchr(host, ']') == NULL);
	FUZZ_CHECK(strstr(s, host) != NULL);
}

/* Reads the escaped text at p up to the unescaped byte end; returns the
 * text, a new string. */
static char *
unescape(const char *p, char end, const char **after)
{
	char *out = malloc(strlen(p) + 1);
	size_t o = 0;

	if (out == NULL)
		abort();
	for (; *p != '\0' && *p != end; p++) {
		if (*p == '\\') {
			p++;
			FUZZ_CHECK(*p == '\\' || *p == '"' || *p == 'n');
			out[o++] = *p == 'n' ? '\n' : *p;
		} else {
			FUZZ_CHECK(*p != '\n');
			out[o++] = *p;
		}
	}
	FUZZ_CHECK(*p == end);
	out[o] = '\0';
	*after = p;
	return out;
}

static void
check_prom(const char *s)
{
	struct prom p = { 0 };
	const char *q, *after;
	char *page, *back;

	prom_family(&p, "zooinit_fuzz", PROM_GAUGE, s);
	prom_sample(&p, (const char *[]){ "v", s, NULL }, 1);
	page = prom_take(&p);
	q = page + strlen("# HELP zooinit_fuzz ");
	back = unescape(q, '\n', &after);
	FUZZ_CHECK(strcmp(back, s) == 0);
	free(back);
	q = strstr(after, "\nzooinit_fuzz{v=\"");
	FUZZ_CHECK(q != NULL);
	back = unescape(q + strlen("\nzooinit_fuzz{v=\""), '"', &after);
	FUZZ_CHECK(strcmp(back, s) == 0 && strcmp(after, "\"} 1\n") == 0);
	free(back);
	free(page);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	check_parse(data, size);
	s = fuzz_strndup(data, size);
	check_listen(s);
	check_prom(s);
	free(s);
	return 0;
}
