"""Satisfaction ratings: the end user rates a solved conversation good or bad, and reports count them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.models import Conversation, ConversationStatus, Rating, RatingScore
from core.text import find_control_character
from core.transactions import transactional

MAX_COMMENT_CHARS = 2000


def rating_score(value: object) -> RatingScore:
    """"good" or "bad" as a RatingScore; InvalidInput for anything else."""
    if isinstance(value, str) and value in RatingScore.__members__:
        return RatingScore(value)
    raise InvalidInput(_("A rating is either good or bad."))


def rating_comment(value: object) -> str | None:
    """An optional comment: plain text up to MAX_COMMENT_CHARS; blank is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("The comment must be text."))
    comment = value.replace("\r\n", "\n").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(_("The comment is {length} characters long; the limit is {limit}.").format(
            length=len(comment), limit=MAX_COMMENT_CHARS))
    if find_control_character(comment) is not None:
        raise InvalidInput(_("The comment contains a control character; remove it and send again."))
    return comment or None


class RatingService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @transactional
    def rate(self, conversation_id: int, score: RatingScore, comment: str | None = None) -> Rating:
        """Store the end user's rating of a solved conversation; rating again replaces it (one per conversation).

        The same rating sent twice changes nothing and logs nothing, so a client may retry freely.
        """
        conversation = self.session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound(_("There is no conversation with id {id}.").format(id=conversation_id))
        if conversation.status is not ConversationStatus.solved:
            raise InvalidTransition(_("A conversation can be rated once it is solved."))
        now = self.clock.now()
        rating = self.session.get(Rating, conversation_id, with_for_update=True)
        if rating is not None and rating.score is score and rating.comment == comment:
            return rating
        if rating is None:
            rating = Rating(conversation_id=conversation_id, end_user_id=conversation.end_user_id, score=score,
                            comment=comment, created_at=now, updated_at=now)
        else:
            rating.score, rating.comment, rating.updated_at = score, comment, now
        self.session.add(rating)
        record_event(self.session, now, EventKind.conversation_rated, conversation_id, score=score.value,
                     comment=comment is not None)
        self.session.flush()
        return rating

    def rating_of(self, conversation_id: int) -> Rating | None:
        return self.session.get(Rating, conversation_id)


@dataclass(frozen=True)
class SatisfactionFigures:
    """Ratings given (or last changed) in a period: for the Reports screen and `threadline report`."""

    good: int
    bad: int
    with_comment: int

    @property
    def rated(self) -> int:
        return self.good + self.bad

    @property
    def good_share(self) -> float | None:
        """Good ratings as a share of all ratings (0..1); None when nobody rated."""
        return self.good / self.rated if self.rated else None


def satisfaction_figures(session: Session, since: datetime, until: datetime) -> SatisfactionFigures:
    """Ratings whose latest change lies in [since, until): a changed rating counts once, as it is now."""
    query = (select(Rating.score, func.count(), func.count(col(Rating.comment)))
             .where(col(Rating.updated_at) >= since, col(Rating.updated_at) < until).group_by(col(Rating.score)))
    counts = {score: (count, comments) for score, count, comments in session.exec(query)}
    good, good_comments = counts.get(RatingScore.good, (0, 0))
    bad, bad_comments = counts.get(RatingScore.bad, (0, 0))
    return SatisfactionFigures(good=good, bad=bad, with_comment=good_comments + bad_comments)
