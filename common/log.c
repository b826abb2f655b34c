#include "autoconf.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "common/util.h"

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "err",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const int syslog_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_NOTICE] = LOG_NOTICE,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

static struct {
	const char *ident;
	bool to_stderr;
	enum log_level level;
} log_state = { "sixfour", true, LOG_LVL_INFO };

void log_init(const char *ident, bool to_stderr, enum log_level level)
{
	log_state.ident = ident;
	log_state.to_stderr = to_stderr;
	log_state.level = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_state.level = level;
}

bool log_to_stderr(void)
{
	return log_state.to_stderr;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level >= ARRAY_SIZE(level_names))
		return "?";
	return level_names[level];
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > log_state.level)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!log_state.to_stderr) {
		syslog(syslog_prio[level], "%s", buf);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line so that lines from threads do not interleave. */
	fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", when, ts.tv_nsec / 1000000,
		log_state.ident, level_names[level], buf);
}

bool log_limit_allow(struct log_limit *lim)
{
	uint64_t now = monotonic_ms();
	if (lim->interval_ms == 0)
		return true;
	if (lim->last_ms == 0) {
		lim->tokens = lim->burst;
		lim->last_ms = now;
	}
	uint64_t refill = (now - lim->last_ms) / lim->interval_ms;
	if (refill > 0) {
		uint64_t t = lim->tokens + refill;
		lim->tokens = t > lim->burst ? lim->burst : (uint32_t)t;
		lim->last_ms += refill * lim->interval_ms;
	}
	if (lim->tokens == 0) {
		lim->suppressed++;
		return false;
	}
	lim->tokens--;
	return true;
}
