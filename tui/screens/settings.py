"""Account settings for admins: continuous conversations, timing, addresses, the notification email, triggers."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static, Switch, TextArea

from core.continuous import ContinuousConversations
from core.email_templates import EmailTemplateService
from core.errors import ThreadlineError
from core.i18n import available_languages
from core.settings import AccountSettings, SettingsService
from core.triggers import Trigger, TriggerService, text_for
from tui.i18n import N_, _, translate_bindings
from tui.screens.changes import ChangesInWorkers
from tui.messages import ActionDone, LiveChange, Loaded
from tui.screens.prompt import PromptScreen
from tui.text import literal
from tui.widgets.key_bar import KeyBar

PREVIEW_DELAY = 0.3
FIELDS = ("inactivity_minutes", "presence_timeout_seconds", "support_address", "brand_name", "default_language",
          "business_hours")
FIELD_LABELS = {
    "inactivity_minutes": N_("Inactivity period (minutes)"),
    "presence_timeout_seconds": N_("Presence timeout (seconds)"),
    "support_address": N_("Support address"),
    "brand_name": N_("Brand"),
    "default_language": N_("Default language"),
    "business_hours": N_("Business hours (JSON)"),
}


PLACEHOLDERS = {
    "business_hours": N_('empty: always open; e.g. {"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "17:00"]]}}'),
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


class SettingsScreen(ChangesInWorkers, Screen):
    """Admins change account settings here; every change runs in a worker and is one transaction."""

    BINDINGS = [
        Binding("ctrl+s", "save_settings", N_("Save settings"), id="settings.save"),
        Binding("ctrl+t", "save_template", N_("Save email template"), id="settings.save_template"),
        Binding("ctrl+a", "toggle_trigger", N_("Trigger on/off"), id="settings.toggle_trigger"),
        Binding("ctrl+e", "edit_trigger_text", N_("Trigger text"), id="settings.trigger_text"),
        Binding("escape", "back", N_("Back"), id="settings.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.data: SettingsData | None = None
        self.generation = 0
        self.preview_generation = 0
        self.template_language = self._first_language()
        self.preview_timer: Any = None

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
            yield Button(_("Save settings"), id="save-settings", variant="primary")
            yield Static(_("Notification email"), classes="section-title")
            yield Select([(code, code) for code in available_languages()], value=self.template_language,
                         allow_blank=False, id="template-language")
            with Horizontal(classes="form-row"):
                yield Label(_("Subject"))
                yield Input(id="template-subject", placeholder=_("empty: the shipped subject"))
            yield Label(_("Body (empty: the shipped body)"), classes="field-label")
            yield TextArea(id="template-body")
            yield Static("", id="template-error", classes="error", markup=False)
            yield Static("", id="template-preview", markup=False)
            yield Button(_("Save email template"), id="save-template", variant="primary")
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

    @work(thread=True, group="settings", exit_on_error=False)
    def _load(self, generation: int, language: str) -> None:
        context = self.app.context
        with context.db.read_session() as session:
            settings = SettingsService(session, context.clock).load()
            status = ContinuousConversations(session, context.clock).status()
            triggers = TriggerService(session, context.clock).all()
            override = EmailTemplateService(session, context.clock).get(language)
        data = SettingsData(settings, status.active, status.conflicting_triggers, triggers,
                            (override.subject or "") if override else "", (override.body or "") if override else "")
        self.post_message(Loaded("settings", generation, data))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        if message.kind == "settings" and message.generation == self.generation:
            first = self.data is None
            self.data = message.data
            self._fill(message.data, fields=first)
        elif message.kind == "preview" and message.generation == self.preview_generation:
            self._show_preview(message.data)

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
            value = getattr(settings, name)
            if name == "business_hours":
                value = json.dumps(dataclasses.asdict(value)) if value else ""
            self.query_one(f"#field-{name}", Input).value = str(value)
        with self.query_one("#template-subject", Input).prevent(Input.Changed):
            self.query_one("#template-subject", Input).value = data.template_subject
        with self.query_one("#template-body", TextArea).prevent(TextArea.Changed):
            self.query_one("#template-body", TextArea).text = data.template_body
        self.schedule_preview()

    def live_changed(self, change: LiveChange) -> None:
        if change.global_change:
            self.reload()

    # --- changes ------------------------------------------------------------------------------------
    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self._tell_outcome(message)
        if message.kind == "template":
            self.query_one("#template-error", Static).update(message.message if message.error else "")
        if message.kind == "continuous" and message.error:
            switch = self.query_one("#continuous", Switch)
            with switch.prevent(Switch.Changed):
                switch.value = self.data.continuous_on if self.data else False
        self.reload()

    @on(Switch.Changed, "#continuous")
    def _continuous_changed(self, event: Switch.Changed) -> None:
        event.stop()
        self.set_continuous(event.value)

    def set_continuous(self, on: bool) -> None:
        """Switch continuous conversations and the built-in email request trigger together."""
        clock, mail = self.app.context.clock, self.app.context.mail_configured
        if on:
            self._change("continuous", lambda s: ContinuousConversations(s, clock).activate(mail_configured=mail),
                         _("Continuous conversations are on."))
        else:
            self._change("continuous", lambda s: ContinuousConversations(s, clock).deactivate(),
                         _("Continuous conversations are off."))

    def action_save_settings(self) -> None:
        changes: dict[str, Any] = {}
        for name in FIELDS:
            raw = self.query_one(f"#field-{name}", Input).value.strip()
            if name in ("inactivity_minutes", "presence_timeout_seconds"):
                try:
                    changes[name] = int(raw)
                except ValueError:
                    self.notify(_("{field} must be a whole number.").format(field=_(FIELD_LABELS[name])),
                                severity="error", markup=False)
                    return
            elif name == "business_hours":
                try:
                    changes[name] = json.loads(raw) if raw else None
                except json.JSONDecodeError as exc:
                    self.notify(_("The business hours are not valid JSON: {reason}").format(reason=exc.msg),
                                severity="error", markup=False)
                    return
            else:
                changes[name] = raw
        clock = self.app.context.clock
        self._change("settings", lambda s: SettingsService(s, clock).update(**changes), _("Settings saved."))

    @on(Button.Pressed, "#save-settings")
    def _save_settings_pressed(self) -> None:
        self.action_save_settings()

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

    @work(thread=True, group="preview", exit_on_error=False)
    def _preview(self, generation: int, language: str, subject: str, body: str) -> None:
        from mail.overrides import preview

        context = self.app.context
        try:
            with context.db.read_session() as session:
                result = preview(session, context.clock, language, subject=subject or None, body=body or None,
                                 config=context.config)
            data: tuple[str, str, bool] = (result.subject, result.text, False)
        except ThreadlineError as exc:
            data = ("", exc.message, True)
        self.post_message(Loaded("preview", generation, data))

    def _show_preview(self, data: tuple[str, str, bool]) -> None:
        subject, text, error = data
        self.query_one("#template-error", Static).update(text if error else "")
        if not error:
            shown = Text(_("Subject: "), style="bold")
            shown.append_text(literal(subject, one_line=True))
            shown.append("\n\n")
            shown.append_text(literal(text))
            self.query_one("#template-preview", Static).update(shown)

    def action_save_template(self) -> None:
        from mail.overrides import save_override

        clock, agent_id, language = self.app.context.clock, self.app.agent.id, self.template_language
        subject = self.query_one("#template-subject", Input).value
        body = self.query_one("#template-body", TextArea).text
        self._change("template", lambda s: save_override(s, clock, language, subject=subject or None,
                                                         body=body or None, agent_id=agent_id),
                     _("The email template for {language} is saved.").format(language=language))

    @on(Button.Pressed, "#save-template")
    def _save_template_pressed(self) -> None:
        self.action_save_template()

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
        clock, trigger_id = self.app.context.clock, trigger.id
        if trigger.active:
            self._change("trigger", lambda s: TriggerService(s, clock).deactivate(trigger_id), _("Trigger off."))
        else:
            self._change("trigger", lambda s: TriggerService(s, clock).activate(trigger_id), _("Trigger on."))

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
        clock, trigger_id = self.app.context.clock, trigger.id

        def text_chosen(language: str, value: str | None) -> None:
            if value is not None:
                self._change("trigger", lambda s: TriggerService(s, clock).set_text(trigger_id, language, value),
                             _("Trigger text saved."))

        def language_chosen(language: str | None) -> None:
            if not language:
                return
            current = text_for(trigger, keys[0], language, default_language)
            self.app.push_screen(PromptScreen(_("Text in {language}").format(language=language), current),
                                 lambda value: text_chosen(language, value))

        self.app.push_screen(PromptScreen(_("Language of the text (e.g. en, de)"), default_language),
                             language_chosen)

    def action_back(self) -> None:
        self.app.pop_screen()
