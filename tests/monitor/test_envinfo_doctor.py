"""Fingerprint and doctor on this machine: they report what is really here."""

from __future__ import annotations

import os
import subprocess

import pytest
from typer.testing import CliRunner

from btb.doctor import run_checks
from btb.envinfo import environment_fingerprint


def test_fingerprint_has_what_a_result_needs():
    fp = environment_fingerprint({"postgres": "PostgreSQL 15.18"})
    for key in ("host", "kernel", "cpu_model", "cpu_logical", "ram_bytes", "cgroup", "python", "btb_version"):
        assert fp[key] not in (None, ""), key
    assert fp["kernel"] == os.uname().release
    assert fp["cpu_logical"] == os.cpu_count() and fp["ram_bytes"] > 0
    assert fp["engines"] == {"postgres": "PostgreSQL 15.18"}
    assert "git" in fp  # None outside a checkout (an installed wheel); checked below where there is one


def test_fingerprint_names_the_git_revision_in_a_checkout():
    import btb

    repo = os.path.dirname(os.path.dirname(os.path.abspath(btb.__file__)))
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except OSError:
        pytest.skip("no git executable: the fingerprint's revision cannot be checked")
    if head.returncode != 0:
        pytest.skip(f"btb is not running from a git checkout ({repo}): the fingerprint has git=None there")
    fp = environment_fingerprint()
    assert fp["git"]["revision"] == head.stdout.strip() and isinstance(fp["git"]["dirty"], bool)


def test_doctor_probes_for_real_and_explains_every_gap():
    checks = {c.name: c for c in run_checks("redis://127.0.0.1:1/0")}
    cg = checks["cgroup limit"]
    limit_version = environment_fingerprint()["cgroup"]["limit_version"]
    assert (cg.status == "missing") == (limit_version == "none")
    if limit_version != "none":
        assert "process joined: True" in cg.detail and "67108864" in cg.detail
    assert checks["broker"].status == "missing" and "refused" in checks["broker"].detail.lower()
    assert checks["engine postgres"].status == "ok"  # one line per engine kind, from the provider
    assert "limit: " in checks["engine postgres"].detail and "restart: yes" in checks["engine postgres"].detail
    for c in checks.values():
        assert c.status in ("ok", "degraded", "missing")
        assert c.status == "ok" or c.impact, c  # every gap says what it costs
    from btb.cgroups import VERSIONS

    for cls in VERSIONS.values():
        for d in cls.own_dirs().values():
            assert not list(d.glob("btb-doctor-*")), d  # the probe cgroup was removed


def test_doctor_command_prints_a_table():
    import typer

    from btb.cli.doctor import doctor_cmd

    app = typer.Typer()
    app.command("doctor")(doctor_cmd)
    app.command("other")(lambda: None)
    r = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "btb doctor" in r.output and "cgroup limit" in r.output and "docker" in r.output
