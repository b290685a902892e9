/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl doctor: explain why a container's USER gets "permission denied"
 * on a volume, and what to run.
 *
 * From the real tree: the host ids USER and its groups have under the map,
 * how every owner found appears inside the container, and, entry by entry,
 * whether USER can reach, read, write (and execute) it, decided by the
 * kernel's rules (access.c). Every entry is also judged under the two cures
 * (an owner-mode shifted mount, an in-place chown), so the fixes can be
 * ranked by how many problems each one leaves.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/acl.h>
#include <acl/libacl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access.h"
#include "cleanup.h"
#include "parse_int.h"
#include "passwd.h"
#include "progress.h"
#include "shiftctl.h"

enum {
	OPT_JSON = OPT_VERB_FIRST,
	OPT_USER,
	OPT_IMAGE,
	OPT_ENGINE,
	OPT_ROOTFUL,
	OPT_DOCKER_CONFIG,
	OPT_NEED,
	OPT_MAX_FILES,
	OPT_LIST,
	OPT_TARGET,
	OPT_CONTAINER_PATH,
	OPT_QUIET,
};

/* Scenarios every entry is judged under. */
enum { SC_ASIS, SC_MOUNT, SC_CHOWN, SC_SHIFT, NSCEN };

#define MAX_OWNERS 512
#define MAX_SAMPLES 3
#define MAX_LISTED 10000
#define ACL_MAX 1024

struct owner_stat {
	uint32_t uid, gid; /* disk (host) ids */
	uint64_t entries, not_ok, no_read, no_write, no_exec, unreachable,
		no_delete;
	int nsamples;
	char *samples[MAX_SAMPLES];
};

struct doctor {
	/* options */
	const char *path, *user_spec, *image, *engine_opt, *docker_config;
	const char *target, *container_path;
	bool json, rootful, quiet, list_all, list_none;
	unsigned need;
	uint64_t max_files;
	struct mapsrc ms;
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
	uint32_t root_k_uid; /* host uid of container root, if mapped */
	bool root_mapped;

	/* the tree */
	char realpath[PATH_MAX];
	uint32_t h_uid, h_gid; /* owner of PATH: the data's host owner */
	dev_t root_dev;
	bool rofs, noexec, nosuid, selinux;
	/* PATH is a shifted view (fuse.shiftfs or an idmapped mount): an
	 * owner shown there as the kernel's overflow id is unmapped. */
	bool shifted_view;
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
	struct json_object *entries;
	uint64_t listed;
	char *first_error;
};

/* clang-format off */
static const struct opt_def doctor_defs[] = {
	{"user", required_argument, OPT_USER,
	 "     --user=USER[:GROUP]    the container's USER (name or id)\n"},
	{"image", required_argument, OPT_IMAGE,
	 "     --image=NAME           take USER and /etc/passwd, /etc/group\n"
	 "                              from an image (podman or docker)\n"},
	{"engine", required_argument, OPT_ENGINE,
	 "     --engine=podman|docker the container engine\n"},
	{"rootful", no_argument, OPT_ROOTFUL,
	 "     --rootful              the engine runs as root\n"},
	{"docker-config", required_argument, OPT_DOCKER_CONFIG,
	 "     --docker-config=FILE   instead of /etc/docker/daemon.json\n"},
	{"need", required_argument, OPT_NEED,
	 "     --need=r|rw|rwx        the access USER needs (default rw)\n"},
	{"max-files", required_argument, OPT_MAX_FILES,
	 "     --max-files=N          stop after N entries\n"},
	{"list", required_argument, OPT_LIST,
	 "     --list=denied|all|none entries listed in --json (default denied)\n"},
	{"target", required_argument, OPT_TARGET,
	 "     --target=DIR           mount point to suggest for 'shiftctl mount'\n"},
	{"container-path", required_argument, OPT_CONTAINER_PATH,
	 "     --container-path=DIR   where the volume goes in the container\n"
	 "                              (default /data)\n"},
	{"quiet", no_argument, 'q',
	 " -q, --quiet                no progress display\n"},
	{"json", no_argument, OPT_JSON,
	 "     --json                 print JSON\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group doctor_group = {"Options:", doctor_defs};
static const struct opt_group *const groups[] = {
	&mapsrc_source_opts, &mapsrc_file_opts, &doctor_group, NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s doctor PATH --user=USER[:GROUP] [MAP SOURCE] "
	       "[options]\n %s doctor PATH --image=NAME [MAP SOURCE] "
	       "[options]\n",
	       program_name, program_name);
	fputs("\nExplain why a container's USER cannot read or write the "
	      "volume "
	      "PATH:\nthe host ids USER has under the map, how every owner in "
	      "the tree\nappears inside the container, which entries USER "
	      "cannot reach, read\nor write by the kernel's rules (modes, "
	      "POSIX "
	      "ACLs and their mask,\nsticky directories, container root's "
	      "capabilities), and ranked fixes.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nWith no map source, the layout of the engine found (rootless "
	      "or rootful,\nuserns-remap from daemon.json) is used.\n"
	      "Exit status: 0 USER has the access needed on the whole tree, 1 "
	      "not (or\nfailure), 2 usage error.\n"
	      "\nFor more details see shiftctl-doctor(1).\n",
	      stdout);
}

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */

/*
 * snprintf() for messages that may be cut short: paths can be long, and a
 * truncated line is better than none.
 */
static int bfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return r;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die(EXIT_FAIL, "out of memory");
	return p;
}

