"""Everything the service leaves in its data dir is its own user's alone: files 600, folders 700.

Real processes started with a permissive umask (022, a usual login default), as a shell or a
Procfile runner would start them: the service must not depend on the umask it was given.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from crowdexports.config import Settings
from tests.conftest import STACK
from tests.e2e.conftest import CLI, demo_export, free_port, settings_env, wait_for

pytestmark = pytest.mark.slow
PERMISSIVE_UMASK = 0o022


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120,
                          umask=PERMISSIVE_UMASK)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _modes(root: Path) -> dict[str, str]:
    """Every path under `root` (itself included, as "."), with its permission bits as `ls` shows them."""
    found = {".": stat.filemode(root.stat().st_mode)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            found[path.relative_to(root).as_posix()] = stat.filemode(path.lstat().st_mode)
    return found


def test_a_real_run_leaves_nothing_readable_by_others(settings: Settings, tmp_path: Path) -> None:
    """migrate, demo, serve; a token, an xlsx export, its download and its email: then every file under
    the data dir is -rw------- and every folder drwx------ (the database with its -wal and -shm, the
    queue, the rate limits, the secret key, the stored file and the outbox on the embedded stack)."""
    data_dir = tmp_path / "fresh-data-dir"  # made by the processes, not by this test
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = settings_env(settings, CROWDEXPORTS_PUBLIC_URL=base, CROWDEXPORTS_DATA_DIR=str(data_dir))
    del env["CROWDEXPORTS_SECRET_KEY"]  # generated into the data dir by the first command
    _run(["migrate"], env)
    demo = json.loads(_run(["demo", "--json", "--orders", "20"], env))
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "1"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True, umask=PERMISSIVE_UMASK)
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            wait_for(lambda: _healthy(http), timeout=30)
            headers, export_id = demo_export(http, demo, "xlsx")
            url = wait_for(lambda: http.get(f"/v1/exports/{export_id}", headers=headers).json()["url"])
            assert http.get(url, follow_redirects=True).status_code == 200
            wait_for(lambda: list((data_dir / "outbox").glob("*.eml")), timeout=20)
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0, (tmp_path / "serve.log").read_text()[-3000:]
        log.close()

    modes = _modes(data_dir)
    made = {"secret_key", "outbox"}
    if STACK == "embedded":
        made |= {"crowdexports.db", "queue.db", "ratelimits.db", "files/exports"}
    assert made <= set(modes), sorted(modes)
    assert any(path.startswith("outbox/") and path.endswith(".eml") for path in modes)
    assert (STACK == "embedded") == any(path.startswith("files/exports/") and path.endswith(".xlsx") for path in modes)
    wrong = {path: mode for path, mode in modes.items() if mode not in ("-rw-------", "drwx------")}
    assert not wrong, f"readable by others or not private: {wrong}"


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False
