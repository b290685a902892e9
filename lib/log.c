/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Log routing; see log.h. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_prog = "shiftfs";
static enum shift_log_level log_max = SHIFT_LOG_INFO;
static shift_log_sink log_sink;

void shift_log_set_prog(const char *prog)
{
	log_prog = prog;
}

void shift_log_set_level(enum shift_log_level max)
{
	log_max = max;
}

void shift_log_set_sink(shift_log_sink sink)
{
	log_sink = sink;
}

static const char *level_word(enum shift_log_level level)
{
	switch (level) {
	case SHIFT_LOG_ERR:
		return "error: ";
	case SHIFT_LOG_WARNING:
		return "warning: ";
	case SHIFT_LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

static void stderr_sink(enum shift_log_level level, const char *msg)
{
	/* One fprintf per line keeps lines from threads whole. */
	fprintf(stderr, "%s: %s%s\n", log_prog, level_word(level), msg);
}

void shift_log_syslog_sink(enum shift_log_level level, const char *msg)
{
	syslog((int)level, "%s%s", level_word(level), msg);
}

void shift_vlog(enum shift_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t len;

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	(log_sink ? log_sink : stderr_sink)(level, msg);
}

void shift_log(enum shift_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shift_vlog(level, fmt, ap);
	va_end(ap);
}
