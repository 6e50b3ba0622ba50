"""One server config file for compose and btb: `config/btb.env` in the working directory (or the file
`BTB_CONFIG` names) is read after the package defaults; environment variables win; a BTB_CONFIG naming
no file is one clear error line."""

from __future__ import annotations

import os
import subprocess
import sys

from btb.config import Settings


def test_the_server_config_in_the_working_directory_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "btb.env").write_text("BTB_REDIS_PORT=16999\nBTB_FLOWER_PORT=16998\nBTB_NODE=fromfile\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BTB_CONFIG")
    monkeypatch.delenv("BTB_REDIS_PORT")
    monkeypatch.delenv("BTB_NODE")
    monkeypatch.setenv("BTB_FLOWER_PORT", "17000")
    s = Settings()
    assert (s.redis_port, s.node, s.flower_port) == (16999, "fromfile", 17000)
    assert s.flower_user == "btb"  # the package default, not set in the server's file
    named = tmp_path / "other.env"
    named.write_text("BTB_REDIS_PORT=17001\n")
    monkeypatch.setenv("BTB_CONFIG", str(named))  # names the file instead of config/btb.env
    s = Settings()
    assert s.redis_port == 17001 and s.node != "fromfile"


def test_a_missing_named_config_is_one_error_line(tmp_path):
    env = os.environ | {"BTB_CONFIG": str(tmp_path / "nope.env")}
    r = subprocess.run([sys.executable, "-m", "btb.cli.main", "status"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 2, r
    assert r.stderr.strip() == f"error: BTB_CONFIG={tmp_path / 'nope.env'}: no such file (copy config/btb.env.example there)"
