/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which directories root's shiftctl refuses to chown, shift, undo, mount
 * from or mount onto without --force: the system's own trees. One table,
 * shared by the mount and rewrite engines, so that they refuse the same.
 */
#ifndef SHIFT_SYSPATH_H
#define SHIFT_SYSPATH_H

/*
 * Why the canonical absolute path real (no symlinks, no "..", as from
 * realpath() or /proc/self/fd) is a system path, e.g. "inside the system
 * directory /etc" or "the home directory of alice"; NULL if it is not.
 *
 * Whole subtrees are refused where everything below belongs to the system
 * (/etc, /usr, /boot, /proc, /var/spool...); directories whose children are
 * ordinary data (/home, /srv, /var/lib, /tmp, /run...) only as themselves.
 * The returned string is static: not thread-safe, valid until the next call.
 */
const char *syspath_why(const char *real);

#endif
