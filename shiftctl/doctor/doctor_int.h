/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside shiftctl/doctor/ only: how its files hand work to each other.
 * doctor.c runs the steps in order: image.c and engine.c (which engine,
 * which layout, USER's files), user.c (USER and the map), scan.c (the
 * mount, then every entry's facts), verdict.c (each entry judged as it is
 * and under each cure, tallied per owner), fixes.c (the ranked fixes).
 */
#ifndef SHIFTCTL_DOCTOR_INT_H
#define SHIFTCTL_DOCTOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "access.h"
#include "doctor.h"

#define ACL_MAX 1024

/* An entry as judged: its inode, and the ACL its ino.acl points into. */
struct node {
	struct access_inode ino;
	struct access_acl_entry acl[ACL_MAX];
};

/* A directory on the walk's path, under every scenario. */
struct level {
	struct node n[NSCEN];
	bool reach[NSCEN]; /* entries below this directory are reachable */
};

/* exec.c: the programs doctor asks (podman, docker) */
char *xstrdup(const char *s);
bool in_path(const char *prog);
/*
 * Run argv, capturing up to len-1 bytes of stdout (trailing newlines
 * removed) and discarding stderr. Returns the exit status, or -1 when it
 * could not run.
 */
int run_capture(char *const argv[], char *out, size_t len);

/* engine.c: the engine, rootless or rootful, and the layout it uses */
void detect_engine(struct doctor *dr);

/* image.c: --image: USER and the image's /etc/passwd and /etc/group */
void load_image(struct doctor *dr);
void cleanup_image(struct doctor *dr);

/* user.c: USER's container ids and groups, then its host ids */
void resolve_user(struct doctor *dr);
void build_map(struct doctor *dr);

/* scan.c: the mount PATH is on, SELinux, and the walk */
/*
 * dr->realpath opened O_PATH with no symlink anywhere on the way
 * (openat2 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), and its fd's own
 * path (/proc/self/fd/N) still that string; the fd, or -errno (-ESTALE:
 * renamed in between). The walk starts from it and from nothing else.
 */
int open_root(struct doctor *dr);
void find_mount(struct doctor *dr);
/* PATH on a shifted mount that shiftctl recorded: its source and map
 * (dr->via_source). */
void find_view_source(struct doctor *dr);
bool selinux_enforcing(void);
void scan(struct doctor *dr);

/* verdict.c: one entry (its facts in base) judged and tallied */
void judge_entry(struct doctor *dr, const char *rel, const struct stat *st,
		 const struct node *base, const struct level *parent,
		 struct level *self);

/* fixes.c: the fixes into fx (MAX_FIXES), best first; returns how many */
int build_fixes(struct doctor *dr, struct fix *fx);
void free_fixes(struct fix *fx, int n);

#endif
