"""SCIM resource models (scim2-models) plus the Okta/Entra quirks it does not absorb itself."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Annotated, Any, Generic

from pydantic import Field, ValidationError, field_validator
from scim2_models import (
    URN,
    CaseExact,
    ComplexAttribute,
    Context,
    Email,
    Extension,
    Group,
    Mutability,
    NoTargetException,
    PatchOp,
    Reference,
    SCIMException,
    ScimFilter,
    User,
)
from scim2_models.resources.resource import AnyExtension

from .errors import InvalidFilter, InvalidValue

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LEARNPROOF_URN = "urn:learnproof:params:scim:schemas:extension:2.0:User"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
# Largest page a list or search returns (ServiceProviderConfig filter.maxResults).
MAX_RESULTS = 1000

# Server-owned attributes a client may echo back in a PUT or a no-path PATCH (Okta's group
# rename sends {"id": ..., "displayName": ...}); they are dropped rather than refused.
_SERVER_OWNED = ("id", "meta", "schemas", "groups")


class Manager(ComplexAttribute):
    """The enterprise manager, without the `$ref` that scim2-models requires but no IdP sends."""

    value: Annotated[str | None, CaseExact.true] = None
    ref: Reference[Any] | None = Field(None, serialization_alias="$ref", validation_alias="$ref")
    display_name: Annotated[str | None, Mutability.read_only] = None


class EnterpriseUser(Extension):
    """RFC 7643 §4.3 enterprise extension that also accepts `manager` as a bare id (Entra)."""

    __schema__ = URN(ENTERPRISE_URN)

    employee_number: str | None = None
    cost_center: str | None = None
    organization: str | None = None
    division: str | None = None
    department: str | None = None
    manager: Manager | None = None

    @field_validator("manager", mode="before")
    @classmethod
    def _manager_as_bare_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"value": value} if value else None
        return value


class LearnproofUser(Extension):
    """Learnproof's own user extension: the hire date that due rules may start from."""

    __schema__ = URN(LEARNPROOF_URN)

    hire_date: datetime | None = None


class LenientEmail(Email):
    """An email kept as the IdP sent it: refusing a user over an odd address stalls provisioning."""

    value: str | None = None


class UserResource(User[AnyExtension], Generic[AnyExtension]):
    """The SCIM User with lenient emails."""

    emails: list[LenientEmail] | None = None  # type: ignore[assignment]


ScimUser = UserResource[EnterpriseUser | LearnproofUser]
ScimGroup = Group


_USER_SCHEMAS = (USER_URN, ENTERPRISE_URN, LEARNPROOF_URN)
_GROUP_SCHEMAS = (GROUP_URN,)


def parse_user(payload: dict[str, Any], *, ctx: Context) -> Any:
    """Validate a user payload from a client (creation or replacement)."""
    cleaned = _known_schemas(_strip_server_owned(payload, keep_schemas=True), _USER_SCHEMAS)
    return _validate(ScimUser, cleaned, ctx)


def parse_group(payload: dict[str, Any], *, ctx: Context) -> Any:
    """Validate a group payload from a client (creation or replacement)."""
    cleaned = _known_schemas(_strip_server_owned(payload, keep_schemas=True), _GROUP_SCHEMAS)
    return _validate(ScimGroup, cleaned, ctx)


