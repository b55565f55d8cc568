/* policy.c — the table of placement policies, looked up by name. */
#include "policy.h"

#include <string.h>

extern const struct smm_policy_ops smm_policy_bump;

static const struct smm_policy_ops *const policies[] = {
	&smm_policy_bump,
};

const struct smm_policy_ops *smm_policy_find(const char *name)
{
	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
		if (strcmp(policies[i]->name, name) == 0)
			return policies[i];
	return NULL;
}

const char *smm_policy_names(void)
{
	return "bump";
}
