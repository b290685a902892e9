/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl umount: take down a shifted mount of either backend, and only
 * ours: a fuse.shiftfs mount, or an idmapped mount shiftctl recorded.
 * For FUSE, waits for the daemon to exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mounts.h"
#include "shiftctl.h"

enum { OPT_LAZY = OPT_VERB_FIRST };

static void usage(void)
{
	printf("\nUsage:\n %s umount [options] MNT\n", program_name);
	fputs("\nUnmount a shifted mount made by shiftctl mount (a shiftfs "
	      "FUSE\n"
	      "mount or a recorded idmapped mount) and forget its record.\n",
	      stdout);
	fputs("\nOptions:\n"
	      " -l, --lazy                 detach now, clean up when no longer "
	      "busy\n"
	      " -h, --help                 display this help\n"
	      "\nExit status: 0 unmounted, 1 failure (not ours, busy, not\n"
	      "mounted), 2 usage error.\n"
	      "\nFor more details see shiftctl-mount(1).\n",
	      stdout);
}

struct sub_ctx {
	const char *mnt;
	size_t n;
	char (*targets)[PATH_MAX];
	size_t cap;
};

static int collect_sub(const struct mnt_entry *e, void *ctx)
{
	struct sub_ctx *c = ctx;
	size_t len = strlen(c->mnt);

	if (strncmp(e->target, c->mnt, len) || e->target[len] != '/')
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		void *p = realloc(c->targets, cap * sizeof(*c->targets));

		if (!p)
			return -ENOMEM;
		c->targets = p;
		c->cap = cap;
	}
	snprintf(c->targets[c->n++], PATH_MAX, "%s", e->target);
	return 0;
}

/* An idmapped tree carries SRC's submounts: unmount them, newest first. */
static int umount_tree(const char *mnt, bool lazy)
{
	struct sub_ctx c = {mnt, 0, NULL, 0};
	int r = 0;

	if (lazy)
		return umount2(mnt, MNT_DETACH) < 0 ? -errno : 0;
	r = mnt_foreach(collect_sub, &c);
	while (r == 0 && c.n > 0) {
		c.n--;
		if (umount2(c.targets[c.n], 0) < 0 && errno != EINVAL)
			r = -errno;
	}
	free(c.targets);
	if (r == 0 && umount2(mnt, 0) < 0)
		r = -errno;
	return r;
}

static int umount_fuse(const char *mnt, bool lazy)
{
	int status;
	pid_t pid;

	if (geteuid() == 0)
		return umount2(mnt, lazy ? MNT_DETACH : 0) < 0 ? -errno : 0;
	/* Unprivileged: the setuid helper that mounted it unmounts it. */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", lazy ? "-uz" : "-u", mnt,
		       (char *)NULL);
		fprintf(stderr, "cannot run fusermount3: %s\n",
			strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

/* Is pid still the daemon we started: alive (not a zombie) and with the
 * start time recorded at mount (so not a recycled pid)? */
static bool daemon_alive(pid_t pid, long long start)
{
	unsigned long long t;
	char state;

	if (proc_stat(pid, &state, &t) < 0)
		return false;
	return state != 'Z' && state != 'X' &&
	       (start < 0 || t == (unsigned long long)start);
}

/* The daemon exits once its mount is gone; give it 10 s, then SIGTERM. */
static void wait_daemon(pid_t pid, long long start)
{
	struct timespec ts = {0, 20000000L};
	int i;

	if (pid <= 0)
		return;
	for (i = 0; i < 500; i++) {
		waitpid(pid, NULL, WNOHANG); /* in case it is our child */
		if (!daemon_alive(pid, start))
			return;
		nanosleep(&ts, NULL);
	}
	warn("shiftfs daemon %d still running after the unmount; sending "
	     "SIGTERM",
	     (int)pid);
	kill(pid, SIGTERM);
}

int cmd_umount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"lazy", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct json_object *st = NULL;
	static struct mnt_entry e;
	char mnt[PATH_MAX];
	bool lazy = false, fuse;
	long long start = -1;
	pid_t pid = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "hl", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			lazy = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("umount");
		}
	}
	if (argc - optind != 1)
		usage_error("umount", "give one MNT");
	r = mnt_canonical(argv[optind], mnt, sizeof(mnt));
	if (r < 0)
		die(EXIT_FAIL, "%s: %s", argv[optind], strerror(-r));
	state_read(mnt, &st);
	r = mnt_find(mnt, &e);
	if (r == -ENOENT) {
		if (st)
			state_remove(mnt);
		json_object_put(st);
		die(EXIT_FAIL, "%s is not mounted", mnt);
	}
	if (r < 0)
		die(EXIT_FAIL, "reading mountinfo: %s", strerror(-r));
	fuse = !strcmp(e.fstype, SHIFTFS_FSTYPE);
	if (!fuse && !(st && mnt_is_idmapped(&e) &&
		       !strcmp(state_str(st, "backend"), "idmap") &&
		       state_int(st, "mount_id") == e.id)) {
		json_object_put(st);
		die(EXIT_FAIL,
		    "%s is not a shifted mount of ours (it is a %s%s "
		    "mount of %s); use umount(8)",
		    mnt, e.fstype, mnt_is_idmapped(&e) ? " idmapped" : "",
		    e.source);
	}
	if (st && fuse && state_int(st, "mount_id") == e.id)
		pid = (pid_t)state_int(st, "pid"),
		start = state_int(st, "pid_start");
	json_object_put(st);
	r = fuse ? umount_fuse(mnt, lazy) : umount_tree(mnt, lazy);
	if (r < 0)
		die(EXIT_FAIL, "cannot unmount %s: %s%s", mnt, strerror(-r),
		    r == -EBUSY ? " (in use; --lazy detaches it now)" : "");
	state_remove(mnt);
	if (fuse)
		wait_daemon(pid, start);
	printf("%s: unmounted %s (%s)\n", program_name, mnt,
	       fuse ? "fuse" : "idmap");
	return EXIT_OK;
}