def _known_schemas(payload: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    """Drop schema URNs we do not serve, and their attribute blocks.

    Entra announces an empty `.../ADSCIM/2.0/Group` extension on every group it creates.
    """
    wanted = {k.lower() for k in known}
    result = {
        k: v for k, v in payload.items() if not (_looks_like_urn(k) and k.lower() not in wanted)
    }
    schemas = result.get("schemas")
    if isinstance(schemas, list):
        result["schemas"] = [s for s in schemas if str(s).lower() in wanted] or [known[0]]
    return result


def _looks_like_urn(key: str) -> bool:
    return key.lower().startswith(("urn:", "http://", "https://"))


def load_user(document: dict[str, Any]) -> Any:
    """Rebuild a stored user document (trusted, so no request context)."""
    return ScimUser.model_validate(document)


def load_group(document: dict[str, Any]) -> Any:
    """Rebuild a stored group document."""
    return ScimGroup.model_validate(document)


def dump(resource: Any) -> dict[str, Any]:
    """Serialise a resource the way it is stored and returned."""
    result: dict[str, Any] = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return result


def _validate(model: Any, payload: dict[str, Any], ctx: Context) -> Any:
    try:
        return model.model_validate(payload, scim_ctx=ctx)
    except SCIMException as exc:
        raise InvalidValue(exc.detail) from exc
    except ValidationError as exc:
        raise InvalidValue(_first_error(exc)) from exc


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{first['msg']}: {where}" if where else str(first["msg"])


def _strip_server_owned(payload: dict[str, Any], *, keep_schemas: bool) -> dict[str, Any]:
    dropped = {k for k in _SERVER_OWNED if not (keep_schemas and k == "schemas")}
    return {k: v for k, v in payload.items() if k not in dropped}


# --- PATCH -----------------------------------------------------------------------------------


def apply_patch(resource: Any, payload: dict[str, Any]) -> bool:
    """Apply a PatchOp payload to a resource in place; returns whether anything changed.

    scim2-models handles op case, string booleans, Add-on-single-valued and value filters.
    What it refuses but Okta and Entra send is rewritten first: a Remove carrying the values
    to remove, echoed server-owned attributes in a no-path value, and an Add/Replace through a
    `[type eq "x"]` filter that matches nothing yet (Entra adding a new email type).
    """
    model = type(resource)
    operations = payload.get("Operations", payload.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise InvalidValue("PatchOp needs a non-empty Operations list")
    changed = False
    for raw in operations:
        if not isinstance(raw, dict):
            raise InvalidValue("each PATCH operation must be an object")
        operation = _normalise_operation(raw)
        if operation is None:
            continue
        changed = _apply_one(model, resource, operation) or changed
    return changed


def _apply_one(model: Any, resource: Any, operation: dict[str, Any]) -> bool:
    message = {"schemas": [PATCH_URN], "Operations": [operation]}
    try:
        patch = PatchOp[model].model_validate(message, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        return bool(patch.patch(resource))
    except NoTargetException:
        fallback = _append_for_unmatched_type_filter(operation)
        if fallback is None:
            raise
        return _apply_one(model, resource, fallback)
    except SCIMException as exc:
        raise InvalidValue(exc.detail) from exc
    except ValidationError as exc:
        raise InvalidValue(_first_error(exc)) from exc


def _normalise_operation(raw: dict[str, Any]) -> dict[str, Any] | None:
    operation = {str(k).lower(): v for k, v in raw.items()}
    op = str(operation.get("op", "")).lower()
    path = operation.get("path")
    value = operation.get("value")
    if op == "remove" and isinstance(path, str) and value is not None:
        return _remove_by_values(path, value)
    if op in ("add", "replace") and not path and isinstance(value, dict):
        cleaned = _strip_server_owned(value, keep_schemas=False)
        if not cleaned:
            return None
        operation["value"] = cleaned
    return operation


def _remove_by_values(path: str, value: Any) -> dict[str, Any]:
    """Entra: {"op":"Remove","path":"members","value":[{"value":"id"}]} → a filtered path."""
    items = value if isinstance(value, list) else [value]
    ids = [item.get("value") if isinstance(item, dict) else item for item in items]
    ids = [str(i) for i in ids if i is not None]
    if not ids:
        return {"op": "remove", "path": path}
    condition = " or ".join(f"value eq {ScimFilter.quote(i)}" for i in ids)
    return {"op": "remove", "path": f"{path}[{condition}]"}


_TYPE_FILTER = re.compile(
    r'^(?P<attr>[\w:.]+)\[\s*type\s+eq\s+"(?P<type>[^"]*)"\s*\](?:\.(?P<sub>\w+))?$', re.I
)


def _append_for_unmatched_type_filter(operation: dict[str, Any]) -> dict[str, Any] | None:
    path = operation.get("path")
    if str(operation.get("op", "")).lower() not in ("add", "replace") or not isinstance(path, str):
        return None
    match = _TYPE_FILTER.match(path)
    if match is None:
        return None
    value = operation.get("value")
    sub = match.group("sub")
    item: dict[str, Any] = {"type": match.group("type")}
    if sub:
        item[sub] = value
    elif isinstance(value, dict):
        item.update(value)
    else:
        return None
    return {"op": "add", "path": match.group("attr"), "value": [item]}


# --- filters ---------------------------------------------------------------------------------


def parse_filter(model: Any, expression: str) -> Any:
    """Parse and bind a filter; unknown attributes simply match nothing (RFC 7644 §3.4.2.1)."""
    try:
        return ScimFilter[model](expression)
    except SCIMException as exc:
        raise InvalidFilter(exc.detail) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidFilter(str(exc)) from exc


def filter_matches(scim_filter: Any, resource: Any) -> bool:
    """Evaluate a bound filter against one resource."""
    try:
        return bool(scim_filter.match(resource))
    except SCIMException as exc:
        raise InvalidFilter(exc.detail) from exc


def equality_hint(scim_filter: Any) -> tuple[str, str] | None:
    """(attribute, value) of one top-level `eq` the whole filter requires, if any.

    Lets the store narrow candidates in SQL for the lookups IdPs actually send
    (`userName eq "x"`, `externalId eq "x"`, `displayName eq "x"`, also inside an `and`);
    the full filter is still evaluated on what comes back.
    """
    from scim2_models.path import LogicalExpr, LogicalOperator

    node = scim_filter.ast
    terms = (
        node.terms if isinstance(node, LogicalExpr) and node.op is LogicalOperator.and_ else (node,)
    )
    for term in terms:
        hint = _simple_eq(term)
        if hint is not None:
            return hint
    return None


def _simple_eq(node: Any) -> tuple[str, str] | None:
    from scim2_models.path import CompareOperator, Comparison

    if not isinstance(node, Comparison) or node.op is not CompareOperator.eq:
        return None
    attr_path = node.attr_path
    if attr_path.sub_attr is not None or attr_path.uri is not None:
        return None
    if not isinstance(node.value, str):
        return None
    if attr_path.attr.lower() not in ("username", "externalid", "id", "displayname"):
        return None
    return str(attr_path.attr), node.value


def copy_resource(resource: Any) -> Any:
    """Deep copy so a PATCH can be compared with the original."""
    return copy.deepcopy(resource)


# --- responses -------------------------------------------------------------------------------


def project(
    model: Any, document: dict[str, Any], attributes: str | None, excluded: str | None
) -> dict[str, Any]:
    """Apply `attributes` / `excludedAttributes` (RFC 7644 §3.9) to a presented resource."""
    if not attributes and not excluded:
        return document
    from scim2_models import ResponseParameters

    try:
        params = ResponseParameters[model](attributes=attributes, excluded_attributes=excluded)
        resource = model.model_validate(document)
        result: dict[str, Any] = resource.model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params
        )
    except SCIMException as exc:
        raise InvalidValue(exc.detail) from exc
    except ValidationError as exc:
        raise InvalidValue(_first_error(exc)) from exc
    return result


def search_request(body: dict[str, Any]) -> dict[str, Any]:
    """The GET query parameters a SearchRequest body (RFC 7644 §3.4.3) stands for."""

    def joined(value: Any) -> str | None:
        if isinstance(value, list):
            return ",".join(str(v) for v in value) or None
        return str(value) if value else None

    try:
        start_index = int(body.get("startIndex", 1))
        count = min(max(int(body.get("count", 100)), 0), MAX_RESULTS)
    except (TypeError, ValueError) as exc:
        raise InvalidValue("startIndex and count must be integers") from exc
    return {
        "filter_": body.get("filter") or None,
        "start_index": start_index,
        "count": count,
        "attributes": joined(body.get("attributes")),
        "excluded": joined(body.get("excludedAttributes")),
    }


def list_response(total: int, start_index: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A ListResponse body (RFC 7644 §3.4.2)."""
    return {
        "schemas": [LIST_URN],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    """A SCIM Error body (RFC 7644 §3.12); status is a string there."""
    body: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def service_provider_config(base_url: str) -> dict[str, Any]:
    """What this provider supports: PATCH and filters yes; bulk, sort, ETag, password no."""
    from scim2_models import (
        AuthenticationScheme,
        Bulk,
        ChangePassword,
        ETag,
        Filter,
        Patch,
        ServiceProviderConfig,
        Sort,
    )

    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="OAuth Bearer Token",
                description="A bearer token configured in IDENTITY_SCIM_TOKENS",
                primary=True,
            )
        ],
    )
    document: dict[str, Any] = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    document["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{base_url}/ServiceProviderConfig",
    }
    return document


def resource_types(base_url: str) -> list[dict[str, Any]]:
    """The User (with both extensions) and Group resource types."""
    from scim2_models import ResourceType

    result = []
    for model in (ScimUser, ScimGroup):
        document: dict[str, Any] = ResourceType.from_resource(model).model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        document["meta"] = {
            "resourceType": "ResourceType",
            "location": f"{base_url}/ResourceTypes/{document['id']}",
        }
        result.append(document)
    return result


def schemas(base_url: str) -> list[dict[str, Any]]:
    """The schemas of User, its two extensions and Group."""
    result = []
    for model in (UserResource, EnterpriseUser, LearnproofUser, Group):
        document: dict[str, Any] = model.to_schema().model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        document["meta"] = {
            "resourceType": "Schema",
            "location": f"{base_url}/Schemas/{document['id']}",
        }
        result.append(document)
    return result
