"""Validation of xAPI statements (1.0.3 and 2.0.0) exactly as the LRS receives them.

Every MUST of the xAPI data model that an LRS has to enforce on a received statement is checked
here, and the first violation raises `InvalidStatement(path, message)`, where `path` is a
JSON-path-like pointer to the offending field (`statement.actor.mbox`,
`statement[3].context.contextActivities.parent[0].id`, `...display["en-US"]`).

Why hand-written rather than pydantic models:
- Exact xAPI semantics. xAPI rejects unknown properties at every level (case-sensitively), forbids
  `null` wherever the spec gives a type, distinguishes Agent/Group/anonymous Group by the presence
  of fields, restricts context `revision`/`platform` by the statement's object type, and so on.
  Expressing these as models needs validators and discriminators everywhere, coerces values
  (`"1"` -> 1, `1` -> True) unless every field is strict, and produces error locations that do not
  name the xAPI field in the form clients expect.
- Speed. The LRS validates every statement of a 100-statement batch on the request path; walking
  the decoded JSON once with precompiled regular expressions and frozenset key checks, without
  building model instances, is several times faster and allocates almost nothing on success.
  IRI and language-tag checks are memoised in bounded dicts because the same verbs, activities
  and tags recur across a batch.

This module is pure: no I/O and no framework imports.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, NoReturn

from learnproof_lrs.domain.errors import InvalidStatement
from learnproof_lrs.domain.versions import V103, V200

__all__ = [
    "VOIDED_VERB",
    "is_iri",
    "is_uuid",
    "parse_timestamp",
    "validate_agent",
    "validate_duration",
    "validate_language_tag",
    "validate_statement",
]

VOIDED_VERB: Final = "http://adlnet.gov/expapi/verbs/voided"

# --------------------------------------------------------------------------------------------
# Property sets (case-sensitive, as xAPI keys are)
# --------------------------------------------------------------------------------------------
_STATEMENT_KEYS: Final = frozenset(
    {
        "id",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "stored",
        "authority",
        "version",
        "attachments",
    }
)
_SUBSTATEMENT_KEYS: Final = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
)
_SUBSTATEMENT_FORBIDDEN: Final = ("id", "stored", "version", "authority")
_AGENT_KEYS: Final = frozenset({"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})
_GROUP_KEYS: Final = _AGENT_KEYS | {"member"}
_IFIS: Final = ("mbox", "mbox_sha1sum", "openid", "account")
_AGENTISH: Final = (*_IFIS, "member")
_ACCOUNT_KEYS: Final = frozenset({"homePage", "name"})
_VERB_KEYS: Final = frozenset({"id", "display"})
_ACTIVITY_KEYS: Final = frozenset({"objectType", "id", "definition"})
_STATEMENT_REF_KEYS: Final = frozenset({"objectType", "id"})
_DEFINITION_KEYS: Final = frozenset(
    {
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "interactionType",
        "correctResponsesPattern",
        "choices",
        "scale",
        "source",
        "target",
        "steps",
    }
)
_COMPONENT_KEYS: Final = frozenset({"id", "description"})
_COMPONENT_LISTS: Final = ("choices", "scale", "source", "target", "steps")
# Which interaction-component lists each interactionType may carry (xAPI Data 2.4.4.1).
_LISTS_BY_INTERACTION: Final[dict[str, frozenset[str]]] = {
    "true-false": frozenset(),
    "choice": frozenset({"choices"}),
    "fill-in": frozenset(),
    "long-fill-in": frozenset(),
    "matching": frozenset({"source", "target"}),
    "performance": frozenset({"steps"}),
    "sequencing": frozenset({"choices"}),
    "likert": frozenset({"scale"}),
    "numeric": frozenset(),
    "other": frozenset(),
}
_RESULT_KEYS: Final = frozenset(
    {"score", "success", "completion", "response", "duration", "extensions"}
)
_SCORE_KEYS: Final = frozenset({"scaled", "raw", "min", "max"})
_CONTEXT_KEYS_103: Final = frozenset(
    {
        "registration",
        "instructor",
        "team",
        "contextActivities",
        "revision",
        "platform",
        "language",
        "statement",
        "extensions",
    }
)
_CONTEXT_KEYS_200: Final = _CONTEXT_KEYS_103 | {"contextAgents", "contextGroups"}
_CONTEXT_ACTIVITY_KEYS: Final = frozenset({"parent", "grouping", "category", "other"})
_CONTEXT_AGENT_KEYS: Final = frozenset({"objectType", "agent", "relevantTypes"})
_CONTEXT_GROUP_KEYS: Final = frozenset({"objectType", "group", "relevantTypes"})
_ATTACHMENT_KEYS: Final = frozenset(
    {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}
)
_ATTACHMENT_REQUIRED: Final = ("usageType", "display", "contentType", "length", "sha2")

# --------------------------------------------------------------------------------------------
# Regular expressions (compiled once)
# --------------------------------------------------------------------------------------------
_UUID_RE: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_SHA1_RE: Final = re.compile(r"[0-9a-fA-F]{40}")
_HEX_RE: Final = re.compile(r"[0-9a-fA-F]+")
_SHA2_HEX_LENGTHS: Final = frozenset({56, 64, 96, 128})  # SHA-224/256/384/512
# RFC 3987 absolute IRI: scheme ":" ihier-part [ "?" iquery ] [ "#" ifragment ]. Characters that
# may never appear: controls, space, "<>\"{}|\\^`", C1 controls, bidi formatting marks (3987 4.1).
# A "%" must start a pct-encoded triplet; "#" may appear once; "[" "]" only in the authority.
_UCS: Final = r"[^\x00-\x9f\u200e\u200f\u202a-\u202e]"
_PCT: Final = r"%[0-9A-Fa-f]{2}"
_IRI_CHAR: Final = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|" + _PCT + "|" + _UCS + ")"
_IRI_RE: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?P<rest>(?:" + _IRI_CHAR + r"|[\[\]])*)(?:#" + _IRI_CHAR + r"*)?"
)
_AUTHORITY_RE: Final = re.compile(
    r"(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|" + _PCT + "|" + _UCS + r")*@)?"  # iuserinfo
    r"(?:\[[0-9A-Fa-f:.]+\]|\[[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]"  # IP-literal
    r"|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|" + _PCT + "|" + _UCS + r")*)"  # ireg-name
    r"(?::[0-9]*)?"  # port
)
_MAILTO_RE: Final = re.compile(r"mailto:[^@\s/?#]+@[^@\s/?#]+")
_MEDIA_TYPE_RE: Final = re.compile(
    r"[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+"
    r"(?:[ \t]*;[ \t]*[A-Za-z0-9!#$&^_.+\-]+=(?:[A-Za-z0-9!#$&^_.+\-]+|\"(?:[^\"\\]|\\.)*\"))*"
    r"[ \t]*"
)
_VERSION_103_RE: Final = re.compile(r"1\.0(?:\.\d+)?")
_VERSION_200_RE: Final = re.compile(r"(?:1|2)\.0(?:\.\d+)?")

# RFC 5646 (BCP 47) Language-Tag ABNF, section 2.1, matched case-insensitively.
_LANGTAG_RE: Final = re.compile(
    r"""
    (?:
      (?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})   # language ["-" extlang]
      (?:-[a-z]{4})?                                        # ["-" script]
      (?:-(?:[a-z]{2}|[0-9]{3}))?                           # ["-" region]
      (?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)  # *("-" variant)
      (?P<extensions>(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*)   # *("-" extension)
      (?:-x(?:-[a-z0-9]{1,8})+)?                            # ["-" privateuse]
    |
      x(?:-[a-z0-9]{1,8})+                                  # privateuse
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_GRANDFATHERED: Final = frozenset(
    {
        # irregular
        "en-gb-oed",
        "i-ami",
        "i-bnn",
        "i-default",
        "i-enochian",
        "i-hak",
        "i-klingon",
        "i-lux",
        "i-mingo",
        "i-navajo",
        "i-pwn",
        "i-tao",
        "i-tay",
        "i-tsu",
        "sgn-be-fr",
        "sgn-be-nl",
        "sgn-ch-de",
        # regular
        "art-lojban",
        "cel-gaulish",
        "no-bok",
        "no-nyn",
        "zh-guoyu",
        "zh-hakka",
        "zh-min",
        "zh-min-nan",
        "zh-xiang",
    }
)

# ISO 8601:2004 4.4.3.2 durations: PnYnMnDTnHnMnS (any subset, at least one) or PnW. The
# alternative format (P0003-06-04T12:30:05, 4.4.3.3) is not allowed by xAPI.
_NUM: Final = r"(\d+(?:[.,]\d+)?)"
_DURATION_RE: Final = re.compile(
    r"P(?:"
    + _NUM
    + r"W|(?=\d|T\d)(?:"
    + _NUM
    + r"Y)?(?:"
    + _NUM
    + r"M)?(?:"
    + _NUM
    + r"D)?(?:T(?=\d)(?:"
    + _NUM
    + r"H)?(?:"
    + _NUM
    + r"M)?(?:"
    + _NUM
    + r"S)?)?)"
)

# Timestamps. 1.0.3: ISO 8601 date-time, extended or basic format (not mixed), time at least
# hh:mm, optional fraction (point or comma), optional zone (Z, +hh, +hh:mm, +hhmm).
_TZ_ISO: Final = r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
_TS_ISO_EXT_RE: Final = re.compile(
    r"(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})T(?P<h>\d{2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?" + _TZ_ISO
)
_TS_ISO_BASIC_RE: Final = re.compile(
    r"(?P<Y>\d{4})(?P<M>\d{2})(?P<D>\d{2})T(?P<h>\d{2})(?P<m>\d{2})"
    r"(?:(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?" + _TZ_ISO
)
# 2.0.0: RFC 3339 date-time (section 5.6): seconds and zone required; "T"/"Z" case-insensitive.
_TS_RFC3339_RE: Final = re.compile(
    r"(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})[Tt](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d+))?(?P<tz>[Zz]|[+-]\d{2}:\d{2})"
)

_MISSING: Final = object()
_CACHE_LIMIT: Final = 20_000


def _fail(path: str, message: str) -> NoReturn:
    raise InvalidStatement(path, message)


def _tname(value: object) -> str:
    """JSON type name of a decoded value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: object) -> str:
    """repr() of a client value for a message, cut short: messages must stay small."""
    text = repr(value)
    return text if len(text) <= 80 else text[:72] + "...(cut)"


def _key_path(path: str, key: str) -> str:
    """Child path; keys that are not identifiers (IRIs, language tags) are bracket-quoted."""
    if len(key) > 200:
        key = key[:200] + "..."
    if key.isidentifier():
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'


def _unknown_key(obj: dict[str, Any], allowed: frozenset[str], path: str, what: str) -> NoReturn:
    """Name the first property of `obj` outside `allowed` (call only when there is one)."""
    for key in obj:
        if key not in allowed:
            hint = ""
            near = [a for a in allowed if a.lower() == key.lower()]
            if near:
                hint = f" (did you mean {near[0]!r}? property names are case-sensitive)"
            _fail(_key_path(path, key), f"{what} has no property {_show(key)}{hint}")
    raise AssertionError("no unknown property")  # pragma: no cover


def _require_dict(value: object, path: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, f"must be {what} (a JSON object), got {_tname(value)}")
    return value


def _require_str(value: object, path: str) -> str:
    if not isinstance(value, str):
        _fail(path, f"must be a string, got {_tname(value)}")
    return value


def _require_number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(path, f"must be a number, got {_tname(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        _fail(path, "must be a finite number")
    return value


# --------------------------------------------------------------------------------------------
# Primitive formats
# --------------------------------------------------------------------------------------------
def is_uuid(value: object) -> bool:
    """True for a string in the RFC 4122 textual form (any version or variant, any case)."""
    return isinstance(value, str) and len(value) == 36 and _UUID_RE.fullmatch(value) is not None


def _iri_uncached(value: str) -> bool:
    m = _IRI_RE.fullmatch(value)
    if m is None:
        return False
    rest = m.group("rest")
    if rest.startswith("//"):
        end = len(rest)
        for sep in "/?#":
            i = rest.find(sep, 2)
            if i != -1 and i < end:
                end = i
        if _AUTHORITY_RE.fullmatch(rest, 2, end) is None:
            return False
        tail = rest[end:]
    else:
        tail = rest
    # "[" and "]" are only legal inside an IP-literal host.
    return "[" not in tail and "]" not in tail


def is_iri(value: object) -> bool:
    """True for an absolute IRI (RFC 3987): a scheme, ":", and only legal IRI characters."""
    return isinstance(value, str) and _iri_cached(value)


def _lang_uncached(tag: str) -> bool:
    if not tag.isascii():
        return False
    if tag.lower() in _GRANDFATHERED:
        return True
    m = _LANGTAG_RE.fullmatch(tag)
    if m is None:
        return False
    # RFC 5646 2.2.5/2.2.6: a variant may not repeat, nor may an extension singleton.
    variants = m.group("variants")
    if variants:
        parts = variants.lower().split("-")[1:]
        if len(parts) != len(set(parts)):
            return False
    extensions = m.group("extensions")
    if extensions:
        singletons = [p for p in extensions.lower().split("-")[1:] if len(p) == 1]
        if len(singletons) != len(set(singletons)):
            return False
    return True


# The same verbs, activities and tags recur across a batch: memoise the regex work.
_iri_cached = functools.lru_cache(maxsize=_CACHE_LIMIT)(_iri_uncached)
_lang_cached = functools.lru_cache(maxsize=_CACHE_LIMIT)(_lang_uncached)


def validate_language_tag(tag: object) -> bool:
    """True when `tag` is a well-formed RFC 5646 language tag (grammar, grandfathered tags,
    no repeated variant or extension singleton). The subtag registry is not consulted."""
    return isinstance(tag, str) and _lang_cached(tag)


def validate_duration(value: object) -> bool:
    """True for an ISO 8601:2004 4.4.3.2 duration (only the last component may be fractional)."""
    if not isinstance(value, str):
        return False
    m = _DURATION_RE.fullmatch(value)
    if m is None:
        return False
    present = [g for g in m.groups() if g is not None]
    return not any("." in g or "," in g for g in present[:-1])


def _offset(tz: str | None) -> timezone | None:
    """The zone of a timestamp, or None when absent. Raises ValueError on -00:00 and ranges."""
    if tz is None:
        return None
    if tz in ("Z", "z"):
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    if sign < 0 and hours == 0 and minutes == 0:
        # RFC 3339 4.3 / ISO 8601: "-00:00" means "offset unknown"; xAPI rejects it.
        raise ValueError("negative zero offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_timestamp(value: str, version: str) -> datetime:
    """Parse an xAPI timestamp; ValueError when it is not valid for `version`.

    1.0.3: ISO 8601 date-time (extended or basic); no zone means UTC; the offset is kept.
    2.0.0: RFC 3339 date-time; the result is converted to UTC. Both reject "-00:00"-style
    offsets. Fractions beyond microseconds are truncated; a leap second (":60") is read as the
    first instant of the next minute.
    """
    if not isinstance(value, str):
        raise ValueError("timestamp must be a string")
    if version == V200:
        m = _TS_RFC3339_RE.fullmatch(value)
    else:
        m = _TS_ISO_EXT_RE.fullmatch(value) or _TS_ISO_BASIC_RE.fullmatch(value)
    if m is None:
        raise ValueError(
            "expected YYYY-MM-DDThh:mm:ss[.fff] then Z or +hh:mm"
            if version == V200
            else "expected an ISO 8601 date and time such as 2024-05-04T12:00:00.000Z"
        )
    tz = _offset(m.group("tz"))
    sec_text = m.group("s")
    seconds = int(sec_text) if sec_text is not None else 0
    leap = seconds == 60
    if leap:
        seconds = 59
    frac = m.group("f")
    micro = int((frac + "00000")[:6]) if frac else 0
    result = datetime(
        int(m.group("Y")),
        int(m.group("M")),
        int(m.group("D")),
        int(m.group("h")),
        int(m.group("m")),
        seconds,
        micro,
        tzinfo=tz if tz is not None else UTC,
    )
    if leap:
        result = result.replace(microsecond=0) + timedelta(seconds=1)
    if version == V200:
        result = result.astimezone(UTC)
    return result


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------
def _iri(value: object, path: str, what: str = "an IRI") -> None:
    if isinstance(value, str):
        if _iri_cached(value):
            return
        _fail(path, f"{_show(value)} is not {what} (an absolute IRI with a scheme)")
    _fail(path, f"must be {what} string, got {_tname(value)}")


def _uuid(value: object, path: str) -> None:
    if not isinstance(value, str):
        _fail(path, f"must be a UUID string, got {_tname(value)}")
    if not is_uuid(value):
        _fail(path, f"{_show(value)} is not a UUID")


def _language_map(value: object, path: str) -> None:
    lang_map = _require_dict(value, path, "a language map")
    for tag, text in lang_map.items():
        if not validate_language_tag(tag):
            _fail(_key_path(path, tag), f"{_show(tag)} is not an RFC 5646 language tag")
        if not isinstance(text, str):
            _fail(_key_path(path, tag), f"must be a string, got {_tname(text)}")


def _extensions(value: object, path: str) -> None:
    ext = _require_dict(value, path, "an extensions map")
    for key in ext:
        if not is_iri(key):
            _fail(_key_path(path, key), f"extension key {_show(key)} is not an IRI")
    # Values are any JSON, null included (Data 4.1).


def _timestamp(value: object, path: str, version: str) -> None:
    if not isinstance(value, str):
        _fail(path, f"must be a timestamp string, got {_tname(value)}")
    try:
        parse_timestamp(value, version)
    except ValueError as exc:
        kind = "an RFC 3339" if version == V200 else "an ISO 8601"
        _fail(path, f"{_show(value)} is not {kind} timestamp ({exc})")


# --------------------------------------------------------------------------------------------
# Actors
# --------------------------------------------------------------------------------------------
def _account(value: object, path: str) -> None:
    account = _require_dict(value, path, "an account")
    if not _ACCOUNT_KEYS.issuperset(account):
        _unknown_key(account, _ACCOUNT_KEYS, path, "an account")
    if "homePage" not in account:
        _fail(path + ".homePage", "is required in an account")
    if "name" not in account:
        _fail(path + ".name", "is required in an account")
    _iri(account["homePage"], path + ".homePage", "an IRL")
    _require_str(account["name"], path + ".name")


def _ifi(key: str, value: object, path: str) -> None:
    if key == "mbox":
        if not isinstance(value, str):
            _fail(path, f"must be a mailto IRI string, got {_tname(value)}")
        if _MAILTO_RE.fullmatch(value) is None or not is_iri(value):
            _fail(path, f"{_show(value)} is not a mailto IRI (mailto:name@example.com)")
    elif key == "mbox_sha1sum":
        if not isinstance(value, str):
            _fail(path, f"must be a string of 40 hex digits, got {_tname(value)}")
        if len(value) != 40 or _SHA1_RE.fullmatch(value) is None:
            _fail(path, f"{_show(value)} is not a SHA-1 hex digest (40 hex digits)")
    elif key == "openid":
        _iri(value, path, "a URI")
    else:
        _account(value, path)


def _count_ifis(obj: dict[str, Any]) -> list[str]:
    return [k for k in _IFIS if k in obj]


def _agent_body(obj: dict[str, Any], path: str, what: str = "an Agent") -> None:
    if not _AGENT_KEYS.issuperset(obj):
        _unknown_key(obj, _AGENT_KEYS, path, what)
    if "name" in obj:
        _require_str(obj["name"], path + ".name")
    ifis = _count_ifis(obj)
    if len(ifis) != 1:
        if not ifis:
            _fail(path, f"{what} needs exactly one of mbox, mbox_sha1sum, openid, account")
        _fail(path, f"{what} must have exactly one identifier, got {', '.join(ifis)}")
    key = ifis[0]
    _ifi(key, obj[key], f"{path}.{key}")


def _group_body(obj: dict[str, Any], path: str, version: str) -> bool:
    """Validate a Group; True when it is anonymous (no identifier)."""
    if not _GROUP_KEYS.issuperset(obj):
        _unknown_key(obj, _GROUP_KEYS, path, "a Group")
    if "name" in obj:
        _require_str(obj["name"], path + ".name")
    ifis = _count_ifis(obj)
    if len(ifis) > 1:
        _fail(path, f"a Group may have at most one identifier, got {', '.join(ifis)}")
    if ifis:
        key = ifis[0]
        _ifi(key, obj[key], f"{path}.{key}")
    anonymous = not ifis
    if "member" in obj:
        members = obj["member"]
        mpath = path + ".member"
        if not isinstance(members, list):
            _fail(mpath, f"must be an array of Agents, got {_tname(members)}")
        if anonymous and not members:
            _fail(mpath, "an anonymous Group must list at least one member")
        for i, member in enumerate(members):
            ipath = f"{mpath}[{i}]"
            m = _require_dict(member, ipath, "an Agent")
            ot = m.get("objectType", _MISSING)
            if ot is not _MISSING and ot != "Agent":
                if ot == "Group":
                    _fail(ipath + ".objectType", "a Group's members must be Agents, not Groups")
                _fail(ipath + ".objectType", f"must be 'Agent', got {_show(ot)}")
            _agent_body(m, ipath)
    elif anonymous:
        _fail(path + ".member", "is required in an anonymous Group (a Group with no identifier)")
    return anonymous


def _actor(value: object, path: str, version: str, *, is_object: bool = False) -> str:
    """Validate an Agent or Group; returns "Agent" or "Group"."""
    obj = _require_dict(value, path, "an Agent or Group")
    ot = obj.get("objectType", _MISSING)
    if ot is _MISSING:
        if is_object:
            _fail(path + ".objectType", "is required when the object is an Agent or Group")
        _agent_body(obj, path)
        return "Agent"
    if ot == "Agent":
        _agent_body(obj, path)
        return "Agent"
    if ot == "Group":
        _group_body(obj, path, version)
        return "Group"
    _fail(path + ".objectType", f"must be 'Agent' or 'Group', got {_show(ot)}")


def validate_agent(
    obj: object, version: str, path: str = "agent", *, allow_group: bool = True
) -> None:
    """Validate an Agent (or, unless `allow_group` is False, a Group) given outside a statement,
    e.g. the `agent` query parameter or a document resource's agent.

    Raises InvalidStatement naming the field.
    """
    if not allow_group and isinstance(obj, dict) and obj.get("objectType", "Agent") != "Agent":
        _fail(path + ".objectType", "must be 'Agent' here (a Group is not allowed)")
    _actor(obj, path, version)


def _group_only(value: object, path: str, version: str) -> None:
    """A place where only a Group is allowed (context team, contextGroups[].group)."""
    obj = _require_dict(value, path, "a Group")
    if obj.get("objectType") != "Group":
        _fail(path + ".objectType", "must be 'Group' here (only a Group is allowed)")
    _group_body(obj, path, version)


def _authority(value: object, path: str, version: str) -> None:
    kind = _actor(value, path, version)
    if kind == "Group":
        obj: dict[str, Any] = value  # type: ignore[assignment]
        # Data 2.4.9: a Group as authority is the OAuth 3-legged pair (consumer + user):
        # an anonymous Group of exactly two Agents.
        if _count_ifis(obj):
            _fail(path, "a Group used as authority must be anonymous (no identifier)")
        members = obj.get("member")
        if not isinstance(members, list) or len(members) != 2:
            _fail(path + ".member", "a Group used as authority must have exactly two Agents")


# --------------------------------------------------------------------------------------------
# Verb, objects
# --------------------------------------------------------------------------------------------
def _verb(value: object, path: str) -> str:
    verb = _require_dict(value, path, "a Verb")
    if not _VERB_KEYS.issuperset(verb):
        _unknown_key(verb, _VERB_KEYS, path, "a Verb")
    if "id" not in verb:
        _fail(path + ".id", "is required in a Verb")
    vid = verb["id"]
    _iri(vid, path + ".id")
    if "display" in verb:
        _language_map(verb["display"], path + ".display")
    return vid  # type: ignore[no-any-return]


def _components(value: object, path: str) -> None:
    if not isinstance(value, list):
        _fail(path, f"must be an array of interaction components, got {_tname(value)}")
    seen: set[str] = set()
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        comp = _require_dict(item, ipath, "an interaction component")
        if not _COMPONENT_KEYS.issuperset(comp):
            _unknown_key(comp, _COMPONENT_KEYS, ipath, "an interaction component")
        if "id" not in comp:
            _fail(ipath + ".id", "is required in an interaction component")
        cid = _require_str(comp["id"], ipath + ".id")
        if cid in seen:
            _fail(ipath + ".id", f"{_show(cid)} is used twice in this list; ids must be distinct")
        seen.add(cid)
        if "description" in comp:
            _language_map(comp["description"], ipath + ".description")


def _definition(value: object, path: str) -> None:
    d = _require_dict(value, path, "an Activity Definition")
    if not _DEFINITION_KEYS.issuperset(d):
        _unknown_key(d, _DEFINITION_KEYS, path, "an Activity Definition")
    if "name" in d:
        _language_map(d["name"], path + ".name")
    if "description" in d:
        _language_map(d["description"], path + ".description")
    if "type" in d:
        _iri(d["type"], path + ".type")
    if "moreInfo" in d:
        _iri(d["moreInfo"], path + ".moreInfo", "an IRL")
    allowed_lists: frozenset[str] | None = None
    if "interactionType" in d:
        itype = d["interactionType"]
        if not isinstance(itype, str) or itype not in _LISTS_BY_INTERACTION:
            _fail(
                path + ".interactionType",
                f"must be one of {', '.join(_LISTS_BY_INTERACTION)}, got {_show(itype)}",
            )
        allowed_lists = _LISTS_BY_INTERACTION[itype]
    if "correctResponsesPattern" in d:
        cpath = path + ".correctResponsesPattern"
        if allowed_lists is None:
            _fail(path + ".interactionType", "is required when correctResponsesPattern is used")
        crp = d["correctResponsesPattern"]
        if not isinstance(crp, list):
            _fail(cpath, f"must be an array of strings, got {_tname(crp)}")
        for i, pattern in enumerate(crp):
            _require_str(pattern, f"{cpath}[{i}]")
    for key in _COMPONENT_LISTS:
        if key in d:
            kpath = f"{path}.{key}"
            if allowed_lists is None:
                _fail(path + ".interactionType", f"is required when {key} is used")
            if key not in allowed_lists:
                _fail(kpath, f"is not used with interactionType {_show(d['interactionType'])}")
            _components(d[key], kpath)
    if "extensions" in d:
        _extensions(d["extensions"], path + ".extensions")


def _activity(value: object, path: str) -> None:
    act = _require_dict(value, path, "an Activity")
    if not _ACTIVITY_KEYS.issuperset(act):
        _unknown_key(act, _ACTIVITY_KEYS, path, "an Activity")
    if "objectType" in act and act["objectType"] != "Activity":
        _fail(path + ".objectType", f"must be 'Activity', got {_show(act['objectType'])}")
    if "id" not in act:
        _fail(path + ".id", "is required in an Activity")
    _iri(act["id"], path + ".id")
    if "definition" in act:
        _definition(act["definition"], path + ".definition")


def _statement_ref(obj: dict[str, Any], path: str) -> None:
    if not _STATEMENT_REF_KEYS.issuperset(obj):
        _unknown_key(obj, _STATEMENT_REF_KEYS, path, "a StatementRef")
    if obj.get("objectType") != "StatementRef":
        _fail(path + ".objectType", "must be 'StatementRef'")
    if "id" not in obj:
        _fail(path + ".id", "is required in a StatementRef")
    _uuid(obj["id"], path + ".id")


def _object(value: object, path: str, version: str, *, in_substatement: bool) -> str:
    """Validate a statement's object; returns its objectType (Activity when absent)."""
    obj = _require_dict(value, path, "an Activity, Agent, Group, StatementRef or SubStatement")
    ot = obj.get("objectType", _MISSING)
    if ot is _MISSING and "id" not in obj and any(k in obj for k in _AGENTISH):
        # Data 2.4.4.2: an Agent or Group used as the object must say so with objectType.
        _fail(path + ".objectType", "is required when the object is an Agent or Group")
    if ot is _MISSING or ot == "Activity":
        _activity(obj, path)
        return "Activity"
    if ot == "Agent" or ot == "Group":
        return _actor(obj, path, version, is_object=True)
    if ot == "StatementRef":
        _statement_ref(obj, path)
        return "StatementRef"
    if ot == "SubStatement":
        if in_substatement:
            _fail(path + ".objectType", "a SubStatement cannot contain another SubStatement")
        _substatement(obj, path, version)
        return "SubStatement"
    _fail(
        path + ".objectType",
        f"must be Activity, Agent, Group, StatementRef or SubStatement, got {_show(ot)}",
    )


# --------------------------------------------------------------------------------------------
# Result, context, attachments
# --------------------------------------------------------------------------------------------
def _score(value: object, path: str) -> None:
    score = _require_dict(value, path, "a Score")
    if not _SCORE_KEYS.issuperset(score):
        _unknown_key(score, _SCORE_KEYS, path, "a Score")
    scaled = raw = lo = hi = None
    if "scaled" in score:
        scaled = _require_number(score["scaled"], path + ".scaled")
        if scaled < -1 or scaled > 1:
            _fail(path + ".scaled", f"must be between -1 and 1, got {scaled}")
    if "raw" in score:
        raw = _require_number(score["raw"], path + ".raw")
    if "min" in score:
        lo = _require_number(score["min"], path + ".min")
    if "max" in score:
        hi = _require_number(score["max"], path + ".max")
    if lo is not None and hi is not None and not lo < hi:
        _fail(path + ".min", f"must be less than max ({lo} >= {hi})")
    if raw is not None:
        if lo is not None and raw < lo:
            _fail(path + ".raw", f"must not be below min ({raw} < {lo})")
        if hi is not None and raw > hi:
            _fail(path + ".raw", f"must not be above max ({raw} > {hi})")


def _result(value: object, path: str) -> None:
    res = _require_dict(value, path, "a Result")
    if not _RESULT_KEYS.issuperset(res):
        _unknown_key(res, _RESULT_KEYS, path, "a Result")
    if "score" in res:
        _score(res["score"], path + ".score")
    for key in ("success", "completion"):
        if key in res and not isinstance(res[key], bool):
            _fail(f"{path}.{key}", f"must be true or false, got {_tname(res[key])}")
    if "response" in res:
        _require_str(res["response"], path + ".response")
    if "duration" in res:
        duration = res["duration"]
        if not isinstance(duration, str):
            _fail(
                path + ".duration", f"must be an ISO 8601 duration string, got {_tname(duration)}"
            )
        if not validate_duration(duration):
            _fail(
                path + ".duration", f"{_show(duration)} is not an ISO 8601 duration (e.g. PT1H30M)"
            )
    if "extensions" in res:
        _extensions(res["extensions"], path + ".extensions")


def _context_activities(value: object, path: str) -> None:
    ca = _require_dict(value, path, "a contextActivities object")
    if not _CONTEXT_ACTIVITY_KEYS.issuperset(ca):
        _unknown_key(ca, _CONTEXT_ACTIVITY_KEYS, path, "contextActivities")
    for key, acts in ca.items():
        kpath = f"{path}.{key}"
        if isinstance(acts, list):
            for i, act in enumerate(acts):
                _activity(act, f"{kpath}[{i}]")
        elif isinstance(acts, dict):
            _activity(acts, kpath)
        else:
            _fail(kpath, f"must be an Activity or an array of Activities, got {_tname(acts)}")


def _relevant_types(value: object, path: str) -> None:
    if not isinstance(value, list):
        _fail(path, f"must be an array of IRIs, got {_tname(value)}")
    if not value:
        _fail(path, "must contain at least one IRI when present")
    for i, iri in enumerate(value):
        _iri(iri, f"{path}[{i}]")


def _context_agents(value: object, path: str, version: str) -> None:
    if not isinstance(value, list):
        _fail(path, f"must be an array of contextAgent objects, got {_tname(value)}")
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        ca = _require_dict(item, ipath, "a contextAgent")
        if not _CONTEXT_AGENT_KEYS.issuperset(ca):
            _unknown_key(ca, _CONTEXT_AGENT_KEYS, ipath, "a contextAgent")
        if ca.get("objectType", _MISSING) != "contextAgent":
            _fail(ipath + ".objectType", "is required and must be 'contextAgent'")
        if "agent" not in ca:
            _fail(ipath + ".agent", "is required in a contextAgent")
        if _actor(ca["agent"], ipath + ".agent", version) != "Agent":
            _fail(ipath + ".agent", "must be an Agent (use contextGroups for Groups)")
        if "relevantTypes" in ca:
            _relevant_types(ca["relevantTypes"], ipath + ".relevantTypes")


def _context_groups(value: object, path: str, version: str) -> None:
    if not isinstance(value, list):
        _fail(path, f"must be an array of contextGroup objects, got {_tname(value)}")
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        cg = _require_dict(item, ipath, "a contextGroup")
        if not _CONTEXT_GROUP_KEYS.issuperset(cg):
            _unknown_key(cg, _CONTEXT_GROUP_KEYS, ipath, "a contextGroup")
        if cg.get("objectType", _MISSING) != "contextGroup":
            _fail(ipath + ".objectType", "is required and must be 'contextGroup'")
        if "group" not in cg:
            _fail(ipath + ".group", "is required in a contextGroup")
        _group_only(cg["group"], ipath + ".group", version)
        if "relevantTypes" in cg:
            _relevant_types(cg["relevantTypes"], ipath + ".relevantTypes")


def _context(value: object, path: str, version: str, object_type: str) -> None:
    ctx = _require_dict(value, path, "a Context")
    allowed = _CONTEXT_KEYS_200 if version == V200 else _CONTEXT_KEYS_103
    if not allowed.issuperset(ctx):
        _unknown_key(ctx, allowed, path, "a Context")
    if "registration" in ctx:
        _uuid(ctx["registration"], path + ".registration")
    if "instructor" in ctx:
        _actor(ctx["instructor"], path + ".instructor", version)
    if "team" in ctx:
        _group_only(ctx["team"], path + ".team", version)
    if "contextActivities" in ctx:
        _context_activities(ctx["contextActivities"], path + ".contextActivities")
    for key in ("revision", "platform"):
        if key in ctx:
            _require_str(ctx[key], f"{path}.{key}")
            if object_type != "Activity":
                _fail(
                    f"{path}.{key}",
                    f"may only be used when the statement's object is an Activity "
                    f"(here: {object_type})",
                )
    if "language" in ctx:
        lang = ctx["language"]
        if not isinstance(lang, str):
            _fail(path + ".language", f"must be a language tag string, got {_tname(lang)}")
        if not validate_language_tag(lang):
            _fail(path + ".language", f"{_show(lang)} is not an RFC 5646 language tag")
    if "statement" in ctx:
        ref = _require_dict(ctx["statement"], path + ".statement", "a StatementRef")
        _statement_ref(ref, path + ".statement")
    if "extensions" in ctx:
        _extensions(ctx["extensions"], path + ".extensions")
    if "contextAgents" in ctx:
        _context_agents(ctx["contextAgents"], path + ".contextAgents", version)
    if "contextGroups" in ctx:
        _context_groups(ctx["contextGroups"], path + ".contextGroups", version)


def _attachments(value: object, path: str) -> None:
    if not isinstance(value, list):
        _fail(path, f"must be an array of Attachments, got {_tname(value)}")
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        att = _require_dict(item, ipath, "an Attachment")
        if not _ATTACHMENT_KEYS.issuperset(att):
            _unknown_key(att, _ATTACHMENT_KEYS, ipath, "an Attachment")
        for key in _ATTACHMENT_REQUIRED:
            if key not in att:
                _fail(f"{ipath}.{key}", "is required in an Attachment")
        _iri(att["usageType"], ipath + ".usageType")
        _language_map(att["display"], ipath + ".display")
        if "description" in att:
            _language_map(att["description"], ipath + ".description")
        ctype = att["contentType"]
        if not isinstance(ctype, str):
            _fail(ipath + ".contentType", f"must be a media type string, got {_tname(ctype)}")
        if _MEDIA_TYPE_RE.fullmatch(ctype) is None:
            _fail(ipath + ".contentType", f"{_show(ctype)} is not an Internet Media Type")
        length = att["length"]
        if isinstance(length, bool) or not isinstance(length, int):
            _fail(ipath + ".length", f"must be an integer, got {_tname(length)}")
        if length < 0:
            _fail(ipath + ".length", "must not be negative")
        sha2 = att["sha2"]
        if not isinstance(sha2, str):
            _fail(ipath + ".sha2", f"must be a hex SHA-2 digest string, got {_tname(sha2)}")
        if len(sha2) not in _SHA2_HEX_LENGTHS or _HEX_RE.fullmatch(sha2) is None:
            _fail(ipath + ".sha2", f"{_show(sha2)} is not a hex SHA-2 digest")
        if "fileUrl" in att:
            _iri(att["fileUrl"], ipath + ".fileUrl", "an IRL")


# --------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------
def _core(stmt: dict[str, Any], path: str, version: str, *, in_substatement: bool) -> str:
    """Fields shared by statements and sub-statements; returns the verb id."""
    for key in ("actor", "verb", "object"):
        if key not in stmt:
            _fail(f"{path}.{key}", "is required")
    _actor(stmt["actor"], path + ".actor", version)
    verb_id = _verb(stmt["verb"], path + ".verb")
    object_type = _object(
        stmt["object"], path + ".object", version, in_substatement=in_substatement
    )
    if "result" in stmt:
        _result(stmt["result"], path + ".result")
    if "context" in stmt:
        _context(stmt["context"], path + ".context", version, object_type)
    if "timestamp" in stmt:
        _timestamp(stmt["timestamp"], path + ".timestamp", version)
    if "attachments" in stmt:
        _attachments(stmt["attachments"], path + ".attachments")
    if verb_id == VOIDED_VERB and object_type != "StatementRef" and not in_substatement:
        _fail(path + ".object", "a voiding statement's object must be a StatementRef")
    return verb_id


def _substatement(obj: dict[str, Any], path: str, version: str) -> None:
    for key in _SUBSTATEMENT_FORBIDDEN:
        if key in obj:
            _fail(f"{path}.{key}", "must not appear in a SubStatement")
    if not _SUBSTATEMENT_KEYS.issuperset(obj):
        _unknown_key(obj, _SUBSTATEMENT_KEYS, path, "a SubStatement")
    _core(obj, path, version, in_substatement=True)


def validate_statement(statement: object, version: str, path: str = "statement") -> None:
    """Validate one statement as received, for xAPI `version` ("1.0.3" or "2.0.0").

    Raises InvalidStatement(path, message) at the first violation; `path` starts with the given
    prefix (pass e.g. "statement[3]" for the fourth statement of a batch).
    """
    if version != V103 and version != V200:
        raise ValueError(f"unsupported xAPI version {version!r}")
    stmt = _require_dict(statement, path, "a Statement")
    if not _STATEMENT_KEYS.issuperset(stmt):
        _unknown_key(stmt, _STATEMENT_KEYS, path, "a Statement")
    if "id" in stmt:
        _uuid(stmt["id"], path + ".id")
    _core(stmt, path, version, in_substatement=False)
    if "stored" in stmt:
        _timestamp(stmt["stored"], path + ".stored", version)
    if "authority" in stmt:
        _authority(stmt["authority"], path + ".authority", version)
    if "version" in stmt:
        ver = stmt["version"]
        if not isinstance(ver, str):
            _fail(path + ".version", f"must be a version string, got {_tname(ver)}")
        pattern = _VERSION_200_RE if version == V200 else _VERSION_103_RE
        if pattern.fullmatch(ver) is None:
            allowed = "1.0.x or 2.0.x" if version == V200 else "1.0.x"
            _fail(path + ".version", f"{_show(ver)} is not a supported xAPI version ({allowed})")
