"""The Python client against the real daemon (and, for the faults no real
daemon commits, against a scripted socket): protocol v1 on the wire, the
policy table through every call, the exceptions, and the rule that a
failing daemon means local."""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List

import pytest

import claude_quota
from claude_quota import BadRequest, Client, DaemonError, DaemonUnreachable, ProtocolError, route
from conftest import Daemon, no_socket

# (5h, tier, should_use_cloud per TASK_VALUES, select_model per TASK_COMPLEXITIES)
POLICY = [
    (10.0, "burst", [True, True, False, False, False], ["claude-sonnet-4-6", "qwen3:14b", "qwen3:14b"]),
    (60.0, "active", [False] * 5, ["qwen3:14b"] * 3),
    (81.0, "resting", [False] * 5, ["qwen3:8b"] * 3),
]


def test_hello_names_the_daemon(daemon):
    with Client(daemon.socket) as client:
        assert client.hello("pytest/1").startswith("claude-quotad/")


def test_status_carries_the_contract_fields(daemon):
    with Client(daemon.socket) as client:
        status = client.status()
    assert status["type"] == "status"
    assert status["tier"] == "burst" and status["stale"] is False
    assert status["five_hour"]["utilization"] == 10.0
    assert status["seven_day"]["utilization"] == 20.0
    assert status["credentials"] == "file"
    assert status["daemon"]["pid"] == daemon.process.pid
    assert status["local"]["up"] is True
    assert status["local"]["models"] == ["qwen3:14b", "qwen3:8b"]


def test_every_tier_answers_by_the_policy_table(daemon, usage_api):
    with Client(daemon.socket) as client:
        for five, tier, cloud, models in POLICY:
            usage_api.set_usage(five)
            daemon.wait_for_tier(five, tier)
            for value, expected in zip(claude_quota.TASK_VALUES, cloud):
                assert client.should_use_cloud(value) is expected, (tier, value)
                decision = client.decide(value)
                assert decision["tier"] == tier and decision["reason"]
            for complexity, expected in zip(claude_quota.TASK_COMPLEXITIES, models):
                choice = client.select_model(complexity)
                assert choice["model"] == expected, (tier, complexity)
                assert choice["provider"] == ("anthropic" if expected.startswith("claude") else "ollama")
                assert choice["available"] is True


def test_refresh_answers_with_a_status(daemon):
    with Client(daemon.socket) as client:
        assert client.refresh()["tier"] == "burst"


def test_subscribe_streams_a_status_at_every_change(daemon, usage_api):
    updates = Client(daemon.socket).subscribe(timeout=10)
    assert next(updates)["tier"] == "burst"
    usage_api.set_usage(60.0)
    assert next(update for update in updates if update["tier"] == "active")
    updates.close()


def test_subscription_ends_when_the_daemon_stops(daemon):
    updates = Client(daemon.socket).subscribe(timeout=10)
    next(updates)
    daemon.stop()
    assert list(updates) == []


@pytest.mark.parametrize(
    "call, arg",
    [("should_use_cloud", "urgent"), ("decide", "HIGH"), ("select_model", "huge"), ("select_model", None)],
)
def test_invalid_values_are_refused_before_sending(tmp_path, call, arg):
    # No daemon listens: a round trip would raise DaemonUnreachable instead.
    with pytest.raises(BadRequest, match="expected one of"):
        getattr(Client(no_socket(tmp_path)), call)(arg)
    # route never raises: an unknown value answers local and says why.
    answer = route("high", "extreme", socket=no_socket(tmp_path))
    assert (answer.provider, answer.tier) == ("ollama", None)
    assert "expected one of: high medium low" in answer.reason


def test_a_daemon_bad_request_leaves_the_connection_usable(daemon):
    with Client(daemon.socket) as client:
        with pytest.raises(BadRequest, match="urgent"):
            client._request({"type": "should_use_cloud", "task_value": "urgent"})
        assert client.should_use_cloud("high") is True


def test_an_unsupported_protocol_is_a_daemon_error(daemon):
    with Client(daemon.socket) as client:
        with pytest.raises(DaemonError) as raised:
            client._request({"type": "hello", "protocol": 2})
        assert raised.value.code == "unsupported_protocol"
        assert client.status()["tier"] == "burst"


def test_no_daemon_is_unreachable_and_routes_local(tmp_path):
    with pytest.raises(DaemonUnreachable, match="claude-quota service install"):
        Client(no_socket(tmp_path)).status()
    with pytest.raises(DaemonUnreachable):
        Client(no_socket(tmp_path)).subscribe()
    for value in claude_quota.TASK_VALUES:
        answer = route(value, "high", socket=no_socket(tmp_path))
        assert (answer.provider, answer.model, answer.tier) == ("ollama", "qwen3:14b", None)
        assert "unavailable" in answer.reason


def test_a_stopped_daemon_raises_then_reconnects_to_its_successor(tmp_path, daemon, usage_api, ollama):
    client = Client(daemon.socket)
    assert client.status()["tier"] == "burst"
    daemon.stop()
    with pytest.raises((ProtocolError, DaemonUnreachable)):
        client.status()
    assert route("critical", "high", socket=daemon.socket).provider == "ollama"
    successor = Daemon(tmp_path / "again", usage_api.url, ollama.url)
    try:
        client.socket_path = successor.socket
        assert client.status()["daemon"]["pid"] == successor.process.pid
    finally:
        successor.stop()


