"""xAPI actor identifiers and the rules that link them to directory users."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .directory import DirectoryUser
from .errors import InvalidDefinition

USER_FIELDS = ("userName", "externalId", "id")


def actor_key(actor: Mapping[str, Any]) -> str | None:
    """The actor's identifier string, as the LRS keys `xapi.statements.v1` (common brief)."""
    if actor.get("mbox"):
        return f"mbox:{str(actor['mbox']).lower()}"
    if actor.get("mbox_sha1sum"):
        return f"mbox_sha1sum:{str(actor['mbox_sha1sum']).lower()}"
    if actor.get("openid"):
        return f"openid:{actor['openid']}"
    account = actor.get("account")
    if isinstance(account, Mapping) and account.get("homePage") and account.get("name"):
        return f"account:{account['homePage']}|{account['name']}"
    return None


@dataclass(frozen=True, slots=True)
class LinkRule:
    """One way of deriving, from a user, an actor key that identifies them.

    kind is `account` (homePage = home_page, name = the user's `field`), `mbox` (any email),
    `mbox_sha1sum` (sha1 of any `mailto:` email) or `openid` (template with {userName},
    {externalId}, {id}).
    """

    name: str
    kind: str
    home_page: str | None = None
    field: str = "userName"
    template: str | None = None

    def keys_for(self, user: DirectoryUser) -> list[str]:
        """The actor keys this rule links to the user."""
        if self.kind == "account" and self.home_page:
            value = _user_field(user, self.field)
            return [f"account:{self.home_page}|{value}"] if value else []
        if self.kind == "mbox":
            return [f"mbox:mailto:{email}" for email in user.emails]
        if self.kind == "mbox_sha1sum":
            return [
                f"mbox_sha1sum:{hashlib.sha1(f'mailto:{e}'.encode()).hexdigest()}"
                for e in user.emails
            ]
        if self.kind == "openid" and self.template:
            values = {f: _user_field(user, f) or "" for f in USER_FIELDS}
            return [f"openid:{self.template.format(**values)}"]
        return []


def _user_field(user: DirectoryUser, field: str) -> str | None:
    return {"userName": user.user_name, "externalId": user.external_id, "id": user.id}.get(field)


def default_rules(idp_issuer: str | None) -> list[LinkRule]:
    """account{homePage: issuer, name: userName|externalId}, then mbox and its sha1."""
    rules: list[LinkRule] = []
    if idp_issuer:
        rules.append(LinkRule("account-userName", "account", idp_issuer, "userName"))
        rules.append(LinkRule("account-externalId", "account", idp_issuer, "externalId"))
    rules.append(LinkRule("mbox", "mbox"))
    rules.append(LinkRule("mbox_sha1sum", "mbox_sha1sum"))
    return rules


def parse_rules(raw: Iterable[Mapping[str, Any]]) -> list[LinkRule]:
    """Rules from the requirements file's `link_rules` list."""
    rules = []
    for i, item in enumerate(raw):
        kind = str(item.get("kind", ""))
        if kind not in ("account", "mbox", "mbox_sha1sum", "openid"):
            raise InvalidDefinition(f"link rule {i}: unknown kind {kind!r}")
        field = str(item.get("field", "userName"))
        if field not in USER_FIELDS:
            raise InvalidDefinition(f"link rule {i}: field must be one of {USER_FIELDS}")
        rules.append(
            LinkRule(
                name=str(item.get("name", f"{kind}-{i}")),
                kind=kind,
                home_page=item.get("home_page") or item.get("homePage"),
                field=field,
                template=item.get("template"),
            )
        )
    return rules


def keys_for_user(user: DirectoryUser, rules: Iterable[LinkRule]) -> dict[str, str]:
    """Every actor key that links to the user, with the first rule producing it."""
    keys: dict[str, str] = {}
    for rule in rules:
        for key in rule.keys_for(user):
            keys.setdefault(key, rule.name)
    return keys
