#ifndef ZOOINIT_XMALLOC_H
#define ZOOINIT_XMALLOC_H

#include <stddef.h>

/* Allocation that never returns NULL: on failure the process reports and
 * aborts, so callers need no NULL checks. Every returned pointer is the
 * caller's; free with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* reallocarray that aborts on overflow or failure. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns the n strings of v joined with sep, as a new string. */
char *xjoin(char *const *v, size_t n, const char *sep);
/* Gives the heap's free pages back to the kernel (glibc's malloc_trim;
 * a no-op with another libc): what a burst of requests left freed in the
 * middle of the heap stays counted in the process's memory otherwise. */
void xmalloc_trim(void);
/* Returns a new string formatted like printf; free with free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
