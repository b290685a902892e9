/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl mount: show SRC at MNT with owners shifted through a map, with
 * the kernel's idmapped mounts where possible (zero overhead) and the
 * shiftfs FUSE daemon otherwise. Refuses system directories, home
 * directories and overlapping SRC/MNT; warns when a map hands host root's
 * files to an ordinary user at a mount point others can reach.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "idmount.h"
#include "mounts.h"
#include "shiftctl.h"

enum {
	OPT_JSON = OPT_VERB_FIRST,
	OPT_BACKEND,
	OPT_FORCE,
	OPT_MKDIR,
	OPT_PRIVATE,
};

enum backend { BACKEND_AUTO, BACKEND_IDMAP, BACKEND_FUSE };

struct mount_opts {
	enum backend backend;
	bool json, read_only, force, mkdir, private_dir;
	const char *fuse_opts; /* -o pass-through */
	bool suid, dev, allow_other;
	bool auto_allow_other; /* unprivileged, and /etc/fuse.conf allows */
	const char *fuse_only; /* first -o option idmap cannot honour */
	char src[PATH_MAX], mnt[PATH_MAX];
	char why[512]; /* why this backend */
	pid_t pid;     /* FUSE daemon */
	char log[PATH_MAX];
};

#define MOUNT_TIMEOUT_MS 10000

static void usage(void)
{
	printf("\nUsage:\n %s mount [MAP SOURCE] [options] SRC MNT\n"
	       " %s mount [MAP SOURCE] [options] --private SRC [NAME]\n",
	       program_name, program_name);
	fputs("\nShow directory SRC at MNT with every owner shifted through an "
	      "id\n"
	      "map: with a kernel idmapped mount where possible, else with "
	      "the\n"
	      "shiftfs FUSE daemon. Prints which backend it used, why, and the "
	      "map.\n",
	      stdout);
	fputs(MAPSRC_HELP, stdout);
	fputs("\nOptions:\n"
	      "     --user=C[:G]           owner mode: container USER C sees "
	      "...\n"
	      "     --owner=H[:G]          ... host owner H's files as its "
	      "own\n"
	      "                              (default owner: the owner of "
	      "SRC)\n"
	      " -r, --read-only            mount read-only\n"
	      "     --backend=auto|idmap|fuse  (default auto: idmap, else "
	      "fuse)\n"
	      " -o OPT[,OPT...]            shiftfs options (cache=, "
	      "writeback,\n"
	      "                              suid, dev, allow_other, ...)\n"
	      "     --mkdir                create MNT if it does not exist\n"
	      "     --private              mount at a NAME under a 0700 "
	      "directory\n"
	      "                              (/run/shiftfs/private as root)\n"
	      "     --force                allow system or home directories "
	      "and\n"
	      "                              overlapping SRC and MNT\n"
	      "     --json                 print the mount's record as JSON\n"
	      " -h, --help                 display this help\n"
	      "\nWith no map source, --rootless for the invoking user is "
	      "used.\n"
	      "Exit status: 0 mounted, 1 failure, 2 usage error.\n"
	      "\nFor more details see shiftctl-mount(1).\n",
	      stdout);
}

/* -o: remember what the idmap backend can do itself. */
static void parse_fuse_opts(struct mount_opts *o, const char *arg)
{
	static const char *const idmap_ok[] = {
		"ro", "rw", "nosuid", "nodev", "suid", "dev", "allow_other"};
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL, *tok;
	size_t i;

	if (!copy)
		die(EXIT_FAIL, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool ok = false;

		if (!strcmp(tok, "ro"))
			o->read_only = true;
		else if (!strcmp(tok, "suid"))
			o->suid = true;
		else if (!strcmp(tok, "dev"))
			o->dev = true;
		else if (!strcmp(tok, "allow_other"))
			o->allow_other = true;
		for (i = 0; i < sizeof(idmap_ok) / sizeof(idmap_ok[0]); i++)
			ok |= !strcmp(tok, idmap_ok[i]);
		if (!ok && !o->fuse_only) {
			o->fuse_only = strdup(tok);
			if (!o->fuse_only)
				die(EXIT_FAIL, "out of memory");
		}
	}
	o->fuse_opts = arg;
}

/* Directories shiftctl never mounts from or onto without --force. */
static const char *const system_dirs[] = {
	"/",	 "/bin",   "/boot",  "/dev",  "/etc",  "/home",
	"/lib",	 "/lib32", "/lib64", "/proc", "/root", "/run",
	"/sbin", "/sys",   "/tmp",   "/usr",  "/var",
};

