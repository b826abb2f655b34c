/* A fake libunbound for deterministic tests, linked in place of the real
 * one (like the fake network of Unbound's testbound): the functions
 * dns64/resolver.c calls, answering from a script. Each scripted answer
 * matches one upstream query by name, type and context (validating or
 * CD), and is delivered during the call (as libunbound does for local
 * data), after a delay on the context's event base (through
 * dns64/resolver.c's ub_event adapter and so the test's clock), or never. */
#ifndef SIXFOUR_FAKE_UNBOUND_H
#define SIXFOUR_FAKE_UNBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fake_ctx { FAKE_ANY_CTX, FAKE_VALIDATING, FAKE_CD };
enum fake_when { FAKE_AFTER, FAKE_INLINE, FAKE_NEVER };

struct fake_answer {
	char qname[256];		/* presentation form, lower case, with the dot */
	uint16_t qtype;
	enum fake_ctx ctx;
	enum fake_when when;
	uint64_t delay_ms;		/* FAKE_AFTER */
	int ub_rcode;			/* non-zero: libunbound's own failure (SERVFAIL) */
	int sec;			/* 0 insecure, 1 bogus, 2 secure */
	uint8_t pkt[4096];		/* the answer (ignored with ub_rcode) */
	size_t len;
	bool used;
};

/* Appends an answer to the script (copied); false when the script is full. */
bool fake_unbound_add(const struct fake_answer *a);
/* Forgets the script and the statistics. */
void fake_unbound_reset(void);

struct fake_unbound_stats {
	unsigned queries;		/* ub_resolve_event calls that matched */
	unsigned unexpected;		/* queries no scripted answer matched */
	unsigned cancelled;		/* ub_cancel of a query still outstanding */
	unsigned delivered;		/* callbacks made */
	unsigned outstanding;		/* started, neither answered nor cancelled */
	unsigned contexts;		/* contexts alive */
	char last_unexpected[300];
};
void fake_unbound_stats(struct fake_unbound_stats *out);

#endif