def test_a_held_client_rides_through_a_restart_on_the_same_socket(tmp_path, daemon, usage_api, ollama):
    client = Client(daemon.socket)
    assert client.status()["daemon"]["pid"] == daemon.process.pid
    daemon.stop()
    successor = Daemon(tmp_path, usage_api.url, ollama.url)
    try:
        assert client.status()["daemon"]["pid"] == successor.process.pid
    finally:
        successor.stop()


def test_route_needs_both_the_value_and_the_complexity_for_the_cloud(daemon, usage_api):
    cloud = route("high", "high", socket=daemon.socket)
    assert (cloud.provider, cloud.model, cloud.tier) == ("anthropic", "claude-sonnet-4-6", "burst")
    for value, complexity in [("routine", "high"), ("medium", "high"), ("high", "low")]:
        local = route(value, complexity, socket=daemon.socket)
        assert (local.provider, local.model) == ("ollama", "qwen3:14b"), (value, complexity)
    usage_api.set_usage(90.0)
    daemon.wait_for_tier(90.0, "resting")
    resting = route("critical", "high", socket=daemon.socket)
    assert (resting.provider, resting.model, resting.tier) == ("ollama", "qwen3:8b", "resting")


def test_route_reports_an_unavailable_local_model(tmp_path, usage_api):
    down = Daemon(tmp_path, usage_api.url, "http://127.0.0.1:9")
    try:
        down.wait_for_tier(10.0, "burst")
        answer = route("low", "low", socket=down.socket)
        assert (answer.provider, answer.available) == ("ollama", False)
        assert "not answering" in answer.reason
    finally:
        down.stop()


def listening(path: str) -> socket.socket:
    """A Unix socket listening at ``path`` that plays the daemon."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    return server


@contextmanager
def scripted_daemon(tmp_path: Path, reply: bytes) -> Iterator[tuple]:
    """A socket that answers the hello a new connection starts with, then
    reads one request frame, answers ``reply`` verbatim and closes: the
    faults a real daemon never commits (the conformance suite,
    test_conformance.py, holds route to them in every client)."""
    path = str(tmp_path / "scripted.sock")
    server = listening(path)
    received: List[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            for answer in (frame(HELLO), reply):
                (length,) = struct.unpack(">I", conn.recv(4, socket.MSG_WAITALL))
                received.append(conn.recv(length, socket.MSG_WAITALL))
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path, received
    finally:
        thread.join(timeout=5)
        server.close()
        os.unlink(path)


HELLO = {"type": "hello", "protocol": 1, "daemon": "scripted/1"}


def frame(message) -> bytes:
    payload = json.dumps(message).encode() if not isinstance(message, bytes) else message
    return struct.pack(">I", len(payload)) + payload


def test_requests_are_framed_as_protocol_v1(tmp_path):
    with scripted_daemon(tmp_path, frame({"type": "model", "model": "m", "provider": "ollama"})) as (path, got):
        assert Client(path).select_model("medium")["model"] == "m"
    assert got == [
        b'{"type":"hello","protocol":1,"client":"claude-quota-python/' + claude_quota.__version__.encode() + b'"}',
        b'{"type":"select_model","task_complexity":"medium"}',
    ]


@pytest.mark.parametrize(
    "reply, error",
    [
        (struct.pack(">I", 64 * 1024 + 1), ProtocolError),
        (frame(b"not json"), ProtocolError),
        (frame(b"[1]"), ProtocolError),
        (frame({"type": "decision"}), ProtocolError),
        (frame({"type": "error", "code": "internal", "message": "boom"}), DaemonError),
        (frame({"type": "error", "code": "too_many_connections", "message": "full"}), DaemonError),
        (b"\x00\x00", ProtocolError),
        (b"", ProtocolError),
    ],
)
def test_faulty_replies_raise_and_route_stays_local(tmp_path, reply, error):
    with scripted_daemon(tmp_path, reply) as (path, _):
        with pytest.raises(error):
            Client(path).status()
    with scripted_daemon(tmp_path, reply) as (path, _):
        assert route("critical", "high", socket=path).provider == "ollama"


def test_a_silent_daemon_times_out_as_unreachable(tmp_path):
    path = str(tmp_path / "silent.sock")
    server = listening(path)
    try:
        with pytest.raises(DaemonUnreachable, match="did not answer"):
            Client(path, timeout=0.2).status()
        assert route("critical", "high", socket=path, timeout=0.2).provider == "ollama"
    finally:
        server.close()


@pytest.mark.parametrize(
    "env",
    [
        {"CLAUDE_QUOTA_SOCKET": "/somewhere/explicit.sock", "XDG_RUNTIME_DIR": "/run/user/4242"},
        {"XDG_RUNTIME_DIR": "/run/user/4242"},
        {"XDG_RUNTIME_DIR": "", "TMPDIR": "/var/tmp/cq-test"},
        {"TMPDIR": "/var/tmp/cq-test"},
        {},
    ],
)
def test_the_default_socket_is_the_one_the_rust_side_uses(monkeypatch, cli_env, env):
    env = dict(env, HOME=os.environ.get("HOME", "/nonexistent"))
    for key in ("CLAUDE_QUOTA_SOCKET", "XDG_RUNTIME_DIR", "TMPDIR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert claude_quota.default_socket_path() == cli_env(dict(env, PATH="/usr/bin:/bin"))
