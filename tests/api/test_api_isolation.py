"""Security: a client token tried against EVERY route with another client's ids.

The routes are read from the application itself, so a route added later is checked too:
each must either take a token (401 without one; a portal page redirects to its sign-in page
instead), refuse a client token (403 for finance
actions), or answer 404 for the other client's objects, whatever the way the id arrives
(path, query parameter, PDF). A route with a parameter this test does not know fails the
test until it is added here.
"""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from billing.api.deps import caller, console_caller, finance_caller, portal_caller
from tests.api.api_client import client_fixture, world_fixture  # noqa: F401  (fixtures)
from tests.api.api_world import World, bearer

#: Routes that authenticate otherwise (Stripe signs its webhooks), sign in, or show nothing.
PUBLIC = {
    ("POST", "/webhooks/stripe"),
    ("GET", "/"),
    ("GET", "/portal/login"),
    ("POST", "/portal/login"),
    ("POST", "/portal/logout"),
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
}


def api_routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                found.append((method, context.path_format if hasattr(context, "path_format") else route.path, route))
    return found


def walk(dependant: Dependant) -> list[Dependant]:
    """The route's own parameters and those of every dependency it uses, however deep."""
    found = [dependant]
    for sub in dependant.dependencies:
        found += walk(sub)
    return found


def params_of(route: APIRoute, kind: str) -> list[Any]:
    return [param for dep in walk(route.dependant) for param in getattr(dep, kind)]


def calls_of(route: APIRoute) -> set[Any]:
    return {dep.call for dep in walk(route.dependant)}


def other_clients_ids(world: World) -> dict[str, str]:
    """Each parameter name a route may take, filled with an object of the client Iberia."""
    return {
        "document_id": str(world.iberia_invoice),
        "number": "E001-00000001",
        "code": "IBERIA-1",
        "contract": "IBERIA-1",
        "client_id": "iberia",
        "line": "2",
    }


HARMLESS_QUERY = {
    "period": "2026-10",
    "from": "2026-01",
    "to": "2026-12",
    "kind": "invoice",
    "status": "issued",
    "as_of": "2026-10-16",
    "method": "linear",
    "cursor": "0.0",
    "limit": "10",
    "format": "json",
    "basis": "service",
    "q": "andes",
}
#: Pages that post a form rather than JSON.
FORMS = {
    "/portal/language": {"language": "en", "next": "/portal"},
    "/console/language": {"language": "en", "next": "/console"},
    "/console/close": {"period": "2026-10", "idempotency_key": "k"},
    "/console/documents/{document_id}/issue": {"idempotency_key": "k"},
    "/console/documents/{document_id}/void": {"reason": "probe", "idempotency_key": "k"},
    "/console/documents/{document_id}/notes": {"amount": "1", "reason": "probe", "idempotency_key": "k"},
    "/console/simulate": {"contract": "IBERIA-1", "from": "2026-10", "to": "2026-10"},
}
BODIES = {
    "/v1/payments": {
        "document_id": 0,
        "amount": "1.00",
        "received_at": "2026-11-20T10:00:00Z",
        "reference": "X-1",
    },
    "/v1/close": {"period": "2026-10"},
    "/v1/documents/{document_id}/issue": {},
    "/v1/documents/{document_id}/void": {"reason": "probe"},
    "/v1/documents/{document_id}/notes": {"reason": "probe", "amount": "1.00"},
    "/v1/contracts/{code}/reconcile": {"period": "2026-10", "propose": True},
}


def request_for(method: str, path: str, route: APIRoute, world: World) -> dict[str, Any]:
    ids = other_clients_ids(world)
    url = path
    for param in {p.alias: p for p in params_of(route, "path_params")}.values():
        assert param.alias in ids, f"{method} {path}: unknown path parameter {param.alias!r}; add it to this test"
        url = url.replace("{" + param.alias + "}", ids[param.alias])
    query = {}
    for param in {p.alias: p for p in params_of(route, "query_params")}.values():
        if param.alias in ids:
            query[param.alias] = ids[param.alias]
        elif param.alias in HARMLESS_QUERY:
            query[param.alias] = HARMLESS_QUERY[param.alias]
        elif param.alias != "token":
            raise AssertionError(f"{method} {path}: unknown query parameter {param.alias!r}; add it to this test")
    body = None
    if params_of(route, "body_params"):
        assert path in BODIES, f"{method} {path}: give this test a body for it"
        body = dict(BODIES[path])
        if "document_id" in body:
            body["document_id"] = world.iberia_invoice
    if path in FORMS:
        return {"method": method, "url": url, "params": query, "data": FORMS[path]}
    return {"method": method, "url": url, "params": query, "json": body}


