"""The cascade examples, end to end: the real daemon decides, the example
sends the prompt to a fake Anthropic or a fake Ollama. Each test runs both
the Python example and the Rust one (``client/examples/cascade.rs``), which
promise the same behaviour; the fakes' request logs show where every prompt
went and, above all, that it never reached Anthropic when it must not."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Dict

import pytest

import claude_quota
from conftest import cascade_command, no_socket

PROMPT = "What is 6 x 7?"


@pytest.fixture(params=["python", "rust"])
def cascade(request, ollama, anthropic):
    """Runs the example in one language against the fakes; returns
    (exit code, stdout, stderr)."""
    command = cascade_command(request.param)

    def run(value: str, complexity: str, socket: str, **env: str):
        environment: Dict[str, str] = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/nonexistent"),
            "ANTHROPIC_BASE_URL": anthropic.url,
            "OLLAMA_HOST": ollama.url.replace("http://", ""),
            "ANTHROPIC_API_KEY": anthropic.KEY,
        }
        environment.update(env)
        result = subprocess.run(
            command + ["--value", value, "--complexity", complexity, "--socket", socket, PROMPT],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.returncode, result.stdout, result.stderr

    return run


def sent_to_ollama(ollama):
    return [body["model"] for body in ollama.posts("/api/chat")]


def test_at_81_percent_every_task_goes_to_ollama(daemon, usage_api, ollama, anthropic, cascade):
    usage_api.set_usage(81.0)
    daemon.wait_for_tier(81.0, "resting")
    tasks = [(v, c) for v in claude_quota.TASK_VALUES for c in claude_quota.TASK_COMPLEXITIES]
    for value, complexity in tasks:
        code, out, err = cascade(value, complexity, daemon.socket)
        assert code == 0, err
        assert out.strip() == ollama.REPLY
    assert anthropic.requests == []
    assert sent_to_ollama(ollama) == ["qwen3:8b"] * len(tasks)
    assert all(body["stream"] is False for body in ollama.posts("/api/chat"))
    assert ollama.posts("/api/chat")[0]["messages"] == [{"role": "user", "content": PROMPT}]


@pytest.mark.parametrize("five_hour, tier", [(0.0, "burst"), (49.0, "burst"), (60.0, "active"), (95.0, "resting")])
def test_routine_never_reaches_anthropic(daemon, usage_api, ollama, anthropic, cascade, five_hour, tier):
    usage_api.set_usage(five_hour)
    daemon.wait_for_tier(five_hour, tier)
    for complexity in claude_quota.TASK_COMPLEXITIES:
        code, out, err = cascade("routine", complexity, daemon.socket)
        assert code == 0, err
        assert "-> ollama" in err
    assert anthropic.requests == []
    assert len(sent_to_ollama(ollama)) == 3


def test_high_value_high_complexity_reaches_anthropic_in_burst(daemon, usage_api, ollama, anthropic, cascade):
    usage_api.fail()  # from here on only the pushed reading can change the daemon's
    now = int(time.time())
    anthropic.reply_headers = {
        "Anthropic-Ratelimit-Unified-5h-Utilization": "0.37",
        "Anthropic-Ratelimit-Unified-5h-Reset": str(now + 3600),
        "Anthropic-Ratelimit-Unified-5h-Status": "allowed",
        "Anthropic-Ratelimit-Unified-7d-Utilization": "0.41",
        "Anthropic-Ratelimit-Unified-7d-Reset": str(now + 4 * 86400),
        "Anthropic-Ratelimit-Unified-Status": "allowed",
    }
    code, out, err = cascade("high", "high", daemon.socket)
    assert code == 0, err
    assert out.strip() == anthropic.REPLY
    assert "-> anthropic claude-sonnet-4-6" in err
    [sent] = anthropic.requests
    assert sent["headers"]["x-api-key"] == anthropic.KEY
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["json"] == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    assert ollama.posts("/api/chat") == []
    # The response's rate-limit headers reached the daemon as a reading.
    assert "could not pass" not in err, err
    status = daemon.wait_for(lambda s: s["source"] == "headers")
    assert status["five_hour"]["utilization"] == pytest.approx(37.0)
    assert status["seven_day"]["utilization"] == pytest.approx(41.0)


def test_an_oauth_token_goes_in_the_authorization_header(daemon, anthropic, cascade):
    code, out, err = cascade("critical", "high", daemon.socket, ANTHROPIC_API_KEY="", ANTHROPIC_AUTH_TOKEN=anthropic.KEY)
    assert code == 0, err
    assert anthropic.requests[0]["headers"]["authorization"] == f"Bearer {anthropic.KEY}"


def test_in_burst_only_valuable_complex_tasks_leave_the_machine(daemon, ollama, anthropic, cascade):
    for value, complexity in [("high", "low"), ("medium", "high"), ("low", "medium")]:
        code, out, err = cascade(value, complexity, daemon.socket)
        assert code == 0, err
    assert anthropic.requests == []
    assert sent_to_ollama(ollama) == ["qwen3:14b"] * 3


def test_daemon_down_goes_to_ollama(tmp_path, ollama, anthropic, cascade):
    code, out, err = cascade("critical", "high", no_socket(tmp_path))
    assert code == 0, err
    assert out.strip() == ollama.REPLY
    assert "unavailable" in err
    assert anthropic.requests == []
    assert sent_to_ollama(ollama) == ["qwen3:14b"]
