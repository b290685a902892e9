/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/self/mountinfo parsing, mount ids of fds, and the checked unmount
 * (see mountinfo.h). Shared by shiftctl's mount engine and
 * shiftfs-idmap-helper: the kernel is the truth about what is mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdpath.h"
#include "mountinfo.h"

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo (octal). */
static void unescape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in && o + 1 < len) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' &&
		    in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
		    in[3] <= '7') {
			out[o++] = (char)((in[1] - '0') * 64 +
					  (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

static void copy_field(const char *in, char *out, size_t len)
{
	snprintf(out, len, "%s", in);
}

/* Split one mountinfo line into e; false when the line is malformed. */
static bool parse_line(char *line, struct mnt_entry *e)
{
	char *f[32], *save = NULL, *tok;
	int n = 0, sep = -1;

	line[strcspn(line, "\n")] = '\0';
	for (tok = strtok_r(line, " ", &save); tok && n < 32;
	     tok = strtok_r(NULL, " ", &save)) {
		if (sep < 0 && n >= 6 && !strcmp(tok, "-"))
			sep = n;
		f[n++] = tok;
	}
	if (sep < 0 || n < sep + 3)
		return false;
	e->id = atoi(f[0]);
	e->parent = atoi(f[1]);
	if (sscanf(f[2], "%u:%u", &e->major, &e->minor) != 2)
		e->major = e->minor = 0;
	unescape(f[3], e->root, sizeof(e->root));
	unescape(f[4], e->target, sizeof(e->target));
	copy_field(f[5], e->opts, sizeof(e->opts));
	copy_field(f[sep + 1], e->fstype, sizeof(e->fstype));
	unescape(f[sep + 2], e->source, sizeof(e->source));
	e->super[0] = '\0';
	e->super_cut = false;
	if (n > sep + 3) {
		unescape(f[sep + 3], e->super, sizeof(e->super));
		e->super_cut = strlen(f[sep + 3]) >= sizeof(e->super) - 1;
	}
	return true;
}

int mnt_foreach(mnt_visit_fn fn, void *ctx)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	struct mnt_entry *e;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return -errno;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	while (getline(&line, &cap, f) > 0) {
		if (!parse_line(line, e))
			continue;
		r = fn(e, ctx);
		if (r)
			break;
	}
	free(e);
	return r;
}

struct find_ctx {
	const char *path;
	struct mnt_entry *out;
	bool found;
};

static int find_visit(const struct mnt_entry *e, void *ctx)
{
	struct find_ctx *c = ctx;

	/* Later lines are mounted later: the last match is on top. */
	if (!strcmp(e->target, c->path)) {
		*c->out = *e;
		c->found = true;
	}
	return 0;
}

int mnt_find(const char *path, struct mnt_entry *out)
{
	struct find_ctx c = {path, out, false};
	int r = mnt_foreach(find_visit, &c);

	if (r < 0)
		return r;
	return c.found ? 0 : -ENOENT;
}

bool mnt_opt_has(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

bool mnt_is_idmapped(const struct mnt_entry *e)
{
	return mnt_opt_has(e->opts, "idmapped");
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

static int fdinfo_mnt_id(int dirfd, const char *name, int *id)
{
	_cleanup_close_ int fd = -1;
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[128];

	fd = *name ? openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
		   : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", id) == 1)
			return 0;
	return -ENOSYS;
}

#define MNT_ID_FLAGS(name)                                                     \
	(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC |          \
	 (*(name) ? 0 : AT_EMPTY_PATH))

int mnt_plain_id_at(int dirfd, const char *name, int *id)
{
	struct statx stx;

	if (statx(dirfd, name, MNT_ID_FLAGS(name), STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		/* FUSE refuses even that to others than the mount's owner
		 * (no allow_other): /proc says it without asking the fs. */
		return fdinfo_mnt_id(dirfd, name, id);
	*id = (int)stx.stx_mnt_id;
	return 0;
}

int mnt_id_at(int dirfd, const char *name, int *id, unsigned long long *uniq)
{
	struct statx stx;
	int r;

	*uniq = 0;
	r = mnt_plain_id_at(dirfd, name, id);
	if (r < 0)
		return r;
	if (statx(dirfd, name, MNT_ID_FLAGS(name), STATX_MNT_ID_UNIQUE,
		  &stx) == 0 &&
	    (stx.stx_mask & STATX_MNT_ID_UNIQUE))
		*uniq = stx.stx_mnt_id;
	return 0;
}

struct id_ctx {
	int id;
	struct mnt_entry *out;
};

static int id_visit(const struct mnt_entry *e, void *ctx)
{
	struct id_ctx *c = ctx;

	if (e->id != c->id)
		return 0;
	*c->out = *e;
	return 1;
}

int mnt_by_id(int id, struct mnt_entry *out)
{
	struct id_ctx c = {id, out};
	int r = mnt_foreach(id_visit, &c);

	if (r < 0)
		return r;
	return r ? 0 : -ENOENT;
}

/* statmount(2), 6.8+: bookworm's headers predate it. */
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#define SHIFT_STATMOUNT_MNT_BASIC 0x2ULL
#define SHIFT_MOUNT_ATTR_IDMAP 0x00100000ULL

struct shift_mnt_id_req {
	uint32_t size, spare;
	uint64_t mnt_id, param;
};

struct shift_statmount {
	uint32_t size, spare1;
	uint64_t mask;
	uint32_t sb_dev_major, sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags, fs_type;
	uint64_t mnt_id, mnt_parent_id;
	uint32_t mnt_id_old, mnt_parent_id_old;
	uint64_t mnt_attr;
	uint64_t spare2[64]; /* what later kernels add */
};

int mnt_alive(int id, unsigned long long uniq, bool *idmapped)
{
	struct shift_mnt_id_req req = {sizeof(req), 0, uniq,
				       SHIFT_STATMOUNT_MNT_BASIC};
	struct shift_statmount sm;

	if (uniq == 0)
		return -ENOSYS;
	memset(&sm, 0, sizeof(sm));
	if (syscall(SYS_statmount, &req, &sm, sizeof(sm), 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!(sm.mask & SHIFT_STATMOUNT_MNT_BASIC))
		return -ENOSYS;
	if (sm.mnt_id != uniq || (int)sm.mnt_id_old != id)
		return 0; /* not the mount the record was written for */
	*idmapped = sm.mnt_attr & SHIFT_MOUNT_ATTR_IDMAP;
	return 1;
}

int mnt_id_of_path(const char *path, int *pfd, const char **name, int *id,
		   unsigned long long *uniq)
{
	char parent[PATH_MAX];
	char *slash;

	*pfd = -1;
	if (snprintf(parent, sizeof(parent), "%s", path) >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	slash = strrchr(parent, '/');
	if (!slash || !slash[1] || path[0] != '/')
		return -EINVAL; /* "/" itself is never ours */
	*name = path + (slash - parent) + 1;
	if (!strcmp(*name, ".") || !strcmp(*name, ".."))
		return -EINVAL;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	*pfd = fdpath_open(parent, O_DIRECTORY);
	if (*pfd < 0)
		return *pfd;
	return mnt_id_at(*pfd, *name, id, uniq);
}

int umount_checked(const char *target, int id, int flags)
{
	char via[PATH_MAX + 64];
	unsigned long long uniq;
	_cleanup_close_ int pfd = -1;
	const char *name;
	int now, r;

	r = mnt_id_of_path(target, &pfd, &name, &now, &uniq);
	if (r < 0)
		return r == -ELOOP ? -ESTALE : r;
	if (now != id)
		return -ESTALE;
	snprintf(via, sizeof(via), "/proc/self/fd/%d/%s", pfd, name);
	if (umount2(via, flags | UMOUNT_NOFOLLOW) < 0)
		return -errno;
	return 0;
}