static const char *dangerous(const char *path)
{
	static char why[PATH_MAX + 64];
	char home[PATH_MAX];
	struct passwd *pw;
	size_t i;

	for (i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (!strcmp(path, system_dirs[i]))
			return "a system directory";
	setpwent();
	while ((pw = getpwent())) {
		if (!pw->pw_dir || !pw->pw_dir[0] ||
		    !realpath(pw->pw_dir, home))
			continue;
		if (!strcmp(home, path)) {
			snprintf(why, sizeof(why), "the home directory of %s",
				 pw->pw_name);
			endpwent();
			return why;
		}
	}
	endpwent();
	return NULL;
}

static bool inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (!strcmp(b, "/"))
		return true;
	return !strncmp(a, b, n) && (a[n] == '/' || a[n] == '\0');
}

static void check_paths(const struct mount_opts *o)
{
	const char *why;

	if (o->force)
		return;
	why = dangerous(o->src);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount from %s: it is %s (--force "
		    "overrides)",
		    o->src, why);
	why = dangerous(o->mnt);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount onto %s: it is %s (--force "
		    "overrides)",
		    o->mnt, why);
	if (inside(o->src, o->mnt) || inside(o->mnt, o->src))
		die(EXIT_FAIL,
		    "refusing to mount: SRC %s and MNT %s overlap "
		    "(one is inside the other; --force overrides)",
		    o->src, o->mnt);
}

/* Where --private mount points live: a 0700 directory of ours. */
static void private_base(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char parent[PATH_MAX];
	struct stat st;

	if (geteuid() == 0)
		snprintf(parent, sizeof(parent), "/run/shiftfs");
	else if (xdg && xdg[0] == '/')
		snprintf(parent, sizeof(parent), "%s/shiftfs", xdg);
	else
		die(EXIT_FAIL, "--private: XDG_RUNTIME_DIR is not set");
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir %s: %s", parent, strerror(errno));
	if ((size_t)snprintf(buf, len, "%.*s/private", PATH_MAX - 16, parent) >=
	    len)
		die(EXIT_FAIL, "%s: path too long", parent);
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir %s: %s", buf, strerror(errno));
	if (lstat(buf, &st) < 0)
		die(EXIT_FAIL, "%s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		die(EXIT_FAIL, "%s is not a directory owned by uid %u", buf,
		    (unsigned)geteuid());
	if ((st.st_mode & 07777) != 0700 && chmod(buf, 0700) < 0)
		die(EXIT_FAIL, "chmod 0700 %s: %s", buf, strerror(errno));
}

static void resolve_paths(struct mount_opts *o, const char *src,
			  const char *mnt)
{
	char want[PATH_MAX * 2];
	struct stat st;

	if (!realpath(src, o->src))
		die(EXIT_FAIL, "SRC %s: %s", src, strerror(errno));
	if (stat(o->src, &st) < 0 || !S_ISDIR(st.st_mode))
		die(EXIT_FAIL, "SRC %s is not a directory", src);
	if (o->private_dir) {
		char base[PATH_MAX];
		_cleanup_free_ char *copy = strdup(o->src);

		if (!copy)
			die(EXIT_FAIL, "out of memory");
		private_base(base, sizeof(base));
		if (!mnt)
			mnt = strrchr(o->src, '/') + 1;
		if (!*mnt || strchr(mnt, '/') || !strcmp(mnt, ".") ||
		    !strcmp(mnt, ".."))
			usage_error("mount",
				    "--private takes a NAME without "
				    "'/', not '%s'",
				    mnt);
		snprintf(want, sizeof(want), "%s/%s", base, mnt);
		if (mkdir(want, 0755) < 0 && errno != EEXIST)
			die(EXIT_FAIL, "mkdir %s: %s", want, strerror(errno));
	} else {
		snprintf(want, sizeof(want), "%s", mnt);
		if (access(want, F_OK) < 0 && errno == ENOENT) {
			if (!o->mkdir)
				die(EXIT_FAIL,
				    "MNT %s does not exist (--mkdir "
				    "creates it)",
				    mnt);
			if (mkdir(want, 0755) < 0)
				die(EXIT_FAIL, "mkdir %s: %s", mnt,
				    strerror(errno));
		}
	}
	if (!realpath(want, o->mnt))
		die(EXIT_FAIL, "MNT %s: %s", want, strerror(errno));
	if (stat(o->mnt, &st) < 0 || !S_ISDIR(st.st_mode))
		die(EXIT_FAIL, "MNT %s is not a directory", want);
}

