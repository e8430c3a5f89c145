"""Which conversation an email answers: the signed token in a recipient address, then our Message-IDs it cites."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.tokens import InvalidToken, TokenSigner
from mail.parsing import ParsedEmail


@dataclass(frozen=True)
class ThreadMatch:
    conversation_id: int | None = None
    via: str = ""  # "token", "header" or "" when nothing matched
    bad_token: str = ""  # a plus-address token addressed to us that failed verification


def _token_candidates(address: str, support_local: str, support_domain: str) -> list[str]:
    local, _at, domain = address.strip().lower().rpartition("@")
    if not local or (support_domain and domain != support_domain.lower()):
        return []
    base, plus, token = local.partition("+")
    if not plus or (support_local and base != support_local.lower()):
        return []
    return [token]


def token_in_message_id(local_part: str) -> str:
    """The reply token inside one of our Message-IDs (`tl.<token>.<random>@domain`), or '' for any other form."""
    parts = local_part.split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "tl" else ""


def match_thread(parsed: ParsedEmail, signer: TokenSigner | None, support_address: str,
                 sent_conversation: Callable[[str], int | None], message_id_domain: str = "") -> ThreadMatch:
    """Token in To/Cc/Delivered-To/X-Original-To first, then In-Reply-To/References against emails we sent."""
    support_local, _at, support_domain = (support_address or "").lower().rpartition("@")
    bad = ""
    if signer is not None:
        for address in parsed.recipients:
            for token in _token_candidates(address, support_local, support_domain):
                try:
                    return ThreadMatch(signer.verify_reply_token(token), "token")
                except InvalidToken:
                    bad = bad or token
    for message_id in [*parsed.in_reply_to, *reversed(parsed.references)]:
        conversation_id = sent_conversation(message_id)
        if conversation_id is not None:
            return ThreadMatch(conversation_id, "header")
    if signer is not None:
        # Our Message-IDs start with the reply token: a cited id we no longer hold in the outbox still threads.
        for message_id in [*parsed.in_reply_to, *reversed(parsed.references)]:
            local, _at, domain = message_id.strip("<>").lower().rpartition("@")
            if domain != (message_id_domain or support_domain).lower():
                continue
            token = token_in_message_id(local)
            if not token:
                continue
            try:
                return ThreadMatch(signer.verify_reply_token(token), "header")
            except InvalidToken:
                continue
    return ThreadMatch(bad_token=bad)
