"""The conformance suite for the Python client: tests/conformance/cases.json
played by the scripted stand-in daemon (tests/src/stand_in_daemon.py). The
Rust (tests/tests/conformance.rs) and Node (client/node/test/
conformance.test.cjs) suites run the same cases against the same stand-in;
a client that answers otherwise fails."""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import claude_quota
from conftest import REPO

CASES_PATH = REPO / "tests" / "conformance" / "cases.json"
CASES = json.loads(CASES_PATH.read_text(encoding="utf-8"))
STAND_IN = REPO / "tests" / "src" / "stand_in_daemon.py"
FIXTURES = REPO / "tests" / "fixtures" / "headers"
#: The route deadline of a case that names none, in ms.
ROUTE_TIMEOUT_MS = 1000
#: The reason every local fallback starts with, in every client.
FALLBACK_REASON = "claude-quotad unavailable, staying local"
START_TIMEOUT = 10.0


class StandIn:
    """The stand-in playing one case, in a private directory."""

    def __init__(self, name: str, directory: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(STAND_IN), str(CASES_PATH), name, str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        first = self._event(START_TIMEOUT)
        self.unavailable: Optional[str] = first.get("why") if first.get("event") == "unavailable" else None
        self.socket = first.get("socket")
        assert self.unavailable or first.get("event") == "ready", first

    def _event(self, wait: float) -> Dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], wait)
        assert ready, "the stand-in did not start"
        return json.loads(self.process.stdout.readline())

    def stop(self) -> Dict[str, Any]:
        """Stops it; the frames of each connection that sent any, and
        whether a hello went alone."""
        self.process.kill()
        out, _ = self.process.communicate(timeout=10)
        connections: Dict[int, List[Any]] = {}
        lone_hello = False
        for line in out.decode().splitlines():
            event = json.loads(line)
            if event["event"] == "frame":
                connections.setdefault(event["connection"], []).append(event["message"])
                lone_hello = lone_hello or event.get("pipelined") is False
        return {"connections": [connections[n] for n in sorted(connections)], "lone_hello": lone_hello}


def start(name: str, directory: Path) -> Optional[StandIn]:
    """The stand-in of case ``name``, or None (after saying so) where this
    machine cannot play it; in CI that fails."""
    stand_in = StandIn(name, directory)
    if stand_in.unavailable:
        stand_in.stop()
        assert os.environ.get("CI") is None, f"case {name} cannot run in CI: {stand_in.unavailable}"
        print(f"SKIPPED case {name}: {stand_in.unavailable}")
        return None
    return stand_in


def observed(route: claude_quota.Route) -> Dict[str, Any]:
    """A route as the cases spell it."""
    answered = not route.reason.startswith(FALLBACK_REASON)
    got = {
        "answered": answered,
        "provider": route.provider,
        "model": route.model,
        "use_cloud": route.use_cloud,
        "tier": route.tier,
        "stale": route.stale,
        "available": route.available,
        "account": route.account,
        "claude_config_dir": route.claude_config_dir,
    }
    if answered:
        got["reason"] = route.reason
    return got


def check_route(route: claude_quota.Route, expect: Dict[str, Any]) -> None:
    """``route`` is what ``expect`` says; ``reason_contains`` is text its
    reason must hold."""
    expect = dict(expect)
    contains = expect.pop("reason_contains", None)
    assert observed(route) == expect, route.reason
    assert contains is None or contains in route.reason, route.reason


def types(received: Dict[str, Any]) -> List[List[str]]:
    return [[frame["type"] for frame in frames] for frames in received["connections"]]


def check_hellos(received: Dict[str, Any]) -> None:
    assert not received["lone_hello"], "a hello went alone, not pipelined"
    for frame in (f for frames in received["connections"] for f in frames if f["type"] == "hello"):
        assert frame["protocol"] == 1 and frame["client"].startswith("claude-quota-python/"), frame


