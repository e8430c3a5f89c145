"""One address comparison for core and mail: normalized (IDNA as Unicode), then lowercased."""
from __future__ import annotations

from core.addresses import mailbox_key, same_mailbox
from mail.classify import loop_reason
from mail.parsing import ParsedEmail


def test_case_and_idna_forms_are_one_mailbox():
    assert same_mailbox("Eve@Example.COM", "eve@example.com")
    # Plain lowercasing (what mail's loop check did) tells these apart; normalizing does not.
    assert "support@xn--bcher-kva.example" != "support@bücher.example"
    assert same_mailbox("Support@XN--BCHER-KVA.example", "support@bücher.example")
    assert not same_mailbox("eve@example.com", "eva@example.com")
    assert mailbox_key("not an address") is None and not same_mailbox(None, None)


def test_mail_loop_check_knows_our_address_in_its_idna_form():
    ours = ParsedEmail(raw=b"", message=None, message_id="<x@elsewhere.example>",
                       sender="support+abc@xn--bcher-kva.example")
    assert loop_reason(ours, ["support@bücher.example"], "", sent_by_us=False).startswith("sent from our own")
    theirs = ParsedEmail(raw=b"", message=None, message_id="<x@elsewhere.example>", sender="carol@example.com")
    assert loop_reason(theirs, ["support@bücher.example"], "", sent_by_us=False) == ""
