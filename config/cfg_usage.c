#include "lib/fmacros.h"

#include <stdio.h>
#include <string.h>

#include "config/cfg_key.h"

/* The flag list of "zooinit help", from the key table. */

struct usage_row {
	char opt[136];
	char src[256];
	const char *help;
};

/* Keys only: -f/--config, --json and -h are the command's to describe,
 * next to the subcommands they belong to. */
void
cfg_usage(FILE *out)
{
	struct usage_row rows[CFG_NKEYS];

	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct key *k = &cfg_keys[i];
		struct usage_row *r = &rows[i];
		char flag[64], env[64], meta[64], def[96] = "";

		cfg_key_flag_name(k, flag, sizeof(flag));
		cfg_key_env_name(k, env, sizeof(env));
		if (k->type == KT_ENUM) {
			size_t o = 0;

			meta[0] = '\0';
			for (size_t j = 0; k->choices[j] != NULL &&
			    o < sizeof(meta); j++)
				o += (size_t)snprintf(meta + o,
				    sizeof(meta) - o, "%s%s", j == 0 ? "" : "|",
				    k->choices[j]);
		} else {
			snprintf(meta, sizeof(meta), "%s", k->meta);
		}
		if (k->def != NULL)
			snprintf(def, sizeof(def), ", default %s", k->def);
		snprintf(r->opt, sizeof(r->opt), "%s %s", flag, meta);
		snprintf(r->src, sizeof(r->src), "(%s, key %s%s)", env,
		    k->name, def);
		/* A long default goes on a line of its own. */
		if (strlen(r->src) > 80 - 6)
			snprintf(r->src, sizeof(r->src), "(%s, key %s,\n"
			    "      %s)", env, k->name, def + 2);
		r->help = k->help;
	}
	/* Three lines a flag keep the text within 80 columns. */
	for (size_t i = 0; i < CFG_NKEYS; i++)
		fprintf(out, "  %s\n      %s\n      %s\n", rows[i].opt,
		    rows[i].help, rows[i].src);
}

