# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 5: plain user namespaces. For trees with known owners, modes
and ACLs, and for several container users, `shiftctl doctor`'s verdict
(exit 0: USER has the access asked for on the whole tree, 1: not) agrees
with what really happens when a process with those ids, in a user
namespace with the same map (the rootless layout of the test user, made
by unshare --map-root-user --map-auto through newuidmap), tries it."""
import os

from e2e_util import (ROOTLESS_USER, gid_of, make_rootfs, need_verb,
                      scenario, sh, shiftctl, subid_start, uid_of)

FOREIGN = 12345  # a host id no namespace here maps

PROBE = r'''
need=$1; shift
fail=0
for p in "$@"; do
	if [ -d "$p" ]; then
		ls "$p" >/dev/null 2>&1 || { echo "cannot list $p"; fail=1; }
		if [ "$need" = rw ]; then
			if touch "$p/.e2e-probe" 2>/dev/null; then
				rm -f "$p/.e2e-probe"
			else
				echo "cannot create in $p"; fail=1
			fi
		fi
	else
		cat "$p" >/dev/null 2>&1 || { echo "cannot read $p"; fail=1; }
		if [ "$need" = rw ]; then
			(: >>"$p") 2>/dev/null || { echo "cannot write $p"; fail=1; }
		fi
	fi
done
exit $fail
'''


def build_cases(sc, u, g, c1000):
    """name -> (dir owner, dir mode, file owner, file mode, acl, facl)"""
    cases = {
        "own-0755": ((u, g), 0o755, (u, g), 0o644, None, None),
        "mapped-1000": ((c1000, c1000), 0o755, (c1000, c1000), 0o644,
                        None, None),
        "foreign-0755": ((FOREIGN, FOREIGN), 0o755, (FOREIGN, FOREIGN),
                         0o644, None, None),
        "foreign-0777": ((FOREIGN, FOREIGN), 0o777, (FOREIGN, FOREIGN),
                         0o666, None, None),
        "foreign-private": ((FOREIGN, FOREIGN), 0o700, (FOREIGN, FOREIGN),
                            0o600, None, None),
        # The owning group: the container's gid 1000, group-writable.
        "group-1000": ((u, c1000), 0o770, (u, c1000), 0o660, None, None),
        # A named-user ACL entry grants what the modes deny ...
        "acl-grant": ((u, g), 0o750, (u, g), 0o600,
                      f"u:{c1000}:rwx", f"u:{c1000}:rw"),
        # ... and the mask takes it back.
        "acl-mask": ((u, g), 0o750, (u, g), 0o600,
                     f"u:{c1000}:rwx,m::rx", f"u:{c1000}:rw,m::r"),
    }
    paths = {}
    for name, (downer, dmode, fowner, fmode, acl, facl) in cases.items():
        d = sc.path("trees", name)
        os.makedirs(os.path.join(d, "sub"))
        files = [os.path.join(d, "file"), os.path.join(d, "sub", "file")]
        for f in files:
            with open(f, "w") as fh:
                fh.write(name)
            os.chown(f, *fowner)
            os.chmod(f, fmode)
            if facl:
                sh(["setfacl", "-m", facl, f])
        for dd in (d, os.path.join(d, "sub")):
            os.chown(dd, *downer)
            os.chmod(dd, dmode)
            if acl:
                sh(["setfacl", "-m", acl, dd])
        paths[name] = [d, os.path.join(d, "sub")] + files
    return paths


def real_access(user, cuid, need, paths):
    """Exit status of the probe run as container uid CUID in a user
    namespace with the rootless layout of USER."""
    args = ["unshare", "--user", "--map-root-user", "--map-auto"]
    if cuid != 0:
        args += ["--setuid", str(cuid), "--setgid", str(cuid)]
    p = sh(args + ["sh", "-c", PROBE, "probe", need] + paths, user=user,
           check=False, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, p.stdout.strip()


def test_doctor_agrees_with_the_kernel():
    with scenario("5-doctor-userns") as sc:
        user = ROOTLESS_USER
        u, g = uid_of(user), gid_of(user)
        c1000 = subid_start(user) + 999
        sc.rec.engine("unshare", ["unshare", "--version"])
        rootfs = make_rootfs(sc.path("rootfs"), with_acl_tools=False)
        os.chmod(sc.mkdir("trees"), 0o755)
        cases = build_cases(sc, u, g, c1000)

        # What the kernel says, first: the cases must really differ.
        real = {}
        for name, paths in cases.items():
            for cuid in (0, 999, 1000):
                for need in ("r", "rw"):
                    real[name, cuid, need] = real_access(user, cuid, need,
                                                         paths)
        assert real["mapped-1000", 1000, "rw"][0] == 0
        assert real["own-0755", 1000, "rw"][0] == 1
        assert real["acl-grant", 1000, "rw"][0] == 0
        assert real["acl-mask", 1000, "rw"][0] == 1
        assert real["foreign-private", 0, "r"][0] == 1
        assert real["group-1000", 1000, "rw"][0] == 0
        assert real["group-1000", 999, "r"][0] == 1

        need_verb("doctor")
        disagree = []
        for (name, cuid, need), (rc, why) in sorted(real.items()):
            p = shiftctl("doctor", cases[name][0], f"--user={cuid}",
                         f"--rootless={user}", f"--rootfs={rootfs}",
                         f"--need={need}", check=False)
            assert p.returncode in (0, 1), \
                f"doctor {name} --user={cuid}: exit {p.returncode}\n" \
                f"{p.stderr}"
            verdict = "yes" if p.returncode == 0 else "no"
            actual = "yes" if rc == 0 else "no"
            st = os.stat(cases[name][0])
            sc.rec.add(f"{name} need={need}", cuid,
                       f"{st.st_uid}:{st.st_gid}",
                       f"doctor {verdict}, kernel {actual}")
            if verdict != actual:
                disagree.append(f"{name} user {cuid} need {need}: doctor "
                                f"says {verdict}, kernel says {actual} "
                                f"({why})\n{p.stdout}")
        assert not disagree, "\n".join(disagree)
