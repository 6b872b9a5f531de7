"""Microsoft Entra ID's provisioning requests (incl. its non-compliant PATCH forms), replayed."""

from __future__ import annotations

import httpx
from identity_testkit import Outbox, types

from learnproof_identity.bootstrap import Container

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENTRA_GROUP_URN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def entra_user(user_name: str, external_id: str, email: str) -> dict[str, object]:
    # Shape of Entra's "Create User" request (learn.microsoft.com, SCIM endpoint tutorial).
    return {
        "schemas": [USER_URN, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
        "roles": [],
    }


def patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


async def test_entra_user_provisioning(
    client: httpx.AsyncClient, container: Container, published: Outbox
) -> None:
    client.headers["Authorization"] = "Bearer entra-token"
    user = entra_user("grace@contoso.com", "0a21f0f2-8d2a-4f8e", "grace@contoso.com")
    r = await client.get("/scim/v2/Users", params={"filter": 'userName eq "grace@contoso.com"'})
    assert r.json()["totalResults"] == 0
    r = await client.post("/scim/v2/Users", json=user)
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    manager = (
        await client.post("/scim/v2/Users", json=entra_user("boss@contoso.com", "m-1", "b@c.com"))
    ).json()["id"]
    await published.new()

    # Entra's lookups: externalId, the work email value path, and eq/and.
    for expression in (
        'externalId eq "0a21f0f2-8d2a-4f8e"',
        'emails[type eq "work"].value eq "grace@contoso.com"',
        'userName eq "grace@contoso.com" and externalId eq "0a21f0f2-8d2a-4f8e"',
    ):
        r = await client.get("/scim/v2/Users", params={"filter": expression})
        assert [u["id"] for u in r.json()["Resources"]] == [user_id], expression

    # Non-compliant PATCH forms: capitalised ops, value path replace, manager as a bare string,
    # Add on single-valued attributes, an Add through a type filter that matches nothing yet.
    r = await client.patch(
        f"/scim/v2/Users/{user_id}",
        json=patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "gh@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Murray Hopper"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager},
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Navy"},
            {"op": "Add", "path": "displayName", "value": "Admiral Hopper"},
            {"op": "Add", "path": 'emails[type eq "home"].value', "value": "grace@home.test"},
        ),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"]["familyName"] == "Murray Hopper"
    assert body[ENTERPRISE]["manager"]["value"] == manager
    assert body[ENTERPRISE]["department"] == "Navy"
    assert body["displayName"] == "Admiral Hopper"
    assert {(e["type"], e["value"]) for e in body["emails"]} == {
        ("work", "gh@contoso.com"),
        ("home", "grace@home.test"),
    }
    events = await published.new()
    assert types(events) == ["identity.user.upserted"]
    assert events[0].data["user"]["managerId"] == manager
    assert set(events[0].data["user"]["emails"]) == {"gh@contoso.com", "grace@home.test"}

    # Manager as an object, then a second Add on the single-valued manager replaces it.
    r = await client.patch(
        f"/scim/v2/Users/{user_id}",
        json=patch({"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": user_id}}),
    )
    assert r.json()[ENTERPRISE]["manager"]["value"] == user_id

    # Disable with "False" as a string.
    r = await client.patch(
        f"/scim/v2/Users/{user_id}",
        json=patch({"op": "Replace", "path": "active", "value": "False"}),
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    events = await published.new()
    assert types(events)[-2:] == ["identity.user.upserted", "identity.user.deactivated"]
    # Soft-deleted users must still be returned to Entra.
    r = await client.get("/scim/v2/Users", params={"filter": 'externalId eq "0a21f0f2-8d2a-4f8e"'})
    assert r.json()["Resources"][0]["active"] is False

    # Hard delete.
    assert (await client.delete(f"/scim/v2/Users/{user_id}")).status_code == 204
    assert types(await published.new()) == ["identity.user.deactivated"]
    assert (await client.get(f"/scim/v2/Users/{user_id}")).status_code == 404


async def test_entra_group_provisioning(
    client: httpx.AsyncClient, container: Container, published: Outbox
) -> None:
    client.headers["Authorization"] = "Bearer entra-token"
    ids = []
    for n in range(3):
        r = await client.post(
            "/scim/v2/Users", json=entra_user(f"u{n}@contoso.com", f"e{n}", "x@y")
        )
        ids.append(r.json()["id"])
    r = await client.post(
        "/scim/v2/Groups",
        json={
            "schemas": [GROUP_URN, ENTRA_GROUP_URN],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Ops",
            "meta": {"resourceType": "Group"},
        },
    )
    assert r.status_code == 201, r.text
    group_id = r.json()["id"]
    await published.new()

    r = await client.get(
        "/scim/v2/Groups",
        params={"excludedAttributes": "members", "filter": 'displayName eq "Ops"'},
    )
    assert r.status_code == 200, r.text
    assert [g["id"] for g in r.json()["Resources"]] == [group_id]
    assert "members" not in r.json()["Resources"][0]

    add = patch(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": i} for i in ids]}
    )
    r = await client.patch(f"/scim/v2/Groups/{group_id}", json=add)
    assert r.status_code == 200, r.text
    assert sorted((await published.new())[-1].data["group"]["members"]) == sorted(ids)

    # Member removal with a value array (not a filtered path).
    remove = patch(
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": ids[0]}]},
        {"op": "Remove", "path": "members", "value": [{"value": ids[2]}]},
    )
    r = await client.patch(f"/scim/v2/Groups/{group_id}", json=remove)
    assert r.status_code == 200, r.text
    assert [m["value"] for m in r.json()["members"]] == [ids[1]]
    assert (await published.new())[-1].data["group"]["members"] == [ids[1]]

    r = await client.patch(
        f"/scim/v2/Groups/{group_id}",
        json=patch({"op": "Replace", "path": "displayName", "value": "Ops (renamed)"}),
    )
    assert r.json()["displayName"] == "Ops (renamed)"
    r = await client.get("/scim/v2/Groups", params={"filter": f'members[value eq "{ids[1]}"]'})
    assert [g["displayName"] for g in r.json()["Resources"]] == ["Ops (renamed)"]
    assert (await client.delete(f"/scim/v2/Groups/{group_id}")).status_code == 204
    assert types(await published.new())[-1] == "identity.group.deleted"
