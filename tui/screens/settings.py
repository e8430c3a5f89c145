"""Account settings for admins: continuous conversations, timing, addresses, the notification email, triggers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static, Switch, TextArea

from core.continuous import ContinuousConversations
from core.email_templates import EmailTemplateService
from core.errors import ThreadlineError
from core.i18n import available_languages
from core.inactivity import inactivity_period
from core.settings import AccountSettings, SettingsService
from core.triggers import Trigger, TriggerService, text_for
from mail.overrides import preview, save_override
from tui.console_context import ConsoleContext
from tui.formatting import language_choices, language_label
from tui.i18n import N_, _, error_text
from tui.messages import (
    ChangeDone,
    ContinuousSwitched,
    LiveChanged,
    SettingsSaved,
    TemplateReset,
    TemplateSaved,
    TriggerSwitched,
    TriggerTextSaved,
    TypingPreviewSwitched,
)
from tui.screens.business_hours import BusinessHoursScreen, HoursEdited, hours_summary
from tui.screens.macro_settings import MacrosScreen
from tui.screens.prompt import ConfirmScreen, LanguageScreen, PromptScreen
from tui.screens.workers import ChangesInWorkers, show_change_done
from tui.text import literal
from tui.widgets.key_bar import KeyBar

PREVIEW_DELAY = 0.3
FIELDS = ("inactivity", "presence_timeout_seconds", "support_address", "brand_name")
FIELD_LABELS = {
    "inactivity": N_("Inactivity period"),
    "presence_timeout_seconds": N_("Presence timeout (seconds)"),
    "support_address": N_("Support address"),
    "brand_name": N_("Brand"),
    "default_language": N_("Default language"),
    "business_hours": N_("Business hours"),
}


PLACEHOLDERS = {
    "inactivity": N_("e.g. 5 min or 30 s"),
    "support_address": N_("support@example.com"),
}


@dataclass(frozen=True)
class SettingsData:
    settings: AccountSettings
    continuous_on: bool
    conflicting_triggers: list[str]
    triggers: list[Trigger]
    template_subject: str
    template_body: str


class SettingsLoaded(Message):
    def __init__(self, generation: int, data: SettingsData) -> None:
        super().__init__()
        self.generation = generation
        self.data = data


@dataclass(frozen=True)
class TemplatePreview:
    subject: str
    text: str
    error: bool  # text is then the reason the template does not render


class TemplatePreviewed(Message):
    def __init__(self, generation: int, preview: TemplatePreview) -> None:
        super().__init__()
        self.generation = generation
        self.preview = preview


def inactivity_text(settings: AccountSettings) -> str:
    """The effective inactivity period (the seconds override when set) as the agent types it: "5 min", "30 s"."""
    seconds = int(inactivity_period(settings).total_seconds())
    if seconds % 60:
        return _("{count} s").format(count=seconds)
    return _("{count} min").format(count=seconds // 60)


def inactivity_changes(text: str) -> dict[str, int] | None:
    """The settings that make text ("5", "5 min", "30 s", "90 Sek.") the period; None when it is no duration.

    A whole number of minutes is kept in minutes and clears the seconds override; anything else is the override.
    """
    match = re.fullmatch(r"(\d+)\s*([^\d\s]*)", text.strip())
    if match is None:
        return None
    count, unit = int(match.group(1)), match.group(2).lower()
    seconds = count if unit.startswith("s") else count * 60
    if seconds <= 0:
        return None
    if seconds % 60 == 0 and seconds >= 60:
        return {"inactivity_minutes": seconds // 60, "inactivity_seconds": 0}
    return {"inactivity_seconds": seconds}


class SettingsScreen(ChangesInWorkers, Screen):
    """Admins change account settings here; every change runs in a worker and is one transaction."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", N_("Back"), id="settings.back"),  # first: in view on a narrow terminal
        Binding("ctrl+s", "save_settings", N_("Save settings"), id="settings.save"),
        Binding("ctrl+t", "save_template", N_("Save email template"), id="settings.save_template"),
        Binding("ctrl+r", "reset_template", N_("Reset email template"), id="settings.reset_template"),
        Binding("ctrl+b", "edit_business_hours", N_("Business hours"), id="settings.business_hours"),
        Binding("ctrl+a", "toggle_trigger", N_("Trigger on/off"), id="settings.toggle_trigger"),
        Binding("ctrl+e", "edit_trigger_text", N_("Trigger text"), id="settings.trigger_text"),
        # Canned replies have their own screen (tui/screens/macro_settings.py).
        Binding("ctrl+g", "open_macros", N_("Canned replies"), show=False, id="settings.macros"),
        # Off by default (privacy); the notice after switching says which way it now is.
        Binding("ctrl+o", "toggle_typing_preview", N_("Typing preview on/off"), show=False,
                id="settings.typing_preview"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.data: SettingsData | None = None
        self.generation = 0
        self.preview_generation = 0
        self.template_language = self._first_language()
        self.preview_timer: Timer | None = None

    def action_open_macros(self) -> None:
        self.app.push_screen(MacrosScreen(self.context))

    def _first_language(self) -> str:
        return "en" if "en" in available_languages() else available_languages()[0]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="settings-body"):
            yield Static(_("Continuous conversations"), classes="section-title")
            with Horizontal(id="continuous-row"):
                yield Switch(value=False, id="continuous")
                yield Static("", id="continuous-status", markup=False)
            yield Static(_("Account"), classes="section-title")
            for name in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(_(FIELD_LABELS[name]))
                    yield Input(id=f"field-{name}", placeholder=_(PLACEHOLDERS.get(name, "")))
            with Horizontal(classes="form-row", id="hours-row"):
                yield Label(_(FIELD_LABELS["business_hours"]))
                yield Static("", id="hours-summary", markup=False)
                yield Button(_("Edit business hours"), id="edit-hours", compact=True)
            with Horizontal(classes="form-row select-row"):
                yield Label(_("Default language"))
                yield Select(language_choices(available_languages()), allow_blank=False, id="default-language")
            yield Button(_("Save settings"), id="save-settings", variant="primary")
            yield Static(_("Notification email"), classes="section-title")
            yield Select(language_choices(available_languages()), value=self.template_language,
                         allow_blank=False, id="template-language")
            with Horizontal(classes="form-row"):
                yield Label(_("Subject"))
                yield Input(id="template-subject", placeholder=_("empty: the shipped subject"))
            yield Label(_("Body (empty: the shipped body)"), classes="field-label")
            yield TextArea(id="template-body")
            yield Static("", id="template-error", classes="error", markup=False)
            yield Static("", id="template-preview", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Save email template"), id="save-template", variant="primary")
                yield Button(_("Reset to the shipped text"), id="reset-template")
            yield Static(_("Messaging triggers"), classes="section-title")
            yield DataTable(id="triggers", cursor_type="row", classes="table-section")
            yield Static(_("Ctrl+A turns the selected trigger on or off; Ctrl+E edits its text in a language."),
                         classes="note")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#triggers", DataTable)
        table.add_column(_("Trigger"), key="name", width=50)
        table.add_column(_("Active"), key="active", width=8)
        table.add_column(_("Texts set for"), key="texts")
        self.reload()

    # --- loading ------------------------------------------------------------------------------------
    def reload(self) -> None:
        self.generation += 1
        self._load(self.generation, self.template_language)

    @work(thread=True, name="settings-load", group="settings", exit_on_error=False)
    def _load(self, generation: int, language: str) -> None:
        context = self.context
        with context.db.read_session() as session:
            settings = SettingsService(session, context.clock).load()
            status = ContinuousConversations(session, context.clock).status()
            triggers = TriggerService(session, context.clock).all()
            override = EmailTemplateService(session, context.clock).get(language)
        data = SettingsData(settings, status.active, status.conflicting_triggers, triggers,
                            (override.subject or "") if override else "", (override.body or "") if override else "")
        self.post_message(SettingsLoaded(generation, data))

    @on(SettingsLoaded)
    def _loaded(self, message: SettingsLoaded) -> None:
        message.stop()
        if message.generation == self.generation:
            first = self.data is None
            self.data = message.data
            self._fill(message.data, fields=first)
            self.refresh_bindings()

    @on(TemplatePreviewed)
    def _previewed(self, message: TemplatePreviewed) -> None:
        message.stop()
        if message.generation == self.preview_generation:
            self._show_preview(message.preview)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_trigger", "edit_trigger_text"):
            return self.data is None or bool(self.data.triggers)
        return True

    def _fill(self, data: SettingsData, *, fields: bool) -> None:
        switch = self.query_one("#continuous", Switch)
        with switch.prevent(Switch.Changed):
            switch.value = data.continuous_on
        status = _("On: unread replies are emailed after the inactivity period.") if data.continuous_on \
            else _("Off.")
        if data.conflicting_triggers:
            status += " " + _("These active triggers also post when a conversation starts: {names}").format(
                names=", ".join(data.conflicting_triggers))
        self.query_one("#continuous-status", Static).update(status)
        self.query_one("#hours-summary", Static).update(hours_summary(data.settings.business_hours))
        if fields:
            self._fill_fields(data)
        table = self.query_one("#triggers", DataTable)
        selected = table.cursor_row
        table.clear()
        for trigger in data.triggers:
            table.add_row(literal(_(trigger.name) if trigger.key else trigger.name, one_line=True),
                          _("on") if trigger.active else _("off"),
                          ", ".join(sorted(trigger.texts)) or "–", key=str(trigger.id))
        if table.row_count:
            table.move_cursor(row=min(selected, table.row_count - 1))

    def _fill_fields(self, data: SettingsData) -> None:
        settings = data.settings
        for name in FIELDS:
            if name == "inactivity":
                value = inactivity_text(settings)
            else:
                value = str(getattr(settings, name))
            self.query_one(f"#field-{name}", Input).value = value
        language = self.query_one("#default-language", Select)
        with language.prevent(Select.Changed):
            if settings.default_language not in available_languages():  # a tag without a catalog of its own
                language.set_options(language_choices(sorted({*available_languages(), settings.default_language})))
            language.value = settings.default_language
        with self.query_one("#template-subject", Input).prevent(Input.Changed):
            self.query_one("#template-subject", Input).value = data.template_subject
        with self.query_one("#template-body", TextArea).prevent(TextArea.Changed):
            self.query_one("#template-body", TextArea).text = data.template_body
        self.schedule_preview()

    @on(LiveChanged)
    def _live_changed(self, message: LiveChanged) -> None:
        if message.change.global_change:
            self.reload()

    # --- changes ------------------------------------------------------------------------------------
    @on(ChangeDone)
    def _change_done(self, message: ChangeDone) -> None:
        show_change_done(self, message)
        self.reload()

    @on(TemplateSaved)
    @on(TemplateReset)
    def _template_changed(self, message: TemplateSaved | TemplateReset) -> None:
        self.query_one("#template-error", Static).update("")
        if isinstance(message, TemplateReset) and message.language == self.template_language:
            self.data = None  # refill the template fields: now empty, the shipped text
        self.reload()

    def work_failed(self, worker_name: str, error: BaseException) -> None:
        """Whatever failed, show what is saved again (the switch goes back where it was)."""
        if self.data is not None:
            switch = self.query_one("#continuous", Switch)
            with switch.prevent(Switch.Changed):
                switch.value = self.data.continuous_on
        if worker_name == TemplateSaved.__name__:
            reason = error_text(error) if isinstance(error, ThreadlineError) else str(error)
            self.query_one("#template-error", Static).update(reason)

    @on(Switch.Changed, "#continuous")
    def _continuous_changed(self, event: Switch.Changed) -> None:
        event.stop()
        self.set_continuous(event.value)

    def set_continuous(self, on: bool) -> None:
        """Switch continuous conversations and the built-in email request trigger together."""
        clock, mail = self.context.clock, self.context.mail_configured
        if on:
            self._change(lambda s: ContinuousConversations(s, clock).activate(mail_configured=mail),
                         ContinuousSwitched(True))
        else:
            self._change(lambda s: ContinuousConversations(s, clock).deactivate(), ContinuousSwitched(False))

    def action_toggle_typing_preview(self) -> None:
        """Let agents see what end users type before they send it, or stop it (core.activity keeps no text then)."""
        if self.data is None:
            return
        on, clock = not self.data.settings.typing_preview, self.context.clock
        self._change(lambda s: SettingsService(s, clock).update(typing_preview=on), TypingPreviewSwitched(on))

    def action_save_settings(self) -> None:
        changes: dict[str, Any] = {}
        for name in FIELDS:
            raw = self.query_one(f"#field-{name}", Input).value.strip()
            if name == "inactivity":
                period = inactivity_changes(raw)
                if period is None:
                    self.notify(_("The inactivity period is a number of minutes, or of seconds with s "
                                  "(e.g. 5 min or 30 s)."), severity="error", markup=False)
                    return
                changes.update(period)
            elif name == "presence_timeout_seconds":
                try:
                    changes[name] = int(raw)
                except ValueError:
                    self.notify(_("{field} must be a whole number.").format(field=_(FIELD_LABELS[name])),
                                severity="error", markup=False)
                    return
            else:
                changes[name] = raw
        language = self.query_one("#default-language", Select).value
        if isinstance(language, str):
            changes["default_language"] = language
        clock = self.context.clock
        self._change(lambda s: SettingsService(s, clock).update(**changes), SettingsSaved())

    @on(Button.Pressed, "#save-settings")
    def _save_settings_pressed(self) -> None:
        self.action_save_settings()

    # --- business hours ----------------------------------------------------------------------------------
    def action_edit_business_hours(self) -> None:
        """Edit the hours in their dialog; saved at once on their own, through core's settings update."""
        if self.data is None:
            return
        clock = self.context.clock

        def edited(result: HoursEdited | None) -> None:
            if result is not None:
                hours = result.hours
                self._change(lambda s: SettingsService(s, clock).update(business_hours=hours), SettingsSaved())

        self.app.push_screen(BusinessHoursScreen(self.data.settings.business_hours, self._suggested_zone()), edited)

    def _suggested_zone(self) -> str:
        """The zone a new set of hours starts in: the agent's own when the console knows it, else UTC."""
        return self.context.agent.timezone or "UTC"

    @on(Button.Pressed, "#edit-hours")
    def _edit_hours_pressed(self) -> None:
        self.action_edit_business_hours()

    # --- notification email template -----------------------------------------------------------------------
    @on(Select.Changed, "#template-language")
    def _language_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != self.template_language and isinstance(event.value, str):
            self.template_language = event.value
            self.data = None  # refill the template fields for the new language
            self.reload()

    @on(Input.Changed, "#template-subject")
    @on(TextArea.Changed, "#template-body")
    def schedule_preview(self) -> None:
        if self.preview_timer is not None:
            self.preview_timer.stop()
        self.preview_timer = self.set_timer(PREVIEW_DELAY, self._request_preview)

    def _request_preview(self) -> None:
        self.preview_generation += 1
        self._preview(self.preview_generation, self.template_language,
                      self.query_one("#template-subject", Input).value,
                      self.query_one("#template-body", TextArea).text)

    @work(thread=True, name="template-preview", group="preview", exit_on_error=False)
    def _preview(self, generation: int, language: str, subject: str, body: str) -> None:
        context = self.context
        try:
            with context.db.read_session() as session:
                result = preview(session, context.clock, language, subject=subject or None, body=body or None,
                                 config=context.config)
            shown = TemplatePreview(result.subject, result.text, False)
        except ThreadlineError as exc:  # an expected outcome while typing a template, not a failure
            shown = TemplatePreview("", error_text(exc), True)
        self.post_message(TemplatePreviewed(generation, shown))

    def _show_preview(self, shown: TemplatePreview) -> None:
        self.query_one("#template-error", Static).update(shown.text if shown.error else "")
        if not shown.error:
            text = Text(_("Subject: "), style="bold")
            text.append_text(literal(shown.subject, one_line=True))
            text.append("\n\n")
            text.append_text(literal(shown.text))
            self.query_one("#template-preview", Static).update(text)

    def action_save_template(self) -> None:
        clock, agent_id, language = self.context.clock, self.context.agent.id, self.template_language
        subject = self.query_one("#template-subject", Input).value
        body = self.query_one("#template-body", TextArea).text
        self._change(lambda s: save_override(s, clock, language, subject=subject or None, body=body or None,
                                             agent_id=agent_id), TemplateSaved(language))

    @on(Button.Pressed, "#save-template")
    def _save_template_pressed(self) -> None:
        self.action_save_template()

    def action_reset_template(self) -> None:
        """Drop the override for the language shown: notification emails use the shipped subject and body again."""
        clock, agent_id, language = self.context.clock, self.context.agent.id, self.template_language

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change(lambda s: EmailTemplateService(s, clock).clear(language, agent_id),
                             TemplateReset(language))

        self.app.push_screen(ConfirmScreen(_("Reset the notification email in {language} to the shipped text? "
                                             "Your subject and body for it are removed.").format(
            language=language_label(language))), confirmed)

    @on(Button.Pressed, "#reset-template")
    def _reset_template_pressed(self) -> None:
        self.action_reset_template()

    # --- triggers ------------------------------------------------------------------------------------------
    def _selected_trigger(self) -> Trigger | None:
        table = self.query_one("#triggers", DataTable)
        if self.data is None or table.row_count == 0:
            return None
        key, _column = table.coordinate_to_cell_key(table.cursor_coordinate)
        return next((t for t in self.data.triggers if str(t.id) == key.value), None)

    def action_toggle_trigger(self) -> None:
        trigger = self._selected_trigger()
        if trigger is None:
            self.notify(_("There is no trigger to change."), severity="warning")
            return
        clock, trigger_id = self.context.clock, trigger.id
        if trigger_id is None:
            raise ValueError("the trigger has no id: it was not read from the database")
        if trigger.active:
            self._change(lambda s: TriggerService(s, clock).deactivate(trigger_id), TriggerSwitched(trigger_id, False))
        else:
            self._change(lambda s: TriggerService(s, clock).activate(trigger_id), TriggerSwitched(trigger_id, True))

    def action_edit_trigger_text(self) -> None:
        trigger = self._selected_trigger()
        if trigger is None or self.data is None:
            self.notify(_("There is no trigger to change."), severity="warning")
            return
        keys = [a["text"] for a in trigger.actions if a.get("text")]
        if not keys:
            self.notify(_("This trigger posts no text."), severity="warning")
            return
        default_language = self.data.settings.default_language
        clock, trigger_id = self.context.clock, trigger.id
        if trigger_id is None:
            raise ValueError("the trigger has no id: it was not read from the database")

        def text_chosen(language: str, value: str | None) -> None:
            if value is not None:
                self._change(lambda s: TriggerService(s, clock).set_text(trigger_id, language, value),
                             TriggerTextSaved(trigger_id, language))

        def language_chosen(language: str | None) -> None:
            if not language:
                return
            current = text_for(trigger, keys[0], language, default_language)
            self.app.push_screen(PromptScreen(_("Text in {language}").format(language=language_label(language)),
                                              current),
                                 lambda value: text_chosen(language, value))

        self.app.push_screen(LanguageScreen(_("Language of the text"), default_language,
                                            language_choices(available_languages())), language_chosen)

    def action_back(self) -> None:
        self.app.pop_screen()