/* 12403 -> "12,403" */
static const char *fmt_count(uint64_t n, char buf[32])
{
	char tmp[32];
	int len = bfmt(tmp, sizeof(tmp), "%llu", (unsigned long long)n);
	int i, o = 0;

	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* For the commands doctor suggests: a file option as an absolute path. */
static void absolute(const char **path, char buf[PATH_MAX])
{
	if (*path && **path != '/' && realpath(*path, buf))
		*path = buf;
}

static bool in_path(const char *prog)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX];

	if (!p)
		p = "/usr/local/bin:/usr/bin:/bin";
	while (*p) {
		size_t n = strcspn(p, ":");

		bfmt(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", prog);
		if (access(buf, X_OK) == 0)
			return true;
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

/*
 * Run argv, capturing up to len-1 bytes of stdout (trailing newlines
 * removed) and discarding stderr unless keep_stderr. Returns the exit status,
 * or -1 when it could not run.
 */
static int run_capture(char *const argv[], char *out, size_t len)
{
	int pfd[2], status;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(pfd[1], STDOUT_FILENO);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char sink[512];
		ssize_t n;

		if (out && got + 1 < len)
			n = read(pfd[0], out + got, len - 1 - got);
		else
			n = read(pfd[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && got + 1 < len)
			got += (size_t)n;
	}
	close(pfd[0]);
	if (out && len) {
		out[got] = '\0';
		while (got && (out[got - 1] == '\n' || out[got - 1] == '\r'))
			out[--got] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---------------------------------------------------------------------- */
/* Engine, image and environment                                           */

static const char *pick_engine(struct doctor *dr)
{
	if (dr->engine_opt)
		return dr->engine_opt;
	if (getenv("DOCKER_HOST"))
		return "docker";
	if (in_path("podman"))
		return "podman";
	if (in_path("docker"))
		return "docker";
	return NULL;
}

/* userns-remap from daemon.json, if set. */
static void read_docker_config(struct doctor *dr)
{
	const char *file = dr->docker_config ? dr->docker_config
					     : "/etc/docker/daemon.json";
	struct json_object *root, *v;

	if (access(file, R_OK) != 0) {
		if (dr->docker_config)
			die(EXIT_FAIL, "--docker-config=%s: %s", file,
			    strerror(errno));
		return;
	}
	root = json_object_from_file(file);
	if (!root) {
		warn("%s: not valid JSON (%s); ignoring it", file,
		     json_util_get_last_err());
		return;
	}
	if (json_object_object_get_ex(root, "userns-remap", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    *json_object_get_string(v))
		bfmt(dr->remap_user, sizeof(dr->remap_user), "%s",
		     json_object_get_string(v));
	json_object_put(root);
}

static void detect_engine(struct doctor *dr)
{
	const char *host = getenv("DOCKER_HOST");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	enum layout_kind given = dr->ms.req.kind;

	dr->map_given = given;
	char buf[PATH_MAX];

	dr->engine = pick_engine(dr);
	if (!dr->engine || !strcmp(dr->engine, "docker"))
		read_docker_config(dr);

	if (host && (!dr->engine_opt || !strcmp(dr->engine_opt, "docker"))) {
		const char *ru = strstr(host, "/run/user/");

		dr->engine = "docker";
		dr->rootless = ru || (xdg && *xdg && strstr(host, xdg));
		bfmt(dr->engine_why, sizeof(dr->engine_why), "DOCKER_HOST=%s",
		     host);
		if (ru) {
			uint32_t uid;
			size_t n = strspn(ru + 10, "0123456789");

			if (n && parse_u32_n(ru + 10, n, 0, UINT32_MAX - 1,
					     &uid) == 0)
				bfmt(dr->auto_user, sizeof(dr->auto_user), "%u",
				     uid);
		}
	} else if (dr->engine && !strcmp(dr->engine, "podman") &&
		   dr->engine_opt && !dr->rootful && given == LAYOUT_NONE &&
		   in_path("podman")) {
		char *argv[] = {(char *)"podman", (char *)"info",
				(char *)"--format",
				(char *)"{{.Host.Security.Rootless}}", NULL};
		char out[64] = "";

		if (run_capture(argv, out, sizeof(out)) == 0 &&
		    (!strcmp(out, "true") || !strcmp(out, "false"))) {
			dr->rootless = !strcmp(out, "true");
			bfmt(dr->engine_why, sizeof(dr->engine_why),
			     "podman info: rootless=%s", out);
		} else {
			dr->rootless = getuid() != 0;
			bfmt(dr->engine_why, sizeof(dr->engine_why),
			     "running as uid %u (podman info failed)",
			     (unsigned)getuid());
		}
	} else if (xdg && *xdg &&
		   (!dr->engine_opt || !strcmp(dr->engine_opt, "docker")) &&
		   (bfmt(buf, sizeof(buf), "%s/docker.sock", xdg),
		    access(buf, F_OK) == 0)) {
		dr->engine = "docker";
		dr->rootless = true;
		bfmt(dr->engine_why, sizeof(dr->engine_why), "%s exists", buf);
	} else {
		dr->rootless = getuid() != 0;
		bfmt(dr->engine_why, sizeof(dr->engine_why),
		     "running as uid %u", (unsigned)getuid());
	}
	/* Flags and map sources say more than the environment. */
	if (dr->rootful) {
		dr->rootless = false;
		bfmt(dr->engine_why, sizeof(dr->engine_why), "--rootful");
	} else if (given != LAYOUT_NONE && given != LAYOUT_EXPLICIT &&
		   given != LAYOUT_PID &&
		   dr->rootless != (given == LAYOUT_ROOTLESS)) {
		dr->rootless = given == LAYOUT_ROOTLESS;
		bfmt(dr->engine_why, sizeof(dr->engine_why),
		     "the map source given (--%s)", layout_kind_name(given));
	}

	if (given != LAYOUT_NONE)
		return;
	/* Choose the layout the engine will use. */
	if (dr->rootless) {
		dr->ms.req.kind = LAYOUT_ROOTLESS;
		if (dr->auto_user[0])
			dr->ms.req.user = dr->auto_user;
	} else if (dr->remap_user[0] &&
		   (!dr->engine || !strcmp(dr->engine, "docker"))) {
		dr->engine = "docker";
		dr->ms.req.kind = LAYOUT_USERNS_REMAP;
		dr->ms.req.user = dr->remap_user;
	} else {
		dr->ms.req.kind = LAYOUT_EXPLICIT;
		dr->ms.req.map_spec = "0:0:4294967295";
	}
}

/* --image: USER from the image config, passwd/group from its files. */
static void load_image(struct doctor *dr)
{
	const char *eng = dr->engine_opt;
	static char tmpdir[] = "/tmp/shiftctl-doctor-XXXXXX";
	char out[PATH_MAX] = "";
	int r;

	if (!eng)
		eng = in_path("podman")	  ? "podman"
		      : in_path("docker") ? "docker"
					  : NULL;
	if (!eng || !in_path(eng))
		die(EXIT_FAIL,
		    "--image needs podman or docker, and %s installed; "
		    "give --user=USER and --rootfs=DIR (or --passwd/--group) "
		    "instead",
		    eng ? eng : "neither is");
	{
		char *argv[] = {(char *)eng,
				(char *)"image",
				(char *)"inspect",
				(char *)"--format",
				(char *)"{{.Config.User}}",
				(char *)dr->image,
				NULL};

		r = run_capture(argv, dr->image_user, sizeof(dr->image_user));
		if (r != 0)
			die(EXIT_FAIL,
			    "%s image inspect %s failed (exit %d): "
			    "is the image pulled?",
			    eng, dr->image, r);
	}
	if (!dr->user_spec)
		dr->user_spec = dr->image_user[0] ? dr->image_user : "0";
	if (dr->ms.passwd_path)
		return;

	if (!strcmp(eng, "podman")) {
		char *argv[] = {(char *)"podman", (char *)"image",
				(char *)"mount", (char *)dr->image, NULL};

		if (run_capture(argv, out, sizeof(out)) == 0 && out[0]) {
			bfmt(dr->image_root, sizeof(dr->image_root), "%s", out);
			dr->image_mounted = true;
		}
	} else {
		char id[128] = "", src[256];
		char *create[] = {(char *)"docker", (char *)"create",
				  (char *)dr->image, NULL};

		if (!mkdtemp(tmpdir))
			die(EXIT_FAIL, "mkdtemp: %s", strerror(errno));
		bfmt(dr->image_root, sizeof(dr->image_root), "%s", tmpdir);
		dr->image_tmp = true;
		bfmt(out, sizeof(out), "%s/etc", tmpdir);
		if (mkdir(out, 0700) < 0)
			die(EXIT_FAIL, "%s: %s", out, strerror(errno));
		if (run_capture(create, id, sizeof(id)) == 0 && id[0]) {
			/* -L: a symlink is followed inside the container;
			 * whatever lands here is still read inside tmpdir. */
			char *cp[] = {(char *)"docker", (char *)"cp", src, out,
				      (char *)"-L", NULL};
			char *rm[] = {(char *)"docker", (char *)"rm", id, NULL};

			bfmt(src, sizeof(src), "%s:/etc/passwd", id);
			bfmt(out, sizeof(out), "%s/etc/passwd", tmpdir);
			run_capture(cp, NULL, 0);
			bfmt(src, sizeof(src), "%s:/etc/group", id);
			bfmt(out, sizeof(out), "%s/etc/group", tmpdir);
			run_capture(cp, NULL, 0);
			run_capture(rm, NULL, 0);
		}
	}
	if (dr->image_root[0]) {
		const struct passwd_db *db;

		mapsrc_set_rootfs(&dr->ms, dr->image_root);
		db = mapsrc_passwd_db(&dr->ms);
		if (db && db->err) {
			warn("could not read /etc/passwd of image %s with %s: "
			     "%s; user names cannot be resolved",
			     dr->image, eng, db->diag.msg);
			dr->ms.passwd_path = NULL;
		}
		db = mapsrc_group_db(&dr->ms);
		if (db && db->err)
			dr->ms.group_path = NULL;
		return;
	}
	warn("could not read /etc/passwd of image %s with %s; user "
	     "names cannot be resolved",
	     dr->image, eng);
}

static void cleanup_image(struct doctor *dr)
{
	char buf[PATH_MAX];

	if (dr->image_tmp) {
		bfmt(buf, sizeof(buf), "%s/etc/passwd", dr->image_root);
		unlink(buf);
		bfmt(buf, sizeof(buf), "%s/etc/group", dr->image_root);
		unlink(buf);
		bfmt(buf, sizeof(buf), "%s/etc", dr->image_root);
		rmdir(buf);
		rmdir(dr->image_root);
	} else if (dr->image_mounted) {
		const char *eng = dr->engine_opt ? dr->engine_opt : "podman";
		char *argv[] = {(char *)eng, (char *)"image", (char *)"unmount",
				(char *)dr->image, NULL};

		run_capture(argv, NULL, 0);
	}
}

/* opt is one of the comma-separated mount options in opts. */
static bool has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, opt, n) && (p[n] == ',' || !p[n]))
			return true;
	}
	return false;
}

/* The mount PATH is on: /proc/self/mountinfo, longest matching prefix. */
static void find_mount(struct doctor *dr)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	size_t best = 0;
	struct statvfs sv;

	if (statvfs(dr->realpath, &sv) == 0) {
		dr->rofs = sv.f_flag & ST_RDONLY;
		dr->noexec = sv.f_flag & ST_NOEXEC;
		dr->nosuid = sv.f_flag & ST_NOSUID;
	}
	while (f && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fs[64], opts[1024], *sep, *o;
		const char *s;
		size_t n;

		if (sscanf(line, "%*s %*s %*s %*s %4095s %1023s", mp, opts) !=
		    2)
			continue;
		/* undo the \040-style octal escapes */
		for (s = mp, o = mp; *s; s++) {
			if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
			    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
			    s[3] <= '7') {
				*o++ = (char)((s[1] - '0') * 64 +
					      (s[2] - '0') * 8 + (s[3] - '0'));
				s += 3;
			} else {
				*o++ = *s;
			}
		}
		*o = '\0';
		n = strlen(mp);
		if (strncmp(dr->realpath, mp, n) != 0)
			continue;
		if (!(n == 1 || dr->realpath[n] == '/' ||
		      dr->realpath[n] == '\0'))
			continue;
		if (n < best)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fs) != 1)
			continue;
		best = n;
		bfmt(dr->mnt_point, sizeof(dr->mnt_point), "%s", mp);
		bfmt(dr->fstype, sizeof(dr->fstype), "%s", fs);
		dr->shifted_view = !strncmp(fs, "fuse.shiftfs", 12) ||
				   has_opt(opts, "idmapped");
	}
}

static bool selinux_enforcing(void)
{
	char buf[8] = "";
	_cleanup_fclose_ FILE *f = fopen("/sys/fs/selinux/enforce", "re");

	return f && fgets(buf, sizeof(buf), f) && buf[0] == '1';
}

