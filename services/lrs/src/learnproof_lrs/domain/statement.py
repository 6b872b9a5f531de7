"""Pure statement logic: LRS-assigned properties, index rows for queries, and output formats."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from learnproof_lrs.domain.versions import V103

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"

# Index kinds: one narrow table answers every filter of the statement query.
AGENT = "a"
ACTIVITY = "c"
VERB = "v"
REGISTRATION = "r"

IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")


def ifi_key(obj: Mapping[str, Any]) -> str | None:
    """The inverse functional identifier of an Agent or identified Group, as one string."""
    if "mbox" in obj:
        return f"mbox:{obj['mbox']}"
    if "mbox_sha1sum" in obj:
        return f"mbox_sha1sum:{str(obj['mbox_sha1sum']).lower()}"
    if "openid" in obj:
        return f"openid:{obj['openid']}"
    account = obj.get("account")
    if isinstance(account, Mapping):
        return f"account:{account.get('homePage')}|{account.get('name')}"
    return None


def actor_key(actor: Mapping[str, Any]) -> str:
    """The partition key of a statement's actor (anonymous groups: a hash of member keys)."""
    key = ifi_key(actor)
    if key is not None:
        return key
    members = sorted(k for m in actor.get("member") or () if (k := ifi_key(m)) is not None)
    return "group:" + hashlib.sha1("\n".join(members).encode()).hexdigest()


def format_stored(moment: datetime) -> str:
    """xAPI timestamps the LRS writes: UTC, millisecond precision, `Z` suffix."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def to_micros(moment: datetime) -> int:
    """A datetime as integer microseconds since the epoch (how `stored` is indexed)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(slots=True)
class PreparedStatement:
    """A validated statement with the LRS's properties set, ready to be written."""

    id: str
    body: dict[str, Any]
    verb_id: str
    actor_key: str
    registration: str | None
    voiding_target: str | None
    statement_ref: str | None
    index: set[tuple[str, str, bool]] = field(default_factory=set)
    attachment_shas: list[str] = field(default_factory=list)
    activity_definitions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def prepare(
    statement: dict[str, Any],
    *,
    request_version: str,
    authority: dict[str, Any],
    stored: datetime,
    timestamp: str | None = None,
) -> PreparedStatement:
    """Set id, stored, timestamp, authority and version, and work out the index rows.

    `timestamp` is the statement's timestamp as the LRS keeps it (2.0 converts to UTC); when
    absent from the statement, it defaults to `stored`.
    """
    body = dict(statement)
    sid = body.get("id")
    if sid is None:
        sid = str(uuid.uuid4())
    sid = str(sid).lower()
    body["id"] = sid
    stored_text = format_stored(stored)
    body["stored"] = stored_text
    if timestamp is not None:
        body["timestamp"] = timestamp
    elif "timestamp" not in body:
        body["timestamp"] = stored_text
    body["authority"] = authority
    _arrays_for_context_activities(body)
    if body["object"].get("objectType") == "SubStatement":
        body["object"] = dict(body["object"])
        _arrays_for_context_activities(body["object"])
    if "version" not in body:
        body["version"] = "1.0.0" if request_version == V103 else "2.0.0"
    obj = body["object"]
    verb_id = body["verb"]["id"]
    object_type = obj.get("objectType", "Activity")
    voiding_target = str(obj["id"]).lower() if verb_id == VOIDED_VERB else None
    statement_ref = str(obj["id"]).lower() if object_type == "StatementRef" else None
    context = body.get("context") or {}
    registration = context.get("registration")
    prepared = PreparedStatement(
        id=sid,
        body=body,
        verb_id=verb_id,
        actor_key=actor_key(body["actor"]),
        registration=str(registration).lower() if registration is not None else None,
        voiding_target=voiding_target,
        statement_ref=statement_ref,
    )
    prepared.index = set(_index_rows(body))
    prepared.attachment_shas = [a["sha2"] for a in body.get("attachments") or () if "sha2" in a]
    prepared.activity_definitions = list(_activity_definitions(body))
    return prepared


def _arrays_for_context_activities(body: dict[str, Any]) -> None:
    """The LRS returns every contextActivities value as an array (Data 2.4.6.2), so store it so."""
    context = body.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("contextActivities"), dict):
        return
    body["context"] = {
        **context,
        "contextActivities": {
            name: [value] if isinstance(value, Mapping) else value
            for name, value in context["contextActivities"].items()
        },
    }


def _agent_keys(obj: Mapping[str, Any]) -> Iterator[str]:
    key = ifi_key(obj)
    if key is not None:
        yield key
    if obj.get("objectType") == "Group":
        for member in obj.get("member") or ():
            member_key = ifi_key(member)
            if member_key is not None:
                yield member_key


def _context_activities(context: Mapping[str, Any]) -> Iterator[str]:
    for activities in (context.get("contextActivities") or {}).values():
        if isinstance(activities, Mapping):
            activities = [activities]
        for activity in activities:
            yield activity["id"]


