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
    }
    if answered:
        got["reason"] = route.reason
    return got


def types(received: Dict[str, Any]) -> List[List[str]]:
    return [[frame["type"] for frame in frames] for frames in received["connections"]]


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
            route = client.route(*call["route"])
            assert observed(route) == call["expect"], route.reason
    finally:
        client.close()
        received = stand_in.stop() if stand_in else {"connections": [], "lone_hello": False}
    assert types(received) == case["frames"]
    assert not received["lone_hello"], "a hello went alone, not pipelined"
    for frame in (f for frames in received["connections"] for f in frames if f["type"] == "hello"):
        assert frame["protocol"] == 1 and frame["client"].startswith("claude-quota-python/"), frame


def fixture(case: Dict[str, Any]) -> List[List[str]]:
    return json.loads((FIXTURES / f"{case['fixture']}.json").read_text(encoding="utf-8"))["headers"]


def normalised(value: Any) -> Any:
    """Numbers as floats, so 83 and 83.0 compare equal as in every client."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        assert math.isfinite(value)
        return float(value)
    if isinstance(value, list):
        return [normalised(item) for item in value]
    return {key: normalised(item) for key, item in value.items()}


def test_header_cases(tmp_path: Path) -> None:
    stand_in = start("headers", tmp_path)
    assert stand_in is not None
    client = claude_quota.Client(stand_in.socket)
    try:
        for case in CASES["header_cases"]:
            assert client.ingest_headers(fixture(case)) is case["sent"], case["fixture"]
    finally:
        client.close()
        received = stand_in.stop()
    ingests = [frame for frames in received["connections"] for frame in frames if frame["type"] == "ingest"]
    expected = [case for case in CASES["header_cases"] if case["sent"]]
    assert len(ingests) == len(expected)
    for frame, case in zip(ingests, expected):
        assert normalised(frame) == normalised(case["ingest"]), case["fixture"]


@pytest.mark.parametrize("case", CASES["header_cases"], ids=[case["fixture"] for case in CASES["header_cases"]])
def test_reading_from_headers_holds_a_reading_exactly_when_one_is_sent(case: Dict[str, Any]) -> None:
    reading = claude_quota.reading_from_headers(fixture(case))
    assert (reading is not None) is case["sent"]
    if reading is not None:
        sent = dict(case["ingest"])
        del sent["type"], sent["source"]
        assert normalised(reading) == normalised(sent)
