#!/usr/bin/env python3
"""A minimal cascade router: ask claude-quotad where a task should go, then
send the prompt there (Anthropic's Messages API or Ollama's chat API) and
print the answer.

    cascade.py --value high --complexity high "Summarize this design"

The route is printed to stderr, the model's answer to stdout. When the
daemon is down or failing, the task goes to Ollama: spending the
subscription on a guess is the one unsafe answer.

Environment (each also a flag): ``ANTHROPIC_BASE_URL`` (default
https://api.anthropic.com), ``ANTHROPIC_API_KEY`` (sent as ``x-api-key``) or
``ANTHROPIC_AUTH_TOKEN`` (sent as ``Authorization: Bearer``), ``OLLAMA_HOST``
(default http://127.0.0.1:11434), ``CLAUDE_QUOTA_SOCKET``.

Standard library only; ``claude_quota.py`` must be importable (it sits one
directory up, which is added to the path).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import claude_quota  # noqa: E402

ANTHROPIC_VERSION = "2023-06-01"

#: Seconds a model call may take; local models on a laptop are slow.
CALL_TIMEOUT = 600


def main() -> int:
    args = parse_args()
    task = claude_quota.route(args.value, args.complexity, socket=args.socket)
    print(f"cascade: -> {task.provider} {task.model} ({task.reason})", file=sys.stderr)
    try:
        if task.provider == "anthropic":
            answer = ask_anthropic(args, task.model)
        else:
            answer = ask_ollama(args, task.model)
    except (OSError, ValueError, KeyError, IndexError) as err:
        print(f"cascade: {task.provider} call failed: {err}", file=sys.stderr)
        return 1
    print(answer)
    return 0


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--value", required=True, choices=claude_quota.TASK_VALUES)
    parser.add_argument("--complexity", required=True, choices=claude_quota.TASK_COMPLEXITIES)
    parser.add_argument("--socket", default=None, help="claude-quotad's socket [default: the platform default]")
    parser.add_argument("--anthropic-url", default=env("ANTHROPIC_BASE_URL") or "https://api.anthropic.com")
    parser.add_argument("--ollama-url", default=env("OLLAMA_HOST") or "http://127.0.0.1:11434")
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("prompt")
    return parser.parse_args()


def ask_anthropic(args: argparse.Namespace, model: str) -> str:
    """One Messages API call; the key is only needed when a task goes there."""
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if os.environ.get("ANTHROPIC_API_KEY"):
        headers["x-api-key"] = os.environ["ANTHROPIC_API_KEY"]
    elif os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        headers["authorization"] = f"Bearer {os.environ['ANTHROPIC_AUTH_TOKEN']}"
    else:
        raise ValueError("set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN to send tasks to Anthropic")
    body = {
        "model": model,
        "max_tokens": args.max_tokens,
        "messages": [{"role": "user", "content": args.prompt}],
    }
    url = f"{base(args.anthropic_url)}/v1/messages"
    reply = post_json(url, body, headers, lambda got: report_usage(args.socket, got))
    return "".join(block["text"] for block in reply["content"] if block.get("type") == "text")


def ask_ollama(args: argparse.Namespace, model: str) -> str:
    """One non-streaming chat call to the local model."""
    body = {"model": model, "messages": [{"role": "user", "content": args.prompt}], "stream": False}
    reply = post_json(f"{base(args.ollama_url)}/api/chat", body, {})
    return reply["message"]["content"]


def base(url: str) -> str:
    """A base URL without a trailing slash; Ollama's own ``OLLAMA_HOST`` is
    often given as ``host:port``, so a missing scheme means http."""
    return (url if "://" in url else f"http://{url}").rstrip("/")


def report_usage(socket: Optional[str], headers: Mapping[str, Any]) -> None:
    """Passes the rate-limit windows of an Anthropic response to the daemon.
    Best effort: the answer matters more than the reading."""
    try:
        with claude_quota.Client(socket, timeout=2.0) as client:
            client.ingest_headers(headers)
    except claude_quota.ClaudeQuotaError as err:
        print(f"cascade: could not pass the usage headers to claude-quotad: {err}", file=sys.stderr)


def post_json(
    url: str,
    body: Dict[str, Any],
    headers: Dict[str, str],
    on_headers: Callable[[Mapping[str, Any]], None] = lambda _: None,
) -> Dict[str, Any]:
    """POSTs JSON and returns the JSON reply; ``on_headers`` sees every
    response's headers, errors included."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT) as response:
            on_headers(response.headers)
            return json.load(response)
    except urllib.error.HTTPError as err:
        on_headers(err.headers)
        raise ValueError(f"HTTP {err.code} from {url}: {err.read()[:300]!r}") from err


if __name__ == "__main__":
    sys.exit(main())
