#include "lib/fmacros.h"

#include <stddef.h>

#include "lib/str.h"
#include "services/backend.h"

/* custom: zooinit runs only the hooks, and OnStart, when set, is the
 * service's process. No files, no program of its own, no health check
 * beyond OnHealthCheck. */

static int
custom_prepare(const struct be_env *e, char ***argv, char *err,
    size_t errlen)
{
	(void)err;
	(void)errlen;
	*argv = e->cfg->hooks[HOOK_START] != NULL ?
	    strv_dup(e->cfg->hooks[HOOK_START]) : NULL;
	return 0;
}

const struct backend_ops be_custom = {
	.name = "custom",
	.prepare = custom_prepare,
};
