"""Who may read GET /metrics, and the desk gauges it reads from the database (SQLite and PostgreSQL)."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.widget.conftest import bearer, start
from widget.app import create_app


def loopback_client(app) -> TestClient:
    return TestClient(app, base_url="http://widget.test", client=("127.0.0.1", 50123))


def samples(text: str) -> dict[str, float]:
    return {sample.name + str(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_a_loopback_peer_reads_the_desk_gauges(db, clock, signer, widget_config, client):
    started = start(client, name="Alice")
    posted = client.post(f"/api/v1/conversations/{started['conversation']['id']}/messages",
                         headers=bearer(started["token"]), json={"body": "Hello?"})
    assert posted.status_code in (200, 201), posted.text  # now the end user waits for an answer
    with loopback_client(create_app(widget_config, db, clock, signer)) as local:
        answer = local.get("/metrics")
    assert answer.status_code == 200
    found = samples(answer.text)
    assert found["threadline_conversations_waiting[]"] == 1
    assert found["threadline_outbox_jobs[('status', 'pending')]"] == 0
    assert "threadline_notifications_due[]" in found and "threadline_oldest_wait_seconds[]" in found


def test_other_peers_proxied_requests_and_an_empty_allow_list_get_not_found(db, clock, signer, widget_config,
                                                                            client):
    assert client.get("/metrics").status_code == 404  # the test client's peer is no loopback address
    with loopback_client(create_app(widget_config, db, clock, signer)) as local:
        assert local.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 404
    widget_config.widget.metrics_allow = []
    with loopback_client(create_app(widget_config, db, clock, signer)) as local:
        assert local.get("/metrics").status_code == 404
