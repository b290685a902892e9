/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Resolve once, act on the fd: open a canonical path without following any
 * symlink on the way and verify it, and read back the path an fd is on.
 */
#ifndef SHIFT_FDPATH_H
#define SHIFT_FDPATH_H

#include <stddef.h>
#include <sys/types.h>

/* The path fd refers to now (readlink of /proc/self/fd/N): 0 or -errno
 * (-ENAMETOOLONG when it does not fit in len). */
int fdpath_get(int fd, char *buf, size_t len);

/*
 * Open the canonical absolute path real (from realpath()) as an O_PATH fd
 * (O_CLOEXEC | flags, e.g. O_DIRECTORY or O_NOFOLLOW) with openat2's
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, and check that the fd's
 * path is still real. Returns the fd; -ELOOP or -ESTALE when the path
 * changed since it was resolved (a symlink or a rename swapped in);
 * -EINVAL for a relative path; or -errno.
 */
int fdpath_open(const char *real, int flags);

/*
 * mkdir -p: make path and its missing parents with mode (0 when they all
 * exist, or -errno). By path, for the caller's own directories (state,
 * sockets): it follows what exists, so whoever acts on the result opens
 * it with fdpath_open() or checks it.
 */
int fdpath_mkdir_p(const char *path, mode_t mode);

#endif
