"""README and docs/ cannot drift from the code: their `threadline` examples parse and the plain ones run, the mutt
example logs in to the demo's embedded servers, every configuration key is documented with its default, and every
link points to a file (or heading) in the repository."""
from __future__ import annotations

import asyncio
import dataclasses
import imaplib
import re
import shlex
import smtplib
import socket
import tomllib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from core import config as config_module
from tests.core.test_cli_and_schema import run_cli
from threadline import demo
from threadline.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
# Commands that open a terminal app or serve until stopped: their examples are parsed, not run.
LONG_RUNNING = {"serve", "console", "demo"}


def fenced_blocks(text: str, languages: tuple[str, ...]) -> list[str]:
    return [m.group(2) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M) if m.group(1) in languages]


def shell_commands(block: str) -> list[list[str]]:
    """Each `threadline ...` command of a shell block, as argv without the program (after `&&`, `;` or `&` too)."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():  # a backslash-newline continues the command
        if not line.strip():
            continue
        segment: list[str] = []
        for token in [*shlex.split(line, comments=True), "&&"]:
            if token in ("&&", "&", ";", "||"):
                while segment and re.match(r"^[A-Z_]+=", segment[0]):  # VAR=value prefixes
                    segment.pop(0)
                if segment and Path(segment[0]).name == "threadline":
                    commands.append(segment[1:])
                segment = []
            else:
                segment.append(token)
    return commands


def fenced_examples() -> list[list[str]]:
    found = []
    for document in DOCUMENTS:
        for block in fenced_blocks(document.read_text(), ("sh", "bash", "shell", "console")):
            found += shell_commands(block)
    return found


def inline_examples() -> list[tuple[str, str]]:
    """Every `threadline ...` code span of README and docs/ (usage forms, with placeholders), with its document."""
    found = []
    for document in DOCUMENTS:
        text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.S | re.M)
        for span in re.findall(r"`(threadline(?: [^`]*)?)`", text):
            found.append((document.name, span))
    return found


def check_usage(words: list[str]) -> None:
    """Walk the real parser along words: each subcommand and option must exist where the example uses it.
    Upper-case words (HANDLE, COMMAND), values and [ ] | of a usage form are placeholders."""
    parser, _modules = build_parser()
    current, expect_value = parser, False
    for raw in words:
        word = raw.strip("[]")
        if not word or word in ("|", "...") or expect_value:
            expect_value = False
            continue
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            action = current._option_string_actions.get(option)
            assert action is not None, f"{current.prog} has no option {option}"
            expect_value = action.nargs != 0 and "=" not in word
            continue
        subcommands = [a for a in current._actions if a.__class__.__name__ == "_SubParsersAction"]
        if subcommands and not word.isupper():
            choices = subcommands[0].choices
            assert word in choices, f"{current.prog} has no subcommand {word!r} (it has {', '.join(choices)})"
            current = choices[word]


def test_there_are_examples_to_check():
    commands = [c[0] for c in fenced_examples() if c]
    assert {"init", "agent", "doctor", "serve", "console", "demo"} <= set(commands)
    spans = [span for _doc, span in inline_examples()]
    assert "threadline --help" in spans and any(s.startswith("threadline agent add") for s in spans)


@pytest.mark.parametrize("document, span", inline_examples())
def test_inline_examples_name_real_commands_and_options(document, span):
    check_usage(span.split()[1:])


@pytest.mark.parametrize("argv", fenced_examples(), ids=" ".join)
def test_fenced_examples_parse(argv):
    parser, _modules = build_parser()
    try:
        parser.parse_args(argv)
    except SystemExit as exit_:
        pytest.fail(f"`threadline {shlex.join(argv)}` does not parse (exit {exit_.code})")


def test_the_plain_examples_run_in_order_on_a_fresh_data_folder(tmp_path):
    """init, agent add/list, doctor and --help as the README writes them, against a new SQLite data folder."""
    runnable, seen = [], set()
    for argv in [["--help"], *fenced_examples()]:
        if argv and argv[0] not in LONG_RUNNING and tuple(argv) not in seen:
            seen.add(tuple(argv))
            runnable.append(argv)
    assert any(argv[:2] == ["agent", "add"] for argv in runnable)
    for argv in runnable:
        result = run_cli(*argv, data_dir=tmp_path, extra_env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
        assert result.returncode == 0, f"threadline {shlex.join(argv)}:\n{result.stdout}{result.stderr}"


# --- the mail-client example -----------------------------------------------------------------------------------

def _mutt_example() -> dict[str, str]:
    line = next(line for line in README.read_text().splitlines() if "mutt -f imap://" in line)
    command = shlex.split(re.search(r"`(mutt [^`]*)`", line).group(1))
    imap = urlsplit(command[command.index("-f") + 1])
    settings = dict(item.split("=", 1) for item in shlex.split(command[command.index("-e") + 1])[1:])
    smtp = urlsplit(settings["smtp_url"])
    return {"imap_user": unquote(imap.username), "imap_host": imap.hostname, "imap_port": imap.netloc.rsplit(":", 1)[1],
            "smtp_host": smtp.hostname, "smtp_port": smtp.netloc.rsplit(":", 1)[1], "from": settings["from"],
            "password": settings["imap_pass"]}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_mutt_example_matches_the_demo_mailboxes():
    example = _mutt_example()
    assert example["imap_user"] in demo.END_USERS, example
    assert example["from"] == example["imap_user"]
    assert example["password"] == demo.MAILBOX_PASSWORD
    assert (example["imap_port"], example["smtp_port"]) == ("IMAP_PORT", "SMTP_PORT")  # the ports the demo prints
    thunderbird = next(line for line in README.read_text().split("- Thunderbird")[1:2])
    assert f"username `{example['imap_user']}`" in " ".join(thunderbird.split())


async def test_the_mutt_example_logs_in_and_sends_through_the_demo_servers():
    """The login and addresses of the example work against the demo's own embedded IMAP and SMTP servers."""
    example = _mutt_example()
    imap_port, smtp_port = _free_port(), _free_port()
    mail = demo.DemoMail(smtp_port, imap_port)
    await mail.start()
    try:
        def as_the_example() -> int:
            client = imaplib.IMAP4(example["imap_host"], imap_port)
            try:
                assert client.login(example["imap_user"], example["password"])[0] == "OK"
                assert client.select("INBOX")[0] == "OK"
            finally:
                client.logout()
            email = EmailMessage()
            email["From"], email["To"], email["Subject"] = example["from"], demo.SUPPORT_ADDRESS, "From the README"
            email.set_content("Hello")
            with smtplib.SMTP(example["smtp_host"], smtp_port) as smtp:
                smtp.send_message(email)
            support = imaplib.IMAP4("127.0.0.1", imap_port)
            try:
                support.login(demo.SUPPORT_ADDRESS, demo.MAILBOX_PASSWORD)
                return int(support.select("INBOX")[1][0])
            finally:
                support.logout()

        assert await asyncio.to_thread(as_the_example) == 1
    finally:
        await mail.stop()


