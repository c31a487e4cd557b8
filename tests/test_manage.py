"""Hardening, "the test command fails on a fresh Debian 12 machine": ./manage.sh installs libatomic1 (Playwright's
bundled driver needs it), writes apt/pip detail to a log whose path it prints, and on failure shows the log's tail.

manage.sh runs here on a copy of the repository's set-up files, with fake dpkg-query / python3 first on PATH, so
nothing is installed and no root is needed.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="manage.sh needs bash")


def _packages() -> list[str]:
    text = (ROOT / "manage.sh").read_text()
    m = re.search(r"DEBIAN_PACKAGES=\(([^)]*)\)", text)
    assert m, "manage.sh lists its Debian packages in DEBIAN_PACKAGES=(...)"
    return m.group(1).split()


def test_hardening_manage_installs_libatomic1_for_playwrights_driver():
    assert "libatomic1" in _packages()


def test_hardening_readme_lists_every_debian_package_manage_installs():
    setup = (ROOT / "README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    listed = " ".join(setup.split())  # the list may wrap across lines
    for pkg in _packages():
        if pkg not in ("python3", "python3-venv"):
            assert pkg in listed, pkg


def _fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# A venv whose pip prints a lot (as the real one does), whose pybabel compiles, and whose pytest says it ran.
FAKE_VENV_PYTHON = r'''
if [ "$1 $2" = "-m pip" ]; then
    for i in $(seq 1 50); do echo "Collecting fake-package-$i"; done
    exit "${FAKE_PIP_STATUS:-0}"
fi
if [ "$1 $2" = "-m pytest" ]; then echo "PYTEST RAN $3"; exit 0; fi
exit 0
'''

FAKE_PYTHON3 = r'''
# python3 -m venv DIR
[ "$1 $2" = "-m venv" ] || exit 3
mkdir -p "$3/bin"
cat > "$3/bin/python" <<'EOF'
#!/usr/bin/env bash''' + FAKE_VENV_PYTHON + r'''
EOF
printf '#!/usr/bin/env bash\necho "compiling catalog"\n' > "$3/bin/pybabel"
chmod +x "$3/bin/python" "$3/bin/pybabel"
'''


@pytest.fixture
def checkout(tmp_path):
    """manage.sh with pyproject.toml and a translations catalogue, and fake tools: every Debian package is
    installed (dpkg-query), python3 makes a fake venv."""
    repo = tmp_path / "repo"
    (repo / "translations" / "zh_Hans_CN" / "LC_MESSAGES").mkdir(parents=True)
    (repo / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").write_text("")
    shutil.copy(ROOT / "manage.sh", repo / "manage.sh")
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "dpkg-query", 'echo -n "install ok installed"\n')
    _fake(bin_dir, "python3", FAKE_PYTHON3)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return repo, env


def _run(repo, env, *args):
    return subprocess.run(["bash", str(repo / "manage.sh"), *args], env=env, capture_output=True, text=True, check=False,
                          timeout=60)


def test_hardening_manage_install_is_quiet_and_logs_pip_detail(checkout):
    repo, env = checkout
    done = _run(repo, env, "test", "-k", "smoke")
    assert done.returncode == 0, done.stderr
    log = repo / "instance" / "install.log"
    progress = [line for line in done.stderr.splitlines() if line.startswith("==> ")]
    assert any(line.startswith("==> installing Python dependencies") and f"(log: {log})" in line
               for line in progress), done.stderr
    assert "Collecting" not in done.stdout + done.stderr  # pip's detail went to the log
    assert "Collecting fake-package-50" in log.read_text()
    assert done.stdout.strip() == "PYTEST RAN -k"  # then pytest runs with the arguments


def test_hardening_manage_failed_step_shows_the_logs_tail_and_exits_non_zero(checkout):
    repo, env = checkout
    failed = _run(repo, {**env, "FAKE_PIP_STATUS": "7"}, "test")
    assert failed.returncode == 7
    assert "FAILED: pip install" in failed.stderr
    assert "Collecting fake-package-50" in failed.stderr  # the tail of the log
    assert "Collecting fake-package-1\n" not in failed.stderr  # only the tail
    assert "PYTEST RAN" not in failed.stdout
