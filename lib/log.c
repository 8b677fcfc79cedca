#include "lib/fmacros.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"

static enum log_level cur_level = LOG_INFO;
static char cur_name[64];

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level level)
{
	cur_level = level;
}

void
log_set_name(const char *name)
{
	snprintf(cur_name, sizeof(cur_name), "%s", name ? name : "");
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[2048], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);

	/* One fprintf per line so concurrent writers to a shared log file do
	 * not interleave within a line. */
	if (cur_name[0] != '\0')
		fprintf(stderr, "%s.%03ld zooinit[%s] %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, cur_name, level_names[level], msg);
	else
		fprintf(stderr, "%s.%03ld zooinit %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, level_names[level], msg);
	fflush(stderr);
}
