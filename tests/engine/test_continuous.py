"""Activating continuous conversations: preconditions, the built-in trigger, and conflicting triggers."""
import pytest
from sqlmodel import select

from core.clock import FixedClock
from core.continuous import ContinuousConversations
from core.errors import PreconditionFailed
from core.models import Event, Setting
from core.settings import SettingsService
from core.triggers import OUT_OF_OFFICE, REQUEST_EMAIL, TriggerService


def test_activation_without_preconditions_names_each_missing_piece_and_changes_nothing(session, clock):
    with pytest.raises(PreconditionFailed) as failure:
        ContinuousConversations(session, clock).activate(mail_configured=False)
    assert failure.value.missing == ["support_address", "agent", "mail"]
    assert "support address" in failure.value.message and "agent" in failure.value.message
    assert "mail settings" in failure.value.message
    assert session.exec(select(Setting)).all() == [] and session.exec(select(Event)).all() == []
    assert TriggerService(session, clock).all() == []


def test_only_the_missing_piece_is_named(desk):
    desk.settings.update(continuous_conversations=False)
    with pytest.raises(PreconditionFailed) as failure:
        ContinuousConversations(desk.session, desk.clock).activate(mail_configured=False)
    assert failure.value.missing == ["mail"]
    assert not desk.settings.load().continuous_conversations


def test_activate_and_deactivate_switch_the_feature_and_the_trigger_together(desk):
    desk.settings.update(continuous_conversations=False)
    feature = ContinuousConversations(desk.session, desk.clock)
    report = feature.activate(mail_configured=True)
    triggers = TriggerService(desk.session, desk.clock)
    assert report.active and report.conflicting_triggers == []
    assert desk.settings.load().continuous_conversations and triggers.by_key(REQUEST_EMAIL).active
    assert feature.status().active
    feature.deactivate()
    assert not desk.settings.load().continuous_conversations and not triggers.by_key(REQUEST_EMAIL).active
    assert not feature.status().active


def test_activation_reports_an_active_out_of_office_trigger(desk):
    triggers = TriggerService(desk.session, desk.clock)
    triggers.ensure_builtins()
    triggers.activate(triggers.by_key(OUT_OF_OFFICE).id)
    report = ContinuousConversations(desk.session, desk.clock).activate(mail_configured=True)
    assert report.conflicting_triggers == ["Out of office message"]


def test_activation_commits_the_feature_and_the_trigger_for_other_processes(db, clock):
    with db.session() as session:
        from core.agents import AgentService

        AgentService(session, clock).add("bo", "Bo")
        SettingsService(session, clock).update(support_address="help@example.com")
        ContinuousConversations(session, clock).activate(mail_configured=True)
    with db.read_session() as other:
        assert SettingsService(other, FixedClock()).load().continuous_conversations
        assert TriggerService(other, clock).by_key(REQUEST_EMAIL).active
