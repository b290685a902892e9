/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsers for id map text: explicit specs ("0:100000:65536,65536:1000:1")
 * and /proc/PID/uid_map contents ("inside outside count" lines, read as
 * DISK VIEW COUNT). Every error names the token and its position in d.
 * Ranges are appended to m, which the caller initialises; on error m may
 * hold the ranges before the bad one and should be discarded.
 */
#ifndef SHIFT_IDMAP_PARSE_H
#define SHIFT_IDMAP_PARSE_H

#include <stddef.h>
#include <sys/types.h>

#include "diag.h"
#include "idmap.h"

/*
 * A spec: ranges DISK:VIEW:COUNT separated by commas (or by colons, as
 * fuse-overlayfs's "0:100000:65536:65536:1000:1"), no spaces. Errors:
 * -EINVAL (shape, count 0, overlap, empty spec), -ERANGE (number or range
 * out of range), -E2BIG (too many ranges).
 */
int idmap_parse_spec(struct idmap *m, const char *spec, struct shift_diag *d);

/*
 * /proc/PID/uid_map text of length len: one range per line, fields
 * separated by blanks. name is used in messages (e.g. "/proc/42/uid_map").
 */
int idmap_parse_proc(struct idmap *m, const char *text, size_t len,
		     const char *name, struct shift_diag *d);

/* Read /proc/PID/uid_map and gid_map into m (initialised by the caller).
 * -ENOENT/-EACCES etc. from open, with d naming the file. */
int idmap_read_pid(struct idmaps *m, pid_t pid, struct shift_diag *d);

/* Read a whole small file (< 1 MiB) into a malloc'd NUL-terminated buffer. */
int read_small_file(const char *path, char **out, size_t *len);

#endif
