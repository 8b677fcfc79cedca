#include "lib/fmacros.h"

#include <sys/wait.h>

#include "etcd/diag.h"

bool
etcd_exited_at_once(const struct sup_exit *ex)
{
	return ex != NULL && ex->status != -1 && ex->starts == 1 &&
	    ex->ran_ms < ETCD_AT_ONCE_MS && WIFEXITED(ex->status);
}

bool
etcd_refused_flags(const struct sup_exit *ex)
{
	return etcd_exited_at_once(ex) && WEXITSTATUS(ex->status) == 2;
}
