/* Test configurations from text (common/config.h): one that does not load
 * stops the test, with each of its errors shown as a TAP comment. */
#ifndef SIXFOUR_CONFIG_FIXTURE_H
#define SIXFOUR_CONFIG_FIXTURE_H

#include "common/config.h"
#include "tests/unit/tap.h"

/* Loads `text` (its errors name it test.ini), or bails. */
static inline struct sixfour_config *fixture_config(const char *text)
{
	struct config_errors errs;
	struct sixfour_config *cfg = config_load_string("test.ini", text, &errs);
	if (!cfg) {
		for (size_t i = 0; i < errs.n; i++)
			printf("# %s\n", errs.msg[i]);
		bail("the test's config does not load");
	}
	return cfg;
}

#endif
