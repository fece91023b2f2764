"""A LiteLLM hook that keeps requests on the local (Ollama) deployment
whenever claude-quotad says the Claude subscription should not be spent, and
feeds the daemon the rate-limit headers of every Anthropic response.

Give a model group two deployments, a cloud Claude one and an Ollama one,
and register the hook as a callback::

    import litellm
    from litellm_claude_quota import ClaudeQuotaHook

    litellm.callbacks = [ClaudeQuotaHook()]
    router = litellm.Router(model_list=[
        {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-sonnet-4-6"}},
        {"model_name": "claude", "litellm_params": {"model": "ollama_chat/qwen3:14b"}},
        {"model_name": "claude", "litellm_params": {"model": "ollama_chat/qwen3:8b"}},
    ])
    await router.acompletion(model="claude", messages=[...], metadata={"task_value": "high"})

Where it hooks in (LiteLLM 1.110):

- ``async_filter_deployments``, which ``litellm.Router`` (and so the proxy,
  which routes through one) runs on every async request to narrow a model
  group's deployments: in a group that holds both a cloud Claude deployment
  and a local one, it keeps the cloud ones when the daemon says cloud, and
  otherwise only the local ones, preferring the model ``select_model``
  names. Groups without both kinds are left alone.
- The synchronous ``Router.completion`` runs no deployment filter, so the
  hook cannot steer it from inside: call ``hook.completion(router, ...)``
  instead, which makes the same choice and pins the deployment by its id.
- ``async_pre_call_hook``, which the proxy runs before routing: it asks the
  daemon once per request, so the decision is made (and logged) at the
  proxy's door, and the filter above reuses it.
- ``async_post_call_success_deployment_hook`` (and ``log_success_event``
  for synchronous calls): the ``anthropic-ratelimit-unified-*`` headers of
  every response are handed to the daemon (``ingest_headers``), which saves
  it polls of the usage API.

What a request is worth: ``metadata["task_value"]`` (``critical``, ``high``,
``medium``, ``low``, ``routine``; default ``medium``) and optionally
``metadata["task_complexity"]`` (``high``, ``medium``, ``low``; by default
from the value: critical and high → high, medium → medium, low and routine
→ low). When the daemon is down or failing, requests stay local: spending
the subscription on a guess is the one unsafe answer. The hook itself never
fails a request.

For the proxy, in ``config.yaml``::

    litellm_settings:
      callbacks: litellm_claude_quota.proxy_handler_instance

``claude_quota.py`` must be importable (it sits one directory up, which is
added to the path).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from litellm.integrations.custom_logger import CustomLogger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import claude_quota  # noqa: E402

log = logging.getLogger("claude_quota.litellm")

#: The complexity a task of each value gets when the request names none.
COMPLEXITY_OF_VALUE = {"critical": "high", "high": "high", "medium": "medium", "low": "low", "routine": "low"}

#: Where the decision for a request is kept in its metadata (as a dict of
#: ``claude_quota.Route``'s fields), so the proxy's pre-call hook and the
#: router's filter ask the daemon only once.
ROUTE_KEY = "claude_quota_route"

_HEADER_PREFIX = "anthropic-ratelimit-unified-"
# LiteLLM forwards a provider's response headers with this prefix.
_FORWARDED_PREFIX = "llm_provider-"
_LOCAL_PROVIDERS = ("ollama", "ollama_chat")


class ClaudeQuotaHook(CustomLogger):
    """Routes within a model group by the daemon's answer and feeds it the
    rate-limit headers LiteLLM sees."""

    def __init__(
        self,
        socket: Optional[str] = None,
        default_value: str = "medium",
        timeout: float = 2.0,
    ) -> None:
        """``socket`` defaults to ``$CLAUDE_QUOTA_SOCKET``, else the
        platform default; ``default_value`` is the task value of a request
        whose metadata names none; ``timeout`` bounds each question to the
        daemon (seconds)."""
        super().__init__()
        self.socket = socket
        if default_value not in claude_quota.TASK_VALUES:
            raise claude_quota.BadRequest(f"unknown task value {default_value!r}")
        self.default_value = default_value
        self.timeout = timeout

    async def route_for(self, metadata: Dict[str, Any]) -> claude_quota.Route:
        """:meth:`decide`, off the event loop."""
        return await asyncio.to_thread(self.decide, metadata)

    def decide(self, metadata: Dict[str, Any]) -> claude_quota.Route:
        """The decision for a request with ``metadata``, asked once and kept
        there; an unknown task value is logged and treated as local."""
        known = metadata.get(ROUTE_KEY)
        if isinstance(known, dict):
            return claude_quota.Route(**known)
        value = metadata.get("task_value", self.default_value)
        complexity = metadata.get("task_complexity") or COMPLEXITY_OF_VALUE.get(value, "medium")
        # Never raises: an unknown value is local, and the reason says so.
        choice = claude_quota.route(value, complexity, socket=self.socket, timeout=self.timeout)
        log.info("claude-quota: %s task -> %s %s (%s)", value, choice.provider, choice.model, choice.reason)
        # A plain dict: LiteLLM logs and may serialize the metadata.
        metadata[ROUTE_KEY] = dataclasses.asdict(choice)
        return choice

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any) -> dict:
        """The proxy's hook: decides before routing and keeps the decision
        in the request's metadata for :meth:`async_filter_deployments`."""
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = data["metadata"] = {}
        await self.route_for(metadata)
        return data

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list,
        messages: Optional[list],
        request_kwargs: Optional[dict] = None,
        parent_otel_span: Any = None,
    ) -> List[dict]:
        """The router's hook: in a group with cloud Claude and local
        deployments, keeps the side the daemon chose."""
        if not _is_mixed(healthy_deployments):
            return healthy_deployments
        metadata = (request_kwargs or {}).get("metadata")
        choice = await self.route_for(metadata if isinstance(metadata, dict) else {})
        return _keep(healthy_deployments, choice)

    def completion(self, router: Any, *, model: str, messages: list, **kwargs: Any) -> Any:
        """``router.completion(model=..., messages=..., **kwargs)``, steered
        as the async calls are: LiteLLM's synchronous call runs no
        deployment filter, so the choice is made here and the first kept
        deployment is pinned by its id. Other groups go through unchanged."""
        deployments = router.get_model_list(model_name=model) or []
        if _is_mixed(deployments):
            metadata = kwargs.get("metadata")
            if not isinstance(metadata, dict):
                metadata = kwargs["metadata"] = {}
            model = _keep(deployments, self.decide(metadata))[0]["model_info"]["id"]
        return router.completion(model=model, messages=messages, **kwargs)

    async def async_post_call_success_deployment_hook(self, request_data: dict, response: Any, call_type: Any) -> None:
        """Feeds the daemon the rate-limit headers of a response; LiteLLM
        awaits this right after each deployment answers an async call
        (so the reading is in before the caller has the answer)."""
        await asyncio.to_thread(self.ingest, response)

    def log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        """The same for LiteLLM's synchronous calls, from its logging thread."""
        self.ingest(response_obj)

    def ingest(self, response_obj: Any) -> None:
        """Hands the ``anthropic-ratelimit-unified-*`` headers LiteLLM kept
        for ``response_obj`` to the daemon; never raises, since a lost
        reading must not fail the request that carried it."""
        headers = rate_limit_headers(response_obj)
        if not headers:
            return
        try:
            with claude_quota.Client(self.socket, timeout=self.timeout) as client:
                client.ingest_headers(headers)
        except claude_quota.ClaudeQuotaError as err:
            log.warning("claude-quota: could not hand the rate-limit headers to the daemon: %s", err)


