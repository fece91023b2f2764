"""The JSON Schema in ``docs/schema/`` (generated from the Rust wire types)
describes what the real daemon sends: every kind of reply, captured from a
running ``claude-quotad``, validates against ``reply.json``, every status
against ``status.json``, and every request this suite sends against
``request.json``. ``jsonschema`` is a test-only dependency
(``python3 -m pip install jsonschema``); without it these tests fail rather
than skip, so the schema cannot drift unseen."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path
from typing import Any, Dict, List

import pytest

import claude_quota
from conftest import REPO

try:
    import jsonschema
except ImportError:  # pragma: no cover - the failure below says how to fix it
    jsonschema = None

SCHEMA_DIR = REPO / "docs" / "schema"

#: One request of every type (and every value) the protocol has.
REQUESTS: List[Dict[str, Any]] = [
    {"type": "hello", "protocol": 1, "client": "schema-test/1"},
    {"type": "status"},
    *({"type": "should_use_cloud", "task_value": v} for v in claude_quota.TASK_VALUES),
    *({"type": "select_model", "task_complexity": c} for c in claude_quota.TASK_COMPLEXITIES),
    {"type": "refresh"},
    {
        "type": "ingest",
        "source": "headers",
        "five_hour": {"utilization": 12.5, "resets_at": "2030-01-01T00:00:00Z"},
        "seven_day": {"utilization": 20.0, "resets_at": None},
    },
    {"type": "hello", "protocol": 2},
    {"type": "should_use_cloud", "task_value": "urgent"},
]


def validator(name: str) -> "jsonschema.protocols.Validator":
    """A validator for ``docs/schema/<name>``."""
    if jsonschema is None:
        pytest.fail("the schema tests need jsonschema: python3 -m pip install jsonschema")
    schema = json.loads((SCHEMA_DIR / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def replies_to(path: str, requests: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The daemon's replies to ``requests``, pipelined on one connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        deadline = claude_quota._Deadline(10)
        for request in requests:
            claude_quota._send(sock, claude_quota._frame(request), deadline)
        return [claude_quota._receive(sock, deadline, allow_close=False) for _ in requests]


def test_every_request_sent_is_valid(daemon):
    requests = validator("request.json")
    valid = [r for r in REQUESTS if r.get("task_value") != "urgent"]
    for request in valid:
        requests.validate(request)
    assert not requests.is_valid({"type": "should_use_cloud", "task_value": "urgent"})
    assert not requests.is_valid({"type": "launch_missiles"})


def test_every_kind_of_reply_from_the_daemon_is_valid(daemon):
    replies = validator("reply.json")
    received = replies_to(daemon.socket, REQUESTS)
    kinds = set()
    for reply in received:
        replies.validate(reply)
        kinds.add(reply["type"] if reply["type"] != "error" else "error:" + reply["code"])
    assert kinds == {
        "hello",
        "status",
        "decision",
        "model",
        "ok",
        "error:unsupported_protocol",
        "error:bad_request",
    }, received


def test_statuses_and_subscription_updates_are_valid(daemon, usage_api):
    statuses = validator("status.json")
    replies = validator("reply.json")
    with claude_quota.Client(daemon.socket) as client:
        statuses.validate(client.status())
        usage_api.set_usage(60.0, 20.0)
        for update in client.subscribe(timeout=10):
            replies.validate(update)
            statuses.validate(update)
            if (update["five_hour"] or {}).get("utilization") == 60.0:
                break
        else:
            pytest.fail("the subscription ended before the 60 % update arrived")


def test_the_frame_too_large_error_is_valid(daemon):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(daemon.socket)
        sock.sendall(struct.pack(">I", claude_quota.MAX_FRAME_LEN + 1))
        reply = claude_quota._receive(sock, claude_quota._Deadline(10), allow_close=False)
    validator("reply.json").validate(reply)
    assert reply["code"] == "frame_too_large"
