/* policy.c — the table of placement policies, looked up by name. */
#include "policy.h"

#include <string.h>

extern const struct smm_policy_ops smm_policy_bump;
extern const struct smm_policy_ops smm_policy_first_fit;
extern const struct smm_policy_ops smm_policy_next_fit;
extern const struct smm_policy_ops smm_policy_best_fit;
extern const struct smm_policy_ops smm_policy_worst_fit;
extern const struct smm_policy_ops smm_policy_buddy;
extern const struct smm_policy_ops smm_policy_tlsf;

/* In the order --help lists them; bump first, as the default. */
static const struct smm_policy_ops *const policies[] = {
	&smm_policy_bump,      &smm_policy_first_fit, &smm_policy_next_fit,
	&smm_policy_best_fit,  &smm_policy_worst_fit, &smm_policy_buddy,
	&smm_policy_tlsf,
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
	return "bump, first-fit, next-fit, best-fit, worst-fit, buddy, tlsf";
}

size_t smm_policy_count(void)
{
	return sizeof policies / sizeof policies[0];
}

const struct smm_policy_ops *smm_policy_at(size_t i)
{
	return i < smm_policy_count() ? policies[i] : NULL;
}
