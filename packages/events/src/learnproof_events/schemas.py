"""Validates events against the JSON Schemas in the repository's schemas/ folder."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from learnproof_events.envelope import Event, to_structured


def schemas_dir() -> Path:
    """LEARNPROOF_SCHEMAS_DIR, else the nearest ``schemas/`` above this package (the repo's)."""
    configured = os.environ.get("LEARNPROOF_SCHEMAS_DIR")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "schemas"
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    raise FileNotFoundError("no schemas/ folder found; set LEARNPROOF_SCHEMAS_DIR")


@functools.cache
def validator_for(event_type: str, folder: str | None = None) -> Draft202012Validator:
    """The (cached) validator of ``schemas/<event_type>.json``."""
    path = Path(folder) if folder is not None else schemas_dir()
    schema = orjson.loads((path / f"{event_type}.json").read_bytes())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(event: Event, folder: str | None = None) -> list[str]:
    """Every way ``event`` (its CloudEvents JSON form) breaks the schema of its type."""
    document: dict[str, Any] = to_structured(event)
    validator = validator_for(event.type, folder)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def validate_event(event: Event, folder: str | None = None) -> None:
    """Raises ValueError listing the violations when ``event`` breaks its type's schema."""
    errors = schema_errors(event, folder)
    if errors:
        raise ValueError(f"{event.type} {event.id} does not match its schema: " + "; ".join(errors))
