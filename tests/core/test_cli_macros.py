"""`threadline macros import/export`: a TOML file round trip, and a bad file changes nothing."""
from __future__ import annotations

import tomllib

from core.clock import FixedClock
from core.db import Database
from core.macros import MacroService
from tests.core.test_cli_and_schema import run_cli
from tests.core.test_cli_errors import assert_one_line
from threadline.macro_files import macro_drafts

FILE = '''
[[macro]]
name = "Refund \\"fast\\""
set_status = "pending"
assign_to_me = true
add_tags = ["refund", "billing"]
[macro.texts]
en = """Hi {{ end_user_name or 'there' }},
your refund is on its way \\\\o/ — {{ conversation_url }}"""
pt-BR = "Olá {{ end_user_name }}!\\tObrigado."

[[macro]]
name = "Hello"
[macro.texts]
de = "Hallo"
'''


def _macros(data_dir):
    db = Database(f"sqlite:///{data_dir / 'threadline.db'}")
    try:
        with db.read_session() as session:
            return {m.name: (m.texts, m.set_status, m.assign_to_me, m.add_tags)
                    for m in MacroService(session, FixedClock()).all()}
    finally:
        db.dispose()


def test_export_then_import_gives_back_the_same_macros(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    source = tmp_path / "macros.toml"
    source.write_text(FILE, encoding="utf-8")
    imported = run_cli("macros", "import", str(source), data_dir=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "2 canned replies created, 0 replaced" in imported.stdout
    before = _macros(tmp_path)
    assert before['Refund "fast"'] == (
        {"en": "Hi {{ end_user_name or 'there' }},\nyour refund is on its way \\o/ — {{ conversation_url }}",
         "pt_BR": "Olá {{ end_user_name }}!\tObrigado."}, "pending", True, ["refund", "billing"])

    exported = tmp_path / "out.toml"
    assert run_cli("macros", "export", str(exported), data_dir=tmp_path).returncode == 0
    text = exported.read_text(encoding="utf-8")
    tomllib.loads(text)  # what the writer writes is TOML
    assert [d.name for d in macro_drafts(text)] == ["Hello", 'Refund "fast"']
    again = run_cli("macros", "import", str(exported), data_dir=tmp_path)
    assert "0 canned replies created, 2 replaced" in again.stdout
    assert _macros(tmp_path) == before
    assert 'Refund "fast"' in run_cli("macros", "list", data_dir=tmp_path).stdout


def test_a_bad_file_is_one_line_and_changes_nothing(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[macro]]\nname = "A"\n[macro.texts]\nen = "fine"\n\n'
                   '[[macro]]\nname = "B"\n[macro.texts]\nen = "{{ secret }}"\n', encoding="utf-8")
    assert_one_line(run_cli("macros", "import", str(bad), data_dir=tmp_path), "secret")
    bad.write_text("[[macro]\n", encoding="utf-8")
    assert_one_line(run_cli("macros", "import", str(bad), data_dir=tmp_path), "TOML")
    bad.write_text('[[macro]]\nname = "A"\ncolour = "red"\n', encoding="utf-8")
    assert_one_line(run_cli("macros", "import", str(bad), data_dir=tmp_path), "colour")
    assert _macros(tmp_path) == {}
