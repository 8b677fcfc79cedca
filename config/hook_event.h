#ifndef ZOOINIT_HOOK_EVENT_H
#define ZOOINIT_HOOK_EVENT_H

/* The events a service's hooks run at. The config file names them
 * (hooks = { OnPostStart = [...]; }) and services/hooks.h runs them, so
 * they live here, below both, and depend on nothing. */

/* The names are the original tool's, misspellings included. */
enum hook_event {
	HOOK_PRE_REGIST = 0,	/* OnPreRegist */
	HOOK_POST_REGIST,	/* OnPostRegist */
	HOOK_REACH_QURORUM_NUM,	/* OnReachQurorumNum */
	HOOK_PRE_START,		/* OnPreStart */
	HOOK_START,		/* OnStart: the service itself, run by the
				 * supervisor with services/hooks.h's
				 * hook_env() */
	HOOK_POST_START,	/* OnPostStart */
	HOOK_CLUSTER_BOOTED,	/* OnClusterBooted */
	HOOK_HEALTH_CHECK,	/* OnHealthCheck */
	HOOK_STOP,		/* OnStop */
	HOOK_LEADER_CHANGE,	/* OnLeaderChange */
	HOOK_NEVENTS
};

/* "OnPostStart"; a static string. Out-of-range values give "unknown". */
const char *hook_event_name(enum hook_event ev);
/* Parses an event name, ignoring case. Returns 0, or -1 for anything
 * else (out untouched). */
int hook_event_parse(const char *s, enum hook_event *out);

#endif
