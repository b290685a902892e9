/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the helper mounted, per user: /run/shiftfs-helper/UID, one
 * "MOUNT_ID UNIQUE_ID" line per mount, written atomically (temporary file
 * and rename) in a directory that must be root's and 0700. Callers hold
 * fsuid 0 (the helper's files are root's) and uid's own lock
 * (rec_dir_open(uid)): one caller stopped while holding it (SIGSTOP: it
 * runs with the caller's uid) stalls only that caller.
 */
#ifndef SHIFT_HELPER_RECORD_H
#define SHIFT_HELPER_RECORD_H

#include <stddef.h>
#include <sys/types.h>

#include "policy.h"

#define HELPER_STATE_DIR "/run/shiftfs-helper"

struct helper_rec {
	int id;
	unsigned long long uniq; /* STATX_MNT_ID_UNIQUE, 0: unknown */
};

struct helper_recs {
	size_t n;
	struct helper_rec r[POLICY_MOUNTS_MAX + 1];
};

/* Create (0700) and open the state directory, check it is root's and
 * not reachable by anyone else, and take uid's lock (flock, exclusive, on
 * UID.lock in it, held until exit). The directory's fd or -errno (-EPERM:
 * wrong owner or mode). */
int rec_dir_open(uid_t uid);

/* uid's records whose mounts still exist (idmapped, same id), in out.
 * A missing file is no records. 0 or -errno; -errno too when mountinfo
 * cannot be read (a record is never dropped for an error). */
int rec_load(int dirfd, uid_t uid, struct helper_recs *out);

/* Replace uid's records with in (an empty set removes the file). */
int rec_save(int dirfd, uid_t uid, const struct helper_recs *in);

#endif
