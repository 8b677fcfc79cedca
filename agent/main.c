#include "lib/fmacros.h"

#include <stdio.h>
#include <string.h>

#include "agent/cmd.h"
#include "lib/exitcode.h"
#include "agent/status.h"
#include "config/cfg.h"

#ifndef ZOOINIT_VERSION
#define ZOOINIT_VERSION "0.1.0"
#endif

extern char **environ;

/* Each command: its words on the command line, whether it takes --json,
 * how many positional arguments, what runs it with the loaded
 * configuration, and, for one with arguments, what is missing when they
 * are and its usage line. */
static const struct command {
	const char *word, *sub;
	bool json;
	size_t args;
	int (*run)(const struct cfg *c);
	const char *missing, *use;
} commands[] = {
	{ "bootstrap", NULL, false, 0, cmd_bootstrap, NULL, NULL },
	{ "boot", NULL, false, 0, cmd_bootstrap, NULL, NULL },
	{ "plan", NULL, true, 0, cmd_plan, NULL, NULL },
	{ "status", NULL, true, 0, status_run, NULL, NULL },
	{ "cluster", NULL, false, 1, cmd_cluster, "which service?",
	  "zooinit cluster -f FILE SERVICE" },
	{ "discovery", "serve", false, 0, cmd_discovery_serve, NULL, NULL },
	{ "discovery", "new", false, 0, cmd_discovery_new, NULL, NULL },
	{ "snapshot", "save", false, 1, cmd_snapshot_save, "which file?",
	  "zooinit snapshot save FILE" },
	{ "ca", "init", false, 1, cmd_ca_init, "which directory?",
	  "zooinit ca init DIR" },
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: zooinit COMMAND [flags]\n"
	    "\n"
	    "commands:\n"
	    "  bootstrap, boot  find the peers, start etcd, keep it running\n"
	    "  plan [--json]    show what bootstrap would do; start nothing\n"
	    "  status [--json]  show the cluster's members, leader and health\n"
	    "                   (asks --endpoints, else this host's member)\n"
	    "  cluster -f FILE SERVICE\n"
	    "                   bring up SERVICE (a group in FILE's service)\n"
	    "                   through the etcd at --endpoints and run it\n"
	    "  discovery serve  run a seed discovery etcd here, create a token\n"
	    "                   of --size members and print its URL (or, on an\n"
	    "                   etcd without v2, its v3 endpoint and token)\n"
	    "  discovery new    create a token of --size members in the etcd\n"
	    "                   at --endpoint and print its URL (or v3 flags)\n"
	    "  snapshot save FILE\n"
	    "                   take a snapshot of the cluster at --endpoints\n"
	    "                   (else this host's member) into FILE, checked\n"
	    "  ca init DIR      make a CA for ca_file and ca_key_file: DIR/ca.crt\n"
	    "                   and DIR/ca.key (0600); never overwrites\n"
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
	    "  1    internal error; status: the cluster is unhealthy\n"
	    "  2    usage or configuration error\n"
	    "  100  permanent failure: the zone or configuration is wrong;\n"
	    "       cluster: a hook failed or the registry is damaged;\n"
	    "       snapshot save: a damaged snapshot stream (sha256), or\n"
	    "       FILE cannot be written\n"
	    "  111  temporary failure: gave up waiting; retry later;\n"
	    "       status: no endpoint answered; cluster: quorum_timeout\n"
	    "       or start_timeout passed; snapshot save: no endpoint\n"
	    "       gave a snapshot\n"
	    "  126  the etcd binary (cluster: the service's program) cannot\n"
	    "       be executed\n"
	    "  127  the etcd binary (cluster: the service's program) was not\n"
	    "       found\n");
}

int
main(int argc, char **argv)
{
	const char *word = argc > 1 ? argv[1] : "help";
	const struct command *cmd = NULL;
	struct cfg c;
	char err[1024], name[64];
	int skip = 1, code;

	if (strcmp(word, "help") == 0 || strcmp(word, "--help") == 0 ||
	    strcmp(word, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(word, "version") == 0 || strcmp(word, "--version") == 0) {
		printf("zooinit %s\n", ZOOINIT_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		if (strcmp(word, commands[i].word) != 0)
			continue;
		if (commands[i].sub == NULL) {
			cmd = &commands[i];
			break;
		}
		if (argc > 2 && strcmp(argv[2], commands[i].sub) == 0) {
			cmd = &commands[i];
			skip = 2;
			break;
		}
	}
	if (cmd == NULL) {
		const char *use = NULL;

		/* A command of two words: name both, and give its usage. */
		for (size_t i = 0; i < sizeof(commands) / sizeof(*commands);
		    i++) {
			if (commands[i].sub != NULL &&
			    strcmp(word, commands[i].word) == 0)
				use = commands[i].use != NULL ?
				    commands[i].use : "";
		}
		fprintf(stderr, "zooinit: unknown command \"%s%s%s\"; see "
		    "zooinit help\n", word, use != NULL && argc > 2 ? " " : "",
		    use != NULL && argc > 2 ? argv[2] : "");
		if (use != NULL && *use != '\0')
			fprintf(stderr, "zooinit: usage: %s\n", use);
		return EXIT_USAGE;
	}
	snprintf(name, sizeof(name), "%s%s%s", cmd->word, cmd->sub ? " " : "",
	    cmd->sub ? cmd->sub : "");
	/* cfg_load skips its argv[0]: the last word of the command. */
	if (cfg_load(&c, argc - skip, argv + skip, environ, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "zooinit %s: %s\n", name, err);
		return EXIT_USAGE;
	}
	if (c.help) {
		usage(stdout);
		cfg_free(&c);
		return EXIT_OK;
	}
	if (c.n_args > cmd->args) {
		fprintf(stderr, "zooinit %s: unexpected argument \"%s\"\n", name,
		    c.args[cmd->args]);
		cfg_free(&c);
		return EXIT_USAGE;
	}
	if (c.n_args < cmd->args) {
		fprintf(stderr, "zooinit %s: %s usage: %s\n", name,
		    cmd->missing, cmd->use);
		cfg_free(&c);
		return EXIT_USAGE;
	}
	if (c.json && !cmd->json) {
		fprintf(stderr, "zooinit %s: --json is for zooinit plan and "
		    "zooinit status\n", name);
		cfg_free(&c);
		return EXIT_USAGE;
	}
	code = cmd->run(&c);
	cfg_free(&c);
	return code;
}
