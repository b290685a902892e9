/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mounts below SRC (docs/SECURITY.md, "A host user's FUSE server below
 * SRC").
 *
 * openat() follows mount points, so a lookup below SRC can land on another
 * filesystem mounted there, and every later request about that inode asks
 * that filesystem. A host user who may write below SRC and mount FUSE with
 * allow_other (user_allow_other in /etc/fuse.conf) can mount a server that
 * never answers: each request the daemon sends it holds one of the
 * daemon's fixed set of threads for good (only SIGKILL ends the wait), and
 * one per thread hangs the mount for every user and container.
 *
 * So a lookup that crossed into another mount is checked before anything
 * asks the new filesystem: the fd from openat(O_PATH) pins the mount, its
 * mount id comes from the VFS (statx STATX_MNT_ID alone, which no
 * filesystem is asked for; lib/mountinfo.c), and /proc/self/mountinfo
 * names its type and, for FUSE, the uid that mounted it. A FUSE
 * filesystem mounted by anyone but root or the daemon's own user (in its
 * user namespace, or as the host sees it) is refused (EACCES); every other
 * mount (a root's tmpfs, a bind mount, a disk) is served as before.
 *
 * The verdict on a mount id is kept until the mount table changes:
 * mountinfo can be long (thousands of mounts on a container host), and a
 * refused lookup leaves the kernel no negative entry, so a user could
 * otherwise make the daemon read all of it once per request. poll() on an
 * open /proc/self/mountinfo reports any mount or unmount in the daemon's
 * mount namespace since the last poll; every verdict is dropped then. An
 * id is only reused after its mount is gone, which that poll reports
 * first; and the fd being checked pins its mount while its verdict is
 * made.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "mountinfo.h"

/* Refusals logged per daemon: the names are a host user's to repeat. */
#define SFS_SUBMOUNT_LOGS 20

/* Verdicts kept (the mounts below one SRC are usually few). */
#define SFS_VERDICTS 64

static struct {
	pthread_mutex_t lock;
	bool opened;
	int watch; /* /proc/self/mountinfo, for poll(), or -1 */
	unsigned int n, next;
	struct {
		int id, err;
	} v[SFS_VERDICTS];
} verdicts = {.lock = PTHREAD_MUTEX_INITIALIZER, .watch = -1};

/*
 * With verdicts.lock held: false if the table may have changed since
 * the last call, or cannot be watched (keep nothing then). Clears what
 * was kept when it changed.
 */
static bool verdicts_current(void)
{
	struct pollfd p = {.events = POLLPRI};

	if (!verdicts.opened) {
		/* Opened now: it reports changes from here on. */
		verdicts.opened = true;
		verdicts.watch =
			open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		return false;
	}
	if (verdicts.watch < 0)
		return false;
	p.fd = verdicts.watch;
	if (poll(&p, 1, 0) == 0)
		return true;
	verdicts.n = 0;
	verdicts.next = 0;
	return false;
}

/* The kept verdict on mount id, or -1. */
static int verdict_find(int id)
{
	int err = -1;
	unsigned int i;

	pthread_mutex_lock(&verdicts.lock);
	if (verdicts_current())
		for (i = 0; i < verdicts.n; i++)
			if (verdicts.v[i].id == id) {
				err = verdicts.v[i].err;
				break;
			}
	pthread_mutex_unlock(&verdicts.lock);
	return err;
}

/*
 * Keep err for id, made while the fd being checked pinned its mount. The
 * verdict on a live mount never changes (type and FUSE owner are fixed);
 * its id goes to another mount only after it is gone, in a mount event
 * the next poll reports.
 */
static void verdict_keep(int id, int err)
{
	pthread_mutex_lock(&verdicts.lock);
	if (verdicts.watch >= 0) {
		verdicts.v[verdicts.next].id = id;
		verdicts.v[verdicts.next].err = err;
		verdicts.next = (verdicts.next + 1) % SFS_VERDICTS;
		if (verdicts.n < SFS_VERDICTS)
			verdicts.n++;
	}
	pthread_mutex_unlock(&verdicts.lock);
}

int sfs_mount_id(int fd, int *id)
{
	/*
	 * STATX_MNT_ID is the VFS's: with no basic field asked and
	 * AT_STATX_DONT_SYNC, FUSE and NFS answer from what they have and
	 * send nothing (fuse_update_get_attr(): an empty mask never syncs).
	 */
	return mnt_plain_id_at(fd, "", id);
}

static bool is_fuse(const char *fstype)
{
	return !strcmp(fstype, "fuse") || !strcmp(fstype, "fuseblk") ||
	       !strncmp(fstype, "fuse.", 5);
}

/* The user_id= of FUSE super options, or false. */
static bool fuse_owner(const char *opts, uid_t *uid)
{
	const char *p = opts;
	char *end;
	unsigned long v;

	while (p) {
		if (!strncmp(p, "user_id=", 8)) {
			errno = 0;
			v = strtoul(p + 8, &end, 10);
			if (errno || end == p + 8 || (*end && *end != ',') ||
			    v > (uid_t)-1)
				return false;
			*uid = (uid_t)v;
			return true;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/*
 * Is uid (as mountinfo prints a FUSE user_id: in the user namespace the
 * connection was made in) the daemon's own user? A rootless daemon runs
 * as root of its user namespace and its user's FUSE mounts on the host
 * show the host uid: so the daemon's uid as its namespace's parent sees
 * it (/proc/self/uid_map) counts too.
 */
static bool daemon_user(const struct sfs *fs, uid_t uid)
{
	_cleanup_fclose_ FILE *f = NULL;
	unsigned long in, out, n;

	if (uid == fs->euid)
		return true;
	f = fopen("/proc/self/uid_map", "re");
	while (f && fscanf(f, "%lu %lu %lu", &in, &out, &n) == 3)
		if (fs->euid >= in && fs->euid - in < n)
			return out + (fs->euid - in) == uid;
	return false;
}

static void log_refusal(int fd, const char *why)
{
	static atomic_uint logged;
	char path[64], target[PATH_MAX];
	ssize_t n;
	unsigned int k = atomic_fetch_add(&logged, 1);

	if (k > SFS_SUBMOUNT_LOGS)
		return;
	if (k == SFS_SUBMOUNT_LOGS) {
		shift_log(SHIFT_LOG_WARNING,
			  "more mounts below the source refused; no longer "
			  "logged");
		return;
	}
	sfs_proc_path(path, sizeof(path), fd);
	n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	shift_log(SHIFT_LOG_WARNING, "%s: not served: %s",
		  n > 0 ? target : "(a mount below the source)", why);
}

/* The verdict on the mount fd is on (its id id), from mountinfo. */
static int judge(struct sfs *fs, int fd, int id, bool *keep)
{
	_cleanup_free_ struct mnt_entry *e = NULL;
	char why[256];
	uid_t owner;
	int r;

	*keep = false;
	/* mountinfo's line of that id is this mount's: fd holds it, so the
	 * id is not reused; a detached mount has no line. */
	e = malloc(sizeof(*e));
	if (!e)
		return ENOMEM;
	r = mnt_by_id(id, e);
	if (r < 0) {
		log_refusal(fd, r == -ENOENT
					? "unmounted while it was looked up"
					: "mountinfo cannot be read");
		return EACCES;
	}
	*keep = true;
	if (!is_fuse(e->fstype))
		return 0;
	if (e->super_cut || !fuse_owner(e->super, &owner))
		snprintf(why, sizeof(why), "a %s filesystem of no known user",
			 e->fstype);
	else if (owner == 0 || daemon_user(fs, owner))
		return 0;
	else
		snprintf(why, sizeof(why),
			 "a %s filesystem mounted by uid %u, which could stall "
			 "every thread of this mount (docs/SECURITY.md)",
			 e->fstype, (unsigned int)owner);
	log_refusal(fd, why);
	return EACCES;
}

int sfs_submount_check(struct sfs *fs, int pfd, int fd)
{
	int id, pid, err;
	bool keep;

	if (sfs_mount_id(fd, &id) < 0) {
		log_refusal(fd, "its mount id is unknown");
		return EACCES;
	}
	/* SRC's own mount (pinned by the root's fd: its id is never
	 * reused), or the parent's (pinned by pfd, itself checked). */
	if (id == fs->root_mnt_id)
		return 0;
	if (sfs_mount_id(pfd, &pid) == 0 && pid == id)
		return 0;
	/* id was read before the poll: a kept verdict is this mount's. */
	err = verdict_find(id);
	if (err >= 0)
		return err;
	err = judge(fs, fd, id, &keep);
	if (keep)
		verdict_keep(id, err);
	return err;
}
