#include "agent/fmacros.h"

#include <stdio.h>
#include <string.h>

#include "agent/boot.h"
#include "agent/exitcode.h"
#include "config/cfg.h"

#ifndef ZOOINIT_VERSION
#define ZOOINIT_VERSION "0.1.0"
#endif

extern char **environ;

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: zooinit COMMAND [flags]\n"
	    "\n"
	    "commands:\n"
	    "  bootstrap, boot  find the peers, start etcd, keep it running\n"
	    "  plan [--json]    show what bootstrap would do; start nothing\n"
	    "  version          print the version\n"
	    "  help             print this text\n"
	    "\n"
	    "flags (each also ZOOINIT_<KEY> in the environment and <key> in\n"
	    "the config file; flags win over the environment, which wins over\n"
	    "the file):\n"
	    "  -f, --config FILE  read a libconfig file (env ZOOINIT_CONFIG)\n");
	cfg_usage(out);
	fprintf(out, "\nexit codes:\n"
	    "  0    done, or stopped by SIGTERM/SIGINT\n"
	    "  1    internal error\n"
	    "  2    usage or configuration error\n"
	    "  100  permanent failure: the zone or configuration is wrong\n"
	    "  111  temporary failure: gave up waiting; retry later\n"
	    "  126  the etcd binary cannot be executed\n"
	    "  127  the etcd binary was not found\n");
}

int
main(int argc, char **argv)
{
	struct cfg c;
	char err[1024];
	const char *cmd = argc > 1 ? argv[1] : "help";
	bool plan;
	int code;

	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("zooinit %s\n", ZOOINIT_VERSION);
		return EXIT_OK;
	}
	if (strcmp(cmd, "plan") == 0)
		plan = true;
	else if (strcmp(cmd, "bootstrap") == 0 || strcmp(cmd, "boot") == 0)
		plan = false;
	else {
		fprintf(stderr, "zooinit: unknown command \"%s\"; see zooinit "
		    "help\n", cmd);
		return EXIT_USAGE;
	}
	if (cfg_load(&c, argc - 1, argv + 1, environ, err, sizeof(err)) < 0) {
		fprintf(stderr, "zooinit %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (c.help) {
		usage(stdout);
		cfg_free(&c);
		return EXIT_OK;
	}
	if (c.n_args > 0) {
		fprintf(stderr, "zooinit %s: unexpected argument \"%s\"\n", cmd,
		    c.args[0]);
		cfg_free(&c);
		return EXIT_USAGE;
	}
	if (c.json && !plan) {
		fprintf(stderr, "zooinit %s: --json is for zooinit plan\n", cmd);
		cfg_free(&c);
		return EXIT_USAGE;
	}
	code = plan ? boot_plan(&c) : boot_run(&c);
	cfg_free(&c);
	return code;
}
