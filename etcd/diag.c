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

bool
etcd_exited_zero(const struct sup_exit *ex)
{
	return ex != NULL && ex->status != -1 && WIFEXITED(ex->status) &&
	    WEXITSTATUS(ex->status) == 0;
}

bool
etcd_exited_zero_at_once(const struct sup_exit *ex)
{
	return etcd_exited_zero(ex) && ex->ran_ms < ETCD_AT_ONCE_MS;
}