def rate_limit_headers(response_obj: Any) -> Dict[str, str]:
    """The ``anthropic-ratelimit-unified-*`` headers of a LiteLLM response,
    under their own names (LiteLLM prefixes them with ``llm_provider-``)."""
    hidden = getattr(response_obj, "_hidden_params", None) or {}
    headers = hidden.get("additional_headers") if isinstance(hidden, Mapping) else None
    found: Dict[str, str] = {}
    for name, value in (headers or {}).items():
        bare = str(name).lower()
        bare = bare[len(_FORWARDED_PREFIX) :] if bare.startswith(_FORWARDED_PREFIX) else bare
        if bare.startswith(_HEADER_PREFIX):
            found[bare] = str(value)
    return found


def _is_mixed(deployments: List[dict]) -> bool:
    """Whether a group holds both a cloud Claude and a local deployment,
    the only groups the hook steers."""
    providers = {_provider(d) for d in deployments}
    return "anthropic" in providers and any(p in providers for p in _LOCAL_PROVIDERS)


def _keep(deployments: List[dict], choice: claude_quota.Route) -> List[dict]:
    """The deployments of a mixed group on the side ``choice`` names,
    preferring the local model it names."""
    if choice.provider == "anthropic":
        return [d for d in deployments if _provider(d) == "anthropic"]
    local = [d for d in deployments if _provider(d) in _LOCAL_PROVIDERS]
    return [d for d in local if _model_name(d) == choice.model] or local


def _provider(deployment: Mapping[str, Any]) -> str:
    params = deployment.get("litellm_params") or {}
    explicit = params.get("custom_llm_provider")
    return explicit or str(params.get("model", "")).split("/", 1)[0]


def _model_name(deployment: Mapping[str, Any]) -> str:
    return str((deployment.get("litellm_params") or {}).get("model", "")).split("/", 1)[-1]


#: What a proxy's ``config.yaml`` names under ``litellm_settings.callbacks``.
proxy_handler_instance = ClaudeQuotaHook()
