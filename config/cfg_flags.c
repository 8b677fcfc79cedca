#include "lib/fmacros.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_file.h"
#include "config/cfg_key.h"
#include "lib/xmalloc.h"

/* The two layers above the file: environment variables ZOOINIT_<KEY>
 * and flags --<key-with-dashes>, both named from the key table. */

void
cfg_key_env_name(const struct key *k, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "ZOOINIT_");
	for (const char *p = k->name; *p != '\0' && o + 1 < outlen; p++) {
		char ch = *p;

		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		out[o++] = ch;
	}
	out[o] = '\0';
}

void
cfg_key_flag_name(const struct key *k, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "--");
	for (const char *p = k->name; *p != '\0' && o + 1 < outlen; p++)
		out[o++] = *p == '_' ? '-' : *p;
	out[o] = '\0';
}

/* Matches the flag name (without "--") of length len against a key; with
 * loose, '_' and '-' count as the same so a near miss can be pointed
 * out. */
static const struct key *
key_by_flag(const char *name, size_t len, bool loose)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const char *kn = cfg_keys[i].name;
		size_t j;

		if (strlen(kn) != len)
			continue;
		for (j = 0; j < len; j++) {
			char want = kn[j] == '_' ? '-' : kn[j];
			char got = name[j];

			if (loose && got == '_')
				got = '-';
			if (got != want)
				break;
		}
		if (j == len)
			return &cfg_keys[i];
	}
	return NULL;
}

/* The first value of name in envp, or NULL; empty counts as unset so
 * "ZOOINIT_SIZE= zooinit ..." can blank out an inherited value. */
const char *
cfg_env_get(char **envp, const char *name)
{
	size_t len = strlen(name);

	for (char **e = envp; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return (*e)[len + 1] != '\0' ? *e + len + 1 : NULL;
	}
	return NULL;
}

/* A list of command-line flags: entries begin with "--", so a comma
 * splits only before one ("--a=x,y, --b" is two entries), and a flag's
 * own value keeps its commas. */
static int
flags_list(struct load *ld, const struct key *k, const char *val,
    const char *where)
{
	const char **cuts;
	size_t n = 0;
	int rc = 0;

	for (int pass = 0; pass < 2; pass++) {
		n = 0;
		for (const char *p = val; *p != '\0'; p++) {
			const char *q = p + 1 + strspn(p + 1, " \t");

			if (*p != ',' || strncmp(q, "--", 2) != 0)
				continue;
			if (pass == 1)
				cuts[n] = p;
			n++;
		}
		if (pass == 0 &&
		    cfg_ld_check_count(ld, k, n + 1, where) == -1)
			return -1;
		if (pass == 0)
			cuts = xreallocarray(NULL, n + 1, sizeof(*cuts));
	}
	cuts[n] = val + strlen(val);
	cfg_list_clear(&ld->c, k);
	for (size_t i = 0; i <= n && rc == 0; i++) {
		const char *b = i == 0 ? val : cuts[i - 1] + 1;
		size_t len = (size_t)(cuts[i] - b);
		char *item;

		while (len > 0 && (*b == ' ' || *b == '\t')) {
			b++;
			len--;
		}
		while (len > 0 && (b[len - 1] == ' ' || b[len - 1] == '\t'))
			len--;
		item = xstrndup(b, len);
		rc = cfg_ld_set_text(ld, k, item, where);
		free(item);
	}
	free(cuts);
	return rc;
}

static int
env_list(struct load *ld, const struct key *k, const char *val,
    const char *where)
{
	if (k->flags)
		return flags_list(ld, k, val, where);

	size_t n = 1;
	int rc = 0;

	for (const char *p = val; *p != '\0'; p++)
		n += *p == ',';
	if (cfg_ld_check_count(ld, k, n, where) == -1)
		return -1;
	cfg_list_clear(&ld->c, k);
	for (const char *p = val; rc == 0; p++) {
		size_t len = strcspn(p, ",");
		char *item;

		/* "a, b" is how people write lists. */
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		item = xstrndup(p, len);
		rc = cfg_ld_set_text(ld, k, item, where);
		free(item);
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
	}
	return rc;
}

int
cfg_ld_env(struct load *ld, char **envp)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct key *k = &cfg_keys[i];
		char name[64], *where;
		const char *val;
		int rc;

		cfg_key_env_name(k, name, sizeof(name));
		val = cfg_env_get(envp, name);
		if (val == NULL)
			continue;
		where = xasprintf("environment %s", name);
		if (k->type == KT_LIST)
			rc = env_list(ld, k, val, where);
		else
			rc = cfg_ld_set_text(ld, k, val, where);
		if (rc == -1) {
			free(where);
			return -1;
		}
		cfg_ld_set_src(ld, k, where);
	}
	return 0;
}

