"""The admin pages: option scripts (edit, validate, preview, save, history, diff, restore)
and the processes with their diagrams (Flask test client, SQLite and PostgreSQL).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask import Flask

import idmflow.engine as idm
import idmflow.console.web as web

from .conftest import Client, text_of

SCRIPT = "CardsScriptOptions"
URL = f"/admin/scripts/{SCRIPT}"
OFF = "CardsBatchRequestApproval = False"
ON = "CardsBatchRequestApproval = True"


@pytest.fixture
def default_source(web_engine: idm.Engine) -> str:
    """The shipped default, installed as version 1 (what `idmflow init` does)."""
    web_engine.scripts.install_defaults()
    source = web_engine.scripts.show(SCRIPT).source
    assert source is not None and OFF in source
    return source


def line_of(source: str, text: str) -> int:
    return source.splitlines().index(text) + 1


def test_scripts_page_lists_each_script_with_its_active_version(as_admin: Client,
                                                                default_source: str) -> None:
    page = text_of(as_admin.get("/admin/scripts"))
    assert f'<a href="{URL}">{SCRIPT}</a>' in page
    assert "<td>1</td>" in page and "<td>idmflow</td>" in page
    assert "CardsBoProcRequestMulitple" in page


def test_editor_shows_the_source_in_a_labelled_textarea_with_line_numbers(
        as_admin: Client, default_source: str) -> None:
    page = text_of(as_admin.get(URL))
    assert f'<label for="source">Source of {SCRIPT}</label>' in page
    assert '<label for="comment">Comment</label>' in page
    textarea = re.search(r'<textarea id="source"[^>]*>\n(.*?)</textarea>', page, re.S)
    assert textarea and html.unescape(textarea.group(1)) == default_source
    gutter = re.search(r'<pre class="gutter"[^>]*>(.*?)</pre>', page, re.S)
    assert gutter and gutter.group(1).count("<span") == default_source.count("\n") + 1
    for button in ("Validate", "Preview", "Save"):
        assert f'value="{button.lower()}"' in page and f">{button}</button>" in page


def test_before_any_version_the_editor_offers_the_shipped_default(as_admin: Client) -> None:
    page = text_of(as_admin.get(URL))
    assert "No version is saved yet" in page and "CardsBatchRequestApproval = False" in page


def test_validate_shows_the_values_of_a_good_script(as_admin: Client,
                                                    default_source: str) -> None:
    page = text_of(as_admin.post(URL, data={"action": "validate", "source": default_source}))
    assert "The script is valid." in page
    assert "<code>CardsBatchRequestApproval</code></td><td><code>false</code>" in page
    assert "Rules: CardNeedsApproval." in page


@pytest.mark.parametrize("change, message", [
    (("CardsBatchRequestApproval = False", "CardsBatchRequestAproval = True"),
     "did you mean &#39;CardsBatchRequestApproval&#39;?"),
    (("CardsBatchMaxUsers = 100000", "CardsBatchMaxUsers = (1"), "was never closed"),
    (("CardsApproverRole = \"approver\"", "import os"), "line "),
])
def test_validate_and_save_show_each_problem_at_its_line_and_save_nothing(
        as_admin: Client, web_engine: idm.Engine, default_source: str,
        change: tuple[str, str], message: str) -> None:
    line = line_of(default_source, change[0])
    source = default_source.replace(*change)
    for action in ("validate", "save", "preview"):
        response = as_admin.post(URL, data={"action": action, "source": source,
                                            "comment": "broken"})
        page = text_of(response)
        assert response.status_code == 400 and "The script is refused" in page
        assert f"line {line}: " in page and message in page
        assert f'data-error-lines="{line}"' in page
        assert f'<span class="error">{line}</span>' in page
    assert [v.version for v in web_engine.scripts.history(SCRIPT)] == [1]


def test_preview_draws_the_process_under_the_edited_script_before_saving(
        as_admin: Client, web_engine: idm.Engine, default_source: str) -> None:
    page = text_of(as_admin.post(URL, data={"action": "preview",
                                            "source": default_source.replace(OFF, ON)}))
    section = re.search(r'data-process="CardsBoProcRequestMulitple".*?</section>', page, re.S)
    assert section and "changes</span>" in section.group(0)
    assert page.index('data-process="CardsBoProcRequestMulitple"') < page.index("unchanged")
    now, edited = re.findall(r'<pre class="mermaid">(.*?)</pre>', section.group(0), re.S)
    assert "confirm --&gt; approval: next" in edited and "approval" not in now
    assert "confirm --&gt; done: next" in now
    assert "/console-static/vendor/mermaid.min.js" in page
    assert [v.version for v in web_engine.scripts.history(SCRIPT)] == [1]
    assert web_engine.options.snapshot(
        web_engine.definition("CardsBoProcRequestMulitple")).values[
        "CardsBatchRequestApproval"] is False


def test_save_with_a_comment_makes_the_next_active_version(as_admin: Client,
                                                           web_engine: idm.Engine,
                                                           default_source: str) -> None:
    response = as_admin.post(URL, data={"action": "save", "comment": "approval for batches",
                                        "source": default_source.replace(OFF, ON)})
    assert response.status_code == 302 and response.location == URL
    page = text_of(as_admin.get(URL))
    assert f"Saved {SCRIPT} version 2; it is active now." in page
    assert "Active: version 2, saved by admin" in page and "(approval for batches)" in page
    saved = web_engine.scripts.show(SCRIPT)
    assert (saved.version, saved.author, saved.comment) == (2, "admin", "approval for batches")
    assert saved.source == default_source.replace(OFF, ON)


def test_history_diff_and_restore(as_admin: Client, web_engine: idm.Engine,
                                  default_source: str) -> None:
    as_admin.post(URL, data={"action": "save", "comment": "on",
                             "source": default_source.replace(OFF, ON)})
    history = text_of(as_admin.get(f"{URL}/history"))
    assert "<td>2 (active)</td>" in history and "<td>on</td>" in history
    assert 'aria-label="Restore version 1"' in history
    assert 'aria-label="Restore version 2"' not in history  # the active one
    diff = text_of(as_admin.get(f"{URL}/diff?to=2"))
    assert f'<span class="removed">-{OFF}</span>' in diff
    assert f'<span class="added">+{ON}</span>' in diff
    response = as_admin.post(f"{URL}/restore/1")
    assert response.status_code == 302
    assert "Restored version 1 of CardsScriptOptions as version 3" in text_of(
        as_admin.get(response.location))
    restored = web_engine.scripts.show(SCRIPT)
    assert restored.version == 3 and restored.source == default_source
    assert restored.author == "admin" and restored.comment == "restored version 1"


def test_diff_of_unknown_versions_is_a_plain_404(as_admin: Client, default_source: str) -> None:
    response = as_admin.get(f"{URL}/diff?from=1&to=9")
    assert response.status_code == 404 and "has versions 1" in text_of(response)


def test_script_text_with_markup_is_escaped_in_the_editor(as_admin: Client,
                                                          default_source: str) -> None:
    evil = default_source + "# </textarea><script>alert(1)</script>\n"
    as_admin.post(URL, data={"action": "save", "source": evil, "comment": "<b>bold</b>"})
    page = text_of(as_admin.get(URL))
    assert "<script>alert(1)" not in page and "&lt;/textarea&gt;&lt;script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_processes_page_draws_each_process_with_the_local_mermaid(as_admin: Client) -> None:
    page = text_of(as_admin.get("/admin/processes"))
    assert "Request multiple cards <code>CardsBoProcRequestMulitple</code>" in page
    section = re.search(r'data-process="CardsBoProcRequestMulitple".*?</section>', page, re.S)
    assert section
    diagram = re.search(r'<pre class="mermaid">(.*?)</pre>', section.group(0), re.S)
    assert diagram and "stateDiagram-v2" in diagram.group(1)
    assert 'title: &#34;Request multiple cards&#34;' in diagram.group(1)
    assert "\n  class select_users s_default" in diagram.group(1)  # mermaid's keyword
    assert "Class " not in diagram.group(1)
    script = as_admin.get("/console-static/vendor/mermaid.min.js")
    assert script.status_code == 200 and len(script.data) > 1_000_000
    assert "http://" not in page.replace("http://www.w3.org", "")


def test_the_vendored_mermaid_names_its_version_and_licence() -> None:
    vendor = Path(web.__file__).parent / "static" / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert "mermaid" in readme and "MIT" in readme and re.search(r"\b11\.\d+\.\d+\b", readme)
    assert "MIT License" in (vendor / "mermaid.LICENSE").read_text(encoding="utf-8")


def test_one_account_cannot_keep_the_sandbox_busy(app: Flask, as_admin: Client,
                                                  default_source: str) -> None:
    """One action at a time per account, and a bounded number a minute; nothing is lost."""
    from idmflow.console.web import script_quota

    with app.app_context(), script_quota.sandbox_action("admin"):  # e.g. another tab
        response = as_admin.post(URL, data={"action": "validate", "source": default_source})
    assert response.status_code == 429
    page = text_of(response)
    assert "Another Validate, Preview or Save of yours is still running" in page
    assert OFF in page  # the edit comes back
    statuses = [as_admin.post(URL, data={"action": "validate", "source": "x = 1"}).status_code
                for _ in range(script_quota.PER_MINUTE)]
    assert statuses[:-1] == [200] * (script_quota.PER_MINUTE - 1) and statuses[-1] == 429


def test_the_diff_and_the_editor_show_what_runs(as_admin: Client, web_engine: idm.Engine,
                                                default_source: str) -> None:
    """A form feed hides nothing (the parser reads one line), and hidden characters show."""
    trick = default_source.replace(OFF, f"CardsBatchRequestApproval = True # \x0c{OFF}")
    web_engine.scripts.save(SCRIPT, trick, author="admin")
    diff = text_of(as_admin.get(f"{URL}/diff?to=2"))
    assert f'<span class="removed">-{OFF}</span>' in diff
    assert f'<span class="added">+CardsBatchRequestApproval = True # \\x0c{OFF}</span>' in diff
    page = text_of(as_admin.get(URL))
    line = line_of(default_source, OFF)
    assert "do not show as themselves" in page and f"line {line}: <code>\\x0c</code>" in page
    bidi = default_source + "Note = 'abc\u202e'\nraise ValueError('\x1b[2J')\n"
    page = text_of(as_admin.post(URL, data={"action": "validate", "source": bidi}))
    assert "ValueError: \\x1b[2J" in page and "\x1b" not in page.split("<textarea")[0]


def test_a_huge_script_is_refused_without_a_huge_page(as_admin: Client,
                                                      default_source: str) -> None:
    """Half a megabyte of lines made a 9.9 MB editor page (a gutter number per line)."""
    huge = default_source + "\n" * 500_000
    response = as_admin.post(URL, data={"action": "validate", "source": huge})
    assert response.status_code == 400
    page = text_of(response)
    assert "the limit is 256 KB of source" in page
    assert len(response.data) < 2 * len(huge.encode())
