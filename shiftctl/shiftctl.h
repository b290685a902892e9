/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to shiftctl: verbs, exit codes, the MAP SOURCE options every verb
 * shares, and output helpers. Only this layer prints or exits.
 */
#ifndef SHIFTCTL_H
#define SHIFTCTL_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdnoreturn.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "idmap.h"
#include "layout.h"
#include "options.h"
#include "parse_int.h" /* fmt_count: every count in text output */
#include "passwd.h"

/* Exit codes (shiftctl(1), EXIT STATUS). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

extern const char *program_name;
/* main()'s argc and argv as given (for commands printed to paste). */
extern int shiftctl_argc;
extern char **shiftctl_argv;

/* "shiftctl: MSG" on stderr, then exit(code). */
noreturn void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "shiftctl: warning: MSG" on stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After getopt_long printed its own complaint: the "Try" line, exit 2. */
noreturn void usage_try(const char *verb);
/* "shiftctl VERB: MSG" + "Try 'shiftctl VERB --help'." and exit 2. */
noreturn void usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The verbs: argv[0] is the verb name; they return an exit code. */
int cmd_map(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_shift(int argc, char **argv);
int cmd_undo(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_plugin(int argc, char **argv);

/*
 * MAP SOURCE option values (mapsrc_source_opts, mapsrc_file_opts,
 * mapsrc_owner_opts below); verbs number their own from OPT_VERB_FIRST.
 */
enum {
	OPT_MAPSRC_FIRST = 0x1000,
	OPT_ROOTLESS = OPT_MAPSRC_FIRST,
	OPT_USERNS_REMAP,
	OPT_PID,
	OPT_MAP,
	OPT_UID_MAP,
	OPT_GID_MAP,
	OPT_SUBUID_FILE,
	OPT_SUBGID_FILE,
	OPT_ROOTFS,
	OPT_PASSWD,
	OPT_GROUP,
	OPT_OVERFLOW_UID,
	OPT_OVERFLOW_GID,
	OPT_OWNER_MODE_USER,
	OPT_OWNER_MODE_OWNER,
	OPT_MAPSRC_LAST,
	OPT_VERB_FIRST = 0x2000, /* verbs number their own long options here */
};

/*
 * The option groups every verb that needs a map shares (options.h): the
 * map source ("one of"), the map's files, and owner mode's --user=C[:G]
 * --owner=H[:G] for the verbs where --user means owner mode (map, mount;
 * chown and doctor use --user for a target). A verb lists the groups it
 * takes and hands every option it does not know to mapsrc_option().
 */
extern const struct opt_group mapsrc_source_opts, mapsrc_file_opts,
	mapsrc_owner_opts;

struct mapsrc {
	struct layout_req req;
	const char *verb;
	int nsources;     /* layouts named; more than one is a usage error */
	const char *source_opt; /* the option that named it ("map", ...) */
	/* The container's files: names as shown, and whether each is
	 * resolved inside rootfs (--rootfs) or opened as named (--passwd,
	 * --group). Loaded once, on first use. */
	const char *rootfs;
	int rootfd;
	const char *passwd_path, *group_path;
	bool passwd_in_root, group_in_root;
	char passwd_buf[PATH_MAX], group_buf[PATH_MAX];
	struct passwd_db passwd_db, group_db;
	bool passwd_loaded, group_loaded;
	const char *user_spec, *owner_spec; /* owner mode, if set */
};

void mapsrc_init(struct mapsrc *ms, const char *verb);
/* Handle one MAPSRC option; returns false if opt is not one of them. */
bool mapsrc_option(struct mapsrc *ms, int opt, const char *arg);
/* The container's passwd/group files (NULL when none was given). */
const char *mapsrc_passwd(const struct mapsrc *ms);
const char *mapsrc_group(const struct mapsrc *ms);
/*
 * The same files, read (on first call) the safe way: a --rootfs file
 * resolved inside DIR (an absolute symlink stays in the image), regular
 * files only, bounded size; NULL when none was given. A file that cannot
 * be read gives a db whose lookups report why.
 */
const struct passwd_db *mapsrc_passwd_db(struct mapsrc *ms);
const struct passwd_db *mapsrc_group_db(struct mapsrc *ms);
/* Take passwd and group from DIR/etc as --rootfs=DIR does (an image). */
void mapsrc_set_rootfs(struct mapsrc *ms, const char *dir);
/* After a failed container name lookup (err): " (names need the
 * container's files: --rootfs=DIR or --passwd=FILE)" when none was given
 * and err is -ENOENT, else "". */
const char *mapsrc_names_hint(const struct mapsrc *ms, int err);
/* Release the files and the root fd. */
void mapsrc_release(struct mapsrc *ms);
/*
 * Build the maps. With no layout named, default_rootless picks the
 * invoking user's rootless layout, else it is a usage error. With user_spec
 * and owner_spec set (owner mode) the layout is reduced to owner <-> user.
 * Prints one line and exits 1 (2 for usage) on error.
 */
void mapsrc_build(struct mapsrc *ms, bool default_rootless, struct idmaps *out);
/* As root: the user sudo ran us for (SUDO_USER, believed only when it
 * names a non-root user whose uid is SUDO_UID; its uid in *uid when uid is
 * not NULL), else NULL. */
const char *mapsrc_sudo_user(uid_t *uid);
/* The host uid of the rootless layout's user (as mapsrc_build() would
 * take it), or -1 when the map source is not a rootless layout. */
long long mapsrc_rootless_uid(struct mapsrc *ms, bool default_rootless);
/* A short description, e.g. "rootless (alice)" or "pid 1234". */
void mapsrc_describe(const struct mapsrc *ms, char *buf, size_t len);

/* JSON helpers (json-c). */
struct json_object *json_idmap(const struct idmap *m);
/* Print obj pretty to stdout, newline-terminated, and release it. Every
 * string that is not valid UTF-8 is printed as json_add_bytes() does. */
void json_print(struct json_object *obj);
/* s is valid UTF-8 (RFC 3629: no overlongs, no surrogates). */
bool utf8_valid(const char *s);
/*
 * A JSON string for the bytes of s (NULL: JSON null): valid UTF-8 passes
 * through; each byte that is not part of a valid UTF-8 sequence becomes
 * U+FFFD, so the document always parses (shiftctl(1), JSON OUTPUT).
 */
struct json_object *json_string_bytes(const char *s);
/* The bytes of s in lowercase hex, as a JSON string. */
struct json_object *json_hex_bytes(const char *s);
/*
 * obj[key] = json_string_bytes(s), and when s is not valid UTF-8 also
 * obj[key "_hex"] = the exact bytes of s in lowercase hex.
 */
void json_add_bytes(struct json_object *obj, const char *key, const char *s);
/*
 * word quoted for a POSIX shell, malloc'd (dies when out of memory): as is
 * when it is non-empty and made only of [A-Za-z0-9_@%+=:,./-], else in
 * single quotes with each ' written as '\''. Every byte but NUL comes out
 * literal, newlines included. Free it.
 */
char *sh_quote(const char *word);
/*
 * s as it may be shown on a terminal, malloc'd (dies when out of memory):
 * printable UTF-8 as is; a backslash as \\, a newline as \n, and every
 * other byte a terminal could act on as \xHH: C0 controls (ESC, CR, BEL,
 * tab), DEL, C1 controls (U+0080..U+009F, each of their UTF-8 bytes),
 * the direction marks and overrides U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069, and each byte that is not part of valid UTF-8
 * (shiftctl(1), OUTPUT). The escaping walk_escape() does for paths, plus
 * C1 and direction controls. Free it.
 */
char *tty_escape(const char *s);
/* tty_escape(s) would change nothing but backslashes: s may go to a
 * terminal as it is. */
bool tty_safe(const char *s);

#endif
