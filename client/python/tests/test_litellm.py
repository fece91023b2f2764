"""LiteLLM itself (pinned, ``litellm==1.110.2``) with the README's router
and ``examples/litellm_claude_quota.py``, in front of a fake Anthropic and
a fake Ollama; the real daemon decides. Run by ``tests/tests/litellm.rs``
with the Python that has LiteLLM installed (``.ci/run`` makes it); the
plain Python suite leaves this file out.

Each case runs the README's snippet in a fresh interpreter, as a user's
program would: LiteLLM keeps process-wide callback state that a second
router in the same process does not reset.

The proxy is not started (it needs ``litellm[proxy]``); its case calls the
hook the way ``ProxyLogging.pre_call_hook`` (``litellm/proxy/utils.py``)
does and then hands the request to the router, as the proxy does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

EXAMPLES = REPO / "client" / "python" / "examples"

RATE_LIMIT_HEADERS = {
    "anthropic-ratelimit-unified-5h-utilization": "0.42",
    "anthropic-ratelimit-unified-5h-reset": "1893456000",
    "anthropic-ratelimit-unified-5h-status": "allowed",
    "anthropic-ratelimit-unified-7d-utilization": "0.3",
    "anthropic-ratelimit-unified-status": "allowed",
}

#: What the proxy does with a request: its pre-call hooks, then the router.
PROXY_REQUEST = """
import asyncio
hook = litellm.callbacks[0]
data = {"model": "claude", "messages": [{"role": "user", "content": "hi"}], "metadata": {"task_value": "critical"}}

async def proxy_request():
    # As ProxyLogging.pre_call_hook (litellm/proxy/utils.py) calls it.
    data_after = await hook.async_pre_call_hook(
        user_api_key_dict=None, cache=None, data=data, call_type="acompletion"
    )
    print("decided:", data_after["metadata"]["claude_quota_route"]["provider"])
    return await router.acompletion(**data_after)

answer = asyncio.run(proxy_request())
"""

#: More requests through the README's router, one per task value given.
MORE_REQUESTS = """
async def more_requests():
    for value in {values!r}:
        reply = await router.acompletion(model="claude", messages=[{{"role": "user", "content": "hi"}}], metadata={{"task_value": value}})
    return reply

answer = asyncio.run(more_requests())
"""


#: The same through LiteLLM's synchronous call, steered by the hook.
SYNC_REQUESTS = """
hook = litellm.callbacks[0]
for value in {values!r}:
    answer = hook.completion(router, model="claude", messages=[{{"role": "user", "content": "hi"}}], metadata={{"task_value": value}})
"""


def readme_snippet() -> str:
    """The python block of the README's "Use it with LiteLLM" section: the
    test runs exactly what users copy."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Use it with LiteLLM\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def run_readme(anthropic, ollama):
    """Runs the README snippet (then ``then``) in a fresh Python with LiteLLM
    pointed at the fakes and the daemon at ``socket``; returns what it
    printed, the last answer's text last."""
    anthropic.reply_headers = dict(RATE_LIMIT_HEADERS)

    def run(socket: str, then: str = "") -> str:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/nonexistent"),
            "PYTHONPATH": str(EXAMPLES),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "ANTHROPIC_API_BASE": anthropic.url,
            "ANTHROPIC_API_KEY": anthropic.KEY,
            "OLLAMA_API_BASE": ollama.url,
            "CLAUDE_QUOTA_SOCKET": socket,
        }
        code = readme_snippet() + then + "\nprint(answer.choices[0].message.content)\n"
        result = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()

    return run


def landed(anthropic, ollama):
    """Where each prompt went: ("anthropic", model) or ("ollama", model)."""
    cloud = [("anthropic", body["model"]) for body in anthropic.posts("/v1/messages")]
    local = [("ollama", body["model"]) for body in ollama.posts("/api/chat")]
    return cloud + local


def test_burst_high_task_goes_to_anthropic_and_its_headers_reach_the_daemon(
    daemon, usage_api, anthropic, ollama, run_readme
):
    # From now on polls fail (401) and the last good reading stays, so the
    # pushed one is not replaced by the next poll at once.
    usage_api.token = "revoked"
    assert run_readme(daemon.socket)[-1] == anthropic.REPLY
    assert landed(anthropic, ollama) == [("anthropic", "claude-sonnet-4-6")]
    status = daemon.wait_for(lambda s: s["source"] == "headers")
    assert status["five_hour"]["utilization"] == 42.0
    assert status["seven_day"]["utilization"] == 30.0


def test_resting_sends_the_high_task_to_ollamas_small_model(daemon, usage_api, anthropic, ollama, run_readme):
    usage_api.set_usage(81.0)
    daemon.wait_for_tier(81.0, "resting")
    assert run_readme(daemon.socket)[-1] == ollama.REPLY
    assert landed(anthropic, ollama) == [("ollama", "qwen3:8b")]


def test_daemon_down_sends_the_high_task_to_ollama(tmp_path, anthropic, ollama, run_readme):
    assert run_readme(str(tmp_path / "nobody.sock"))[-1] == ollama.REPLY
    assert landed(anthropic, ollama) == [("ollama", "qwen3:14b")]


def test_burst_medium_and_routine_tasks_stay_local(daemon, anthropic, ollama, run_readme):
    assert run_readme(daemon.socket, MORE_REQUESTS.format(values=("medium", "routine")))[-1] == ollama.REPLY
    assert landed(anthropic, ollama) == [("anthropic", "claude-sonnet-4-6"), ("ollama", "qwen3:14b"), ("ollama", "qwen3:14b")]


@pytest.mark.parametrize("five_hour, expected", [(10.0, ("anthropic", "claude-sonnet-4-6")), (81.0, ("ollama", "qwen3:8b"))])
def test_the_proxy_hook_decides_before_routing(daemon, usage_api, anthropic, ollama, run_readme, five_hour, expected):
    usage_api.set_usage(five_hour)
    daemon.wait_for(lambda s: (s["five_hour"] or {}).get("utilization") == five_hour)
    printed = run_readme(daemon.socket, PROXY_REQUEST)
    assert f"decided: {expected[0]}" in printed
    # The snippet's own request and the proxy's both landed there.
    assert landed(anthropic, ollama) == [expected, expected]


def test_synchronous_calls_are_steered_through_the_hook(daemon, anthropic, ollama, run_readme):
    # LiteLLM's synchronous Router.completion runs no deployment filter; in
    # burst a routine task would land anywhere in the group without this.
    run_readme(daemon.socket, SYNC_REQUESTS.format(values=("routine", "high", "routine")))
    assert landed(anthropic, ollama) == [
        ("anthropic", "claude-sonnet-4-6"),  # the README's own async high task
        ("anthropic", "claude-sonnet-4-6"),
        ("ollama", "qwen3:14b"),
        ("ollama", "qwen3:14b"),
    ]


def test_synchronous_calls_stay_local_when_the_daemon_is_down(tmp_path, anthropic, ollama, run_readme):
    run_readme(str(tmp_path / "nobody.sock"), SYNC_REQUESTS.format(values=("critical",)))
    assert landed(anthropic, ollama) == [("ollama", "qwen3:14b"), ("ollama", "qwen3:14b")]
