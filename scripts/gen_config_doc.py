"""Regenerate the settings table in docs/configuration.md from storj_monitor.settings.SETTINGS."""

from pathlib import Path

from storj_monitor.settings import settings_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
MARK = "<!-- The table below is generated"

text = DOC.read_text(encoding="utf-8")
head, _, _ = text.partition(MARK)
marker_line = text[len(head) :].splitlines()[0]
DOC.write_text(head + marker_line + "\n" + settings_markdown(), encoding="utf-8")
print(f"wrote {DOC}")
