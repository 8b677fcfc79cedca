#include "lib/fmacros.h"

#include <strings.h>

#include "config/hook_event.h"

static const char *const event_names[HOOK_NEVENTS] = {
	"OnPreRegist", "OnPostRegist", "OnReachQurorumNum", "OnPreStart",
	"OnStart", "OnPostStart", "OnClusterBooted", "OnHealthCheck",
	"OnStop", "OnLeaderChange",
};

const char *
hook_event_name(enum hook_event ev)
{
	if ((unsigned)ev >= HOOK_NEVENTS)
		return "unknown";
	return event_names[ev];
}

int
hook_event_parse(const char *s, enum hook_event *out)
{
	for (int i = 0; i < HOOK_NEVENTS; i++) {
		if (strcasecmp(s, event_names[i]) == 0) {
			*out = (enum hook_event)i;
			return 0;
		}
	}
	return -1;
}

