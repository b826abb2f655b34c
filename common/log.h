/* Logging: one API with levels and printf checking.
 * Foreground (-d): stderr with a timestamp; otherwise syslog.
 * Never log per packet at info; use log_ratelimited for what can repeat. */
#ifndef SIXFOUR_LOG_H
#define SIXFOUR_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Sets the program name, the sink and the threshold. Safe to call again. */
void log_init(const char *ident, bool to_stderr, enum log_level level);
void log_set_level(enum log_level level);
/* Where log_init() sent messages: stderr (true) or syslog. */
bool log_to_stderr(void);
/* Parses "err", "warn", "notice", "info", "debug"; -EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* A token bucket for messages that can repeat: at most `burst` messages,
 * refilled at one per `interval_ms`. Zero-initialise, then set both fields. */
struct log_limit {
	uint32_t interval_ms;
	uint32_t burst;
	uint32_t tokens;
	uint64_t last_ms;
	uint64_t suppressed;
};

/* True when a message may be written now; counts the ones suppressed. */
bool log_limit_allow(struct log_limit *lim);

#define log_ratelimited(lim, level, ...) \
	do { if (log_limit_allow(lim)) log_msg((level), __VA_ARGS__); } while (0)

#endif