/* Owner mode's default owner: whoever owns SRC. */
static void default_owner(struct mapsrc *ms, const char *src)
{
	static char buf[32];
	struct stat st;

	if (!ms->user_spec || ms->owner_spec)
		return;
	if (stat(src, &st) < 0)
		die(EXIT_FAIL, "SRC %s: %s", src, strerror(errno));
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)st.st_uid,
		 (unsigned)st.st_gid);
	ms->owner_spec = buf;
}

/* A host account (not root) among view uids [v, v + count): its name. */
static bool host_user_in(uint32_t v, uint32_t count, char *name, size_t len,
			 uint32_t *uid)
{
	struct passwd *pw;
	bool found = false;

	setpwent();
	while ((pw = getpwent())) {
		if (pw->pw_uid == 0 || pw->pw_uid < v ||
		    pw->pw_uid - v >= count)
			continue;
		snprintf(name, len, "%s", pw->pw_name);
		*uid = pw->pw_uid;
		found = true;
		break;
	}
	endpwent();
	return found;
}

/*
 * The map is risky when it shows host root's files (disk uid 0) as owned by
 * another uid, or shifts any disk id onto the uid of a host account: that
 * account could then change files that are not its own through the mount.
 */
static bool risky_map(const struct idmaps *m, char *what, size_t len)
{
	uint32_t view, uid, i;
	char name[64];

	if (idmap_to_view(&m->uid, 0, &view) == 0 && view != 0) {
		snprintf(what, len,
			 "host root's files (uid 0) as owned by "
			 "uid %u",
			 view);
		return true;
	}
	for (i = 0; i < m->uid.n; i++) {
		const struct idmap_range *r = &m->uid.r[i];

		if (r->disk == r->view)
			continue;
		if (host_user_in(r->view, r->count, name, sizeof(name), &uid)) {
			snprintf(what, len,
				 "uid %u's files as owned by host "
				 "user %s (uid %u)",
				 r->disk + (uid - r->view), name, uid);
			return true;
		}
	}
	return false;
}

/* Can other users get to MNT? No, if some ancestor (or SRC's root, which
 * becomes MNT's root) is not searchable by others. */
static bool reachable_by_others(const char *mnt, const char *src)
{
	char buf[PATH_MAX];
	struct stat st;
	char *slash;

	if (stat(src, &st) == 0 && !(st.st_mode & S_IXOTH))
		return false;
	snprintf(buf, sizeof(buf), "%s", mnt);
	while ((slash = strrchr(buf, '/'))) {
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(buf, &st) == 0 && !(st.st_mode & S_IXOTH))
			return false;
		if (slash == buf)
			break;
	}
	return true;
}

static void safety_warning(const struct mount_opts *o, const struct idmaps *m)
{
	char what[160];

	/* Unprivileged, the daemon cannot give anyone more than the caller
	 * has, so only a privileged mount can hand out root's files. */
	if (geteuid() != 0 || o->private_dir ||
	    !risky_map(m, what, sizeof(what)))
		return;
	if (!reachable_by_others(o->mnt, o->src))
		return;
	warn("this map shows %s, and %s is reachable by other host users; "
	     "use --private to mount under a 0700 directory",
	     what, o->mnt);
}

static bool fuse_conf_allows_other(void)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/fuse.conf", "re");
	char line[256];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		p[strcspn(p, " \t\r\n")] = '\0';
		if (!strcmp(p, "user_allow_other"))
			return true;
	}
	return false;
}

/* The shiftfs binary: $SHIFTFS, ../fs/shiftfs next to us in a build tree,
 * shiftfs next to us once installed, else whatever PATH finds. */
static const char *find_shiftfs(void)
{
	static char buf[PATH_MAX + 32];
	char self[PATH_MAX];
	const char *env = getenv("SHIFTFS");
	ssize_t n;
	char *dir;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = strrchr(self, '/');
		if (dir) {
			*dir = '\0';
			snprintf(buf, sizeof(buf), "%s/../fs/shiftfs", self);
			if (access(buf, X_OK) == 0)
				return buf;
			snprintf(buf, sizeof(buf), "%s/shiftfs", self);
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return "shiftfs";
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The last non-empty line of the daemon's log. */
static void last_log_line(const char *path, char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];

	snprintf(out, len, "(no output)");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			snprintf(out, len, "%s", line);
	}
}

