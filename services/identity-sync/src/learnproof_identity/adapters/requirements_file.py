"""Reads the declarative requirements file (JSON, or YAML when PyYAML is installed)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from ..domain.errors import InvalidDefinition


def read_requirements_file(path: str | Path) -> dict[str, Any]:
    """The file's top-level object: `requirements`, `entitlements`, optional `link_rules`."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() in (".yaml", ".yml"):
        try:
            yaml: Any = importlib.import_module("yaml")
        except ModuleNotFoundError as exc:
            raise InvalidDefinition(
                "YAML requirements need PyYAML; use JSON or install it"
            ) from exc
        document = yaml.safe_load(text)
    else:
        document = json.loads(text)
    if not isinstance(document, dict):
        raise InvalidDefinition(f"{file}: the top level must be an object")
    return document
