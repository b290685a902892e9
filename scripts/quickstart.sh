#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what is needed, build, and run the demo (scripts/demo.sh): the
# README's first command. Needs root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
exec bash scripts/demo.sh build
