"""docs/configuration.md must document every setting exactly as the table says."""

from pathlib import Path

from storj_monitor.settings import SETTINGS, settings_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_configuration_doc_is_generated_from_the_settings_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert settings_markdown() in text, (
        "docs/configuration.md is out of date: run python scripts/gen_config_doc.py"
    )


def test_every_setting_has_help_and_env_name() -> None:
    text = DOC.read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
        assert f"`{setting.env}`" in text
        assert f"`{setting.key}`" in text