/* ---------------------------------------------------------------------- */
/* USER                                                                    */

static void resolve_user(struct doctor *dr)
{
	const struct passwd_db *pw = mapsrc_passwd_db(&dr->ms);
	const struct passwd_db *gr = mapsrc_group_db(&dr->ms);
	struct shift_diag d = {""};
	struct passwd_user u;
	char spec[256], *colon;
	size_t i;
	int r;

	r = passwd_db_resolve_pair(pw, gr, dr->user_spec, &dr->c_uid,
				   &dr->c_gid, &d);
	if (r < 0)
		die(EXIT_FAIL, "--user=%s: %s", dr->user_spec, d.msg);
	bfmt(spec, sizeof(spec), "%s", dr->user_spec);
	colon = strchr(spec, ':');
	if (colon)
		*colon = '\0';
	if (passwd_db_user_lookup(pw, spec, &u, &d) == 0)
		bfmt(dr->c_name, sizeof(dr->c_name), "%s", u.name);
	/* Primary group first, then /etc/group's supplementary ones. */
	dr->c_groups[0] = dr->c_gid;
	dr->c_ngroups = 1;
	if (dr->c_name[0] && gr) {
		uint32_t g[PASSWD_MAX_GROUPS];

		r = passwd_db_user_groups(gr, dr->c_name, g,
					  PASSWD_MAX_GROUPS, &d);
		if (r < 0)
			die(EXIT_FAIL, "%s", d.msg);
		for (i = 0; i < (size_t)r; i++) {
			size_t j;

			for (j = 0; j < dr->c_ngroups; j++)
				if (dr->c_groups[j] == g[i])
					break;
			if (j == dr->c_ngroups &&
			    dr->c_ngroups < PASSWD_MAX_GROUPS)
				dr->c_groups[dr->c_ngroups++] = g[i];
		}
	}
}

static void build_map(struct doctor *dr)
{
	struct shift_diag d = {""};
	char desc[160];
	size_t i;
	int r;

	r = layout_build(&dr->ms.req, &dr->maps, &d);
	if (r < 0) {
		mapsrc_describe(&dr->ms, desc, sizeof(desc));
		fprintf(stderr, "%s doctor: cannot compute the %s map: %s\n",
			program_name, desc, d.msg[0] ? d.msg : strerror(-r));
		if (r == -ENOENT && (dr->ms.req.kind == LAYOUT_ROOTLESS ||
				     dr->ms.req.kind == LAYOUT_USERNS_REMAP))
			fprintf(stderr,
				"  The engine cannot start a user namespace "
				"for this user without subordinate ids.\n"
				"  Add them (as root), then restart the "
				"engine:\n"
				"    usermod --add-subuids 100000-165535 "
				"--add-subgids 100000-165535 %s\n",
				dr->ms.req.user ? dr->ms.req.user : "$USER");
		exit(EXIT_FAIL);
	}
	if (idmap_to_view(&dr->maps.uid, dr->c_uid, &dr->k_uid) < 0)
		die(EXIT_FAIL,
		    "container uid %u is not mapped by the %s map: the "
		    "container cannot run as this USER at all",
		    dr->c_uid, layout_kind_name(dr->ms.req.kind));
	if (idmap_to_view(&dr->maps.gid, dr->c_gid, &dr->k_gid) < 0)
		die(EXIT_FAIL,
		    "container gid %u is not mapped by the %s map: the "
		    "container cannot run with this group",
		    dr->c_gid, layout_kind_name(dr->ms.req.kind));
	dr->k_ngroups = 0;
	for (i = 0; i < dr->c_ngroups; i++) {
		uint32_t k;

		/* An unmapped group cannot be set by setgroups() in the
		 * namespace: the engine fails or drops it. */
		if (idmap_to_view(&dr->maps.gid, dr->c_groups[i], &k) == 0)
			dr->k_groups[dr->k_ngroups++] = k;
	}
	dr->root_mapped = idmap_to_view(&dr->maps.uid, 0, &dr->root_k_uid) == 0;
	dr->cred.uid = dr->k_uid;
	dr->cred.gid = dr->k_gid;
	dr->cred.groups = dr->k_groups;
	dr->cred.ngroups = dr->k_ngroups;
	dr->cred.ns_root = dr->c_uid == 0;
	dr->cred.ns = &dr->maps;
}

/* ---------------------------------------------------------------------- */
/* Judging one entry                                                       */

struct node {
	struct access_inode ino;
	struct access_acl_entry acl[ACL_MAX];
};

/*
 * An id as judged: on a shifted view an id shown as the kernel's overflow id
 * is an unmapped one, which matches nobody (DESIGN.md: "shown, never
 * matched"). Elsewhere 65534 is a real owner.
 */
static uint32_t view_id(const struct doctor *dr, uint32_t id, uint32_t ov)
{
	return dr->shifted_view && id == ov ? ACCESS_ID_INVALID : id;
}

/* Read the access ACL of path (NULL acl when it has only the base three). */
static void read_acl(struct doctor *dr, const char *path, struct node *n)
{
	acl_t acl = acl_get_file(path, ACL_TYPE_ACCESS);
	acl_entry_t e;
	size_t k = 0;
	int id = ACL_FIRST_ENTRY;

	n->ino.acl = NULL;
	n->ino.acl_n = 0;
	if (!acl)
		return;
	while (acl_get_entry(acl, id, &e) == 1 && k < ACL_MAX) {
		acl_tag_t tag;
		acl_permset_t ps;
		void *q;

		id = ACL_NEXT_ENTRY;
		if (acl_get_tag_type(e, &tag) < 0 ||
		    acl_get_permset(e, &ps) < 0)
			continue;
		n->acl[k].tag = (uint16_t)tag;
		n->acl[k].perm =
			(acl_get_perm(ps, ACL_READ) == 1 ? ACCESS_R : 0) |
			(acl_get_perm(ps, ACL_WRITE) == 1 ? ACCESS_W : 0) |
			(acl_get_perm(ps, ACL_EXECUTE) == 1 ? ACCESS_X : 0);
		n->acl[k].id = 0;
		if (tag == ACL_USER || tag == ACL_GROUP) {
			q = acl_get_qualifier(e);
			if (q) {
				n->acl[k].id = view_id(
					dr, *(uint32_t *)q,
					tag == ACL_USER ? dr->kernel_ov_uid
							: dr->kernel_ov_gid);
				acl_free(q);
			}
		}
		k++;
	}
	acl_free(acl);
	if (k > 3) {
		n->ino.acl = n->acl;
		n->ino.acl_n = k;
		dr->acl_entries++;
	}
}

/* The entry as it would look under scenario sc. */
static void transform(const struct doctor *dr, int sc, const struct node *in,
		      struct node *out)
{
	size_t i;

	out->ino = in->ino;
	if (in->ino.acl) {
		memcpy(out->acl, in->acl, in->ino.acl_n * sizeof(in->acl[0]));
		out->ino.acl = out->acl;
	}
	if (sc == SC_ASIS)
		return;
	if (sc == SC_SHIFT) {
		/* shiftctl shift: every owner taken as a container id. */
		uint32_t k;

		if (idmap_to_view(&dr->maps.uid, in->ino.uid, &k) == 0)
			out->ino.uid = k;
		if (idmap_to_view(&dr->maps.gid, in->ino.gid, &k) == 0)
			out->ino.gid = k;
		for (i = 0; out->ino.acl && i < out->ino.acl_n; i++) {
			struct access_acl_entry *e = &out->acl[i];

			if (e->tag == ACCESS_ACL_USER &&
			    idmap_to_view(&dr->maps.uid, e->id, &k) == 0)
				e->id = k;
			else if (e->tag == ACCESS_ACL_GROUP &&
				 idmap_to_view(&dr->maps.gid, e->id, &k) == 0)
				e->id = k;
		}
		return;
	}
	if (sc == SC_MOUNT) {
		/* Owner mode: host owner H shown as USER's host ids, every
		 * other owner unmapped: shown as the overflow id, matching
		 * nobody. */
		out->ino.uid = in->ino.uid == dr->h_uid ? dr->k_uid
							: ACCESS_ID_INVALID;
		out->ino.gid = in->ino.gid == dr->h_gid ? dr->k_gid
							: ACCESS_ID_INVALID;
	} else {
		out->ino.uid = dr->k_uid;
		out->ino.gid = dr->k_gid;
	}
	for (i = 0; out->ino.acl && i < out->ino.acl_n; i++) {
		struct access_acl_entry *e = &out->acl[i];

		if (e->tag == ACCESS_ACL_USER)
			e->id = e->id == dr->h_uid ? dr->k_uid
				: sc == SC_MOUNT   ? ACCESS_ID_INVALID
						   : e->id;
		else if (e->tag == ACCESS_ACL_GROUP)
			e->id = e->id == dr->h_gid ? dr->k_gid
				: sc == SC_MOUNT   ? ACCESS_ID_INVALID
						   : e->id;
	}
}

struct verdict {
	bool reachable, read, write, exec, ok, is_dir;
	int del; /* 0, -EACCES, -EPERM, -EROFS; 1: not applicable */
	struct access_result rr, wr, xr, dr;
	bool owner_bits, mask;
};

