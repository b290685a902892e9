/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount engine behind shiftctl mount, umount and status: its whole
 * interface. A verb fills a request from its options, calls the engine and
 * prints (text or --json) from the result; the engine prints nothing.
 * Warnings come back as text for the verb to warn() in order. A refusal or
 * failure that ends the command still die()s inside the engine (each such
 * function says so), as the verbs did before the engine was cut out.
 *
 * shiftctl mount:   mount_open()   SRC and MNT to checked fds (paths.c)
 *                   (the verb builds the map, using SRC's fd for --owner)
 *                   mount_check()  refusals and warnings that need the map
 *                   mount_make()   choose a backend, mount, record (make.c)
 * shiftctl umount:  mount_unmount()     (unmount.c)
 * shiftctl status:  mount_status_list() (status.c)
 */
#ifndef SHIFTCTL_MOUNT_H
#define SHIFTCTL_MOUNT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "idmap.h"

enum backend { BACKEND_AUTO, BACKEND_IDMAP, BACKEND_FUSE };

/* shiftctl mount's request: the verb's options. */
struct mount_opts {
	enum backend backend;
	bool read_only, force, mkdir, private_dir, allow_suid_src;
	const char *fuse_opts; /* -o pass-through */
	bool suid, dev, allow_other;
	uint64_t mattr; /* more MOUNT_ATTR_* from -o (FUSE as root) */
	const char *fsname, *max_read;
	const char *fuse_only; /* first -o option idmap cannot honour */
	const char *layout;    /* the map source, described (the record) */
	bool owner_mode;       /* the map is owner mode's (the record) */
	/* --private as root for a rootless layout: the one host uid (the
	 * layout's user, whose engine binds the mount point) that may also
	 * reach it; -1: root only. */
	long long private_uid;
};

/* Messages for the verb to print with warn(), in order. */
#define MOUNT_WARN_MAX 4
struct mount_warnings {
	size_t n;
	char msg[MOUNT_WARN_MAX][PATH_MAX + 512];
};

/* What the engine found and did; each call fills its part. */
struct mount_result {
	char src[PATH_MAX], mnt[PATH_MAX]; /* what src_fd, mnt_fd were */
	int src_fd, mnt_fd;		   /* O_PATH, checked */
	bool auto_allow_other; /* unprivileged, and /etc/fuse.conf allows */
	enum backend backend;  /* the one that mounted */
	bool via_helper;       /* idmap by shiftfs-idmap-helper */
	char why[512];	       /* why this backend */
	pid_t pid;	       /* FUSE daemon */
	char log[PATH_MAX];    /* its log file */
	int mnt_id;	       /* the new mount's, in mountinfo */
	unsigned long long mnt_uniq;	/* its unique id (0: none) */
	struct mount_warnings warnings; /* of the last call: print them now */
	struct mount_warnings notes;	/* print after the mount's report */
	struct json_object *record;	/* the state record; the verb's */
	int record_err;			/* saving it: 0 or -errno */
};

/*
 * Resolve SRC and MNT (NULL: --private's default NAME) once, to checked
 * O_PATH fds in r, creating MNT for --mkdir/--private, and refuse system
 * and home directories and overlap unless --force. Dies on refusal.
 */
void mount_open(const struct mount_opts *o, const char *src, const char *mnt,
		struct mount_result *r);
/*
 * Refuse an empty map, an overflow id other than the kernel's, and a
 * second shifted mount on one of ours; r->warnings are those to print
 * before mounting. Dies on refusal.
 */
void mount_check(const struct mount_opts *o, const struct idmaps *m,
		 struct mount_result *r);
/*
 * Choose the backend (o->backend; auto: idmap, else FUSE, saying why),
 * mount, and save the state record (r->record, r->record_err).
 * r->warnings: print now; r->notes: after the report. Dies on failure.
 */
void mount_make(const struct mount_opts *o, const struct idmaps *m,
		struct mount_result *r);

/* shiftctl umount's request and what went wrong (the verb's message). */
struct unmount_opts {
	const char *mnt; /* canonical (mnt_canonical()) */
	bool lazy, force;
};

enum unmount_status {
	UNMOUNT_OK,
	UNMOUNT_NOT_MOUNTED,  /* nothing is mounted at MNT */
	UNMOUNT_CHANGED,      /* a symlink or rename on MNT's path */
	UNMOUNT_LOOKUP,	      /* finding the mount failed: err */
	UNMOUNT_NOT_SHIFTED,  /* neither fuse.shiftfs nor idmapped */
	UNMOUNT_NOT_RECORDED, /* shifted, not ours, no --force */
	UNMOUNT_SWAPPED,      /* another mount there now: nothing done */
	UNMOUNT_FAILED,	      /* umount failed: err */
};

struct unmount_result {
	int err;	     /* -errno for LOOKUP and FAILED */
	bool fuse, idmapped; /* what is mounted there */
	char fstype[64], source[PATH_MAX];
	pid_t daemon_left; /* FUSE daemon still running after 10 s: it
			    * was sent SIGTERM (0: none) */
	char helper_msg[512]; /* FAILED unprivileged: fusermount3's or
			       * shiftfs-idmap-helper's words */
};

/*
 * Unmount o->mnt if it is a shifted mount of ours (or, with --force, any
 * fuse.shiftfs or idmapped mount), by mount id through a verified parent
 * fd, forget its record and wait for its daemon. Prints nothing.
 */
enum unmount_status mount_unmount(const struct unmount_opts *o,
				  struct unmount_result *r);

/*
 * shiftctl status: the active shifted mounts (only the one at MNT when
 * only is not NULL), recorded ones first, as a new JSON array of records
 * in *list (the caller's); stale records are dropped. *state_err is the
 * state directory's -errno (listed anyway). Returns 0, or -errno when
 * mountinfo cannot be read (*list is then NULL).
 */
int mount_status_list(const char *only, struct json_object **list,
		      int *state_err);

/*
 * status --stats: the request counts of the FUSE daemon of record o (one
 * of mount_status_list()'s), added to o as "stats" ({"total": N, "ops":
 * [{"op", "requests", "mean_us"}...]}), or as "stats_unavailable" (why
 * not: no daemon for this backend, not recorded, daemon gone or silent).
 * Only the daemon whose pid and start time the record holds is signalled
 * (SIGUSR1); it writes the counts into the mount's state directory, which
 * only we can write. Returns 0 or -1 (unavailable).
 */
int mount_status_stats(struct json_object *o);

/* A FUSE daemon (pid, with the start time recorded at mount, or -1) is
 * gone: no such process, a zombie, one on its way out (PF_EXITING: a
 * killed daemon closes its /dev/fuse fds, so its mount is dead, a moment
 * before it becomes a zombie), or another process under its pid. */
bool daemon_gone(pid_t pid, long long start);
/* The same, but one on its way out still counts: it may hold its files
 * (the source directory's fds) a moment longer. */
bool daemon_exited(pid_t pid, long long start);

/* Canonical absolute path of a mount point even when the mount is dead
 * (ENOTCONN): realpath of the parent plus the last component. */
int mnt_canonical(const char *path, char *out, size_t len);

/*
 * After the engine looked for its runtime directory (mounts.h runtime_dir):
 * "" when XDG_RUNTIME_DIR (or root's /run/shiftfs) was used, else which
 * fallback was used or why it was refused, a sentence for the user.
 */
const char *runtime_dir_msg(void);

/* Fields of a record ("" / -1 when absent). */
const char *state_str(struct json_object *obj, const char *key);
long long state_int(struct json_object *obj, const char *key);

#endif
