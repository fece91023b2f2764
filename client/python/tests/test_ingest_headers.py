"""``Client.ingest_headers`` against the real daemon: the rate-limit headers
of a Messages API response become a reading of source ``headers``."""

from __future__ import annotations

import pytest

import claude_quota


def test_headers_in_any_case_become_the_current_reading(daemon):
    headers = {
        "Anthropic-Ratelimit-Unified-5h-Utilization": "0.93",
        "anthropic-ratelimit-unified-5h-reset": "1893456000",
        "ANTHROPIC-RATELIMIT-UNIFIED-7D-UTILIZATION": "0.25",
        "anthropic-ratelimit-unified-status": "allowed_warning",
    }
    with claude_quota.Client(daemon.socket) as client:
        assert client.ingest_headers(headers) is True
    status = daemon.wait_for(lambda s: (s["five_hour"] or {}).get("utilization") == 93.0)
    assert status["source"] == "headers"
    assert status["tier"] == "resting"
    assert status["five_hour"]["resets_at"].startswith("2030-01-01T00:00:00")
    assert status["seven_day"]["utilization"] == 25.0


def test_rejected_without_a_utilization_counts_as_100():
    reading = claude_quota.reading_from_headers({"anthropic-ratelimit-unified-5h-status": "rejected"})
    assert reading == {"five_hour": {"utilization": 100.0, "resets_at": None, "status": "rejected"}, "seven_day": None}


def test_headers_without_a_reading_send_nothing(tmp_path):
    # No daemon listens at this socket: sending anything would raise.
    with claude_quota.Client(str(tmp_path / "nobody.sock")) as client:
        assert client.ingest_headers({"content-type": "application/json", "anthropic-ratelimit-unified-5h-reset": "1"}) is False


@pytest.mark.parametrize("value", ["lots", "nan", "-0.5", "inf", "0x1", "1_0", ""])
def test_a_broken_value_drops_its_field_and_raises_nothing(value):
    headers = {"anthropic-ratelimit-unified-5h-utilization": value, "anthropic-ratelimit-unified-7d-utilization": "0.5"}
    assert claude_quota.reading_from_headers(headers) == {"five_hour": None, "seven_day": {"utilization": 50.0, "resets_at": None}}