static void judge(const struct doctor *dr, const struct node *n,
		  const struct node *parent, bool reachable, struct verdict *v)
{
	const struct access_inode *ino = &n->ino;
	bool dir = S_ISDIR(ino->mode), lnk = S_ISLNK(ino->mode);
	unsigned need = dr->need;

	memset(v, 0, sizeof(*v));
	v->is_dir = dir;
	v->reachable = reachable;
	v->del = 1;
	if (lnk) {
		/* The kernel never checks a symlink's own mode. */
		v->read = v->write = v->exec = true;
	} else {
		v->read = access_permission(ino, &dr->cred, ACCESS_R, &v->rr) ==
			  0;
		v->write =
			access_permission(ino, &dr->cred,
					  dir ? ACCESS_W | ACCESS_X : ACCESS_W,
					  &v->wr) == 0;
		v->exec = access_permission(ino, &dr->cred, ACCESS_X, &v->xr) ==
			  0;
		if (dr->rofs)
			v->write = false;
		if (dr->noexec && !dir)
			v->exec = false;
	}
	if (parent) {
		v->del =
			access_may_delete(&parent->ino, ino, &dr->cred, &v->dr);
		if (!v->del && dr->rofs)
			v->del = -EROFS;
	}

	v->ok = reachable;
	if (need & ACCESS_R)
		v->ok = v->ok && v->read && (!dir || v->exec);
	if (need & ACCESS_W) {
		v->ok = v->ok && v->write;
		/* Failures of the directory's own w+x are counted on the
		 * directory; here only the sticky bit. */
		if (v->del == -EPERM)
			v->ok = false;
	}
	if (need & ACCESS_X)
		v->ok = v->ok && v->exec;
	if (!v->ok) {
		const struct access_result *rs[] = {&v->rr, &v->wr, &v->xr};
		size_t i;

		for (i = 0; i < 3; i++) {
			if (!rs[i]->err)
				continue;
			if (rs[i]->cls == ACCESS_CLASS_OWNER)
				v->owner_bits = true;
			if (rs[i]->mask_denied)
				v->mask = true;
		}
	}
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR:
		return "dir";
	case S_IFREG:
		return "file";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "chardev";
	case S_IFBLK:
		return "blockdev";
	}
	return "unknown";
}

/* Reasons for an ASIS verdict, one string each, into arr/cb. */
static void reasons(const struct doctor *dr, const struct verdict *v,
		    void (*cb)(void *ctx, const char *what, const char *why),
		    void *ctx)
{
	char buf[400];
	unsigned need = dr->need;

	if (!v->reachable)
		cb(ctx, "reach",
		   "a directory above it cannot be searched (x) by USER");
	if ((need & ACCESS_R) && !v->read) {
		access_explain(&v->rr, ACCESS_R, buf, sizeof(buf));
		cb(ctx, "read", buf);
	}
	if ((need & ACCESS_R) && v->is_dir && !v->exec) {
		access_explain(&v->xr, ACCESS_X, buf, sizeof(buf));
		cb(ctx, "search", buf);
	}
	if ((need & ACCESS_W) && !v->write) {
		if (dr->rofs)
			bfmt(buf, sizeof(buf),
			     "the filesystem is mounted read-only");
		else
			access_explain(&v->wr,
				       v->is_dir ? ACCESS_W | ACCESS_X
						 : ACCESS_W,
				       buf, sizeof(buf));
		cb(ctx, "write", buf);
	}
	if ((need & ACCESS_W) && v->del == -EPERM) {
		access_explain(&v->dr, ACCESS_W, buf, sizeof(buf));
		cb(ctx, "delete", buf);
	}
	if ((need & ACCESS_X) && !v->exec && !v->is_dir) {
		if (dr->noexec)
			bfmt(buf, sizeof(buf),
			     "the filesystem is mounted noexec");
		else
			access_explain(&v->xr, ACCESS_X, buf, sizeof(buf));
		cb(ctx, "exec", buf);
	}
}

static void reason_json(void *ctx, const char *what, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "access", json_string_bytes(what));
	json_object_object_add(o, "reason", json_string_bytes(why));
	json_object_array_add(ctx, o);
}

struct text_ctx {
	char *buf;
	size_t len;
};

static void reason_text(void *ctx, const char *what, const char *why)
{
	struct text_ctx *t = ctx;
	size_t used = strlen(t->buf);

	bfmt(t->buf + used, t->len - used, "%s%s: %s", used ? "; " : "", what,
	     why);
}

static struct owner_stat *owner_of(struct doctor *dr, uint32_t uid,
				   uint32_t gid)
{
	size_t i;

	for (i = 0; i < dr->nowners; i++)
		if (dr->owners[i].uid == uid && dr->owners[i].gid == gid)
			return &dr->owners[i];
	if (dr->nowners == MAX_OWNERS)
		return &dr->other_owners;
	dr->owners[dr->nowners].uid = uid;
	dr->owners[dr->nowners].gid = gid;
	return &dr->owners[dr->nowners++];
}

static struct json_object *json_container_id(const struct idmap *m,
					     uint32_t host)
{
	uint32_t c;

	if (idmap_to_disk(m, host, &c) < 0)
		return NULL;
	return json_object_new_int64(c);
}

static void record(struct doctor *dr, const char *rel, const struct stat *st,
		   const struct node *n, const struct verdict *v)
{
	struct owner_stat *os = owner_of(dr, st->st_uid, st->st_gid);

	os->entries++;
	if (!v->reachable)
		os->unreachable++;
	if ((dr->need & ACCESS_R) && (!v->read || (v->is_dir && !v->exec)))
		os->no_read++;
	if ((dr->need & ACCESS_W) && !v->write)
		os->no_write++;
	if ((dr->need & ACCESS_W) && v->del == -EPERM)
		os->no_delete++;
	if ((dr->need & ACCESS_X) && !v->exec)
		os->no_exec++;
	if (!v->ok) {
		os->not_ok++;
		if (os->nsamples < MAX_SAMPLES) {
			char why[1200] = "";
			struct text_ctx t = {why, sizeof(why)};
			char *s;
			size_t len;

			reasons(dr, v, reason_text, &t);
			len = strlen(rel) + strlen(why) + 8;
			s = malloc(len);
			if (!s)
				die(EXIT_FAIL, "out of memory");
			bfmt(s, len, "%s: %s", rel, why);
			os->samples[os->nsamples++] = s;
		}
	}
	if (!dr->json || dr->list_none || (v->ok && !dr->list_all))
		return;
	if (dr->listed >= MAX_LISTED && !dr->list_all)
		return;
	dr->listed++;
	{
		struct json_object *o = json_object_new_object();
		struct json_object *rs = json_object_new_array();
		char mode[8];

		bfmt(mode, sizeof(mode), "%04o", (unsigned)n->ino.mode & 07777);
		json_add_bytes(o, "path", rel);
		json_object_object_add(
			o, "type",
			json_string_bytes(type_name(n->ino.mode)));
		json_object_object_add(o, "disk_uid",
				       json_object_new_int64(st->st_uid));
		json_object_object_add(o, "disk_gid",
				       json_object_new_int64(st->st_gid));
		json_object_object_add(
			o, "container_uid",
			n->ino.uid == ACCESS_ID_INVALID
				? NULL
				: json_container_id(&dr->maps.uid, st->st_uid));
		json_object_object_add(
			o, "container_gid",
			n->ino.gid == ACCESS_ID_INVALID
				? NULL
				: json_container_id(&dr->maps.gid, st->st_gid));
		json_object_object_add(o, "mode", json_string_bytes(mode));
		json_object_object_add(
			o, "acl", json_object_new_boolean(n->ino.acl != NULL));
		json_object_object_add(o, "reachable",
				       json_object_new_boolean(v->reachable));
		json_object_object_add(o, "read",
				       json_object_new_boolean(v->read));
		json_object_object_add(o, "write",
				       json_object_new_boolean(v->write));
		json_object_object_add(o, "exec",
				       json_object_new_boolean(v->exec));
		json_object_object_add(
			o, "delete",
			v->del == 1 ? NULL
				    : json_object_new_boolean(v->del == 0));
		json_object_object_add(o, "ok", json_object_new_boolean(v->ok));
		reasons(dr, v, reason_json, rs);
		json_object_object_add(o, "reasons", rs);
		json_object_array_add(dr->entries, o);
	}
}

/* ---------------------------------------------------------------------- */
/* The walk                                                                */

struct level {
	struct node n[NSCEN];
	bool reach[NSCEN]; /* entries below this directory are reachable */
};

static void note_error(struct doctor *dr, const char *fmt, const char *a,
		       int err)
{
	char buf[PATH_MAX + 200];

	(void)fmt;
	bfmt(buf, sizeof(buf), "%s: %s", a, strerror(err));
	if (!dr->first_error)
		dr->first_error = xstrdup(buf);
}

/* Judge one entry (the stat already done) under all scenarios. */
static void visit(struct doctor *dr, const char *full, const char *rel,
		  const struct stat *st, const struct level *parent,
		  struct level *self)
{
	struct node base;
	struct verdict v[NSCEN];
	int sc;

