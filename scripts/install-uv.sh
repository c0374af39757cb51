#!/bin/sh
# Install uv, the one tool dagent needs first, for this user (into ~/.local/bin):
# nothing when it is there already, else from PyPI with this machine's python3.
set -e
if command -v uv >/dev/null 2>&1 || [ -x "$HOME/.local/bin/uv" ]; then
    exit 0
fi
if ! python3 -m pip install --user --quiet uv 2>/dev/null; then
    # Debian 12, Ubuntu 23.04 and later mark their Python as externally managed
    # (PEP 668) and refuse even a per-user install. uv is one self-contained
    # program installed for this user only; it touches no package of the system.
    python3 -m pip install --user --quiet --break-system-packages uv
fi