void
cfg_flags_free(struct flags *f)
{
	free(f->key);
	free(f->val);
	free(f->args);
}

static int
unknown_flag(struct load *ld, const char *arg, size_t len)
{
	const struct key *k = NULL;
	char *name = xstrndup(arg, len);
	char q[CFG_QUOTE_MAX + 2], hint[96] = "";

	if (len > 2 && arg[1] == '-')
		k = key_by_flag(arg + 2, len - 2, true);
	if (k != NULL) {
		char fn[64];

		cfg_key_flag_name(k, fn, sizeof(fn));
		snprintf(hint, sizeof(hint), " (did you mean %s?)", fn);
	}
	cfg_ld_fail(ld, "unknown flag %s%s; run \"zooinit help\" for the "
	    "list of flags", cfg_quote(name, q, sizeof(q)), hint);
	free(name);
	return -1;
}

/* A value is the next argument unless that is missing or itself a long
 * flag: "--data-dir --json" is a forgotten value far more often than a
 * directory named "--json" (which --data-dir=--json still allows). */
static const char *
next_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
		return NULL;
	return argv[++*i];
}

int
cfg_flags_parse(struct load *ld, struct flags *f, int argc, char **argv)
{
	bool dashdash = false;
	size_t cap = argc > 0 ? (size_t)argc : 1;

	f->key = xreallocarray(NULL, cap, sizeof(*f->key));
	f->val = xreallocarray(NULL, cap, sizeof(*f->val));
	f->args = xreallocarray(NULL, cap, sizeof(*f->args));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val;
		const struct key *k;
		size_t len;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			f->args[f->n_args++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(a, "-h") == 0) {
			f->help = true;
			continue;
		}
		if (strncmp(a, "-f", 2) == 0) {
			f->file = a[2] != '\0' ? a + 2 : next_value(argc, argv,
			    &i);
			if (f->file == NULL || f->file[0] == '\0')
				return cfg_ld_fail(ld, "-f needs a value");
			continue;
		}
		if (a[1] != '-')
			return unknown_flag(ld, a, strlen(a));

		name = a + 2;
		eq = strchr(name, '=');
		len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		val = eq != NULL ? eq + 1 : NULL;
		if ((len == 4 && strncmp(name, "json", 4) == 0) ||
		    (len == 4 && strncmp(name, "help", 4) == 0)) {
			if (val != NULL)
				return cfg_ld_fail(ld, "--%.*s takes no value",
				    (int)len, name);
			if (name[0] == 'j')
				f->json = true;
			else
				f->help = true;
			continue;
		}
		if (len == 6 && strncmp(name, "config", 6) == 0) {
			f->file = val != NULL ? val :
			    next_value(argc, argv, &i);
			if (f->file == NULL || f->file[0] == '\0')
				return cfg_ld_fail(ld,
				    "--config needs a value");
			continue;
		}
		k = key_by_flag(name, len, false);
		if (k == NULL)
			return unknown_flag(ld, a, len + 2);
		/* An etcd flag is itself the value of --etcd-args. */
		if (val == NULL && k->flags && i + 1 < argc)
			val = argv[++i];
		if (val == NULL)
			val = next_value(argc, argv, &i);
		if (val == NULL)
			return cfg_ld_fail(ld, "--%.*s needs a value",
			    (int)len, name);
		f->key[f->n] = cfg_key_index(k);
		f->val[f->n] = val;
		f->n++;
	}
	return 0;
}

int
cfg_ld_flags(struct load *ld, const struct flags *f)
{
	bool seen[CFG_NKEYS] = { false };

	for (size_t i = 0; i < f->n; i++) {
		const struct key *k = &cfg_keys[f->key[i]];
		char where[64];

		cfg_key_flag_name(k, where, sizeof(where));
		/* A list on the command line replaces the lower layers'
		 * list as a whole; repeats add to it, and each value may
		 * itself be a comma list, as in the environment. */
		if (k->type == KT_LIST) {
			if (seen[f->key[i]])
				continue;
			seen[f->key[i]] = true;
			char *all = xstrdup(f->val[i]);
			for (size_t j = i + 1; j < f->n; j++) {
				if (f->key[j] != f->key[i])
					continue;
				char *more = xasprintf("%s,%s", all, f->val[j]);
				free(all);
				all = more;
			}
			int rc = env_list(ld, k, all, where);
			free(all);
			if (rc == -1)
				return -1;
			cfg_ld_set_src(ld, k, xstrdup(where));
			continue;
		}
		seen[f->key[i]] = true;
		if (cfg_ld_set_text(ld, k, f->val[i], where) == -1)
			return -1;
		cfg_ld_set_src(ld, k, xstrdup(where));
	}
	return 0;
}
