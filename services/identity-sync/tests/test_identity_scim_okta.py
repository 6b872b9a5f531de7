"""Okta's documented SCIM 2.0 request sequence, replayed against the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
from identity_testkit import SCIM, Outbox, types

from learnproof_identity.bootstrap import Container

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def okta_user(user_name: str = "ada.lovelace@acme.com", given: str = "Ada") -> dict[str, object]:
    # Shape of Okta's "Create User" request (developer.okta.com SCIM 2.0 reference).
    return {
        "schemas": [USER_URN, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} Lovelace",
        "locale": "en-US",
        "externalId": "00u1abcdEFGH",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        ENTERPRISE: {"department": "Research", "employeeNumber": "42", "costCenter": "CC-7"},
    }


async def test_okta_user_lifecycle(
    client: httpx.AsyncClient, container: Container, published: Outbox
) -> None:
    # 1. Lookup before create.
    r = await client.get(
        "/scim/v2/Users",
        params={"filter": 'userName eq "ada.lovelace@acme.com"', "startIndex": 1, "count": 100},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(SCIM)
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 0 and body["Resources"] == []

    # 2. Create.
    r = await client.post("/scim/v2/Users", json=okta_user())
    assert r.status_code == 201, r.text
    created = r.json()
    user_id = created["id"]
    assert r.headers["location"].endswith(f"/scim/v2/Users/{user_id}")
    assert created["meta"]["resourceType"] == "User"
    assert "password" not in created
    assert created[ENTERPRISE]["employeeNumber"] == "42"
    events = await published.new()
    assert types(events) == ["identity.user.upserted"]
    assert events[0].key == user_id
    assert events[0].data["user"]["userName"] == "ada.lovelace@acme.com"
    assert events[0].data["user"]["department"] == "Research"
    assert events[0].data["user"]["emails"] == ["ada.lovelace@acme.com"]

    # 3. Create again: 409 uniqueness (case-insensitive userName).
    r = await client.post("/scim/v2/Users", json=okta_user("ADA.lovelace@acme.com"))
    assert r.status_code == 409
    error = r.json()
    assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert error["scimType"] == "uniqueness" and error["status"] == "409"
    assert await published.new() == []

    # 4. Lookup finds it; GET by id.
    r = await client.get("/scim/v2/Users", params={"filter": 'userName eq "ada.lovelace@acme.com"'})
    assert r.json()["totalResults"] == 1 and r.json()["Resources"][0]["id"] == user_id
    r = await client.get(f"/scim/v2/Users/{user_id}")
    assert r.status_code == 200 and r.json()["name"]["givenName"] == "Ada"

    # 5. Profile update: GET then full PUT.
    replacement = {**r.json(), "name": {"givenName": "Augusta", "familyName": "King"}}
    replacement["displayName"] = "Augusta King"
    r = await client.put(f"/scim/v2/Users/{user_id}", json=replacement)
    assert r.status_code == 200, r.text
    assert r.json()["name"]["givenName"] == "Augusta"
    assert r.json()["meta"]["version"] == 'W/"2"'
    events = await published.new()
    assert types(events) == ["identity.user.upserted"]
    assert events[0].data["user"]["displayName"] == "Augusta King"

    # 6. Deactivate: PATCH replace {active:false} without a path (Okta never DELETEs users).
    patch = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": False}}]}
    r = await client.patch(f"/scim/v2/Users/{user_id}", json=patch)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    events = await published.new()
    assert types(events) == ["identity.user.upserted", "identity.user.deactivated"]
    assert events[0].data["user"]["active"] is False
    assert events[1].data == {"user_id": user_id}

    # Deactivated users are still returned (soft delete).
    r = await client.get("/scim/v2/Users", params={"filter": "active eq false"})
    assert [u["id"] for u in r.json()["Resources"]] == [user_id]


async def test_okta_group_push(
    client: httpx.AsyncClient, container: Container, published: Outbox
) -> None:
    alice = (await client.post("/scim/v2/Users", json=okta_user("alice@acme.com"))).json()["id"]
    bob = (await client.post("/scim/v2/Users", json=okta_user("bob@acme.com"))).json()["id"]
    await published.new()

    # Group Push creates the group with no members.
    r = await client.post(
        "/scim/v2/Groups", json={"schemas": [GROUP_URN], "displayName": "Data Team", "members": []}
    )
    assert r.status_code == 201, r.text
    group_id = r.json()["id"]
    events = await published.new()
    assert types(events) == ["identity.group.upserted"]
    assert events[0].data["group"] == {"id": group_id, "displayName": "Data Team", "members": []}

    # Add members with path "members".
    add = {
        "schemas": [PATCH_URN],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"value": alice, "display": "alice@acme.com"},
                    {"value": bob, "display": "bob@acme.com"},
                ],
            }
        ],
    }
    r = await client.patch(f"/scim/v2/Groups/{group_id}", json=add)
    assert r.status_code == 200, r.text
    assert sorted(m["value"] for m in r.json()["members"]) == sorted([alice, bob])
    events = await published.new()
    assert types(events) == ["identity.group.upserted"]
    assert sorted(events[0].data["group"]["members"]) == sorted([alice, bob])
    r = await client.get(f"/scim/v2/Users/{alice}")
    assert [g["display"] for g in r.json()["groups"]] == ["Data Team"]

    # Remove one member with a value filter in the path.
    remove = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "remove", "path": f'members[value eq "{alice}"]'}],
    }
    r = await client.patch(f"/scim/v2/Groups/{group_id}", json=remove)
    assert r.status_code == 200, r.text
    assert [m["value"] for m in r.json()["members"]] == [bob]
    assert (await published.new())[0].data["group"]["members"] == [bob]

    # Rename with a no-path replace that echoes the id.
    rename = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": "Data Guild"}}],
    }
    r = await client.patch(f"/scim/v2/Groups/{group_id}", json=rename)
    assert r.status_code == 200, r.text
    assert r.json()["displayName"] == "Data Guild"
    events = await published.new()
    assert events[0].data["group"]["displayName"] == "Data Guild"
    r = await client.get("/scim/v2/Groups", params={"filter": 'displayName eq "data guild"'})
    assert r.json()["totalResults"] == 1

    # Unlink: DELETE the group.
    r = await client.delete(f"/scim/v2/Groups/{group_id}")
    assert r.status_code == 204
    assert types(await published.new()) == ["identity.group.deleted"]
    assert (await client.get(f"/scim/v2/Groups/{group_id}")).status_code == 404
    r = await client.get(f"/scim/v2/Users/{bob}")
    assert "groups" not in r.json()
