"""Fixtures: the real ``claude-quotad`` binary in a private temp dir, polling
a fake usage API and watching a fake Ollama.

The binaries come from ``$CLAUDE_QUOTAD_BIN``, ``$CLAUDE_QUOTA_CLI_BIN`` and
``$CLAUDE_QUOTA_CASCADE_BIN`` (the Rust test ``tests/tests/python_client.rs``
sets them), else from ``target/debug/`` of this repository. A missing binary
fails the tests rather than skipping them: a suite that skips itself green
proves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from fakes import FakeAnthropic, FakeOllama, FakeUsageApi  # noqa: E402

import claude_quota  # noqa: E402

#: The token in the fake credentials file; the fake usage API accepts only it.
TOKEN = "tok"

#: How long a condition on the daemon's status may take to hold.
WAIT = 10.0


def binary(env: str, relative: str) -> Path:
    """A built binary of the workspace, or a failed test saying how to build it."""
    path = Path(os.environ.get(env) or REPO / "target" / "debug" / relative)
    if not path.exists():
        pytest.fail(f"{path} is missing: run `cargo build --workspace --examples` first (or set ${env})")
    return path


class Daemon:
    """A running ``claude-quotad``; ``stop()`` ends it (the fixture does at teardown)."""

    def __init__(self, root: Path, api_url: str, ollama_url: str) -> None:
        self.root = root
        self.socket = str(root / "s.sock")
        claude = root / "claude"
        config = root / "config" / "claude-quota"
        for directory in (claude, config, root / "home", root / "run", root / "state"):
            directory.mkdir(parents=True, exist_ok=True)
        (claude / ".credentials.json").write_text(
            json.dumps(
                {
                    "claudeAiOauth": {
                        "accessToken": TOKEN,
                        "expiresAt": None,
                        "scopes": ["user:inference", "user:profile"],
                        "subscriptionType": "max",
                    }
                }
            )
        )
        # The fixed poll schedule: tests change the fake API and expect the
        # daemon to see it within a few poll intervals.
        (config / "config.toml").write_text(
            f'[ollama]\nurl = "{ollama_url}"\n[policy]\nadaptive = false\n'
        )
        (config / "config.toml").chmod(0o600)  # whatever the umask: others must not write it
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(root / "home"),
            "XDG_RUNTIME_DIR": str(root / "run"),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_STATE_HOME": str(root / "state"),
            "CLAUDE_CONFIG_DIR": str(claude),
            "RUST_LOG": "claude_quotad=debug,info",
        }
        self.log_path = root / "daemon.log"
        command = [
            str(binary("CLAUDE_QUOTAD_BIN", "claude-quotad")),
            "--config", str(config / "config.toml"),  # macOS ignores XDG_CONFIG_HOME
            "--api-url", api_url,
            "--poll-interval", "0.2",
            "--socket", self.socket,
        ]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self._wait_until_listening()

    def log(self) -> str:
        """Everything the daemon logged, for failure messages."""
        return self.log_path.read_text(errors="replace")

    def wait_for(self, done: Callable[[dict], bool]) -> dict:
        """The first status for which ``done`` holds; fails after ``WAIT`` s."""
        deadline = time.monotonic() + WAIT
        with claude_quota.Client(self.socket) as client:
            while True:
                status = client.status()
                if done(status):
                    return status
                if time.monotonic() > deadline:
                    pytest.fail(f"condition not met; last status: {status}\nlog:\n{self.log()}")
                time.sleep(0.02)

    def wait_for_tier(self, five_hour: float, tier: str) -> dict:
        """Waits until the reading of ``five_hour`` % is in and shows ``tier``."""
        status = self.wait_for(lambda s: (s["five_hour"] or {}).get("utilization") == five_hour)
        assert status["tier"] == tier, status
        return status

    def stop(self) -> None:
        """Ends the daemon and waits for it."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=5)

    def _wait_until_listening(self) -> None:
        """Waits for a connection to succeed: the socket file appears at
        ``bind``, a moment before the daemon listens on it."""
        deadline = time.monotonic() + WAIT
        while True:
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(self.socket)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"claude-quotad did not open {self.socket}; log:\n{self.log()}")
                time.sleep(0.01)
            finally:
                probe.close()


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A private temp dir with a short path, in place of pytest's own: a Unix
    socket path holds at most 103 bytes on macOS, and pytest's directories
    there (``/private/var/folders/…/pytest-of-USER/pytest-N/<test name>0``)
    are longer than that."""
    directory = Path(tempfile.mkdtemp(prefix="cq-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def usage_api() -> Iterator[FakeUsageApi]:
    """The fake usage endpoint, at 5h 10 % / 7d 20 % (burst) until told otherwise."""
    fake = FakeUsageApi(TOKEN)
    yield fake
    fake.close()


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    """A fake Ollama with both default local models pulled."""
    fake = FakeOllama()
    yield fake
    fake.close()


@pytest.fixture
def anthropic() -> Iterator[FakeAnthropic]:
    """A fake Anthropic Messages API."""
    fake = FakeAnthropic()
    yield fake
    fake.close()


@pytest.fixture
def daemon(tmp_path: Path, usage_api: FakeUsageApi, ollama: FakeOllama) -> Iterator[Daemon]:
    """A daemon polling ``usage_api`` and watching ``ollama``, with a first
    reading in (burst)."""
    started = Daemon(tmp_path, usage_api.url, ollama.url)
    try:
        started.wait_for_tier(10.0, "burst")
        yield started
    finally:
        started.stop()


@pytest.fixture
def cli_env() -> Callable[[Dict[str, str]], str]:
    """Runs the Rust CLI ``claude-quota status`` with no daemon under exactly
    the given environment and returns the socket path it says it tried."""

    def tried_socket(env: Dict[str, str]) -> str:
        result = subprocess.run(
            [str(binary("CLAUDE_QUOTA_CLI_BIN", "claude-quota")), "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 3, result.stderr
        marker = "cannot reach claude-quotad at "
        after = result.stderr.split(marker, 1)[1]
        return after.split(" (start it", 1)[0]

    return tried_socket


def no_socket(tmp_path: Path) -> str:
    """A socket path where no daemon listens."""
    return str(tmp_path / "nobody-home.sock")


def cascade_command(kind: str) -> List[str]:
    """How to run the cascade example written in ``kind`` (python or rust)."""
    if kind == "python":
        return [sys.executable, str(REPO / "client" / "python" / "examples" / "cascade.py")]
    return [str(binary("CLAUDE_QUOTA_CASCADE_BIN", "examples/cascade"))]
