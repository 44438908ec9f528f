"""A JupyterLab started the way a person starts it, watched through what it prints and writes.

Used by the first-run, Binder and sidebar tests. Waiting is on the server's own
state (the URL it prints, the runtime file it writes, ``/api/status``); the only
time bounds are generous guards against a hang, never a measure of speed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Jupyter prints the URL with its token once it serves; this waits for that line.
# A token given on the command line is printed as "...".
URL_LINE = re.compile(r"(http://(?:127\.0\.0\.1|localhost):(\d+))/\S*\?token=([0-9a-f]+|\.\.\.)")
# A hang guard for starting (a fresh `make lab` installs everything first), not a speed budget.
START_GUARD_SECONDS = 1800
STOP_GUARD_SECONDS = 60


@dataclass
class RunningLab:
    process: subprocess.Popen
    log: Path
    url: str  # http://127.0.0.1:PORT
    token: str
    runtime_dir: Path

    def get(self, route: str) -> tuple[int, object, dict]:
        """GET ``route`` (``/meshlab/api/...``) with the token: status, decoded JSON body, headers."""
        request = urllib.request.Request(f"{self.url}{route}", headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), dict(error.headers)

    def server_pid(self) -> int:
        """The server's own PID, from the runtime file Jupyter writes for it."""
        port = int(self.url.rsplit(":", 1)[1])
        for info in self.runtime_dir.glob("jpserver-*.json"):
            data = json.loads(info.read_text())
            if data.get("port") == port:
                return int(data["pid"])
        raise AssertionError(f"no runtime file for port {port} in {self.runtime_dir}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_lab(command: list[str], cwd: Path, env: dict[str, str], log: Path, token: str | None = None) -> RunningLab:
    """Run ``command`` (``make lab``, ``meshlab lab``, ``binder/start jupyter lab``) until the server serves.

    ``token``: the one the command sets, when it sets one (Jupyter then prints it masked).
    """
    runtime_dir = Path(env["JUPYTER_RUNTIME_DIR"])
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    guard = time.monotonic() + START_GUARD_SECONDS
    found = None
    while found is None:
        text = log.read_text(errors="replace")
        found = URL_LINE.search(text)
        if found is None:
            if process.poll() is not None:
                raise AssertionError(f"{' '.join(command)} exited with {process.returncode}:\n{text[-4000:]}")
            if time.monotonic() > guard:
                stop_group(process)
                raise AssertionError(f"{' '.join(command)} printed no URL:\n{text[-4000:]}")
            time.sleep(0.5)
    printed = found.group(3)
    assert printed != "..." or token, "the server masks a token it was given: pass it as token="
    lab = RunningLab(process, log, found.group(1).replace("localhost", "127.0.0.1"), token or printed, runtime_dir)
    while True:  # the URL is printed just before the port is polled: wait until it answers
        try:
            if lab.get("/api/status")[0] == 200:
                return lab
        except OSError:
            pass
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{lab.output()[-4000:]}")
        time.sleep(0.2)


def stop_lab(lab: RunningLab) -> None:
    """Stop the server by its own PID (it shuts its kernels down), then whatever started it."""
    try:
        os.kill(lab.server_pid(), signal.SIGTERM)
        lab.process.wait(timeout=STOP_GUARD_SECONDS)
    except (AssertionError, ProcessLookupError, subprocess.TimeoutExpired):
        pass
    stop_group(lab.process)


def stop_group(process: subprocess.Popen) -> None:
    """The last resort: the whole session the command started (make, the server, its kernels)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=STOP_GUARD_SECONDS)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def quiet_lab_settings(folder: Path) -> Path:
    """User settings with no news pop-up and no update check: nothing reaches the network or covers the page."""
    notification = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return folder