static int open_log(struct mount_opts *o)
{
	int fd;

	if (state_path(o->mnt, o->log, sizeof(o->log), true) == 0) {
		strcpy(o->log + strlen(o->log) - strlen(".json"), ".log");
		fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
		if (fd >= 0)
			return fd;
	}
	snprintf(o->log, sizeof(o->log), "/tmp/shiftfs-XXXXXX.log");
	fd = mkostemps(o->log, 4, O_CLOEXEC);
	if (fd < 0)
		die(EXIT_FAIL, "cannot create a log file: %s", strerror(errno));
	return fd;
}

static void build_fuse_opts(const struct mount_opts *o, const struct idmaps *m,
			    char *buf, size_t len)
{
	static char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];
	size_t n;

	idmap_format_opt(&m->uid, u, sizeof(u));
	idmap_format_opt(&m->gid, g, sizeof(g));
	n = (size_t)snprintf(buf, len,
			     "uidmap=%s,gidmap=%s,overflow_uid=%u,"
			     "overflow_gid=%u%s%s%s%s",
			     u, g, m->overflow_uid, m->overflow_gid,
			     o->read_only ? ",ro" : "",
			     o->auto_allow_other ? ",allow_other" : "",
			     o->fuse_opts ? "," : "",
			     o->fuse_opts ? o->fuse_opts : "");
	if (n >= len)
		die(EXIT_FAIL, "shiftfs options too long");
}

static void exec_daemon(const char *bin, const struct mount_opts *o,
			const char *opts, int log_fd)
{
	int null = open("/dev/null", O_RDONLY);

	setsid();
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
	execlp(bin, bin, o->src, o->mnt, "-f", "-o", opts, (char *)NULL);
	fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
	_exit(127);
}

/* Is a new fuse.shiftfs mount on top of MNT (not the one before, old_id)? */
static bool fuse_mounted(const char *mnt, int old_id)
{
	struct mnt_entry *e = malloc(sizeof(*e));
	bool ok;

	if (!e)
		die(EXIT_FAIL, "out of memory");
	ok = mnt_find(mnt, e) == 0 && e->id != old_id &&
	     !strcmp(e->fstype, SHIFTFS_FSTYPE);
	free(e);
	return ok;
}

static int top_mount_id(const char *mnt)
{
	struct mnt_entry *e = malloc(sizeof(*e));
	int id = -1;

	if (!e)
		die(EXIT_FAIL, "out of memory");
	if (mnt_find(mnt, e) == 0)
		id = e->id;
	free(e);
	return id;
}

