#ifndef ZOOINIT_ETCD_ARGS_H
#define ZOOINIT_ETCD_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* Extra etcd flags (the etcd_args key), appended to a member's argv.
 * Each entry is one flag: "--flag", "--flag=value" or "--flag value" (the
 * last becomes two arguments, split at its first space). A flag zooinit
 * sets itself (the names agent/plan_argv.c writes, and what would
 * override them: discovery, TLS, --config-file) is refused, so that
 * etcd's command line keeps saying what the plan says. */

/* The entry's shape: "--" then a flag name of letters, digits, '-', '.'
 * or '_' (not starting with '-'), then nothing, "=value" or " value",
 * all printable UTF-8. For the key table's valid(). */
bool eargs_valid(const char *s);

/* Refuses a flag zooinit sets itself: returns -1 with one sentence in msg
 * naming the flag and the key that sets it, or 0. s has passed
 * eargs_valid(). */
int eargs_check(const char *s, char *msg, size_t msglen);

/* The flag's name without "--" and its length (up to '=' or ' '). */
const char *eargs_name(const char *s, size_t *len);

/* The value of the "--flag value" form, borrowed from s, or NULL for the
 * other two forms (which go to etcd as one argument). */
const char *eargs_spaced_value(const char *s);

/* The i-th flag refused, without "--", or NULL past the last; static
 * storage. */
const char *eargs_owned_flag(size_t i);

#endif
