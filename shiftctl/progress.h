/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A progress display for long walks (chown, shift, undo, doctor), one per
 * process, on stderr:
 *
 *   - stderr a TTY: a bar redrawn at most 10 times a second,
 *     "[#####.....]  52% 123456/~237000 files  41234 files/s  0:03"
 *     (without a total, no bar and no percentage);
 *   - otherwise: a plain line every 5 seconds,
 *     "shiftctl: 123456 files, 41234 files/s, 0:03 elapsed";
 *   - silent with quiet (--quiet).
 *
 * Usage: progress_start(estimate or 0, quiet); progress_update(done) as
 * often as you like from any thread (cheap, rate-limited, never blocks);
 * progress_clear() before printing a message line of your own;
 * progress_finish() once at the end (erases the bar).
 */
#ifndef SHIFTCTL_PROGRESS_H
#define SHIFTCTL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

void progress_start(uint64_t total_estimate, bool quiet);
void progress_update(uint64_t done);
void progress_clear(void);
void progress_finish(void);

#endif
