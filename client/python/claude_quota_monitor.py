"""A drop-in for the in-process quota monitor that routers were written
against before claude-quotad: the same names, backed by the daemon, so such
a router changes only its import::

    from claude_quota_monitor import MetabolicTier, get_quota_monitor

    monitor = get_quota_monitor()
    status = monitor.check()            # QuotaStatus, or None when unknown
    if monitor.should_use_cloud("high"):
        model = monitor.select_model("high")

The monitor no longer reads credentials or polls: the daemon does, once for
every router on the machine. Where the daemon's tier is ``unknown`` (no
credentials, no reading yet, a stale reading) or the daemon cannot be asked,
``check()`` returns ``None`` and the decisions are local, as the original
answered without credentials. Standard library only, beside
``claude_quota.py``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Optional

import claude_quota

__all__ = ["MetabolicTier", "QuotaStatus", "QuotaMonitor", "get_quota_monitor"]


class MetabolicTier(Enum):
    """How freely the subscription may be spent now: ``BURST`` (well under
    the limits: high-value work may go to Claude), ``ACTIVE`` (half the
    5-hour window used: stay local), ``RESTING`` (near a limit: small local
    model)."""

    BURST = "burst"
    ACTIVE = "active"
    RESTING = "resting"


@dataclass(frozen=True)
class QuotaStatus:
    """One reading of the subscription's usage: utilization in percent
    (0-100) of the 5-hour and 7-day windows and when each resets (``None``
    when the API did not say), with the tier it puts the router in."""

    five_hour_utilization: float
    seven_day_utilization: float
    five_hour_resets_at: Optional[datetime]
    seven_day_resets_at: Optional[datetime]
    tier: MetabolicTier
    reason: str


class QuotaMonitor:
    """Asks claude-quotad; one per process is enough (see
    :func:`get_quota_monitor`). Safe to share between threads: calls take
    turns on one connection."""

    def __init__(self, socket: Optional[str] = None, timeout: float = 2.0) -> None:
        """``socket`` defaults to ``$CLAUDE_QUOTA_SOCKET``, else the platform
        default; ``timeout`` bounds each question to the daemon (seconds)."""
        self._client = claude_quota.Client(socket, timeout=timeout)
        self._lock = threading.Lock()

    def check(self) -> Optional[QuotaStatus]:
        """The current usage, or ``None`` when nothing is known: no
        credentials, no fresh reading, or no daemon to ask."""
        try:
            status = self._ask(self._client.status)
        except claude_quota.ClaudeQuotaError:
            return None
        tier = _tier(status.get("tier"))
        five_hour, seven_day = status.get("five_hour"), status.get("seven_day")
        if tier is None or not five_hour:
            return None
        seven_day = seven_day or {}
        return QuotaStatus(
            five_hour_utilization=float(five_hour["utilization"]),
            seven_day_utilization=float(seven_day.get("utilization") or 0.0),
            five_hour_resets_at=_when(five_hour.get("resets_at")),
            seven_day_resets_at=_when(seven_day.get("resets_at")),
            tier=tier,
            reason=str(status.get("reason", "")),
        )

    def should_use_cloud(self, task_value: str) -> bool:
        """Whether a task of ``task_value`` (``critical``, ``high``,
        ``medium``, ``low``, ``routine``) may go to Claude now; ``False``
        when the daemon cannot be asked. An unknown value raises
        ``claude_quota.BadRequest`` (a ``ValueError``)."""
        try:
            return self._ask(lambda: self._client.should_use_cloud(task_value))
        except claude_quota.BadRequest:
            raise
        except claude_quota.ClaudeQuotaError:
            return False

    def select_model(self, task_complexity: str) -> str:
        """The model tag for a task of ``task_complexity`` (``high``,
        ``medium``, ``low``): Claude's in ``burst`` for ``high``, else a
        local one; when the daemon cannot be asked, the large local model
        it named when it last answered (the built-in default before any
        contact). An unknown complexity raises ``claude_quota.BadRequest``."""
        try:
            return str(self._ask(lambda: self._client.select_model(task_complexity))["model"])
        except claude_quota.BadRequest:
            raise
        except (claude_quota.ClaudeQuotaError, KeyError):
            return self._client.fallback_model

    def _ask(self, question: Any) -> Any:
        with self._lock:
            return question()


def _tier(name: Any) -> Optional[MetabolicTier]:
    try:
        return MetabolicTier(name)
    except ValueError:
        return None


def _when(value: Any) -> Optional[datetime]:
    if not isinstance(value, str):
        return None
    # Python before 3.11 reads neither "Z" nor more than 6 fraction digits.
    trimmed = _NANOS.sub(r"\1", value.replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(trimmed)
    except ValueError:
        return None


_NANOS = re.compile(r"(\.\d{6})\d+")

_monitor: Optional[QuotaMonitor] = None
_monitor_lock = threading.Lock()


def get_quota_monitor() -> QuotaMonitor:
    """The process-wide monitor, made on first use (with the default socket)."""
    global _monitor
    with _monitor_lock:
        if _monitor is None:
            _monitor = QuotaMonitor()
        return _monitor
