#ifndef ZOOINIT_EXITCODE_H
#define ZOOINIT_EXITCODE_H

/* The exit codes zooinit documents (README, "Exit codes"). Permanent and
 * temporary failures follow s6's convention so supervisors can tell a
 * configuration to fix from a condition to retry. */
enum {
	EXIT_OK = 0,		/* done, or stopped on request */
	EXIT_INTERNAL = 1,	/* an internal error (a bug or the system) */
	EXIT_USAGE = 2,		/* bad command line, config file or env */
	EXIT_PERMANENT = 100,	/* the zone or config is wrong: fix, rerun */
	EXIT_TEMPORARY = 111,	/* gave up waiting (DNS, peers): rerun later */
	EXIT_NOEXEC = 126,	/* the etcd binary cannot be executed */
	EXIT_NOTFOUND = 127,	/* the etcd binary does not exist */
};

#endif
