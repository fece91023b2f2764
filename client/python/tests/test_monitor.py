"""The drop-in surface (``claude_quota_monitor``) against the real daemon,
and a small cascade written against it, the way routers built on the
original in-process monitor are written: only the import changed."""

from __future__ import annotations

import sys
import types
from datetime import datetime, timedelta, timezone

import pytest

import claude_quota
import claude_quota_monitor
from claude_quota_monitor import MetabolicTier, QuotaMonitor, QuotaStatus, get_quota_monitor
from conftest import REPO, Daemon, no_socket

sys.path.insert(0, str(REPO / "client" / "python" / "examples"))

import cascade as http_calls  # noqa: E402  (its Anthropic and Ollama calls)

PROMPT = "What is 6 x 7?"


def monitor_cascade(prompt: str, task_value: str, task_complexity: str, anthropic_url: str, ollama_url: str) -> str:
    """A router as written against the original monitor."""
    monitor = get_quota_monitor()
    status = monitor.check()
    if status is not None and status.tier is MetabolicTier.BURST and monitor.should_use_cloud(task_value):
        model = monitor.select_model(task_complexity)
    else:
        model = monitor.select_model("medium" if status is None or status.tier is not MetabolicTier.RESTING else "low")
    # socket=None: the example hands Anthropic's rate-limit headers to the
    # daemon at the default socket ($CLAUDE_QUOTA_SOCKET), as the monitor asks.
    calls = types.SimpleNamespace(
        prompt=prompt, max_tokens=64, anthropic_url=anthropic_url, ollama_url=ollama_url, socket=None
    )
    if model.startswith("claude-"):
        return http_calls.ask_anthropic(calls, model)
    return http_calls.ask_ollama(calls, model)


@pytest.fixture
def process_monitor(monkeypatch):
    """A fresh process-wide monitor on the socket the test names."""

    def on(socket: str) -> None:
        monkeypatch.setenv("CLAUDE_QUOTA_SOCKET", socket)
        monkeypatch.setattr(claude_quota_monitor, "_monitor", None)

    return on


def test_check_reads_the_windows_and_the_tier(daemon):
    status = QuotaMonitor(daemon.socket).check()
    now = datetime.now(timezone.utc)
    five, seven = status.five_hour_resets_at, status.seven_day_resets_at
    assert now < five < now + timedelta(hours=2) < seven < now + timedelta(days=3)
    assert status == QuotaStatus(
        five_hour_utilization=10.0,
        seven_day_utilization=20.0,
        five_hour_resets_at=five,
        seven_day_resets_at=seven,
        tier=MetabolicTier.BURST,
        reason=status.reason,
    )
    assert "10.0%" in status.reason


def test_the_singleton_is_one_monitor(daemon, process_monitor):
    process_monitor(daemon.socket)
    assert get_quota_monitor() is get_quota_monitor()


def test_no_daemon_is_none_and_local(tmp_path):
    monitor = QuotaMonitor(no_socket(tmp_path))
    assert monitor.check() is None
    assert monitor.should_use_cloud("critical") is False
    assert monitor.select_model("high") == claude_quota.FALLBACK_LOCAL_MODEL
    with pytest.raises(ValueError):
        monitor.should_use_cloud("urgent")


def test_unknown_tier_is_none_and_local(tmp_path, ollama):
    # A daemon whose usage API refuses connections never has a reading.
    daemon = Daemon(tmp_path, "http://127.0.0.1:9", ollama.url)
    try:
        assert daemon.wait_for(lambda s: s["last_error"] is not None)["tier"] == "unknown"
        monitor = QuotaMonitor(daemon.socket)
        assert monitor.check() is None
        assert monitor.should_use_cloud("critical") is False
        assert monitor.select_model("high") == "qwen3:14b"
    finally:
        daemon.stop()


@pytest.mark.parametrize(
    "five_hour, value, complexity, where, model",
    [
        (10.0, "high", "high", "anthropic", "claude-sonnet-4-6"),
        (10.0, "routine", "high", "ollama", "qwen3:14b"),
        (60.0, "critical", "high", "ollama", "qwen3:14b"),
        (81.0, "critical", "high", "ollama", "qwen3:8b"),
    ],
)
def test_a_cascade_written_for_the_original_monitor_routes_by_the_daemon(
    daemon, usage_api, anthropic, ollama, process_monitor, monkeypatch, five_hour, value, complexity, where, model
):
    usage_api.set_usage(five_hour)
    daemon.wait_for(lambda s: (s["five_hour"] or {}).get("utilization") == five_hour)
    process_monitor(daemon.socket)
    monkeypatch.setenv("ANTHROPIC_API_KEY", anthropic.KEY)
    answer = monitor_cascade(PROMPT, value, complexity, anthropic.url, ollama.url)
    sent = {"anthropic": anthropic.posts("/v1/messages"), "ollama": ollama.posts("/api/chat")}
    assert answer == (anthropic.REPLY if where == "anthropic" else ollama.REPLY)
    assert [body["model"] for body in sent[where]] == [model]
    assert sum(len(bodies) for bodies in sent.values()) == 1


def test_the_cascade_stays_local_without_a_daemon(tmp_path, anthropic, ollama, process_monitor):
    process_monitor(no_socket(tmp_path))
    assert monitor_cascade(PROMPT, "critical", "high", anthropic.url, ollama.url) == ollama.REPLY
    assert anthropic.requests == []
