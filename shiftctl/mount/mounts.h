/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the mount engine (shiftctl/mount/; the verbs use mount.h,
 * which also declares mnt_canonical(), state_str() and state_int()):
 * lib/mountinfo.h (mountinfo parsing, checked fds), and the state
 * files (state.c) that remember what shiftctl mounted (source, backend,
 * maps, daemon pid), one JSON file per mount point under /run/shiftfs/mounts
 * (root) or $XDG_RUNTIME_DIR/shiftfs/mounts. Functions return 0 or -errno.
 */
#ifndef SHIFTCTL_MOUNTS_H
#define SHIFTCTL_MOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "fdpath.h"
#include "mountinfo.h"
#include "mount.h"

/*
 * shiftctl's runtime directory, for its state files and --private mount
 * points: /run/shiftfs for euid 0, else $XDG_RUNTIME_DIR/shiftfs. Without
 * XDG_RUNTIME_DIR (su, runuser, sudo -u, cron, services): the user's
 * /run/user/UID/shiftfs when /run/user/UID is a directory of the user's own
 * with no access for others (as pam_systemd makes it), else /tmp/shiftfs-UID,
 * made 0700 and used only while it is a directory (not a symlink) of the
 * user's own with no access for others: anyone may create a name in /tmp
 * first (-EPERM then, and runtime_dir_msg() says so). With create, a
 * missing /tmp/shiftfs-UID is made; without it, -ENOENT when absent.
 */
int runtime_dir(char *buf, size_t len, bool create);
/* runtime_dir_msg(): mount.h */

/*
 * State files. The directory is runtime_dir()/mounts. With create,
 * missing directories are made 0700.
 */
int state_dir(char *buf, size_t len, bool create);
/* The state file of mount point mnt (its path, escaped, + ".json"). */
int state_path(const char *mnt, char *buf, size_t len, bool create);
/* Write obj atomically (temporary file + rename). */
int state_write(const char *mnt, struct json_object *obj);
/* Read the state of mnt: 0 and a new reference in *obj, -ENOENT, -errno. */
int state_read(const char *mnt, struct json_object **obj);
/* Remove the state of mnt (0 also when there was none). */
int state_remove(const char *mnt);
/* Where mnt's FUSE daemon writes its request counts (state_path, .stats). */
int mount_stats_path(const char *mnt, char *buf, size_t len, bool create);

/* Called for each state file (parsed) in the directory; the callback does
 * not own obj. Return non-zero to stop. */
typedef int (*state_visit_fn)(const char *path, struct json_object *obj,
			      void *ctx);
int state_foreach(state_visit_fn fn, void *ctx);

/* From /proc/PID/stat: the state letter and the start time (clock ticks
 * since boot), which with the pid names a process uniquely. */
int proc_stat(pid_t pid, char *state, unsigned long long *start);
/* The same with the process flags (field 9). */
int proc_stat_flags(pid_t pid, char *state, unsigned int *flags,
		    unsigned long long *start);

/*
 * A FUSE mount whose daemon is gone: the record's daemon (pid, with the
 * start time recorded) is not running (or the pid is another process now),
 * or, for a mount with no record (rec NULL), mnt answers ENOTCONN. Then
 * true, with *why the cause as the user reads it (e.g. "its shiftfs daemon
 * (pid 123) is gone: Transport endpoint is not connected"). mnt is only
 * statfs()ed (which always reaches the daemon; stat may be answered from
 * the cache) when the daemon is known to be gone or no record names it.
 */
bool fuse_mount_dead(const char *mnt, struct json_object *rec, char *why,
		     size_t len);

/* Whether the mount a state object recorded (its mount id, and unique id
 * where recorded) still exists anywhere in our mount namespace. */
bool state_mount_exists(struct json_object *obj);

#endif
