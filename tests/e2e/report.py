#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print the table of the last e2e run: one row per step of each scenario,
from the JSON records the scenarios leave in BUILD_DIR/e2e-results/.
Usage: tests/e2e/report.py BUILD_DIR"""
import glob
import json
import os
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    files = sorted(glob.glob(os.path.join(sys.argv[1], "e2e-results",
                                          "*.json")))
    if not files:
        sys.exit(f"no e2e results under {sys.argv[1]}/e2e-results")
    print("| scenario | outcome | time (s) | engines | step | uid inside "
          "| owner on host | result |")
    print("|---|---|---|---|---|---|---|---|")
    for f in files:
        with open(f) as fh:
            r = json.load(fh)
        engines = "; ".join(f"{k}: {v}" for k, v in r["engines"].items())
        rows = r["rows"] or [{"step": "-", "uid_inside": "-",
                              "host_owner": "-", "result": "-"}]
        for i, row in enumerate(rows):
            head = (r["scenario"], r["outcome"], str(r["seconds"]),
                    engines) if i == 0 else ("", "", "", "")
            print("| " + " | ".join(head + (row["step"],
                                             str(row["uid_inside"]),
                                             str(row["host_owner"]),
                                             row["result"])) + " |")


if __name__ == "__main__":
    main()
