"""The README documents every LINKFLOW_* setting (and nothing that no longer exists)."""

import re
from pathlib import Path

from pydantic import BaseModel

from backend.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def setting_variables() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names |= {f"LINKFLOW_{name}_{sub}".upper() for sub in group.model_fields}
        else:
            names.add(f"LINKFLOW_{name}".upper())
    return names


def test_every_setting_is_in_the_readme_table():
    table = set(re.findall(r"^\| `(LINKFLOW_[A-Z0-9_]+)` \|", README.read_text(), re.M))
    assert setting_variables() - table == set(), "document these settings in README.md"
    assert table - setting_variables() == set(), "README documents settings that do not exist"
