"""Engines run as an unprivileged user when btb is root: a binary pip put under a private directory (a venv
below /root, a CI clone in a 0700 home) is copied once to where that user can run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from btb.infra.engines.base import not_world_reachable, reachable_for


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs engines as another user")
def test_binary_in_a_private_dir_is_copied_where_the_engine_user_can_run_it():
    private = Path(tempfile.mkdtemp(prefix="btb-private-"))  # mkdtemp: 0700
    try:
        tool = private / "tool"
        tool.write_text("#!/bin/sh\necho ran\n")
        tool.chmod(0o755)
        assert not_world_reachable(tool) == str(private)
        (copy,) = reachable_for("nobody", [tool], "test")
        assert copy != tool and not not_world_reachable(copy)
        out = subprocess.run(["runuser", "-u", "nobody", "--", str(copy)], capture_output=True, text=True)
        assert out.stdout.strip() == "ran", out.stderr
        assert reachable_for("nobody", [copy], "test") == [copy]  # reachable already: used as it is
        assert reachable_for(None, [tool], "test") == [tool]  # not root: nothing to do
    finally:
        shutil.rmtree(private, ignore_errors=True)
        for d in Path("/var/lib/btb/bin").glob("test-*"):
            shutil.rmtree(d, ignore_errors=True)