def test_every_route_takes_a_token(client: TestClient, world: World) -> None:
    routes = api_routes(client.app)
    assert len(routes) >= 15
    for method, path, route in routes:
        if (method, path) in PUBLIC:
            continue
        calls = calls_of(route)
        assert calls & {caller, portal_caller, console_caller}, f"{method} {path} does not authenticate"
        request = request_for(method, path, route, world)
        answer = client.request(**request, headers={"Idempotency-Key": "k-none"}, follow_redirects=False)
        if console_caller in calls:  # the console takes a finance session and nothing else
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/console/login?next="), (method, path)
            for token in (world.finance_token, world.andes_token):  # a token is no way in
                sent = client.request(**request, headers=bearer(token), follow_redirects=False)
                assert sent.status_code == 303, (method, path, sent.status_code)
            continue
        if portal_caller in calls:  # a page: no session sends the browser to the sign-in page
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/portal/login?next="), (method, path)
        else:
            assert answer.status_code == 401, (method, path, answer.status_code)
        revoked = client.request(**request, headers={**bearer(world.revoked_token), "Idempotency-Key": "k-rev"})
        assert revoked.status_code == 401, (method, path, revoked.status_code)


def test_a_client_token_never_reaches_another_clients_objects(client: TestClient, world: World) -> None:
    checked = 0
    for method, path, route in api_routes(client.app):
        if (method, path) in PUBLIC or console_caller in calls_of(route):  # no token opens the console
            continue
        request = request_for(method, path, route, world)
        answer = client.request(**request, headers={**bearer(world.andes_token), "Idempotency-Key": f"k-{path}"})
        finance_only = finance_caller in calls_of(route)
        takes_ids = bool(set(request["params"]) & set(other_clients_ids(world))) or "{" in path
        if finance_only:
            assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
        elif takes_ids:
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
        else:
            # No id to aim with: the answer is the caller's own data and names nothing of Iberia.
            assert answer.status_code == 200, (method, path, answer.status_code, answer.text)
            if "json" in answer.headers.get("content-type", "") or "html" in answer.headers.get("content-type", ""):
                assert "iberia" not in answer.text.lower() and "E001" not in answer.text, (method, path)
        checked += 1
    assert checked >= 15


def test_the_same_routes_answer_the_owner(client: TestClient, world: World) -> None:
    """The 404s above are about ownership, not broken routes: Iberia reaches each of them."""
    for method, path, route in api_routes(client.app):
        if (method, path) in PUBLIC or calls_of(route) & {finance_caller, console_caller}:
            continue
        request = request_for(method, path, route, world)
        answer = client.request(**request, headers=bearer(world.iberia_token))
        assert answer.status_code == 200, (method, path, answer.status_code, answer.text)


def test_clients_never_see_drafts_but_finance_does(client: TestClient, world: World) -> None:
    assert client.get(f"/v1/documents/{world.andes_draft}", headers=bearer(world.andes_token)).status_code == 404
    listed = client.get("/v1/documents", headers=bearer(world.andes_token)).json()
    assert world.andes_draft not in [d["id"] for d in listed["data"]]
    drafts = client.get("/v1/documents", params={"status": "draft"}, headers=bearer(world.finance_token)).json()
    assert [d["id"] for d in drafts["data"]] == [world.andes_draft]


def test_finance_token_sees_every_client(client: TestClient, world: World) -> None:
    clients = client.get("/v1/clients", headers=bearer(world.finance_token)).json()
    assert [c["id"] for c in clients["data"]] == ["andes", "iberia"]
    own = client.get("/v1/clients", headers=bearer(world.andes_token)).json()
    assert own == {
        "data": [
            {
                "id": "andes",
                "name": "Andes Seguros S.A.",
                "locale": "es_PE",
                "tax_id": "20555555551",
                "legal_name": None,
                "tax_scheme": None,
                "address": None,
                "billing_email": None,
            }
        ],
        "count": 1,
    }


def test_a_nul_in_a_path_or_query_is_refused_not_sent_to_the_database(client: TestClient, world: World) -> None:
    """PostgreSQL cannot hold NUL in text, so such a parameter names nothing (found by schemathesis)."""
    headers = bearer(world.finance_token)
    assert client.get("/v1/documents", params={"contract": "\x00"}, headers=headers).status_code == 422
    assert client.get("/v1/contracts/A%00B", headers=headers).status_code == 422
    assert client.get("/v1/documents", params={"contract": "A"}, headers=headers).status_code == 404  # looked up
