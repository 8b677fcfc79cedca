#ifndef ZOOINIT_BE_INT_H
#define ZOOINIT_BE_INT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#include "services/backend.h"

/* What the backend files (services/be_*.c) share and nobody else uses:
 * the checked member set and the checks every renderer runs on paths and
 * ports. */

/* A member after validation: the address in inet_ntop's canonical form,
 * which is what every renderer writes. */
struct be_vmem {
	unsigned id;
	bool standby;
	bool v6;
	char ip[INET6_ADDRSTRLEN];
	unsigned char bin[16];
};

struct be_vset {
	struct be_vmem *m;
	size_t n;
	size_t self;		/* index of this node */
	size_t voters;		/* participants */
};

/* Checks s as be_set_check() says and fills v (free with
 * be_vset_free()). Returns 0, or -1 with err set and v empty. */
int be_vset_load(const struct be_set *s, struct be_vset *v, char *err,
    size_t errlen);
void be_vset_free(struct be_vset *v);

/* "[v6]" or "v4": the host part of HOST:PORT and of URLs. */
void be_host_part(const struct be_vmem *m, char *out, size_t outlen);

/* port, or def when port is 0: the config's "the backend's default". */
int be_port_or(int port, int def);

/* be_port_or() into *out, failing with err set when the result is not a
 * TCP port; what names the port in the message. */
int be_port(int port, int def, const char *what, int *out, char *err,
    size_t errlen);

/* Paths written into config files and argv: absolute, printable ASCII
 * without backslashes. Returns 0, or -1 with err set. */
int be_path_ok(const char *what, const char *p, char *err, size_t errlen);

#endif
