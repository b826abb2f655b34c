/* The option table behind sixfour.ini (private to common/config*.c). */
#ifndef SIXFOUR_CONFIG_TABLE_H
#define SIXFOUR_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_BOOL,
	CFG_UINT,
	CFG_STR,
	CFG_DURATION,		/* stored as uint64_t milliseconds */
	CFG_SIZE,		/* stored as uint64_t bytes */
	CFG_LOGLEVEL,
	CFG_ENUM,		/* stored as int, `choices` names the values */
	CFG_CIDR,		/* struct cidr */
	CFG_CIDR_LIST,
	CFG_ENDPOINT_LIST,
	CFG_STR_LIST,
	CFG_POOL4_LIST,
};

enum cfg_flags {
	CFG_MULTI = 1u << 0,	/* the key may repeat; each line appends */
	CFG_V4 = 1u << 1,	/* CIDR values must be IPv4 */
	CFG_V6 = 1u << 2,	/* CIDR values must be IPv6 */
	CFG_PATH = 1u << 3,	/* a string that names a file */
};

/* What a reload does with a changed value. Restart is the default, so a
 * key that nobody applies at reload is refused rather than silently kept:
 * a key reloads live only when its row says so and its subsystem applies
 * it in reload(). */
enum cfg_reload {
	CFG_RESTART = 0,	/* a running daemon refuses the change */
	CFG_LIVE = 1,		/* taken by reload() */
};

struct cfg_option {
	const char *section;	/* "prefix" rows apply to each [prefix NAME] */
	const char *key;
	enum cfg_type type;
	size_t offset;		/* in struct sixfour_config or struct prefix_conf */
	const char *def;	/* parsed by the same parser; "" = empty */
	uint64_t min, max;	/* CFG_UINT, CFG_DURATION (ms), CFG_SIZE */
	const char *const *choices;
	unsigned flags;
	uint16_t port;		/* default port for CFG_ENDPOINT_LIST */
	enum cfg_reload reload;
	const char *doc;
};

/* Bound on the table's length, for per-option bookkeeping. */
#define CFG_MAX_OPTIONS 256

extern const struct cfg_option cfg_options[];
extern const size_t cfg_noptions;
/* The order sections are printed in. */
extern const char *const cfg_sections[];
extern const size_t cfg_nsections;

#endif
