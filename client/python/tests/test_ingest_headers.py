"""``Client.ingest_headers`` against the real daemon: the rate-limit headers
of a Messages API response go to the daemon as they are, and it reads them
into a reading of source ``headers``."""

from __future__ import annotations

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


def test_a_value_the_daemon_cannot_read_drops_only_its_field(daemon):
    headers = [
        (b"anthropic-ratelimit-unified-5h-utilization", b"lots"),
        (b"anthropic-ratelimit-unified-7d-utilization", b"0.5"),
    ]
    with claude_quota.Client(daemon.socket) as client:
        assert client.ingest_headers(headers) is True
    status = daemon.wait_for(lambda s: s["source"] == "headers")
    assert status["seven_day"]["utilization"] == 50.0
    assert status["five_hour"] is None


def test_a_response_without_rate_limit_headers_sends_nothing(tmp_path):
    # No daemon listens at this socket: sending anything would raise.
    with claude_quota.Client(str(tmp_path / "nobody.sock")) as client:
        assert client.ingest_headers({"content-type": "application/json", "x-request-id": "r1"}) is False
