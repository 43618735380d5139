"""The built wheel works anywhere: notebooks and templates ship inside the package."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-v", "-w", str(dist)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    # the build backend's output (-v) has no deprecation warning (e.g. the old license table)
    assert "deprecated" not in (build.stdout + build.stderr).lower()
    wheel = next(dist.glob("csreport-*.whl"))

    venv = tmp_path / "fresh-venv"
    subprocess.run([str(BIN / "uv"), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([str(BIN / "uv"), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                    str(wheel)], check=True)

    elsewhere = tmp_path / "elsewhere"  # nothing of the checkout here, nor on PYTHONPATH
    elsewhere.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
           "LANG": "C.UTF-8"}

    def csreport(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "csreport"), *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True)

    demo = csreport("demo", "--out", "data", "--end", "2026-10", "--scale", "0.02", "--seed", "3")
    assert demo.returncode == 0, demo.stderr
    run = csreport("run", "--data", "data", "--period", "2026-10", "--out", "reports", "--quiet")
    assert run.returncode == 0, run.stderr
    folder = elsewhere / "reports" / "2026-10"
    html = (folder / "customer-success-report-2026-10.html").read_text(encoding="utf-8")
    assert "Customer Success Report" in html and "October 2026" in html and "<svg" in html
    pdf = PdfReader(folder / "customer-success-report-2026-10.pdf")
    assert len(pdf.pages) >= 3 and "October 2026" in pdf.pages[0].extract_text()
    # the package was imported from the fresh environment, not from the checkout
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import csreport; print(csreport.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True).stdout
    assert str(venv) in where and str(ROOT) not in where
