"""Articles as Markdown files: export then import gives the same articles; hand-written files and mistakes."""
from __future__ import annotations

import pytest

from core.article_files import export_articles, import_articles, parse_article
from core.articles import ArticleService
from core.errors import InvalidInput
from tests.core.test_cli_and_schema import run_cli


def snapshot(db, clock):
    with db.read_session() as session:
        return [(a.title, a.slug, a.language, a.body, a.tags, a.published)
                for a in ArticleService(session, clock).articles()]


def test_export_then_import_round_trips(db, clock, tmp_path):
    with db.session() as session:
        service = ArticleService(session, clock)
        service.create('Reset: your "password"', "# Steps\n\n1. Open *Settings*\n---\nnot front matter", "en",
                       tags=["account", "sign-in"], published=True)
        service.create("Rechnungsadresse ändern", "Öffnen Sie das Konto.", "de")
        service.create("Redefinir a senha", "Abra as configurações.", "pt-BR", slug="senha", published=True)
    before = snapshot(db, clock)
    with db.read_session() as session:
        written = export_articles(session, clock, tmp_path / "help")
    assert sorted(p.relative_to(tmp_path / "help").as_posix() for p in written) == [
        "de/rechnungsadresse-andern.md", "en/reset-your-password.md", "pt-BR/senha.md"]
    # Importing what was exported changes nothing.
    with db.session() as session:
        summary = import_articles(session, clock, tmp_path / "help")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 3)
    # Into an empty database: the same articles again.
    with db.session() as session:
        for article in ArticleService(session, clock).articles():
            session.delete(article)
        session.commit()
    with db.session() as session:
        assert import_articles(session, clock, tmp_path / "help").created == 3
    assert snapshot(db, clock) == before


def test_hand_written_file_with_plain_values(tmp_path):
    path = tmp_path / "en" / "shipping-times.md"
    found = parse_article("---\ntitle: Shipping times: what to expect\npublished: true\n---\n\nTwo days.\n", path)
    assert (found.title, found.slug, found.language, found.published) == (
        "Shipping times: what to expect", "shipping-times", "en", True)
    assert found.body == "Two days.\n"


def test_a_mistake_in_any_file_changes_nothing(db, clock, tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "good.md").write_text("---\ntitle: Good\n---\nfine\n")
    (tmp_path / "en" / "worse.md").write_text("---\ntitle: Worse\nslug: \"Not A Slug\"\n---\nbad slug\n")
    with db.session() as session, pytest.raises(InvalidInput):
        import_articles(session, clock, tmp_path)
    assert snapshot(db, clock) == []
    (tmp_path / "en" / "worse.md").write_text("no front matter")
    with db.session() as session, pytest.raises(InvalidInput, match=r"worse\.md"):
        import_articles(session, clock, tmp_path)


def test_command_line_import_and_export(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    source = tmp_path / "source" / "fr"
    source.mkdir(parents=True)
    (source / "mot-de-passe.md").write_text("---\ntitle: \"Mot de passe oublié\"\ntags: [\"compte\"]\n"
                                            "published: true\n---\nOuvrez les paramètres.\n", encoding="utf-8")
    imported = run_cli("articles", "import", str(tmp_path / "source"), data_dir=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "1 created" in imported.stdout
    exported = run_cli("articles", "export", str(tmp_path / "out"), data_dir=tmp_path)
    assert exported.returncode == 0, exported.stderr
    text = (tmp_path / "out" / "fr" / "mot-de-passe.md").read_text(encoding="utf-8")
    assert text == ('---\ntitle: "Mot de passe oublié"\nslug: "mot-de-passe"\nlanguage: "fr"\ntags: ["compte"]\n'
                    "published: true\n---\n\nOuvrez les paramètres.\n")
    missing = run_cli("articles", "import", str(tmp_path / "nowhere"), data_dir=tmp_path)
    assert missing.returncode == 1 and "is not a folder" in missing.stderr and "Traceback" not in missing.stderr
