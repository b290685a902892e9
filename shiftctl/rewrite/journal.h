/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The resume/undo journal of shiftctl chown and shift.
 *
 * A binary file (host byte order; it never leaves the machine) that lives
 * outside the tree being changed:
 *
 *   header   "SHIFTJNL", version, the verb and its resolved parameters
 *            (target ids, --from, the id maps, flags), the tree's identity
 *            (device and inode of the root, its path), then "SEQ1" and a
 *            64-bit sequence number (one more than the highest of the
 *            journals of the same tree in the same directory when it was
 *            created; in what older format 2 readers skip as padding, and
 *            absent, read as 0, in journals written before it), CRC32
 *   records  BTCH: the ORIGINAL metadata of a batch of inodes (dev, ino,
 *            the inode's identity: birth time and/or generation, uid, gid,
 *            mode, raw system.posix_acl_access, system.posix_acl_default
 *            and security.capability values), written and fdatasync'd
 *            BEFORE any inode of the batch is changed; APLD: the state the
 *            run left privileged inodes in (setuid/setgid bits, file
 *            capabilities: owner, mode and ctime after the change); DONE:
 *            the run finished without errors; UNDN: it was undone.
 *            Each record carries a CRC32: a record torn by a crash is
 *            recognised and dropped (its inodes were not touched yet).
 *
 * So a run killed at any instant can be resumed (each journalled inode is
 * brought to f(original), never f(f(original))) or undone to the exact
 * original metadata, and an inode number reused since (another inode) is
 * recognised and left alone.
 *
 * A journal is input: it is read only when the effective user owns it, it
 * is writable by nobody else and its directory is writable only by its
 * owner (or sticky); see journal_load(). Format 1 journals (no identities)
 * are refused.
 *
 * Internal to shiftctl/rewrite/ (the verbs include only rewrite.h).
 *
 * Not thread-safe per journal except journal_write_batch(), which may be
 * called from several threads.
 */
#ifndef SHIFTCTL_JOURNAL_H
#define SHIFTCTL_JOURNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"
#include "rewrite.h" /* struct journal_params: what a run was asked */

/* Which identities of an inode a journal entry records. */
enum journal_id_flags {
	JID_BTIME = 1 << 0, /* statx STATX_BTIME */
	JID_GEN = 1 << 1,   /* FS_IOC_GETVERSION */
};

/* One inode's original metadata; blob lengths 0 mean "absent". */
struct journal_entry {
	uint64_t dev, ino;
	uint32_t id_flags; /* enum journal_id_flags */
	uint32_t gen;
	int64_t btime_sec;
	uint32_t btime_nsec;
	uint32_t uid, gid, mode;
	uint32_t acl_access_len, acl_default_len, caps_len;
	const void *acl_access, *acl_default, *caps;
};

/* The state a run left an inode in (APLD records). */
struct journal_after {
	uint64_t dev, ino;
	uint32_t uid, gid, mode;
	uint32_t ctime_nsec;
	int64_t ctime_sec;
};

/* A journal read back for resume or undo (read-only, mmap'd). */
struct journal_loaded {
	struct journal_params p;
	char path[PATH_MAX];
	const unsigned char *map;
	size_t size;	  /* file size */
	size_t valid_end; /* end of the last intact record */
	size_t nentries;
	uint64_t seq; /* the header's sequence number (0: none) */
	bool done, undone;
	uint64_t *slots; /* hash (dev, ino) -> entry offset + 1 */
	size_t cap;
	uint64_t *aslots; /* hash (dev, ino) -> newest APLD offset + 1 */
	size_t acap;
	int fd; /* the file read (checked), O_RDONLY; -1 when unloaded */
};

struct journal; /* open for appending */

/* The default directory (created 0700): /var/lib/shiftctl/journal as
 * root, $XDG_STATE_HOME/shiftctl (~/.local/state/shiftctl) otherwise.
 * Returns 0 or -errno. */
int journal_default_dir(char *buf, size_t len);

/* A new file name in dir for this verb and tree. */
void journal_default_name(const char *dir, const struct journal_params *p,
			  char *buf, size_t len);

/* Create path (O_EXCL, 0600), write and fsync the header and the
 * directory entry. -errno on failure (nothing left behind then); -EPERM
 * when the directory is one journal_load() would refuse (why in err). */
int journal_create(const char *path, const struct journal_params *p,
		   struct journal **out, char *err, size_t errlen);

/* Reopen a loaded journal for appending (resume, undo): the very file
 * that was loaded (its fd, never its path again); drops a torn tail. */
int journal_reopen(const struct journal_loaded *jl, struct journal **out);

/* Append one batch and fdatasync it. -errno (e.g. -ENOSPC) when the batch
 * is not safely on disk: the caller must then change none of it. */
int journal_write_batch(struct journal *j, const struct journal_entry *e,
			size_t n);

/* Append the states the run left privileged inodes in (apply.c: one
 * record right after each such inode changed), fdatasync'd. A crash
 * between the change and the record leaves none: resume and undo then
 * want a birth time (plan_judge()). */
int journal_write_after(struct journal *j, const struct journal_after *a,
			size_t n);

/* Append a DONE or UNDN marker (fsync'd); -errno when it is not on disk. */
int journal_mark_done(struct journal *j);
int journal_mark_undone(struct journal *j);

void journal_close(struct journal *j);
const char *journal_path(const struct journal *j);
/* Batches appended through this handle. */
size_t journal_batches(struct journal *j);

/*
 * Load a journal: header, every intact record, a lookup table.
 * Returns 0, or -errno with a reason in err ("not a shiftctl journal",
 * "corrupt header", ...). Refused (-EPERM, the reason in err): a journal
 * not owned by the effective uid, writable by group or others, not a
 * regular file, or in a directory owned by another user (not root) or
 * writable by others without the sticky bit. The directory is opened once
 * (O_NOFOLLOW), the journal relative to it (O_NOFOLLOW) and both checked
 * on their fds. Format 1 journals: -EPROTO.
 */
int journal_load(const char *path, struct journal_loaded *jl, char *err,
		 size_t errlen);
void journal_unload(struct journal_loaded *jl);

/* The original metadata of (dev, ino), if journalled. */
bool journal_lookup(const struct journal_loaded *jl, uint64_t dev, uint64_t ino,
		    struct journal_entry *out);
/* The newest state a run recorded for (dev, ino) in an APLD record. */
bool journal_lookup_after(const struct journal_loaded *jl, uint64_t dev,
			  uint64_t ino, struct journal_after *out);

/*
 * The newest journal in dir for the tree (dev, ino) and verb (0: any) that
 * was not undone: newest by the header's sequence number, then by mtime
 * (in nanoseconds), then by name. unfinished: only journals neither DONE
 * nor undone. 0 and the path in out; -ENOENT when there is none; without
 * unfinished, -EALREADY when every one was undone (the newest in out).
 */
int journal_find(const char *dir, uint32_t verb, uint64_t dev, uint64_t ino,
		 bool unfinished, char *out, size_t len);

#endif