@pytest.mark.parametrize("case", CASES["route_cases"], ids=[case["name"] for case in CASES["route_cases"]])
def test_route_case(case: Dict[str, Any], tmp_path: Path) -> None:
    stand_in = None
    socket = str(tmp_path / "nobody-home.sock")
    if case["daemon"] is not None:
        stand_in = start(case["name"], tmp_path)
        if stand_in is None:
            return
        socket = stand_in.socket
    timeout = case.get("route_timeout_ms", ROUTE_TIMEOUT_MS) / 1000
    client = claude_quota.Client(socket, route_timeout=timeout)
    try:
        for call in case["calls"]:
            if "sleep_ms" in call:
                time.sleep(call["sleep_ms"] / 1000)
                continue
            check_route(client.route(*call["route"]), call["expect"])
    finally:
        client.close()
        received = stand_in.stop() if stand_in else {"connections": [], "lone_hello": False}
    assert types(received) == case["frames"]
    check_hellos(received)


def normalised(value: Any) -> Any:
    """``value`` as the daemon reads it: numbers as floats (83 and 83.0
    compare equal, as in every client), and a null field the same as an
    absent one."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        assert math.isfinite(value)
        return float(value)
    if isinstance(value, list):
        return [normalised(item) for item in value]
    return {key: normalised(item) for key, item in value.items() if item is not None}


def make_call(client: claude_quota.Client, call: Dict[str, Any]) -> Any:
    """One call of a call case; the account passed only when the case gives one."""
    options = {"account": call["account"]} if "account" in call else {}
    args = call["args"]
    if call["call"] == "subscribe":
        return next(client.subscribe())
    method = {"decide": client.decide, "select_model": client.select_model, "status": client.status,
              "ingest": client.ingest, "ingest_headers": client.ingest_headers}[call["call"]]
    return method(*args, **options)


def check_call(client: claude_quota.Client, call: Dict[str, Any]) -> None:
    expect = call["expect"]
    if call["call"] == "route":
        options = {"account": call["account"]} if "account" in call else {}
        check_route(client.route(*call["args"], **options), expect["value"])
        return
    if "error" in expect:
        with pytest.raises(claude_quota.ClaudeQuotaError) as raised:
            make_call(client, call)
        err = raised.value
        code = "bad_request" if isinstance(err, claude_quota.BadRequest) else getattr(err, "code", type(err).__name__)
        message = str(err) if isinstance(err, claude_quota.BadRequest) else getattr(err, "message", str(err))
        assert code == expect["error"], err
        assert expect.get("message", message) == message
        return
    got = make_call(client, call)
    want = expect["value"]
    if isinstance(want, dict):
        for key, field in want.items():
            assert normalised(field) == normalised(got.get(key)), (key, got)
    else:
        assert normalised(got) == normalised(want)


@pytest.mark.parametrize("case", CASES["call_cases"], ids=[case["name"] for case in CASES["call_cases"]])
def test_call_case(case: Dict[str, Any], tmp_path: Path) -> None:
    stand_in = start(case["name"], tmp_path)
    if stand_in is None:
        return
    client = claude_quota.Client(stand_in.socket, route_timeout=ROUTE_TIMEOUT_MS / 1000)
    try:
        for call in case["calls"]:
            check_call(client, call)
    finally:
        client.close()
        received = stand_in.stop()
    assert types(received) == case["frames"]
    check_hellos(received)
    requests = [normalised(frame) for frames in received["connections"] for frame in frames if frame["type"] != "hello"]
    assert requests == [normalised(request) for request in case["requests"]]


def fixture(name: str) -> Dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_header_fixtures(tmp_path: Path) -> None:
    """Every header fixture given to ``ingest_headers``: exactly its
    ``sent`` goes out, in one ingest frame, or nothing when it is null."""
    stand_in = start("headers", tmp_path)
    assert stand_in is not None
    client = claude_quota.Client(stand_in.socket)
    fixtures = {name: fixture(name) for name in CASES["header_fixtures"]}
    try:
        for name, headers in fixtures.items():
            assert client.ingest_headers(headers["headers"]) is (headers["sent"] is not None), name
    finally:
        client.close()
        received = stand_in.stop()
    frames = [frame for frames in received["connections"] for frame in frames if frame["type"] != "hello"]
    expected = [{"type": "ingest", "source": "headers", "headers": f["sent"]} for f in fixtures.values() if f["sent"] is not None]
    assert frames == expected
