#!/usr/bin/env python3
"""Render a btb report.html in headless Chromium: check that every plot drew (a non-empty SVG with a
visible size) and that the page raised no error, and keep a screenshot beside the report.

    scripts/render_report.py results/<id>/report.html      → prints a JSON verdict, exit 1 if it failed

The page itself holds no script. The check runs on a copy that gets a small probe appended (it reads the
SVG sizes after layout and writes them into the DOM, which `--dump-dom` prints); errors raised by the page
are caught by a listener placed before anything else, and Chromium's own console log is read too.
Nothing is fetched: background networking and component updates are off.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--disable-extensions", "--disable-sync", "--mute-audio"]

PROBE_HEAD = """<script>window.__btbErrors=[];addEventListener('error',function(e){__btbErrors.push(String(
e.message||e.type)+' '+(e.filename||(e.target&&(e.target.src||e.target.href))||''))},true);
var __ce=console.error;console.error=function(){__btbErrors.push([].join.call(arguments,' '));__ce.apply(console,arguments)};
</script>"""
PROBE_TAIL = """<script>addEventListener('load',function(){var out=[];
document.querySelectorAll('figure.plot').forEach(function(f){var s=f.querySelector('svg');
var r=s?s.getBoundingClientRect():{width:0,height:0};
out.push({title:f.dataset.title||'',svg:!!s,width:r.width,height:r.height,
shapes:s?s.querySelectorAll('path,line,rect,circle,polygon,polyline,use,text').length:0})});
var res=document.createElement('pre');res.id='btb-render-check';
res.textContent=JSON.stringify({plots:out,errors:__btbErrors,external:[].slice.call(document.querySelectorAll(
'[src],link[href]')).map(function(e){return e.src||e.href})});document.body.appendChild(res)});</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    raise FileNotFoundError("no chromium on PATH (scripts/setup.sh installs Debian's `chromium`)")


def render_check(html: Path, screenshot: Path | None = None, timeout_s: float = 120) -> dict:
    html = Path(html).resolve()
    text = html.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="btb-render-") as tmp:
        probe = Path(tmp) / "probe.html"
        probed = text.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_TAIL + "</body>", 1)
        probe.write_text(probed, encoding="utf-8")
        profile = Path(tmp) / "profile"
        r = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                            "--window-size=1280,2000", "--virtual-time-budget=10000", "--dump-dom",
                            probe.as_uri()], capture_output=True, text=True, timeout=timeout_s)
        m = re.search(r'<pre id="btb-render-check">(.*?)</pre>', r.stdout, re.S)
        if not m:
            return {"ok": False, "why": "the probe did not run", "stderr": r.stderr[-2000:]}
        import html as _html

        res = json.loads(_html.unescape(m.group(1)))
        console = [ln for ln in r.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
        if screenshot is not None:
            subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,3000",
                            f"--screenshot={Path(screenshot).resolve()}", html.as_uri()],
                           capture_output=True, text=True, timeout=timeout_s)
    empty = [p["title"] for p in res["plots"] if not (p["svg"] and p["width"] > 50 and p["height"] > 50
                                                      and p["shapes"] > 10)]
    res.update(console=console, empty=empty,
               ok=bool(res["plots"]) and not empty and not res["errors"] and not console and not res["external"])
    if screenshot is not None:
        res["screenshot"] = str(screenshot) if Path(screenshot).exists() else None
        res["ok"] = res["ok"] and res["screenshot"] is not None
    return res


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: render_report.py REPORT.html", file=sys.stderr)
        return 2
    html = Path(argv[0])
    res = render_check(html, html.with_name("report.png"))
    print(json.dumps({k: v for k, v in res.items() if k != "plots"} | {"plots": len(res.get("plots", []))}, indent=2))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
