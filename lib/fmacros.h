/* Feature macros; included first in every .c of zooinit.
 * c-ares 1.18's ares.h needs fd_set and glibc's posix_spawn closefrom needs
 * _GNU_SOURCE, so both come from here rather than from each file. */
#ifndef ZOOINIT_FMACROS_H
#define ZOOINIT_FMACROS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/select.h>

/* The daemon never blocks in sleep(); the event loop owns all waiting.
 * The attribute merges with unistd.h's declarations, so any call warns
 * and -Werror makes it an error. */
extern unsigned int sleep(unsigned int)
	__attribute__((deprecated("wait in the event loop instead")));
extern int usleep(unsigned int)
	__attribute__((deprecated("wait in the event loop instead")));

#endif
