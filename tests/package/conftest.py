# SPDX-License-Identifier: GPL-2.0-or-later
"""The package test shares the integration tests' fixtures and helpers.

tests/integration/conftest.py is loaded under another module name and its
public names (fixtures, need(), the pytest_sessionfinish hook that fails a
CI run with skips) are re-exported here, so that `from conftest import ...`
in fs_util.py and mount_util.py resolves the same way in both suites.
"""
import importlib.util
import os
import sys

_INTEGRATION = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "integration")
_spec = importlib.util.spec_from_file_location(
    "_integration_conftest", os.path.join(_INTEGRATION, "conftest.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items()
                  if not k.startswith("__")})
if _INTEGRATION not in sys.path:
    sys.path.append(_INTEGRATION)
