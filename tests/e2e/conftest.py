# SPDX-License-Identifier: GPL-2.0-or-later
"""The e2e suite's session hooks: journals that the guides' and scenarios'
chown/shift runs leave in the default directories are removed at the end
when their tree is gone (tests/integration/journal_sweep.py)."""
import os
import sys

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "integration"))


def pytest_sessionstart(session):
    from journal_sweep import Sweep
    session.shiftfs_journal_sweep = Sweep()


def pytest_sessionfinish(session, exitstatus):
    sweep = getattr(session, "shiftfs_journal_sweep", None)
    if sweep:
        factory = getattr(session.config, "_tmp_path_factory", None)
        sweep.finish(factory.getbasetemp() if factory else None)
