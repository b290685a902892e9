/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging with a pluggable sink. The library itself never logs; front ends
 * (the daemon, shiftctl) call shift_log() and choose where lines go:
 * stderr by default, syslog for a daemonised shiftfs. Thread-safe as long as
 * the sink is (both built-in sinks are).
 */
#ifndef SHIFT_LOG_H
#define SHIFT_LOG_H

#include <stdarg.h>

enum shift_log_level {
	SHIFT_LOG_ERR = 3,
	SHIFT_LOG_WARNING = 4,
	SHIFT_LOG_NOTICE = 5,
	SHIFT_LOG_INFO = 6,
	SHIFT_LOG_DEBUG = 7,
};

typedef void (*shift_log_sink)(enum shift_log_level level, const char *msg);

/* Set the program name used as a prefix by the stderr sink. */
void shift_log_set_prog(const char *prog);
/* Lines above this level are dropped (default SHIFT_LOG_INFO). */
void shift_log_set_level(enum shift_log_level max);
/* Route lines to sink (NULL restores the stderr sink). */
void shift_log_set_sink(shift_log_sink sink);
/* The syslog sink (LOG_DAEMON, opened with the program name). */
void shift_log_syslog_sink(enum shift_log_level level, const char *msg);

void shift_log(enum shift_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void shift_vlog(enum shift_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
