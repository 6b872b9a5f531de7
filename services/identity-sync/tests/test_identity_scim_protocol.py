"""SCIM protocol details: auth, filters, paging, projections, errors and discovery."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from identity_testkit import PATCH_URN, SCIM, Outbox, make_group, make_user

from learnproof_identity.bootstrap import Container

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LEARNPROOF = "urn:learnproof:params:scim:schemas:extension:2.0:User"


async def test_bearer_token_is_required(client: httpx.AsyncClient) -> None:
    r = await client.get("/scim/v2/Users", headers={"Authorization": ""})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert r.json()["status"] == "401"
    r = await client.get("/scim/v2/Users", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = await client.get("/scim/v2/Users", headers={"Authorization": "Bearer entra-token"})
    assert r.status_code == 200


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, str]:
    """Five users with departments, numbers and one deactivated."""
    ids = {}
    for name, dept, number in [
        ("alice@acme.com", "Research", "1"),
        ("albert@acme.com", "Research", "2"),
        ("bea@corp.org", "Sales", "3"),
        ("carl@acme.com", "Sales", "4"),
        ("dina@corp.org", None, "5"),
    ]:
        payload: dict[str, object] = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": name,
            "displayName": name.split("@")[0].title(),
            "emails": [{"type": "work", "value": name}],
            "active": name != "carl@acme.com",
            ENTERPRISE: {"employeeNumber": number, **({"department": dept} if dept else {})},
        }
        if name == "alice@acme.com":
            payload["title"] = "Scientist"
        r = await client.post("/scim/v2/Users", json=payload)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    return ids


FILTER_CASES: list[tuple[str, set[str]]] = [
    ('userName eq "ALICE@acme.com"', {"alice@acme.com"}),
    (
        'userName ne "alice@acme.com"',
        {"albert@acme.com", "bea@corp.org", "carl@acme.com", "dina@corp.org"},
    ),
    ('userName co "al"', {"alice@acme.com", "albert@acme.com"}),
    ('userName sw "b"', {"bea@corp.org"}),
    ('userName ew "corp.org"', {"bea@corp.org", "dina@corp.org"}),
    ("title pr", {"alice@acme.com"}),
    ("not (title pr)", {"albert@acme.com", "bea@corp.org", "carl@acme.com", "dina@corp.org"}),
    ("active eq false", {"carl@acme.com"}),
    (f'{ENTERPRISE}:department eq "sales" and active eq true', {"bea@corp.org"}),
    (
        f'({ENTERPRISE}:department eq "Research" or userName ew "corp.org") and not '
        '(userName sw "alb")',
        {"alice@acme.com", "bea@corp.org", "dina@corp.org"},
    ),
    (f'{ENTERPRISE}:employeeNumber gt "3"', {"carl@acme.com", "dina@corp.org"}),
    (f'{ENTERPRISE}:employeeNumber le "2"', {"alice@acme.com", "albert@acme.com"}),
    ('emails[type eq "work" and value co "corp"]', {"bea@corp.org", "dina@corp.org"}),
    ('emails[type eq "work"].value eq "carl@acme.com"', {"carl@acme.com"}),
    (
        'meta.created ge "2000-01-01T00:00:00Z"',
        {"alice@acme.com", "albert@acme.com", "bea@corp.org", "carl@acme.com", "dina@corp.org"},
    ),
    ('meta.created lt "2000-01-01T00:00:00Z"', set()),
    ('nonexistent eq "x"', set()),
]


async def test_user_filters(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    # One directory, many filters: a setup per case would dominate the run time.
    for expression, expected in FILTER_CASES:
        r = await client.get("/scim/v2/Users", params={"filter": expression})
        assert r.status_code == 200, (expression, r.text)
        assert {u["userName"] for u in r.json()["Resources"]} == expected, expression
        assert r.json()["totalResults"] == len(expected), expression


async def test_invalid_filter_is_a_scim_error(client: httpx.AsyncClient) -> None:
    r = await client.get("/scim/v2/Users", params={"filter": 'userName eq "x" and'})
    assert r.status_code == 400
    assert r.json()["scimType"] == "invalidFilter"
    assert r.headers["content-type"].startswith(SCIM)


async def test_paging_and_projection(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    r = await client.get("/scim/v2/Users", params={"startIndex": 2, "count": 2})
    body = r.json()
    assert body["totalResults"] == 5 and body["startIndex"] == 2 and body["itemsPerPage"] == 2
    assert [u["userName"] for u in body["Resources"]] == ["albert@acme.com", "bea@corp.org"]
    r = await client.get("/scim/v2/Users", params={"startIndex": 5, "count": 10})
    assert [u["userName"] for u in r.json()["Resources"]] == ["dina@corp.org"]
    r = await client.get("/scim/v2/Users", params={"count": 0})
    assert r.json()["totalResults"] == 5 and r.json()["Resources"] == []

    r = await client.get(
        "/scim/v2/Users", params={"attributes": "userName", "filter": 'userName sw "alice"'}
    )
    (only,) = r.json()["Resources"]
    assert set(only) == {"schemas", "id", "userName"}
    r = await client.get(
        f"/scim/v2/Users/{people['alice@acme.com']}", params={"excludedAttributes": "emails"}
    )
    assert "emails" not in r.json() and r.json()["userName"] == "alice@acme.com"


async def test_errors(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    r = await client.get("/scim/v2/Users/does-not-exist")
    assert r.status_code == 404 and r.json()["status"] == "404"
    r = await client.post("/scim/v2/Users", json={"schemas": [], "displayName": "no userName"})
    assert r.status_code == 400 and r.json()["scimType"] in ("invalidValue", "invalidSyntax")
    r = await client.post("/scim/v2/Users", content=b"{not json")
    assert r.status_code == 400
    alice = people["alice@acme.com"]
    r = await client.patch(
        f"/scim/v2/Users/{alice}",
        json={"schemas": [PATCH_URN], "Operations": [{"op": "explode", "path": "title"}]},
    )
    assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
    r = await client.put(
        f"/scim/v2/Users/{alice}", json={"schemas": [], "userName": "bea@corp.org"}
    )
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
    r = await client.post(
        "/scim/v2/Groups",
        json={"displayName": "Ghosts", "members": [{"value": "no-such-user"}]},
    )
    assert r.status_code == 400


async def test_patch_remove_and_extension_paths(
    client: httpx.AsyncClient, people: dict[str, str], published: Outbox
) -> None:
    alice = people["alice@acme.com"]
    await published.new()
    body = {
        "schemas": [PATCH_URN],
        "Operations": [
            {"op": "remove", "path": "title"},
            {"op": "replace", "path": f"{ENTERPRISE}:costCenter", "value": "CC-9"},
            {"op": "add", "path": f"{LEARNPROOF}:hireDate", "value": "2025-11-03T00:00:00Z"},
        ],
    }
    r = await client.patch(f"/scim/v2/Users/{alice}", json=body)
    assert r.status_code == 200, r.text
    assert "title" not in r.json()
    assert r.json()[ENTERPRISE]["costCenter"] == "CC-9"
    (event,) = await published.new()
    assert event.data["user"]["hireDate"] == "2025-11-03T00:00:00+00:00"
    # A no-op PATCH publishes nothing.
    same = {"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": "title"}]}
    assert (await client.patch(f"/scim/v2/Users/{alice}", json=same)).status_code == 200
    assert await published.new() == []


async def test_group_filters_and_put(
    client: httpx.AsyncClient, people: dict[str, str], published: Outbox
) -> None:
    group_id = await make_group(client, "Research Staff")
    other = await make_group(client, "Everyone")
    members = [{"value": people["alice@acme.com"]}, {"value": people["albert@acme.com"]}]
    r = await client.put(
        f"/scim/v2/Groups/{group_id}",
        json={"schemas": [], "displayName": "Research Staff", "members": members},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["members"]) == 2
    r = await client.get("/scim/v2/Users", params={"filter": 'groups.display eq "research staff"'})
    assert {u["userName"] for u in r.json()["Resources"]} == {"alice@acme.com", "albert@acme.com"}
    r = await client.get("/scim/v2/Groups", params={"filter": 'displayName sw "Research"'})
    assert [g["id"] for g in r.json()["Resources"]] == [group_id]
    r = await client.get("/scim/v2/Groups")
    assert {g["id"] for g in r.json()["Resources"]} == {group_id, other}
    r = await client.get(f"/scim/v2/Groups/{group_id}", params={"excludedAttributes": "members"})
    assert "members" not in r.json()


async def test_discovery(client: httpx.AsyncClient) -> None:
    r = await client.get("/scim/v2/ServiceProviderConfig")
    assert r.status_code == 200 and r.headers["content-type"].startswith(SCIM)
    config = r.json()
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    r = await client.get("/scim/v2/ResourceTypes")
    types_ = {t["id"]: t for t in r.json()["Resources"]}
    assert set(types_) == {"User", "Group"}
    assert {e["schema"] for e in types_["User"]["schemaExtensions"]} == {ENTERPRISE, LEARNPROOF}
    assert (await client.get("/scim/v2/ResourceTypes/User")).json()["endpoint"] == "/Users"
    r = await client.get("/scim/v2/Schemas")
    ids = {s["id"] for s in r.json()["Resources"]}
    assert ENTERPRISE in ids and "urn:ietf:params:scim:schemas:core:2.0:Group" in ids
    r = await client.get(f"/scim/v2/Schemas/{ENTERPRISE}")
    names = {a["name"] for a in r.json()["attributes"]}
    assert {"manager", "department", "employeeNumber", "costCenter"} <= names
    assert (await client.get("/scim/v2/Schemas/urn:nope")).status_code == 404


async def test_user_delete_removes_memberships(
    client: httpx.AsyncClient, container: Container, published: Outbox
) -> None:
    user_id = await make_user(client, "temp@acme.com")
    group_id = await make_group(client, "Temps")
    body = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
    }
    await client.patch(f"/scim/v2/Groups/{group_id}", json=body)
    await published.new()
    assert (await client.delete(f"/scim/v2/Users/{user_id}")).status_code == 204
    events = await published.new()
    assert [e.type for e in events] == ["identity.group.upserted", "identity.user.deactivated"]
    assert events[0].data["group"]["members"] == []
    assert (await client.get(f"/scim/v2/Groups/{group_id}")).json().get("members", []) == []


async def test_search_endpoints_and_member_display(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    group_id = await make_group(client, "Searchers")
    add = {
        "schemas": [PATCH_URN],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": people["bea@corp.org"], "display": "Bea (Sales)"}],
            }
        ],
    }
    r = await client.patch(f"/scim/v2/Groups/{group_id}", json=add)
    assert r.json()["members"][0]["display"] == "Bea (Sales)"
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName ew "corp.org"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 1,
    }
    r = await client.post("/scim/v2/Users/.search", json=search)
    assert r.status_code == 200, r.text
    assert r.json()["totalResults"] == 2 and len(r.json()["Resources"]) == 1
    assert set(r.json()["Resources"][0]) == {"schemas", "id", "userName"}
    r = await client.post("/scim/v2/Groups/.search", json={"filter": 'displayName eq "Searchers"'})
    assert [g["id"] for g in r.json()["Resources"]] == [group_id]
    r = await client.post(
        "/scim/v2/.search", json={"filter": 'displayName sw "Bea" or displayName sw "Search"'}
    )
    found = {(x["meta"]["resourceType"], x["displayName"]) for x in r.json()["Resources"]}
    assert found == {("User", "Bea"), ("Group", "Searchers")}


async def test_concurrent_creates_of_one_user_name(
    client: httpx.AsyncClient, published: Outbox
) -> None:
    payload = {"schemas": [], "userName": "race@acme.com"}
    answers = await asyncio.gather(*(client.post("/scim/v2/Users", json=payload) for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409, 409]
    assert [e.type for e in await published.new()] == ["identity.user.upserted"]