# --- the configuration example ---------------------------------------------------------------------------------

def _documented_configuration() -> dict[str, dict[str, str]]:
    """{section: {key: the line's value text}} from README's TOML example, commented-out keys included."""
    block = next(b for b in fenced_blocks(README.read_text(), ("toml",)) if "[general]" in b)
    documented: dict[str, dict[str, str]] = {}
    section = ""
    for line in block.splitlines():
        header = re.match(r"^\[(\w+)\]", line)
        if header:
            section = header.group(1)
            documented[section] = {}
            continue
        entry = re.match(r"^(#\s*)?(\w+)\s*=\s*(.*)$", line)
        if entry and section:
            documented[section][entry.group(2)] = entry.group(3)
    return documented


def test_every_configuration_key_is_documented_with_its_default():
    documented = _documented_configuration()
    config = config_module.Config()
    for section in dataclasses.fields(config_module.Config):
        if section.name == "source":
            continue
        values = getattr(config, section.name)
        keys = {field.name for field in dataclasses.fields(values)}
        assert section.name in documented, f"[{section.name}] is missing from README's configuration example"
        assert set(documented[section.name]) == keys, f"[{section.name}]"
        for key, text in documented[section.name].items():
            value, default = tomllib.loads(f"v = {text}")["v"], getattr(values, key)
            # The line shows the default itself, or an example value whose comment gives the default.
            assert value == default or "default" in text.partition("#")[2], \
                f"[{section.name}] {key}: README says {value!r}; the default is {default!r}"


# --- links ------------------------------------------------------------------------------------------------------

def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(document: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.S | re.M)
    return {_anchor(heading) for heading in re.findall(r"^#+ (.*)$", text, re.M)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_points_into_the_repository(document):
    text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.S | re.M)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert "notes kept beside" not in text
    for link in links:
        if re.match(r"^[a-z]+:", link):
            continue  # an outside address (https:, mailto:) is not a file of ours
        target, _hash, anchor = link.partition("#")
        path = (document.parent / target).resolve() if target else document
        assert path.is_relative_to(ROOT), f"{document.name}: {link} points outside the repository"
        assert path.exists(), f"{document.name}: {link} names no file in the repository"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), f"{document.name}: {link} names no heading of {path.name}"
