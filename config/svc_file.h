#ifndef ZOOINIT_SVC_FILE_H
#define ZOOINIT_SVC_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/cfg_file.h"
#include "config/svc.h"

/* Internal to config/: what cfg.c asks of svc.c while it loads. svc.c
 * sees only its own structs and the file reader (cfg_file.h), never
 * struct cfg: cfg.c hands over the few flat values the checks relate.
 * Not for the rest of zooinit. */

/* A service's name (the group's, and each entry of "services"): an
 * RFC 1035 label of at most SVC_NAME_MAX bytes. */
bool svc_name_valid(const char *s);
#define SVC_NAME_EXPECT "a service name (a letter, then letters, digits " \
	"and hyphens, at most 63 bytes, not ending in a hyphen)"

/* Reads the file's top-level "service" group into a new array of every
 * service, in file order, checked and with defaults filled in: *out (free
 * each with svc_cfg_free(), then the array) and *n_out. Returns 0, or -1
 * with one sentence in err ("FILE:LINE: service.zk.size: ..."); *out and
 * *n_out are then untouched. */
int svc_load_file(const struct cfg_file *fx, const config_setting_t *group,
    struct svc_cfg **out, size_t *n_out, char *err, size_t errlen);

/* The flat keys svc_check() relates to the services, each with where it
 * came from ("FILE:LINE", "environment ZOOINIT_SERVICES", "--services"),
 * NULL when it kept its default. Borrowed. */
struct svc_flat {
	char *const *services;	/* the key "services" */
	size_t n_services;
	const char *config_file; /* the file read, NULL for none */
	const char *data_dir;	/* etcd's */
	const char *seed_data_dir;
	const char *services_src;
	const char *data_dir_src;
	const char *seed_data_dir_src;
};

/* The checks that need every layer: each of f->services names one of
 * the n services at v, once; no service shares etcd's or the seed's
 * data_dir. Returns 0, or -1 with one sentence in err. */
int svc_check(const struct svc_cfg *v, size_t n, const struct svc_flat *f,
    char *err, size_t errlen);

#endif
