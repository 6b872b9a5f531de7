"""Statement comparison: when two statements "match" (xAPI Data 2.3.1, 2.0 sections 4.2.4, 4.2.7).

xAPI 1.0.3 (Data 2.3.1, "Statement Comparision Requirements") says differences that could have
been caused by the exceptions to Statement immutability MUST be ignored, and every other
difference, serialization included, MUST NOT. 2.0 keeps the rule and adds one for durations.
The rules applied here, in the spec's order:

1. Properties the LRS assigns (2.3.1.b1): `stored`, `authority` and `version` are never compared
   (the LRS overwrites or sets them); `id` and `timestamp` are compared only when both
   statements carry them (the LRS fills them in when absent).
2. Activity Definitions (2.3.1.b2) and the Verb's `display` (2.3.1.b3) are not part of the
   statement: ignored by `statements_equivalent`. `signed_payload_matches` keeps them, because
   there the received statement has not been through the LRS, and a signature over a different
   definition is exactly the mistake signature checking is meant to catch.
3. Timestamps (2.3.1.b4) are compared as instants, whatever the offset or digits: two instants
   less than a millisecond apart are equal, since 2.0 (4.2.7) lets the LRS truncate or round to
   milliseconds.
4. A Group's `member` list is unordered (2.3.1.b5); every other array keeps its order.
5. Attachments are not part of the statement (2.3.1.b6): the `attachments` array is compared
   only when both statements have one; signature attachments are never part of a signed payload.
6. Case-insensitive values (2.3.1.b7): the mailto scheme and the domain of an `mbox`, hex
   digests (`mbox_sha1sum`, `sha2`), UUIDs (`id`, `registration`, StatementRef ids) and language
   tags (language map keys, `context.language`) compare without case.
7. Result duration is a string (2.3.1.b8) in 1.0.3; in 2.0 (4.2.7, "Duration") precision beyond
   0.01 second is left out of the comparison, so the seconds' fraction is truncated to two digits
   (trailing zeros dropped).

Where xAPI lets the LRS normalise a shape, both shapes compare equal: a single contextActivities
Activity equals an array of one (2.0 4.2.4.2), an Activity object without `objectType` equals one
with `"Activity"`, an Agent without it equals one with `"Agent"`. Numbers compare by value
(`1` equals `1.0`) but never equal booleans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from learnproof_lrs.domain.attachments import SIGNATURE_USAGE
from learnproof_lrs.domain.versions import V103, V200

_NEVER_COMPARED = ("stored", "authority", "version")
_COMPARED_WHEN_BOTH = ("id", "timestamp", "attachments")
# Registered JWT claims some signing libraries add to a payload; no statement property has these
# names, so they can only come from the signing tool.
_JWT_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")
_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?"
)
_SECONDS_FRACTION = re.compile(r"(\d+)[.,](\d+)S$")
_NANOS_PER_MILLI = 1_000_000

Json = Any


def statements_equivalent(
    a: Mapping[str, Any], b: Mapping[str, Any], *, version: str = V200
) -> bool:
    """Whether two statements match for the conflict rule (same id: match → no-op, else 409).

    `version` is the xAPI version the comparison runs under (the request's); it only changes how
    result durations compare (see the module docstring, rule 7).
    """
    return _compare(a, b, version=version, descriptive=False)


def signed_payload_matches(
    payload: Mapping[str, Any], statement: Mapping[str, Any], *, version: str = V200
) -> bool:
    """Whether a JWS payload is the received statement "before the signature was added".

    Signature attachments are dropped from both sides first (an `attachments` array left empty
    is dropped too), and registered JWT claims (`iat`, `exp`, ...) from the payload.
    """
    signed = _without_signatures(payload)
    for claim in _JWT_CLAIMS:
        signed.pop(claim, None)
    return _compare(signed, _without_signatures(statement), version=version, descriptive=True)


def _without_signatures(statement: Mapping[str, Any]) -> dict[str, Any]:
    copy = dict(statement)
    attachments = copy.get("attachments")
    if isinstance(attachments, list):
        kept = [
            a
            for a in attachments
            if not (isinstance(a, Mapping) and a.get("usageType") == SIGNATURE_USAGE)
        ]
        if kept:
            copy["attachments"] = kept
        else:
            del copy["attachments"]
    return copy


def _compare(
    a: Mapping[str, Any], b: Mapping[str, Any], *, version: str, descriptive: bool
) -> bool:
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        return False
    left, right = dict(a), dict(b)
    for key in _NEVER_COMPARED:
        left.pop(key, None)
        right.pop(key, None)
    for key in _COMPARED_WHEN_BOTH:
        if key not in left or key not in right:
            left.pop(key, None)
            right.pop(key, None)
    normalise = _Normaliser(version=version, descriptive=descriptive)
    return bool(normalise.statement(left) == normalise.statement(right))


@dataclass(frozen=True, slots=True)
class _Bool:
    """A JSON boolean that never equals the numbers 0 and 1 (Python's True == 1)."""

    value: bool


class _Instant:
    """A timestamp as nanoseconds since the epoch; equal to another less than 1 ms away."""

    __slots__ = ("nanos",)
    __hash__ = None  # type: ignore[assignment]  # tolerant equality cannot be hashed

    def __init__(self, nanos: int) -> None:
        self.nanos = nanos

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Instant):
            return NotImplemented
        return abs(self.nanos - other.nanos) < _NANOS_PER_MILLI

    def __repr__(self) -> str:
        return f"_Instant({self.nanos})"


@dataclass(frozen=True, slots=True)
class _Normaliser:
    """Turns a statement into a structure whose `==` follows the comparison rules."""

    version: str
    descriptive: bool

    def statement(self, s: Json) -> Json:
        if not isinstance(s, Mapping):
            return _generic(s)
        handlers: dict[str, Callable[[Json], Json]] = {
            "id": _uuid,
            "actor": _agent,
            "verb": self.verb,
            "object": self.object,
            "result": self.result,
            "context": self.context,
            "timestamp": _instant,
            "attachments": self.attachments,
        }
        return {k: handlers.get(k, _generic)(v) for k, v in s.items()}

    def verb(self, verb: Json) -> Json:
        if not isinstance(verb, Mapping):
            return _generic(verb)
        out = {k: _generic(v) for k, v in verb.items() if k != "display"}
        if self.descriptive and "display" in verb:
            out["display"] = _language_map(verb["display"])
        return out

    def object(self, obj: Json) -> Json:
        if not isinstance(obj, Mapping):
            return _generic(obj)
        kind = obj.get("objectType", "Activity")
        if kind in ("Agent", "Group"):
            return _agent(obj)
        if kind == "StatementRef":
            return {k: _uuid(v) if k == "id" else _generic(v) for k, v in obj.items()}
        if kind == "SubStatement":
            return self.statement(obj)
        return self.activity(obj)

    def activity(self, activity: Json) -> Json:
        if not isinstance(activity, Mapping):
            return _generic(activity)
        out = {k: _generic(v) for k, v in activity.items() if k != "definition"}
        out.setdefault("objectType", "Activity")
        if self.descriptive and "definition" in activity:
            out["definition"] = _definition(activity["definition"])
        return out

    def result(self, result: Json) -> Json:
        if not isinstance(result, Mapping):
            return _generic(result)
        out = {k: _generic(v) for k, v in result.items()}
        duration = result.get("duration")
        if isinstance(duration, str) and self.version != V103:
            out["duration"] = _truncated_duration(duration)
        return out

    def context(self, context: Json) -> Json:
        if not isinstance(context, Mapping):
            return _generic(context)
        out: dict[str, Json] = {}
        for key, value in context.items():
            if key == "registration":
                out[key] = _uuid(value)
            elif key in ("instructor", "team"):
                out[key] = _agent(value)
            elif key == "contextActivities":
                out[key] = self.context_activities(value)
            elif key == "statement":
                out[key] = self.object(value)
            elif key in ("contextAgents", "contextGroups"):
                out[key] = _relevant_actors(value)
            elif key == "language" and isinstance(value, str):
                out[key] = value.lower()
            else:
                out[key] = _generic(value)
        return out

    def context_activities(self, value: Json) -> Json:
        if not isinstance(value, Mapping):
            return _generic(value)
        return {
            kind: [self.activity(a) for a in (acts if isinstance(acts, list) else [acts])]
            for kind, acts in value.items()
        }

    def attachments(self, value: Json) -> Json:
        if not isinstance(value, list):
            return _generic(value)
        return [_attachment(a) for a in value]


def _generic(value: Json) -> Json:
    if isinstance(value, bool):
        return _Bool(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, Mapping):
        return {k: _generic(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_generic(v) for v in value]
    return value


def _uuid(value: Json) -> Json:
    return value.lower() if isinstance(value, str) else _generic(value)


def _agent(agent: Json) -> Json:
    if not isinstance(agent, Mapping):
        return _generic(agent)
    out: dict[str, Json] = {}
    for key, value in agent.items():
        if key == "mbox" and isinstance(value, str):
            out[key] = _mbox(value)
        elif key == "mbox_sha1sum" and isinstance(value, str):
            out[key] = value.lower()
        elif key == "member" and isinstance(value, list):
            members = [_agent(m) for m in value]
            out[key] = sorted(members, key=_sort_key)
        else:
            out[key] = _generic(value)
    out.setdefault("objectType", "Agent")
    return out


def _relevant_actors(value: Json) -> Json:
    if not isinstance(value, list):
        return _generic(value)
    out: list[Json] = []
    for item in value:
        if isinstance(item, Mapping):
            out.append(
                {k: _agent(v) if k in ("agent", "group") else _generic(v) for k, v in item.items()}
            )
        else:
            out.append(_generic(item))
    return out


def _mbox(value: str) -> str:
    scheme, colon, address = value.partition(":")
    if not colon or scheme.lower() != "mailto":
        return value
    local, at, domain = address.rpartition("@")
    return f"mailto:{local}{at}{domain.lower()}" if at else f"mailto:{address}"


def _language_map(value: Json) -> Json:
    if not isinstance(value, Mapping):
        return _generic(value)
    return {str(k).lower(): _generic(v) for k, v in value.items()}


def _definition(definition: Json) -> Json:
    if not isinstance(definition, Mapping):
        return _generic(definition)
    out: dict[str, Json] = {}
    for key, value in definition.items():
        if key in ("name", "description"):
            out[key] = _language_map(value)
        elif key in _COMPONENT_LISTS and isinstance(value, list):
            out[key] = [
                {k: _language_map(v) if k == "description" else _generic(v) for k, v in c.items()}
                if isinstance(c, Mapping)
                else _generic(c)
                for c in value
            ]
        else:
            out[key] = _generic(value)
    return out


def _attachment(attachment: Json) -> Json:
    if not isinstance(attachment, Mapping):
        return _generic(attachment)
    out: dict[str, Json] = {}
    for key, value in attachment.items():
        if key in ("display", "description"):
            out[key] = _language_map(value)
        elif key == "sha2" and isinstance(value, str):
            out[key] = value.lower()
        else:
            out[key] = _generic(value)
    return out


def _instant(value: Json) -> Json:
    """A timestamp as an `_Instant`; an unparseable one stays a string (compared as written)."""
    if not isinstance(value, str):
        return _generic(value)
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return value
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return value
    if match.group(9):
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11) or 0))
        moment -= offset if match.group(9) == "+" else -offset
    fraction = (match.group(7) or "")[:9].ljust(9, "0")
    whole_seconds = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
    return _Instant(whole_seconds * 1_000_000_000 + int(fraction))


def _truncated_duration(duration: str) -> str:
    """A duration with the seconds' fraction cut to hundredths and trailing zeros dropped."""
    match = _SECONDS_FRACTION.search(duration)
    if match is None:
        return duration
    fraction = match.group(2)[:2].rstrip("0")
    seconds = match.group(1) + (f".{fraction}" if fraction else "")
    return duration[: match.start()] + seconds + "S"


def _sort_key(value: Json) -> str:
    return json.dumps(value, sort_keys=True, default=repr)
