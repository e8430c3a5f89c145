"""A core error reaches the end user in the widget's language (?lang= / Accept-Language), not the server's."""
from __future__ import annotations

import pytest

from tests.widget.conftest import bearer, start


@pytest.fixture(autouse=True)
def english_server(monkeypatch):
    monkeypatch.setenv("THREADLINE_LANGUAGE", "en")


@pytest.mark.parametrize("language, expected", [
    ("de", "Die Nachricht ist leer; schreiben Sie vor dem Senden etwas Text."),
    ("en", "The message is empty; write some text before sending."),
])
def test_core_refusal_of_an_empty_message_in_the_readers_language(client, language, expected):
    data = start(client)
    response = client.post(f"/api/v1/conversations/{data['conversation']['id']}/messages?lang={language}",
                           json={"body": "   "}, headers=bearer(data["token"]))
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_input", "message": expected}
