/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The diagnosis engine behind shiftctl doctor, its whole interface: the
 * verb fills the options of a struct doctor, doctor_run() finds the engine
 * and the map, resolves USER, scans the tree judging every entry by the
 * kernel's rules (access.h) as it is and under each cure, and ranks the
 * fixes; the verb prints text or JSON from the same struct, then calls
 * doctor_release().
 *
 * The engine prints nothing of the result. Failures it cannot go on from
 * (a path that does not exist, a map that cannot be built) end the process
 * with shiftctl's message and exit status 1, as the verb always did;
 * warnings go to stderr, and the scan drives the progress display.
 * One struct doctor per process (the scan keeps static buffers).
 */
#ifndef SHIFTCTL_DOCTOR_H
#define SHIFTCTL_DOCTOR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "access.h"
#include "shiftctl.h"

/*
 * Scenarios every entry is judged under: as it is, then under each cure
 * (an owner-mode mount, an in-place chown, a shift, podman's keep-id for
 * the user running podman, a read-write remount).
 */
enum {
	SC_ASIS,
	SC_MOUNT,
	SC_CHOWN,
	SC_SHIFT,
	SC_KEEPID,
	SC_REMOUNT,
	/* Not a cure: the caller itself on the tree as it is. Run by a
	 * user, the FUSE daemon of the owner-mode mount reaches the disk
	 * with the caller's rights, so SC_MOUNT needs this too. */
	SC_CALLER,
	NSCEN
};

#define MAX_OWNERS 512
#define MAX_SAMPLES 3
#define MAX_FIXES 8

struct owner_stat {
	uint32_t uid, gid; /* disk (host) ids */
	uint64_t entries, not_ok, no_read, no_write, no_exec, unreachable,
		no_delete;
	int nsamples;
	char *samples[MAX_SAMPLES];
};

/* One entry judged under one scenario. */
struct verdict {
	bool reachable, read, write, exec, ok, is_dir;
	int del; /* 0, -EACCES, -EPERM, -EROFS; 1: not applicable */
	struct access_result rr, wr, xr, dr;
	bool owner_bits, mask;
};

struct fix {
	const char *kind;
	char summary[512];
	/* Shell command lines, every word from the tree or the options
	 * quoted with sh_quote(); malloc'd. */
	char *commands[8];
	int ncmd;
	bool followups;	   /* commands to run after it (chmod, setfacl) */
	int64_t remaining; /* entries still denied after it; -1: not judged */
};

struct doctor {
	/* options */
	const char *path, *user_spec, *image, *engine_opt, *docker_config;
	const char *target, *container_path;
	bool json, rootful, quiet, list_all, list_none;
	unsigned need;
	uint64_t max_files;
	struct mapsrc ms;
	/*
	 * Called from the scan for each entry to list (--list, as set by
	 * list_all and list_none; NULL: none), with its path relative to
	 * PATH ("." for PATH), its lstat(), the inode as judged and its
	 * verdict as it is (SC_ASIS).
	 */
	void (*list_entry)(void *ctx, const struct doctor *dr, const char *rel,
			   const struct stat *st,
			   const struct access_inode *ino,
			   const struct verdict *v);
	void *list_ctx;
	char image_root[PATH_MAX]; /* podman mount point or docker cp dir */
	bool image_mounted, image_tmp;
	char image_user[256];
	char subuid_abs[PATH_MAX], subgid_abs[PATH_MAX];

	/* engine */
	const char *engine; /* "docker", "podman" or NULL: unknown */
	bool rootless;
	char engine_why[256];
	char remap_user[128];	    /* userns-remap from daemon.json */
	char auto_user[32];	    /* rootless user from DOCKER_HOST */
	enum layout_kind map_given; /* the map source option, if any */

	/* USER */
	struct idmaps maps;
	uint32_t c_uid, c_gid, c_groups[PASSWD_MAX_GROUPS];
	size_t c_ngroups;
	char c_name[PASSWD_NAME_MAX];
	uint32_t k_uid, k_gid, k_groups[PASSWD_MAX_GROUPS];
	size_t k_ngroups;
	struct access_cred cred;
	/* USER under podman --userns=keep-id:uid=U,gid=G, run by the user
	 * whose rootless layout the map is (keep_id: that is the caller) */
	struct access_cred keep_cred;
	uint32_t keep_groups[PASSWD_MAX_GROUPS];
	bool keep_id;
	struct access_cred caller_cred; /* the caller's own, on the host */
	uint32_t caller_groups[PASSWD_MAX_GROUPS];
	uint32_t root_k_uid; /* host uid of container root, if mapped */
	bool root_mapped;

	/* the tree */
	char realpath[PATH_MAX];
	int root_fd; /* O_PATH on realpath, checked (scan.c: open_root()) */
	uint32_t h_uid, h_gid; /* owner of PATH: the data's host owner */
	dev_t root_dev;
	bool rofs, noexec, nosuid, selinux;
	/* PATH is a shifted view (fuse.shiftfs or an idmapped mount): an
	 * owner shown there as the kernel's overflow id is unmapped. */
	bool shifted_view;
	/* ... and one shiftctl recorded: the walk reads its source (src_fd,
	 * view_src) and shows each owner through the mount's map (view_maps),
	 * so that USER is judged on what the mount shows, whatever the
	 * caller's own rights there (owner mode locks out the data's host
	 * owner by design). */
	bool via_source;
	int src_fd;
	char view_src[PATH_MAX];
	struct idmaps view_maps;
	uint32_t kernel_ov_uid, kernel_ov_gid;
	char mnt_point[PATH_MAX], fstype[64];
	uint64_t scanned, skipped_mounts, symlinks, setid_files, acl_entries;
	uint64_t unreadable_dirs;
	bool truncated;
	uint64_t failed[NSCEN];
	uint64_t fail_owner_bits[NSCEN], fail_mask[NSCEN];
	struct owner_stat owners[MAX_OWNERS];
	size_t nowners;
	struct owner_stat other_owners; /* beyond MAX_OWNERS */
	uint64_t listed;
	char *first_error;

	/* the fixes, best first */
	struct fix fixes[MAX_FIXES];
	int nfix;
};

/* Diagnose dr->path with the options set in dr (see above). */
void doctor_run(struct doctor *dr);

/* Free what doctor_run() allocated and undo the image mount or copy. */
void doctor_release(struct doctor *dr);

/*
 * USER of image (as --image reads it: the config's User, names resolved
 * in the image's own /etc/passwd and /etc/group; none: 0) as numeric ids,
 * asking eng ("docker", "podman"; NULL: podman if installed, else
 * docker). For the volume plugin's image=NAME. Dies as --image does.
 */
void doctor_image_ids(const char *image, const char *eng, uint32_t *uid,
		      uint32_t *gid);

/* USER has the access needed on the whole tree, and it was all read. */
bool doctor_all_ok(const struct doctor *dr);

/* The reasons for an SC_ASIS verdict, (access, reason) pairs into cb. */
void doctor_reasons(const struct doctor *dr, const struct verdict *v,
		    void (*cb)(void *ctx, const char *what, const char *why),
		    void *ctx);

/* Text helpers the engine and its report share. */

/*
 * snprintf() for messages that may be cut short: paths can be long, and a
 * truncated line is better than none.
 */
int bfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