def _context_agents(context: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for name in ("instructor", "team"):
        if name in context:
            yield context[name]
    for entry in context.get("contextAgents") or ():
        yield entry["agent"]
    for entry in context.get("contextGroups") or ():
        yield entry["group"]


def _index_rows(body: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(kind, value, primary) rows: primary rows answer plain filters, all of them related_*."""
    yield (VERB, body["verb"]["id"], True)
    for key in _agent_keys(body["actor"]):
        yield (AGENT, key, True)
    yield from _object_rows(body["object"], primary=True)
    context = body.get("context") or {}
    if context.get("registration") is not None:
        yield (REGISTRATION, str(context["registration"]).lower(), True)
    yield from _context_rows(context)
    for key in _agent_keys(body.get("authority") or {}):
        yield (AGENT, key, False)


def _object_rows(obj: Mapping[str, Any], *, primary: bool) -> Iterator[tuple[str, str, bool]]:
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        yield (ACTIVITY, obj["id"], primary)
    elif object_type in ("Agent", "Group"):
        for key in _agent_keys(obj):
            yield (AGENT, key, primary)
    elif object_type == "SubStatement":
        for key in _agent_keys(obj["actor"]):
            yield (AGENT, key, False)
        yield from _object_rows(obj["object"], primary=False)
        yield from _context_rows(obj.get("context") or {})


def _context_rows(context: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    for activity_id in _context_activities(context):
        yield (ACTIVITY, activity_id, False)
    for agent in _context_agents(context):
        for key in _agent_keys(agent):
            yield (AGENT, key, False)


def collapse_index(rows: Iterable[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """One row per (kind, value): primary wins over related."""
    best: dict[tuple[str, str], bool] = {}
    for kind, value, primary in rows:
        best[(kind, value)] = best.get((kind, value), False) or primary
    return [(kind, value, primary) for (kind, value), primary in best.items()]


def _activity_definitions(body: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Activity in the statement that carries a definition."""

    def from_object(obj: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        object_type = obj.get("objectType", "Activity")
        if object_type == "Activity" and isinstance(obj.get("definition"), dict):
            yield (obj["id"], obj["definition"])
        elif object_type == "SubStatement":
            yield from from_object(obj["object"])
            yield from from_context(obj.get("context") or {})

    def from_context(context: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for activities in (context.get("contextActivities") or {}).values():
            if isinstance(activities, Mapping):
                activities = [activities]
            for activity in activities:
                if isinstance(activity.get("definition"), dict):
                    yield (activity["id"], activity["definition"])

    yield from from_object(body["object"])
    yield from from_context(body.get("context") or {})


def merge_definition(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The LRS's canonical definition: language maps are merged, other properties replaced."""
    merged = dict(old)
    for name, value in new.items():
        if name in ("name", "description") and isinstance(value, Mapping):
            merged[name] = {**(old.get(name) or {}), **value}
        else:
            merged[name] = value
    return merged


# --- output formats -------------------------------------------------------------------------


def format_statement(body: Mapping[str, Any], fmt: str, languages: Sequence[str]) -> dict[str, Any]:
    """Render a stored statement as `exact`, `ids` or `canonical` (xAPI GET `format`)."""
    if fmt == "exact":
        return dict(body)
    if fmt == "ids":
        return _ids_statement(body)
    canonical: dict[str, Any] = _canonical(body, languages)
    return canonical


def _ids_agent(agent: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "objectType" in agent:
        out["objectType"] = agent["objectType"]
    for name in IFI_PROPERTIES:
        if name in agent:
            out[name] = agent[name]
    if agent.get("objectType") == "Group" and ifi_key(agent) is None and "member" in agent:
        out["member"] = [_ids_agent(m) for m in agent["member"]]
    return out


def _ids_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    object_type = obj.get("objectType", "Activity")
    if object_type in ("Agent", "Group"):
        return _ids_agent(obj)
    if object_type == "SubStatement":
        return _ids_statement(obj)
    if object_type == "StatementRef":
        return {"objectType": "StatementRef", "id": obj["id"]}
    return {"id": obj["id"]}  # an Activity: its id alone


def _ids_statement(body: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(body)
    out["actor"] = _ids_agent(body["actor"])
    out["verb"] = {"id": body["verb"]["id"]}
    out["object"] = _ids_object(body["object"])
    if "authority" in body:
        out["authority"] = _ids_agent(body["authority"])
    if "context" in body:
        context = dict(body["context"])
        for name in ("instructor", "team"):
            if name in context:
                context[name] = _ids_agent(context[name])
        if "contextActivities" in context:
            context["contextActivities"] = {
                k: [{"id": a["id"]} for a in (v if isinstance(v, list) else [v])]
                for k, v in context["contextActivities"].items()
            }
        out["context"] = context
    return out


def _pick_language(value: Mapping[str, str], languages: Sequence[str]) -> dict[str, str]:
    """Keep one entry of a language map: the client's preferred language when present."""
    if not value:
        return {}
    lowered = {tag.lower(): tag for tag in value}
    for wanted in languages:
        wanted = wanted.lower()
        if wanted in lowered:
            tag = lowered[wanted]
            return {tag: value[tag]}
        for low, tag in lowered.items():
            if low.split("-")[0] == wanted.split("-")[0]:
                return {tag: value[tag]}
    tag = next(iter(value))
    return {tag: value[tag]}


_LANGUAGE_MAPS = ("display", "name", "description")


def _canonical(node: Any, languages: Sequence[str]) -> Any:
    if isinstance(node, list):
        return [_canonical(item, languages) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for name, value in node.items():
        if (
            name in _LANGUAGE_MAPS
            and isinstance(value, Mapping)
            and all(isinstance(v, str) for v in value.values())
        ):
            out[name] = _pick_language(value, languages)
        elif name == "extensions":
            out[name] = value
        else:
            out[name] = _canonical(value, languages)
    return out


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from Accept-Language, most preferred first (q-values honoured)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in pieces[1:]:
            param = param.strip()
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]
