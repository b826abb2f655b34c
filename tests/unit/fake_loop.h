/* A fake event loop for deterministic tests (Unbound's testbound idea): the
 * common/evloop.h API with a virtual clock. Nothing happens until the test
 * moves the clock; file descriptors are accepted and never become ready.
 * Linked in place of common/evloop.c. */
#ifndef SIXFOUR_FAKE_LOOP_H
#define SIXFOUR_FAKE_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct evloop;

/* Moves the clock forward by `ms`, firing every timer that falls due, in
 * deadline order (a timer armed by a callback fires too when it falls
 * within the step). `ms` 0 fires what is due now (zero-delay timers). */
void fake_loop_advance(struct evloop *loop, uint64_t ms);
/* Timers armed now, and file descriptors registered now. */
size_t fake_loop_timers(const struct evloop *loop);
size_t fake_loop_fds(const struct evloop *loop);

#endif
