#include "lib/fmacros.h"

#include <stdio.h>

#include "agent/cmd.h"
#include "lib/exitcode.h"
#include "pki/pki.h"

int
cmd_ca_init(const struct cfg *c)
{
	char err[512];
	const char *dir = c->args[0];

	if (pki_ca_init(dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "zooinit ca init: %s\n", err);
		return EXIT_PERMANENT;
	}
	printf("made a CA in %s: %s/%s (give it to every host as ca_file) "
	    "and %s/%s (mode 0600; ca_key_file, keep it secret)\n", dir, dir,
	    PKI_CA_CERT, dir, PKI_CA_KEY);
	return EXIT_OK;
}