	base.ino.uid = view_id(dr, st->st_uid, dr->kernel_ov_uid);
	base.ino.gid = view_id(dr, st->st_gid, dr->kernel_ov_gid);
	base.ino.mode = st->st_mode;
	base.ino.acl = NULL;
	base.ino.acl_n = 0;
	if (!S_ISLNK(st->st_mode))
		read_acl(dr, full, &base);
	else
		dr->symlinks++;
	if (S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)))
		dr->setid_files++;

	for (sc = 0; sc < NSCEN; sc++) {
		transform(dr, sc, &base, &self->n[sc]);
		judge(dr, &self->n[sc], parent ? &parent->n[sc] : NULL,
		      parent ? parent->reach[sc] : true, &v[sc]);
		self->reach[sc] =
			(parent ? parent->reach[sc] : true) && v[sc].exec;
		if (!v[sc].ok) {
			dr->failed[sc]++;
			if (v[sc].owner_bits)
				dr->fail_owner_bits[sc]++;
			if (v[sc].mask)
				dr->fail_mask[sc]++;
		}
	}
	record(dr, rel, st, &self->n[SC_ASIS], &v[SC_ASIS]);
	dr->scanned++;
	progress_update(dr->scanned);
}

static bool limit_hit(struct doctor *dr)
{
	if (dr->max_files && dr->scanned >= dr->max_files) {
		dr->truncated = true;
		return true;
	}
	return false;
}

static void walk_dir(struct doctor *dr, int dfd, char *full, size_t flen,
		     char *rel, size_t rlen, struct level *self)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		note_error(dr, "%s: %s", full, errno);
		return;
	}
	while (!limit_hit(dr) && (errno = 0, de = readdir(d))) {
		struct stat st;
		struct level *child;
		size_t nlen = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (flen + nlen + 2 >= PATH_MAX ||
		    rlen + nlen + 2 >= PATH_MAX) {
			note_error(dr, "%s: %s", full, ENAMETOOLONG);
			continue;
		}
		full[flen] = '/';
		memcpy(full + flen + 1, de->d_name, nlen + 1);
		if (rlen)
			rel[rlen] = '/';
		memcpy(rel + rlen + (rlen ? 1 : 0), de->d_name, nlen + 1);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0) {
			note_error(dr, "%s: %s", full, errno);
			goto restore;
		}
		child = malloc(sizeof(*child));
		if (!child)
			die(EXIT_FAIL, "out of memory");
		visit(dr, full, rel, &st, self, child);
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dr->root_dev) {
				dr->skipped_mounts++;
			} else {
				int fd = openat(dirfd(d), de->d_name,
						O_RDONLY | O_DIRECTORY |
							O_NOFOLLOW | O_CLOEXEC);

				if (fd < 0) {
					dr->unreadable_dirs++;
					note_error(dr, "%s: %s", full, errno);
				} else {
					walk_dir(dr, fd, full, flen + 1 + nlen,
						 rel,
						 rlen + (rlen ? 1 : 0) + nlen,
						 child);
				}
			}
		}
		free(child);
	restore:
		full[flen] = '\0';
		rel[rlen] = '\0';
	}
	closedir(d);
}

