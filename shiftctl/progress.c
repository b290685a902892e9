/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The progress display of progress.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "shiftctl.h"

static struct {
	bool active, tty, drawn;
	uint64_t total;
	double start, last;
	pthread_mutex_t lock;
} pg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress_start(uint64_t total_estimate, bool quiet)
{
	pthread_mutex_lock(&pg.lock);
	pg.active = !quiet;
	pg.tty = isatty(STDERR_FILENO);
	pg.drawn = false;
	pg.total = total_estimate;
	pg.start = pg.last = now();
	pthread_mutex_unlock(&pg.lock);
}

static void draw(uint64_t done, double t)
{
	double el = t - pg.start;
	double rate = el > 0 ? done / el : 0;
	unsigned secs = (unsigned)el;

	char a[32], b[32], c[32];

	if (!pg.tty) {
		fprintf(stderr, "%s: %s files, %s files/s, %u:%02u elapsed\n",
			program_name, fmt_count(done, a),
			fmt_count((unsigned long long)rate, b), secs / 60,
			secs % 60);
		return;
	}
	if (pg.total) {
		uint64_t tot = done > pg.total ? done : pg.total;
		int pct = (int)(done * 100 / tot), i, fill = pct / 5;
		char bar[21];

		for (i = 0; i < 20; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[20] = '\0';
		fprintf(stderr,
			"\r[%s] %3d%% %s/~%s files  %s files/s  "
			"%u:%02u\033[K",
			bar, pct, fmt_count(done, a), fmt_count(tot, b),
			fmt_count((unsigned long long)rate, c), secs / 60,
			secs % 60);
	} else {
		fprintf(stderr, "\r%s files  %s files/s  %u:%02u\033[K",
			fmt_count(done, a),
			fmt_count((unsigned long long)rate, b), secs / 60,
			secs % 60);
	}
	pg.drawn = true;
}

void progress_update(uint64_t done)
{
	double t;

	if (!pg.active || pthread_mutex_trylock(&pg.lock) != 0)
		return;
	t = now();
	if (t - pg.last >= (pg.tty ? 0.1 : 5.0)) {
		pg.last = t;
		draw(done, t);
	}
	pthread_mutex_unlock(&pg.lock);
}

void progress_clear(void)
{
	if (!pg.active)
		return;
	pthread_mutex_lock(&pg.lock);
	if (pg.tty && pg.drawn) {
		fputs("\r\033[K", stderr);
		pg.drawn = false;
	}
	pthread_mutex_unlock(&pg.lock);
}

void progress_finish(void)
{
	progress_clear();
	pthread_mutex_lock(&pg.lock);
	pg.active = false;
	pthread_mutex_unlock(&pg.lock);
}
