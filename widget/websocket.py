"""The WebSocket per conversation: pushes new messages and read marks, carries presence heartbeats."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from core.activity_rules import ActivityThrottle
from core.errors import DatabaseBusy
from core.i18n import N_, translations
from core.tokens import InvalidToken, TokenSigner
from widget.actions import WidgetDesk
from widget.client_input import looks_like_token, parse_json, public_id, whole_number
from widget.errors import ApiError
from widget.live import ConversationFeed, Subscriber
from widget.metrics import WEBSOCKETS
from widget.proxies import TrustedProxies
from widget.ratelimit import RateLimiter, SharedRateLimits
from widget.strings import accepted_languages, negotiate_language
from widget.write_slots import WriteSlots

log = logging.getLogger(__name__)

HELLO_TIMEOUT_SECONDS = 10
_BLOCKED = "blocked"
# Close codes: 4000 + the HTTP status the same refusal gets from the JSON API.
_CLOSE_CODES = {"invalid_input": 4400, "invalid_json": 4400, "unauthorized": 4401, "blocked": 4403,
                "not_found": 4404, "rate_limited": 4429}


class LiveEndpoint:
    """Protocol: the client's first frame is {"type": "hello", "token": ..., "after": seq}; the server answers
    {"type": "ready", ...}, replays messages after `after`, then pushes {"type": "message"} and {"type": "read"},
    {"type": "typing", "typing": bool} (an agent is typing a reply) and {"type": "status", "status": ...}.
    The client sends {"type": "heartbeat"} every heartbeat_seconds while the widget is open, and
    {"type": "typing", "text": ...} while its end user types (written at most every few seconds)."""

    def __init__(self, desk: WidgetDesk, signer: TokenSigner, feed: ConversationFeed, per_address: RateLimiter,
                 shared: SharedRateLimits, proxies: TrustedProxies,
                 monotonic: Callable[[], float] = time.monotonic, *, writes: WriteSlots) -> None:
        self.monotonic = monotonic
        self.writes = writes
        self.desk = desk
        self.signer = signer
        self.feed = feed
        self.per_address = per_address
        self.shared = shared
        self.proxies = proxies

    async def handle(self, websocket: WebSocket) -> None:
        await websocket.accept()
        WEBSOCKETS.inc()
        try:
            await self._handle(websocket)
        finally:
            WEBSOCKETS.dec()

    async def _handle(self, websocket: WebSocket) -> None:
        language = negotiate_language(*accepted_languages(websocket.headers.get("accept-language")))
        try:
            hello = await self._hello(websocket)
        except ApiError as error:
            await self._refuse(websocket, error, language)
            return
        except (TimeoutError, WebSocketDisconnect):
            return
        await self._serve(websocket, hello, language)

    async def _hello(self, websocket: WebSocket) -> dict[str, Any]:
        client = self.proxies.client_address(websocket.client.host if websocket.client else None,
                                             websocket.headers.getlist("x-forwarded-for"))
        key = f"ip:{client}"
        if (self.per_address.hit(key) > 0
                or await run_in_threadpool(self.shared.hit, [(key, int(self.per_address.capacity))]) > 0):
            raise ApiError("rate_limited", N_("Too many connections; wait a minute and try again."))
        frame = await asyncio.wait_for(_receive_frame(websocket), HELLO_TIMEOUT_SECONDS)
        if frame.get("type") != "hello":
            raise ApiError("invalid_input", N_("Start with a hello frame carrying the end-user token."))
        token = frame.get("token")
        try:
            claim = self.signer.verify_end_user_token(token if looks_like_token(token) else "")
        except InvalidToken:
            raise ApiError(
                "unauthorized", N_("Your chat session is not valid any more; start a new conversation.")
            ) from None
        end_user_id = await run_in_threadpool(self.desk.authenticate, claim)
        after = whole_number(frame.get("after", 0), "after")
        conversation = public_id(websocket.path_params["id"])
        conversation_id = await run_in_threadpool(self.desk.authorize, end_user_id, conversation)
        return {"end_user_id": end_user_id, "public_id": conversation, "conversation_id": conversation_id,
                "after": after}

    async def _refuse(self, websocket: WebSocket, error: ApiError, language: str) -> None:
        text = error.text(translations(language))
        try:
            await websocket.send_json({"type": "error", "error": {"code": error.code, "message": text}})
            await websocket.close(_CLOSE_CODES.get(error.code, 4400), error.code)
        except Exception:  # noqa: BLE001, S110 - the client went away first; there is no one left to tell
            pass

    async def _serve(self, websocket: WebSocket, hello: dict[str, Any], language: str) -> None:
        conversation_id = hello["conversation_id"]
        subscriber = Subscriber(asyncio.get_running_loop(), hello["end_user_id"])
        retry: asyncio.Task[None] | None = None
        # Subscribe before reading the backlog, so a message committed in between is pushed (and deduplicated).
        await run_in_threadpool(self.feed.subscribe, conversation_id, subscriber)
        try:
            try:
                backlog = await run_in_threadpool(self.desk.open_feed, hello["end_user_id"], hello["public_id"],
                                                  hello["after"])
            except ApiError as error:
                await self._refuse(websocket, error, language)
                return
            await websocket.send_json({"type": "ready", "conversation": hello["public_id"],
                                       "heartbeat_seconds": backlog["heartbeat_seconds"],
                                       "end_user_read_seq": backlog["end_user_read_seq"],
                                       "status": backlog["status"], "rating": backlog["rating"]})
            last_seq = hello["after"]
            for message in backlog["messages"]:
                await websocket.send_json({"type": "message", "message": message})
                last_seq = max(last_seq, message["seq"])
            connected_at = self.monotonic()
            if not await self._report_presence(conversation_id, "connected"):
                # Lost to a busy database: try again soon, or the end user counts as absent (and replies they are
                # reading may be emailed) until their first heartbeat.
                retry = asyncio.create_task(self._retry_connected(conversation_id, backlog["heartbeat_seconds"]))
            pusher = asyncio.create_task(self._push(websocket, subscriber, last_seq))
            listener = asyncio.create_task(self._listen(websocket, conversation_id, backlog["heartbeat_seconds"],
                                                        connected_at))
            try:
                await asyncio.wait({pusher, listener}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                pusher.cancel()
                listener.cancel()
                outcomes = await asyncio.gather(pusher, listener, return_exceptions=True)
            if outcomes[0] == _BLOCKED:
                await self._refuse(websocket, ApiError("blocked", N_("This chat is not available to you.")), language)
            for outcome in outcomes:
                if isinstance(outcome, Exception) and not isinstance(outcome, WebSocketDisconnect):
                    log.error("widget socket failed", exc_info=outcome)
        except WebSocketDisconnect:
            pass
        finally:
            self.feed.unsubscribe(conversation_id, subscriber)
            if self.feed.subscriber_count(conversation_id) == 0:
                # Leaving never ends the conversation; it only stops presence (the engine may then email replies).
                # Shielded: a server cancels a handler whose client went away, and a lost "left" would keep the
                # end user present (and their replies unemailed) until the presence timeout.
                await asyncio.shield(self._leave(conversation_id, retry))
            elif retry is not None:
                retry.cancel()

    async def _leave(self, conversation_id: int, retry: asyncio.Task[None] | None) -> None:
        """Report "left" after any retried "connected" has ended, so a late "connected" never follows it."""
        if retry is not None:
            retry.cancel()
            await asyncio.gather(retry, return_exceptions=True)  # a write already in a thread finishes first
        await self._report_presence(conversation_id, "left")

    async def _retry_connected(self, conversation_id: int, heartbeat_seconds: int) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            if await self._report_presence(conversation_id, "connected"):
                return
            delay = min(delay * 2, heartbeat_seconds / 2)

    async def _report_presence(self, conversation_id: int, state: str) -> bool:
        """Whether the report was recorded; one lost to a busy database is logged (a lost "connected" is retried,
        a heartbeat is mended by the next one, and "left" by the presence timeout)."""
        try:
            await self.writes.run(self.desk.report_presence, conversation_id, state)
        except DatabaseBusy:
            log.warning("presence %s for conversation %s not recorded: the database is busy", state, conversation_id)
            return False
        return True

    async def _push(self, websocket: WebSocket, subscriber: Subscriber, last_seq: int) -> str | None:
        """Send queued items until the client goes away (None) or its end user is blocked (_BLOCKED)."""
        try:
            while True:
                item = await subscriber.queue.get()
                if item["type"] == _BLOCKED:
                    return _BLOCKED  # nothing queued behind the block is sent
                if item["type"] == "message":
                    if item["message"]["seq"] <= last_seq:
                        continue  # already replayed from the backlog
                    last_seq = item["message"]["seq"]
                await websocket.send_json(item)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except Exception:
            log.exception("pushing to a widget socket failed")
        return None

    async def _listen(self, websocket: WebSocket, conversation_id: int, heartbeat_seconds: int,
                      last_report: float) -> None:
        """Read frames until the client goes away; heartbeats refresh presence at most twice per interval."""
        typing = ActivityThrottle()
        while True:
            try:
                frame = await _receive_frame(websocket)
            except ApiError:
                continue  # a malformed frame is ignored, the connection stays
            if frame.get("type") == "heartbeat":
                now = self.monotonic()
                if now - last_report >= heartbeat_seconds / 2:
                    last_report = now
                    await self._report_presence(conversation_id, "heartbeat")
            elif frame.get("type") == "typing":
                await self._report_typing(conversation_id, frame.get("text"), typing)

    async def _report_typing(self, conversation_id: int, text: object, throttle: ActivityThrottle) -> None:
        """Only reports the throttle lets through reach the database; a busy database drops one (it expires)."""
        if not isinstance(text, str) or len(text) > self.desk.max_message_chars:
            return
        if not throttle.typed(self.desk.clock.now(), bool(text.strip())):
            return
        try:
            await self.writes.run(self.desk.report_typing, conversation_id, text)
        except DatabaseBusy:
            log.info("typing for conversation %s not recorded: the database is busy", conversation_id)
        except Exception:  # an indicator must never end the conversation's socket; the report expires anyway
            log.exception("typing for conversation %s not recorded", conversation_id)


async def _receive_frame(websocket: WebSocket) -> dict[str, Any]:
    """The next frame as a JSON object of storable text; binary or malformed frames raise ApiError."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        raise ApiError("invalid_json", N_("Each frame must be a JSON object sent as text."))
    frame = parse_json(text)
    if not isinstance(frame, dict):
        raise ApiError("invalid_json", N_("Each frame must be a JSON object sent as text."))
    return frame