static void mount_fuse(struct mount_opts *o, const struct idmaps *m)
{
	static char opts[IDMAP_MAX_RANGES * 72 + 4096];
	const char *bin = find_shiftfs();
	int old_id = top_mount_id(o->mnt);
	_cleanup_close_ int log_fd = -1;
	char line[512];
	int waited, status;
	pid_t pid;

	if (geteuid() != 0 && !fuse_conf_allows_other()) {
		if (o->allow_other)
			die(EXIT_FAIL, "-o allow_other as an unprivileged user "
				       "needs user_allow_other in "
				       "/etc/fuse.conf");
	} else if (geteuid() != 0 && !o->allow_other) {
		/* The container's ids are not ours: they must see it. */
		o->auto_allow_other = true;
	}
	build_fuse_opts(o, m, opts, sizeof(opts));
	log_fd = open_log(o);
	pid = fork();
	if (pid < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (pid == 0)
		exec_daemon(bin, o, opts, log_fd);
	for (waited = 0; waited < MOUNT_TIMEOUT_MS; waited += 20) {
		if (fuse_mounted(o->mnt, old_id)) {
			o->pid = pid;
			return;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			last_log_line(o->log, line, sizeof(line));
			unlink(o->log);
			die(EXIT_FAIL,
			    "shiftfs failed to mount %s (exit %d): %s", o->mnt,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1, line);
		}
		sleep_ms(20);
	}
	kill(pid, SIGTERM);
	last_log_line(o->log, line, sizeof(line));
	unlink(o->log);
	die(EXIT_FAIL, "shiftfs did not mount %s within %d s: %s", o->mnt,
	    MOUNT_TIMEOUT_MS / 1000, line);
}

/* Try the kernel; returns false (with o->why) when auto should fall back. */
static bool mount_idmap(struct mount_opts *o, const struct idmaps *m)
{
	struct idmount_opts io = {o->read_only, o->suid, o->dev};
	struct shift_diag d = {""};
	enum idmount_stage stage;
	char why[160];
	int r;

	r = idmount_mount(o->src, o->mnt, m, &io, &stage, &d);
	if (r == 0) {
		snprintf(o->why, sizeof(o->why),
			 "kernel idmapped mount: zero overhead");
		return true;
	}
	if (o->backend == BACKEND_AUTO &&
	    idmount_unsupported(stage, -r, why, sizeof(why))) {
		snprintf(o->why, sizeof(o->why), "no idmapped mount: %s (%s)",
			 why, d.msg);
		return false;
	}
	die(EXIT_FAIL, "idmapped mount of %s at %s failed: %s", o->src, o->mnt,
	    d.msg);
}

static enum backend choose_and_mount(struct mount_opts *o,
				     const struct idmaps *m)
{
	if (o->backend == BACKEND_AUTO && o->fuse_only) {
		snprintf(o->why, sizeof(o->why), "-o %s needs the FUSE backend",
			 o->fuse_only);
	} else if (o->backend == BACKEND_AUTO && geteuid() != 0) {
		snprintf(o->why, sizeof(o->why),
			 "not root: idmapped mounts need CAP_SYS_ADMIN");
	} else if (o->backend != BACKEND_FUSE) {
		if (mount_idmap(o, m))
			return BACKEND_IDMAP;
	} else {
		snprintf(o->why, sizeof(o->why), "--backend=fuse");
	}
	mount_fuse(o, m);
	return BACKEND_FUSE;
}

static struct json_object *record(const struct mount_opts *o,
				  const struct mapsrc *ms,
				  const struct idmaps *m, enum backend b)
{
	static char spec[IDMAP_MAX_RANGES * 36];
	struct json_object *j = json_object_new_object();
	char what[128];

	mapsrc_describe(ms, what, sizeof(what));
	json_object_object_add(j, "mountpoint", json_object_new_string(o->mnt));
	json_object_object_add(j, "source", json_object_new_string(o->src));
	json_object_object_add(
		j, "backend",
		json_object_new_string(b == BACKEND_IDMAP ? "idmap" : "fuse"));
	json_object_object_add(j, "reason", json_object_new_string(o->why));
	json_object_object_add(j, "layout", json_object_new_string(what));
	json_object_object_add(j, "owner_mode",
			       json_object_new_boolean(ms->req.owner_mode));
	json_object_object_add(j, "read_only",
			       json_object_new_boolean(o->read_only));
	idmap_format_spec(&m->uid, spec, sizeof(spec));
	json_object_object_add(j, "uid_map_spec", json_object_new_string(spec));
	idmap_format_spec(&m->gid, spec, sizeof(spec));
	json_object_object_add(j, "gid_map_spec", json_object_new_string(spec));
	json_object_object_add(j, "uid_map", json_idmap(&m->uid));
	json_object_object_add(j, "gid_map", json_idmap(&m->gid));
	json_object_object_add(j, "overflow_uid",
			       json_object_new_int64(m->overflow_uid));
	json_object_object_add(j, "overflow_gid",
			       json_object_new_int64(m->overflow_gid));
	json_object_object_add(j, "mount_id",
			       json_object_new_int(top_mount_id(o->mnt)));
	json_object_object_add(j, "uid", json_object_new_int64(geteuid()));
	if (b == BACKEND_FUSE) {
		unsigned long long start;
		char state;

		json_object_object_add(j, "pid", json_object_new_int(o->pid));
		if (proc_stat(o->pid, &state, &start) == 0)
			json_object_object_add(
				j, "pid_start",
				json_object_new_int64((int64_t)start));
		json_object_object_add(j, "log",
				       json_object_new_string(o->log));
	}
	if (o->fuse_opts)
		json_object_object_add(j, "options",
				       json_object_new_string(o->fuse_opts));
	return j;
}

/* Refuse to stack a second shifted mount on one we already have. */
static void check_not_ours(const struct mount_opts *o)
{
	struct json_object *st = NULL;
	long long id;

	if (state_read(o->mnt, &st) < 0)
		return;
	id = state_int(st, "mount_id");
	json_object_put(st);
	if (id >= 0 && top_mount_id(o->mnt) == id)
		die(EXIT_FAIL,
		    "%s is already a shifted mount (shiftctl umount "
		    "%s first)",
		    o->mnt, o->mnt);
	state_remove(o->mnt); /* stale */
}

static void report(const struct mount_opts *o, const struct idmaps *m,
		   enum backend b)
{
	static char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];

	idmap_format_spec(&m->uid, u, sizeof(u));
	idmap_format_spec(&m->gid, g, sizeof(g));
	if (b == BACKEND_IDMAP)
		printf("%s: mounted %s at %s with idmap (%s); uid map %s, "
		       "gid map %s\n",
		       program_name, o->src, o->mnt, o->why, u, g);
	else
		printf("%s: mounted %s at %s with fuse (shiftfs daemon pid %d; "
		       "%s); uid map %s, gid map %s\n",
		       program_name, o->src, o->mnt, (int)o->pid, o->why, u, g);
	if (o->private_dir)
		printf("%s: bind %s into the container\n", program_name,
		       o->mnt);
}

