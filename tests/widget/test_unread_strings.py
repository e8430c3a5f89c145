"""The unread count's words sent with the widget's strings: one plural form per count, from the catalogs."""
from __future__ import annotations

from widget.strings import MAX_COUNTED


def test_every_count_up_to_the_cap_has_its_plural_form(client):
    body = client.get("/widget/strings?lang=en").json()
    unread = body["counts"]["unread"]
    assert len(unread) == MAX_COUNTED + 1 and unread[0] == ""
    assert (unread[1], unread[2], unread[21], unread[MAX_COUNTED]) == (
        "1 new message", "2 new messages", "21 new messages", "99 new messages")
    assert body["strings"]["unread_many"] == "More than 99 new messages"