static void scan(struct doctor *dr)
{
	static char full[PATH_MAX], rel[PATH_MAX];
	struct level *top = malloc(sizeof(*top));
	struct stat st;
	int fd;

	if (!top)
		die(EXIT_FAIL, "out of memory");
	if (lstat(dr->realpath, &st) < 0)
		die(EXIT_FAIL, "%s: %s", dr->path, strerror(errno));
	dr->root_dev = st.st_dev;
	bfmt(full, sizeof(full), "%s", dr->realpath);
	rel[0] = '\0';
	progress_start(0, dr->quiet);
	visit(dr, full, ".", &st, NULL, top);
	if (S_ISDIR(st.st_mode) && !limit_hit(dr)) {
		fd = open(dr->realpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die(EXIT_FAIL, "%s: %s", dr->path, strerror(errno));
		walk_dir(dr, fd, full, strlen(full), rel, 0, top);
	}
	progress_finish();
	free(top);
}

/* ---------------------------------------------------------------------- */
/* Fixes                                                                   */

struct fix {
	const char *kind;
	char summary[512];
	/* Shell command lines, every word from the tree or the options
	 * quoted with sh_quote(); malloc'd. */
	char *commands[8];
	int ncmd;
	int64_t remaining; /* -1: not judged */
};

static void add_cmd(struct fix *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_cmd(struct fix *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (f->ncmd >= 8)
		return;
	va_start(ap, fmt);
	r = vasprintf(&f->commands[f->ncmd], fmt, ap);
	va_end(ap);
	if (r < 0)
		die(EXIT_FAIL, "out of memory");
	f->ncmd++;
}

static void free_fixes(struct fix *fx, int n)
{
	for (int i = 0; i < n; i++)
		for (int c = 0; c < fx[i].ncmd; c++)
			free(fx[i].commands[c]);
}

/* " OPT=VALUE" as one quoted shell word onto f (VALUE NULL: " OPT"). */
static void put_word(FILE *f, const char *opt, const char *value)
{
	_cleanup_free_ char *w = NULL, *q = NULL;

	if (asprintf(&w, "%s%s", opt, value ? value : "") < 0)
		die(EXIT_FAIL, "out of memory");
	q = sh_quote(w);
	fprintf(f, "%s%s", ftell(f) ? " " : "", q);
}

/* The map source options, as the user gave them (or as detected), as
 * quoted shell words; malloc'd. */
static char *mapsrc_args(const struct doctor *dr)
{
	const struct layout_req *q = &dr->ms.req;
	const struct mapsrc *ms = &dr->ms;
	char *buf = NULL, pid[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		die(EXIT_FAIL, "out of memory");
	switch (q->kind) {
	case LAYOUT_ROOTLESS:
		put_word(f, q->user ? "--rootless=" : "--rootless", q->user);
		break;
	case LAYOUT_USERNS_REMAP:
		put_word(f, "--userns-remap=", q->user);
		break;
	case LAYOUT_PID:
		bfmt(pid, sizeof(pid), "%d", (int)q->pid);
		put_word(f, "--pid=", pid);
		break;
	default:
		if (q->uid_spec || q->gid_spec) {
			if (q->uid_spec)
				put_word(f, "--uid-map=", q->uid_spec);
			if (q->gid_spec)
				put_word(f, "--gid-map=", q->gid_spec);
			if (!q->uid_spec || !q->gid_spec)
				put_word(f, "--map=", q->map_spec);
		} else {
			put_word(f, "--map=", q->map_spec ? q->map_spec : "?");
		}
		break;
	}
	if (q->kind == LAYOUT_ROOTLESS || q->kind == LAYOUT_USERNS_REMAP) {
		if (q->subuid_path)
			put_word(f, "--subuid-file=", q->subuid_path);
		if (q->subgid_path)
			put_word(f, "--subgid-file=", q->subgid_path);
	}
	if (ms->rootfs && ms->rootfs != dr->image_root &&
	    ((ms->passwd_path && ms->passwd_in_root) ||
	     (ms->group_path && ms->group_in_root)))
		put_word(f, "--rootfs=", ms->rootfs);
	if (ms->passwd_path && !ms->passwd_in_root)
		put_word(f, "--passwd=", ms->passwd_path);
	if (ms->group_path && !ms->group_in_root)
		put_word(f, "--group=", ms->group_path);
	if (fclose(f) != 0 || !buf)
		die(EXIT_FAIL, "out of memory");
	return buf;
}

static void user_arg(const struct doctor *dr, char *buf, size_t len)
{
	bfmt(buf, len, "%u:%u", dr->c_uid, dr->c_gid);
}

/* The mount point to suggest, always absolute (a name such as "-rf" must
 * never be taken for an option); malloc'd. */
static char *default_target(const struct doctor *dr)
{
	const char *base = strrchr(dr->realpath, '/');
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char cwd[PATH_MAX];
	char *out = NULL;
	int r;

	base = base && base[1] ? base + 1 : "volume";
	if (dr->target && dr->target[0] == '/')
		r = asprintf(&out, "%s", dr->target);
	else if (dr->target)
		r = asprintf(&out, "%s/%s", getcwd(cwd, sizeof(cwd)) ? cwd : ".",
			     dr->target);
	else if (getuid() == 0)
		r = asprintf(&out, "/srv/shiftfs/%s", base);
	else if (xdg && *xdg == '/')
		r = asprintf(&out, "%s/shiftfs/%s", xdg, base);
	else
		r = asprintf(&out, "%s.shifted", dr->realpath);
	if (r < 0)
		die(EXIT_FAIL, "out of memory");
	return out;
}

/* A JSON string literal (valid YAML too) for s, for the compose line. */
static char *yaml_str(const char *s)
{
	struct json_object *j = json_string_bytes(s);
	char *out = xstrdup(json_object_to_json_string_ext(
		j, JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(j);
	return out;
}

static void run_snippets(const struct doctor *dr, struct fix *f,
			 const char *src)
{
	const char *z = dr->selinux ? ":z" : "";
	const char *eng = dr->engine ? dr->engine : "docker";
	_cleanup_free_ char *vol = NULL, *qvol = NULL, *yvol = NULL;

	if (asprintf(&vol, "%s:%s%s", src, dr->container_path, z) < 0)
		die(EXIT_FAIL, "out of memory");
	qvol = sh_quote(vol);
	yvol = yaml_str(vol);
	add_cmd(f, "%s run --user %u:%u -v %s IMAGE", eng, dr->c_uid,
		dr->c_gid, qvol);
	/* A shell comment: pasting it runs nothing. */
	add_cmd(f,
		"# compose: services: { app: { user: \"%u:%u\", volumes: "
		"[%s] } }",
		dr->c_uid, dr->c_gid, yvol);
}

static int build_fixes(struct doctor *dr, struct fix *fx)
{
	char user[64], cnt[32];
	_cleanup_free_ char *map = NULL, *target = NULL, *qreal = NULL,
			    *qtarget = NULL, *qmnt = NULL;
	int n = 0, i, j;
	uint64_t total = dr->failed[SC_ASIS];

	if (!total && !dr->truncated)
		return 0;
	map = mapsrc_args(dr);
	user_arg(dr, user, sizeof(user));
	target = default_target(dr);
	qreal = sh_quote(dr->realpath);
	qtarget = sh_quote(target);
	qmnt = sh_quote(dr->mnt_point[0] ? dr->mnt_point : "/");

	if (dr->rofs) {
		struct fix *f = &fx[n++];

		memset(f, 0, sizeof(*f));
		f->kind = "remount";
		f->remaining = -1;
		bfmt(f->summary, sizeof(f->summary),
		     "%s is on a read-only mount (%s): nothing can be "
		     "written there until it is remounted read-write",
		     dr->path, dr->mnt_point);
		add_cmd(f, "mount -o remount,rw %s", qmnt);
	}
	if (total) {
		struct fix *f = &fx[n++];

		memset(f, 0, sizeof(*f));
		f->kind = "mount";
		f->remaining = (int64_t)dr->failed[SC_MOUNT];
		bfmt(f->summary, sizeof(f->summary),
		     "Show the data shifted, change nothing on disk: host "
		     "owner %u:%u appears as the container's %s",
		     dr->h_uid, dr->h_gid, user);
		add_cmd(f, "shiftctl mount %s --user=%s --owner=%u:%u --mkdir %s %s",
			map, user, dr->h_uid, dr->h_gid, qreal, qtarget);
		run_snippets(dr, f, target);

		f = &fx[n++];
		memset(f, 0, sizeof(*f));
		f->kind = "chown";
		f->remaining = (int64_t)dr->failed[SC_CHOWN];
		bfmt(f->summary, sizeof(f->summary),
		     "Rewrite the owners on disk once (undoable): every "
		     "entry owned by the container's %s, host %u:%u",
		     user, dr->k_uid, dr->k_gid);
		add_cmd(f, "shiftctl chown %s --user=%s %s", map, user, qreal);
		run_snippets(dr, f, dr->realpath);
	}
	if (total && dr->nowners > 1 && dr->failed[SC_SHIFT] < total) {
		struct fix *f = &fx[n++];

		memset(f, 0, sizeof(*f));
		f->kind = "shift";
		f->remaining = (int64_t)dr->failed[SC_SHIFT];
		bfmt(f->summary, sizeof(f->summary),
		     "The tree has %zu different owners: if they are the "
		     "container's own ids (copied from an image or another "
		     "machine), shift each one through the map on disk",
		     dr->nowners);
		add_cmd(f, "shiftctl shift %s %s", map, qreal);
		run_snippets(dr, f, dr->realpath);
	}
	if (total && dr->engine && !strcmp(dr->engine, "podman") &&
	    dr->rootless && dr->ms.req.kind == LAYOUT_ROOTLESS &&
	    dr->h_uid == (uint32_t)getuid()) {
		struct fix *f = &fx[n++];
		_cleanup_free_ char *vol = NULL, *qvol = NULL;

		memset(f, 0, sizeof(*f));
		f->kind = "podman-keep-id";
		f->remaining = -1;
		bfmt(f->summary, sizeof(f->summary),
		     "podman only: map your own uid to the container's "
		     "USER for this container");
		if (asprintf(&vol, "%s:%s%s", dr->realpath, dr->container_path,
			     dr->selinux ? ":z" : "") < 0)
			die(EXIT_FAIL, "out of memory");
		qvol = sh_quote(vol);
		add_cmd(f, "podman run --userns=keep-id:uid=%u,gid=%u -v %s "
			   "IMAGE",
			dr->c_uid, dr->c_gid, qvol);
	}
	/* Rank the judged fixes by what they leave, mount before chown on a
	 * tie (lossless first); unjudged ones keep their place. */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (fx[i].remaining >= 0 && fx[j].remaining >= 0 &&
			    fx[j].remaining < fx[i].remaining) {
				struct fix t = fx[i];

				fx[i] = fx[j];
				fx[j] = t;
			}
	/* What the best one leaves, when modes or a mask are to blame: a
	 * command to run afterwards, its reason as a shell comment. */
	for (i = 0; i < n; i++) {
		int sc = !strcmp(fx[i].kind, "mount")	? SC_MOUNT
			 : !strcmp(fx[i].kind, "chown") ? SC_CHOWN
			 : !strcmp(fx[i].kind, "shift") ? SC_SHIFT
							: -1;

		if (sc < 0 || fx[i].remaining <= 0)
			continue;
		if (dr->fail_owner_bits[sc])
			add_cmd(&fx[i],
				"chmod -R u+%sX %s   # then: the owner's own "
				"mode bits deny %s entries",
				dr->need & ACCESS_W ? "rw" : "r", qreal,
				fmt_count(dr->fail_owner_bits[sc], cnt));
		if (dr->fail_mask[sc])
			add_cmd(&fx[i],
				"setfacl -R -m m::rwX %s   # then: an ACL "
				"mask denies %s entries",
				qreal, fmt_count(dr->fail_mask[sc], cnt));
	}
	return n;
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

static const char *cname(uint32_t c, bool uid, bool mapped,
			 const struct doctor *dr)
{
	(void)dr;
	if (!mapped)
		return uid ? "nobody" : "nogroup";
	if (c == 0)
		return "root";
	return NULL;
}

static void owner_line(const struct doctor *dr, const struct owner_stat *os,
		       FILE *out)
{
	char a[32], b[32], who[64];
	uint32_t cu = dr->maps.overflow_uid, cg = dr->maps.overflow_gid;
	bool um = idmap_to_disk(&dr->maps.uid, os->uid, &cu) == 0;
	bool gm = idmap_to_disk(&dr->maps.gid, os->gid, &cg) == 0;
	const char *nu = cname(cu, true, um, dr),
		   *ng = cname(cg, false, gm, dr);

	if (!um)
		cu = dr->maps.overflow_uid;
	if (!gm)
		cg = dr->maps.overflow_gid;
	bfmt(who, sizeof(who), "USER %s", dr->user_spec);
	fprintf(out,
		"  %s entries owned by host %u:%u appear in the "
		"container as %u:%u",
		fmt_count(os->entries, a), os->uid, os->gid, cu, cg);
	if (nu || ng)
		fprintf(out, " (%s:%s)", nu ? nu : "-", ng ? ng : "-");
	if (!um || !gm)
		fprintf(out, ", the overflow id: %s not mapped",
			!um && !gm ? "uid and gid are"
			: !um	   ? "the uid is"
				   : "the gid is");
	fputs("\n", out);
	if (!os->not_ok) {
		fprintf(out, "    %s has the access needed on all of them\n",
			who);
		return;
	}
	if (os->unreachable)
		fprintf(out, "    %s cannot reach %s of them\n", who,
			fmt_count(os->unreachable, a));
	if (os->no_read)
		fprintf(out, "    %s cannot read %s of them\n", who,
			fmt_count(os->no_read, a));
	if (os->no_write)
		fprintf(out, "    %s cannot write %s of them\n", who,
			fmt_count(os->no_write, a));
	if (os->no_delete)
		fprintf(out,
			"    %s cannot delete or rename %s of them "
			"(sticky directory)\n",
			who, fmt_count(os->no_delete, a));
	if (os->no_exec)
		fprintf(out, "    %s cannot execute %s of them\n", who,
			fmt_count(os->no_exec, b));
	for (int i = 0; i < os->nsamples; i++)
		fprintf(out, "      e.g. %s\n", os->samples[i]);
}

static void notes(const struct doctor *dr,
		  void (*cb)(void *ctx, const char *note), void *ctx)
{
	char buf[700], a[32];

	if (dr->engine && dr->rootless)
		bfmt(buf, sizeof(buf),
		     "rootless %s: the container's root is host uid %u, "
		     "its other ids are your subordinate ids; files you "
		     "own on the host appear as root inside",
		     dr->engine, dr->root_mapped ? dr->root_k_uid : 0);
	else if (dr->rootless)
		bfmt(buf, sizeof(buf),
		     "rootless engine: the container's root is host uid "
		     "%u, its other ids are subordinate ids",
		     dr->root_mapped ? dr->root_k_uid : 0);
	else if (dr->ms.req.kind == LAYOUT_USERNS_REMAP && dr->remap_user[0])
		bfmt(buf, sizeof(buf),
		     "docker userns-remap=%s is configured: container ids "
		     "are shifted into %s's subordinate range",
		     dr->remap_user, dr->remap_user);
	else
		buf[0] = '\0';
	if (buf[0])
		cb(ctx, buf);
	if (dr->remap_user[0] && dr->ms.req.kind != LAYOUT_USERNS_REMAP &&
	    !dr->rootless) {
		bfmt(buf, sizeof(buf),
		     "docker's daemon.json sets userns-remap=%s, but the "
		     "map used here is not that layout; rootful docker "
		     "containers use --userns-remap=%s",
		     dr->remap_user, dr->remap_user);
		cb(ctx, buf);
	}
	if (dr->rofs) {
		bfmt(buf, sizeof(buf),
		     "%s is on a read-only mount (%s): every write fails "
		     "with EROFS whatever the owners",
		     dr->path, dr->mnt_point);
		cb(ctx, buf);
	}
	if (dr->noexec) {
		bfmt(buf, sizeof(buf),
		     "%s is mounted noexec (%s): programs on it cannot "
		     "be executed",
		     dr->path, dr->mnt_point);
		cb(ctx, buf);
	}
	if (dr->nosuid && dr->setid_files) {
		bfmt(buf, sizeof(buf),
		     "%s is mounted nosuid: the setuid/setgid bits of %s "
		     "files have no effect",
		     dr->path, fmt_count(dr->setid_files, a));
		cb(ctx, buf);
	}
	if (dr->selinux) {
		bfmt(buf, sizeof(buf),
		     "SELinux is enforcing: add :z (shared) or :Z "
		     "(private) to the -v option so the container may "
		     "use the files");
		cb(ctx, buf);
	}
	if (!strncmp(dr->fstype, "fuse.shiftfs", 12)) {
		bfmt(buf, sizeof(buf), "%s is already on a shiftfs mount (%s)",
		     dr->path, dr->mnt_point);
		cb(ctx, buf);
	}
	if (dr->shifted_view) {
		bfmt(buf, sizeof(buf),
		     "%s is a shifted view: owners shown there as %u:%u (the "
		     "overflow ids) are unmapped and match nobody, not even "
		     "root",
		     dr->mnt_point, dr->kernel_ov_uid, dr->kernel_ov_gid);
		cb(ctx, buf);
	}
	if (dr->skipped_mounts) {
		bfmt(buf, sizeof(buf),
		     "%s directories are other mounts and were not "
		     "scanned",
		     fmt_count(dr->skipped_mounts, a));
		cb(ctx, buf);
	}
	if (dr->truncated) {
		bfmt(buf, sizeof(buf),
		     "the scan stopped after %s entries (--max-files): "
		     "the rest of the tree was not checked",
		     fmt_count(dr->scanned, a));
		cb(ctx, buf);
	}
	if (dr->first_error) {
		bfmt(buf, sizeof(buf), "could not read everything: %s",
		     dr->first_error);
		cb(ctx, buf);
	}
}

static void note_text(void *ctx, const char *note)
{
	fprintf(ctx, "  note: %s\n", note);
}

static void note_json(void *ctx, const char *note)
{
	json_object_array_add(ctx, json_string_bytes(note));
}

static const char *need_str(unsigned need)
{
	return need == ACCESS_R		       ? "r"
	       : need == (ACCESS_R | ACCESS_W) ? "rw"
					       : "rwx";
}

static bool all_ok(const struct doctor *dr)
{
	return !dr->failed[SC_ASIS] && !dr->truncated && !dr->first_error;
}

static void print_text(struct doctor *dr, struct fix *fx, int nfix)
{
	char a[32], b[32], desc[160];
	size_t i;

	mapsrc_describe(&dr->ms, desc, sizeof(desc));
	printf("Volume %s, container USER %s (%s needed)\n", dr->realpath,
	       dr->user_spec, need_str(dr->need));
	if (dr->map_given == LAYOUT_EXPLICIT || dr->map_given == LAYOUT_PID)
		printf("Map: %s, as given (engine for the commands below: "
		       "%s)\n",
		       desc, dr->engine ? dr->engine : "docker");
	else
		printf("Engine: %s%s (from %s); map: %s\n",
		       dr->rootless ? "rootless " : "rootful ",
		       dr->engine ? dr->engine : "container engine",
		       dr->engine_why, desc);
	printf("  the container's uid %u%s%s%s is host uid %u; gid %u is host "
	       "gid %u\n",
	       dr->c_uid, dr->c_name[0] ? " (" : "", dr->c_name,
	       dr->c_name[0] ? ")" : "", dr->k_uid, dr->c_gid, dr->k_gid);
	if (dr->c_ngroups > 1) {
		printf("  supplementary groups:");
		for (i = 1; i < dr->c_ngroups; i++) {
			uint32_t k;

			if (idmap_to_view(&dr->maps.gid, dr->c_groups[i], &k) ==
			    0)
				printf(" %u (host %u)", dr->c_groups[i], k);
			else
				printf(" %u (unmapped: dropped)",
				       dr->c_groups[i]);
		}
		printf("\n");
	}
	if (dr->c_uid != 0 && dr->root_mapped)
		printf("  the container's root is host uid %u\n",
		       dr->root_k_uid);
	if (dr->c_uid == 0)
		printf("  USER is the container's root: its capabilities "
		       "override modes only on entries whose owner and group "
		       "are both mapped\n");
	printf("\nTree: %s entries scanned on %s (%s)%s\n",
	       fmt_count(dr->scanned, a), dr->mnt_point, dr->fstype,
	       dr->acl_entries ? "" : "; no ACLs");
	if (dr->acl_entries)
		printf("  %s entries carry POSIX ACLs\n",
		       fmt_count(dr->acl_entries, b));
	for (i = 0; i < dr->nowners; i++)
		owner_line(dr, &dr->owners[i], stdout);
	if (dr->other_owners.entries)
		owner_line(dr, &dr->other_owners, stdout);
	printf("\n");
	notes(dr, note_text, stdout);

	if (all_ok(dr)) {
		printf("Verdict: USER %s has %s access to all %s entries. "
		       "Nothing needs changing.\n",
		       dr->user_spec, need_str(dr->need),
		       fmt_count(dr->scanned, a));
		return;
	}
	if (dr->failed[SC_ASIS])
		printf("Verdict: USER %s lacks %s access to %s of %s "
		       "entries.\n",
		       dr->user_spec, need_str(dr->need),
		       fmt_count(dr->failed[SC_ASIS], a),
		       fmt_count(dr->scanned, b));
	else
		printf("Verdict: no problem in the %s entries scanned, but "
		       "the tree was not scanned completely (see the notes).\n",
		       fmt_count(dr->scanned, a));
	if (!nfix)
		return;
	printf("\nFixes, best first:\n");
	for (int k = 0; k < nfix; k++) {
		printf("  %d. %s", k + 1, fx[k].summary);
		if (fx[k].remaining == 0)
			printf(" (fixes all %s)",
			       fmt_count(dr->failed[SC_ASIS], a));
		else if (fx[k].remaining > 0)
			printf(" (leaves %s of %s)",
			       fmt_count((uint64_t)fx[k].remaining, a),
			       fmt_count(dr->failed[SC_ASIS], b));
		printf("\n");
		for (int c = 0; c < fx[k].ncmd; c++)
			printf("       %s\n", fx[k].commands[c]);
	}
}

static struct json_object *json_u32_array(const uint32_t *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64(v[i]));
	return a;
}

static struct json_object *json_owner(const struct doctor *dr,
				      const struct owner_stat *os)
{
	struct json_object *o = json_object_new_object();
	uint32_t c;

#define NUM(k, v) json_object_object_add(o, k, json_object_new_int64(v))
	NUM("disk_uid", os->uid);
	NUM("disk_gid", os->gid);
	json_object_object_add(o, "container_uid",
			       json_container_id(&dr->maps.uid, os->uid));
	json_object_object_add(o, "container_gid",
			       json_container_id(&dr->maps.gid, os->gid));
	NUM("shown_uid", idmap_to_disk(&dr->maps.uid, os->uid, &c) == 0
				 ? c
				 : dr->maps.overflow_uid);
	NUM("shown_gid", idmap_to_disk(&dr->maps.gid, os->gid, &c) == 0
				 ? c
				 : dr->maps.overflow_gid);
	NUM("entries", os->entries);
	NUM("denied", os->not_ok);
	NUM("unreachable", os->unreachable);
	NUM("cannot_read", os->no_read);
	NUM("cannot_write", os->no_write);
	NUM("cannot_delete", os->no_delete);
	NUM("cannot_exec", os->no_exec);
#undef NUM
	return o;
}

static void print_json(struct doctor *dr, struct fix *fx, int nfix)
{
	struct json_object *o = json_object_new_object(), *u, *e, *m, *t, *a;
	size_t i;

	json_add_bytes(o, "path", dr->realpath);
	json_object_object_add(o, "need",
			       json_string_bytes(need_str(dr->need)));
	json_object_object_add(o, "ok", json_object_new_boolean(all_ok(dr)));

	u = json_object_new_object();
	json_object_object_add(u, "spec",
			       json_string_bytes(dr->user_spec));
	json_object_object_add(
		u, "name",
		dr->c_name[0] ? json_string_bytes(dr->c_name) : NULL);
	json_object_object_add(u, "uid", json_object_new_int64(dr->c_uid));
	json_object_object_add(u, "gid", json_object_new_int64(dr->c_gid));
	json_object_object_add(u, "groups",
			       json_u32_array(dr->c_groups, dr->c_ngroups));
	json_object_object_add(u, "host_uid", json_object_new_int64(dr->k_uid));
	json_object_object_add(u, "host_gid", json_object_new_int64(dr->k_gid));
	json_object_object_add(u, "host_groups",
			       json_u32_array(dr->k_groups, dr->k_ngroups));
	json_object_object_add(u, "container_root",
			       json_object_new_boolean(dr->c_uid == 0));
	json_object_object_add(o, "user", u);

	e = json_object_new_object();
	json_object_object_add(e, "name",
			       dr->engine ? json_string_bytes(dr->engine)
					  : NULL);
	json_object_object_add(e, "rootless",
			       json_object_new_boolean(dr->rootless));
	json_object_object_add(e, "detected_from",
			       json_string_bytes(dr->engine_why));
	json_object_object_add(e, "userns_remap",
			       dr->remap_user[0]
				       ? json_string_bytes(dr->remap_user)
				       : NULL);
	json_object_object_add(e, "selinux",
			       json_object_new_boolean(dr->selinux));
	json_object_object_add(o, "engine", e);

	m = json_object_new_object();
	json_object_object_add(
		m, "layout",
		json_string_bytes(layout_kind_name(dr->ms.req.kind)));
	json_object_object_add(m, "uid_map", json_idmap(&dr->maps.uid));
	json_object_object_add(m, "gid_map", json_idmap(&dr->maps.gid));
	json_object_object_add(m, "overflow_uid",
			       json_object_new_int64(dr->maps.overflow_uid));
	json_object_object_add(m, "overflow_gid",
			       json_object_new_int64(dr->maps.overflow_gid));
	json_object_object_add(
		m, "root_host_uid",
		dr->root_mapped ? json_object_new_int64(dr->root_k_uid) : NULL);
	json_object_object_add(o, "map", m);

	t = json_object_new_object();
	json_add_bytes(t, "mount_point", dr->mnt_point);
	json_object_object_add(t, "fstype", json_string_bytes(dr->fstype));
	json_object_object_add(t, "read_only",
			       json_object_new_boolean(dr->rofs));
	json_object_object_add(t, "noexec",
			       json_object_new_boolean(dr->noexec));
	json_object_object_add(t, "nosuid",
			       json_object_new_boolean(dr->nosuid));
	json_object_object_add(o, "mount", t);

	json_object_object_add(o, "scanned",
			       json_object_new_int64(dr->scanned));
	json_object_object_add(
		o, "complete",
		json_object_new_boolean(!dr->truncated && !dr->first_error));
	json_object_object_add(o, "denied",
			       json_object_new_int64(dr->failed[SC_ASIS]));
	json_object_object_add(o, "acl_entries",
			       json_object_new_int64(dr->acl_entries));
	a = json_object_new_array();
	for (i = 0; i < dr->nowners; i++)
		json_object_array_add(a, json_owner(dr, &dr->owners[i]));
	json_object_object_add(o, "owners", a);
	json_object_object_add(o, "entries_listed",
			       json_string_bytes(dr->list_none ? "none"
						      : dr->list_all
							      ? "all"
							      : "denied"));
	json_object_object_add(o, "entries", dr->entries);
	dr->entries = NULL;

	a = json_object_new_array();
	notes(dr, note_json, a);
	json_object_object_add(o, "notes", a);

	a = json_object_new_array();
	for (int k = 0; k < nfix; k++) {
		struct json_object *f = json_object_new_object(), *c;

		json_object_object_add(f, "rank", json_object_new_int(k + 1));
		json_object_object_add(f, "kind",
				       json_string_bytes(fx[k].kind));
		json_object_object_add(f, "summary",
				       json_string_bytes(fx[k].summary));
		json_object_object_add(
			f, "remaining",
			fx[k].remaining >= 0
				? json_object_new_int64(fx[k].remaining)
				: NULL);
		c = json_object_new_array();
		for (int j = 0; j < fx[k].ncmd; j++)
			json_object_array_add(
				c, json_string_bytes(fx[k].commands[j]));
		json_object_object_add(f, "commands", c);
		for (int j = 0; j < fx[k].ncmd; j++) {
			/* The exact bytes of every command, when one holds
			 * a name that is not UTF-8. */
			if (utf8_valid(fx[k].commands[j]))
				continue;
			c = json_object_new_array();
			for (int h = 0; h < fx[k].ncmd; h++)
				json_object_array_add(
					c, json_hex_bytes(fx[k].commands[h]));
			json_object_object_add(f, "commands_hex", c);
			break;
		}
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "fixes", a);
	json_print(o);
}

/* ---------------------------------------------------------------------- */

int cmd_doctor(int argc, char **argv)
{
	static struct doctor dr;
	static struct fix fx[8];
	uint32_t v;
	struct opts p;
	int c, r, nfix;
	struct stat st;

	memset(&dr, 0, sizeof(dr));
	mapsrc_init(&dr.ms, "doctor");
	dr.need = ACCESS_R | ACCESS_W;
	dr.container_path = "/data";
	opts_init(&p, "hq", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (mapsrc_option(&dr.ms, c, optarg))
			continue;
		switch (c) {
		case OPT_JSON:
			dr.json = true;
			break;
		case OPT_USER:
			dr.user_spec = optarg;
			break;
		case OPT_IMAGE:
			dr.image = optarg;
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "podman") &&
			    strcmp(optarg, "docker"))
				usage_error("doctor",
					    "--engine takes podman or docker, "
					    "not '%s'",
					    optarg);
			dr.engine_opt = optarg;
			break;
		case OPT_ROOTFUL:
			dr.rootful = true;
			break;
		case OPT_DOCKER_CONFIG:
			dr.docker_config = optarg;
			break;
		case OPT_NEED:
			if (!strcmp(optarg, "r"))
				dr.need = ACCESS_R;
			else if (!strcmp(optarg, "rw"))
				dr.need = ACCESS_R | ACCESS_W;
			else if (!strcmp(optarg, "rwx"))
				dr.need = ACCESS_R | ACCESS_W | ACCESS_X;
			else
				usage_error("doctor",
					    "--need takes r, rw or rwx, not "
					    "'%s'",
					    optarg);
			break;
		case OPT_MAX_FILES:
			r = parse_u32(optarg, 1, UINT32_MAX, &v);
			if (r < 0)
				usage_error("doctor", "--max-files '%s': %s",
					    optarg, parse_u32_reason(r));
			dr.max_files = v;
			break;
		case OPT_LIST:
			if (!strcmp(optarg, "all"))
				dr.list_all = true;
			else if (!strcmp(optarg, "none"))
				dr.list_none = true;
			else if (strcmp(optarg, "denied"))
				usage_error("doctor",
					    "--list takes denied, all or none, "
					    "not '%s'",
					    optarg);
			break;
		case OPT_TARGET:
			dr.target = optarg;
			break;
		case OPT_CONTAINER_PATH:
			dr.container_path = optarg;
			break;
		case 'q':
			dr.quiet = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("doctor");
		}
	}
	if (optind >= argc)
		usage_error("doctor", "missing PATH");
	dr.path = argv[optind++];
	if (optind < argc)
		usage_error("doctor", "unexpected argument '%s'", argv[optind]);
	if (!dr.user_spec && !dr.image)
		usage_error("doctor", "give the container's --user=USER (or "
				      "--image=NAME)");
	if (dr.rootful && dr.ms.req.kind == LAYOUT_ROOTLESS)
		usage_error("doctor", "--rootful conflicts with --rootless");
	if (dr.json)
		dr.quiet = true;
	if (!realpath(dr.path, dr.realpath))
		die(EXIT_FAIL, "%s: %s", dr.path, strerror(errno));
	if (lstat(dr.realpath, &st) < 0)
		die(EXIT_FAIL, "%s: %s", dr.path, strerror(errno));
	dr.h_uid = st.st_uid;
	dr.h_gid = st.st_gid;

	absolute(&dr.ms.req.subuid_path, dr.subuid_abs);
	absolute(&dr.ms.req.subgid_path, dr.subgid_abs);
	if (dr.image)
		load_image(&dr);
	detect_engine(&dr);
	resolve_user(&dr);
	build_map(&dr);
	find_mount(&dr);
	{
		static struct idmaps k;

		idmaps_init(&k);
		dr.kernel_ov_uid = k.overflow_uid;
		dr.kernel_ov_gid = k.overflow_gid;
	}
	dr.selinux = selinux_enforcing();
	if (dr.json)
		dr.entries = json_object_new_array();

	scan(&dr);
	nfix = build_fixes(&dr, fx);
	if (dr.json)
		print_json(&dr, fx, nfix);
	else
		print_text(&dr, fx, nfix);
	free_fixes(fx, nfix);
	if (dr.image)
		cleanup_image(&dr);
	mapsrc_release(&dr.ms);
	for (size_t i = 0; i < dr.nowners; i++)
		for (int k = 0; k < dr.owners[i].nsamples; k++)
			free(dr.owners[i].samples[k]);
	for (int k = 0; k < dr.other_owners.nsamples; k++)
		free(dr.other_owners.samples[k]);
	free(dr.first_error);
	json_object_put(dr.entries);
	return all_ok(&dr) ? EXIT_OK : EXIT_FAIL;
}