/* Unprivileged FUSE without allow_other: only the caller's uid can use the
 * mount, which a container whose ids are not the caller's cannot. */
static void rootless_notes(const struct mount_opts *o, enum backend b)
{
	if (b != BACKEND_FUSE || geteuid() == 0 || o->allow_other ||
	    o->auto_allow_other)
		return;
	warn("only uid %u can use %s: for a container uid other than yours "
	     "to see it, add user_allow_other to /etc/fuse.conf (then "
	     "shiftctl passes allow_other)",
	     (unsigned)geteuid(), o->mnt);
}

static void parse_backend(struct mount_opts *o, const char *arg)
{
	if (!strcmp(arg, "auto"))
		o->backend = BACKEND_AUTO;
	else if (!strcmp(arg, "idmap"))
		o->backend = BACKEND_IDMAP;
	else if (!strcmp(arg, "fuse"))
		o->backend = BACKEND_FUSE;
	else
		usage_error("mount",
			    "--backend takes auto, idmap or fuse, "
			    "not '%s'",
			    arg);
}

int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		MAPSRC_LONG_OPTIONS,
		MAPSRC_OWNER_LONG_OPTIONS,
		{"read-only", no_argument, NULL, 'r'},
		{"backend", required_argument, NULL, OPT_BACKEND},
		{"options", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, OPT_FORCE},
		{"mkdir", no_argument, NULL, OPT_MKDIR},
		{"private", no_argument, NULL, OPT_PRIVATE},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct mount_opts o;
	struct json_object *rec;
	struct mapsrc ms;
	struct idmaps m;
	enum backend b;
	int c, r, npos;

	mapsrc_init(&ms, "mount");
	while ((c = getopt_long(argc, argv, "hro:", longopts, NULL)) != -1) {
		if (mapsrc_option(&ms, c, optarg))
			continue;
		switch (c) {
		case 'r':
			o.read_only = true;
			break;
		case OPT_BACKEND:
			parse_backend(&o, optarg);
			break;
		case 'o':
			parse_fuse_opts(&o, optarg);
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_MKDIR:
			o.mkdir = true;
			break;
		case OPT_PRIVATE:
			o.private_dir = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("mount");
		}
	}
	npos = argc - optind;
	if (o.private_dir ? npos < 1 || npos > 2 : npos != 2)
		usage_error("mount", o.private_dir
					     ? "--private takes SRC [NAME]"
					     : "give SRC and MNT");
	if (ms.owner_spec && !ms.user_spec)
		usage_error("mount", "--owner goes with --user");
	if (o.backend == BACKEND_IDMAP && o.fuse_only)
		usage_error("mount", "-o %s needs the FUSE backend",
			    o.fuse_only);
	resolve_paths(&o, argv[optind], npos > 1 ? argv[optind + 1] : NULL);
	check_paths(&o);
	default_owner(&ms, o.src);
	mapsrc_build(&ms, true, &m);
	if (m.uid.n == 0 || m.gid.n == 0)
		die(EXIT_FAIL, "the map is empty: nothing would be visible");
	check_not_ours(&o);
	safety_warning(&o, &m);
	b = choose_and_mount(&o, &m);
	rec = record(&o, &ms, &m, b);
	r = state_write(o.mnt, rec);
	if (r < 0)
		warn("cannot record the mount (shiftctl status will show "
		     "less): "
		     "%s",
		     strerror(-r));
	if (o.json)
		json_print(rec);
	else {
		json_object_put(rec);
		report(&o, &m, b);
	}
	rootless_notes(&o, b);
	return EXIT_OK;
}
