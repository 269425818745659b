"""Documentation and translations stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from korona.auth.permissions import permission_table_markdown
from korona.web import i18n

ROOT = Path(__file__).resolve().parents[2]


def test_permission_table_in_docs_matches_code() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- permissions:start -->\n(.*?)\n<!-- permissions:end -->", text, re.S)
    assert block, "docs/architecture.md lacks the permissions block"
    assert block.group(1).strip() == permission_table_markdown(), (
        "docs/architecture.md is stale: paste `python -m korona.auth.permissions`"
    )


def test_every_message_id_has_a_norwegian_translation() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    # MapError: korona.surveillance imports no web code, so its messages for the map pages
    # are marked by the exception's name (the web translates them when it shows them).
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "MapError": None}
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT / "src" / "korona", method_map, options, keywords=keywords
    ):
        found.update([message] if isinstance(message, str) else message)
    catalogue = i18n.catalogue("nb")
    missing = sorted(message for message in found if message not in catalogue)
    assert len(found) > 150
    assert missing == [], f"add Norwegian translations (make translations): {missing}"
