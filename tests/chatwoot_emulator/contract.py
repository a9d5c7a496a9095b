"""Chatwoot's published OpenAPI document as the judge of every request and answer.

The document is read from ../shared/contracts/chatwoot/ beside the repository (CI lays shared/
there); `AGENT_CONSOLE_SHARED` names another shared/ folder (a worktree elsewhere). Missing, it
fails loudly: an emulator that validates nothing would prove nothing.

Requests: the operation must exist (method + templated path), every query parameter must be
declared and valid, required ones present, and the JSON body must match the request schema with
no property the schema does not name. Answers: the body must match the response schema the
document gives for that status. What Chatwoot serves but the document leaves out is listed
below by name (SOURCES.md describes each), and nowhere else.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = "contracts/chatwoot/application_swagger.json"


def document_path() -> Path:
    shared = os.environ.get("AGENT_CONSOLE_SHARED")
    base = Path(shared) if shared else REPO.parent / "shared"
    path = base / DOCUMENT
    if not path.is_file():
        raise RuntimeError(
            f"Chatwoot's OpenAPI document is missing: expected {path} (shared/ beside the repository,"
            " or AGENT_CONSOLE_SHARED=/path/to/shared). The Chatwoot tests validate every request"
            " and answer against it and cannot run without it."
        )
    return path


# --- what Chatwoot serves beyond the document, by name ---------------------------------------------

# Routes outside the document: (method, path template) -> operation name. Their shapes follow
# Chatwoot's own serializers (SOURCES.md): articles of a portal, one article, typing, and the
# agent's last-seen mark (read, unread).
EXTRA_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles"): "x-list-portal-articles",
    ("GET", "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles/{article_id}"): "x-show-article",
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_typing_status",
    ): "x-toggle-typing-status",
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/update_last_seen",
    ): "x-update-last-seen",
    ("POST", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/unread"): "x-unread",
}
# Query parameters served but not declared: the message list's `before`/`after` (MessageFinder).
EXTRA_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "list-all-messages": {"before": {"type": "integer"}, "after": {"type": "integer"}},
}
# Request body fields served but not declared: the dashboard's `echo_id` on a new message, and
# snoozing through toggle_status (`snoozed` with `snoozed_until`, unix seconds).
EXTRA_BODY: dict[str, dict[str, dict[str, Any]]] = {
    "create-a-new-message-in-a-conversation": {"echo_id": {"type": "string"}},
    "toggle-status-of-a-conversation": {"snoozed_until": {"type": "integer"}},
}
EXTRA_ENUM: dict[tuple[str, str], list[str]] = {
    ("toggle-status-of-a-conversation", "status"): ["snoozed"],
}
EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {
    "x-list-portal-articles": {
        "type": "object",
        "required": ["payload", "meta"],
        "properties": {
            "payload": {"type": "array", "items": {"$ref": "#/x-article"}},
            "meta": {"type": "object", "properties": {"articles_count": {"type": "integer"}}},
        },
    },
    "x-show-article": {
        "type": "object",
        "required": ["payload"],
        "properties": {"payload": {"$ref": "#/x-article"}},
    },
    "x-toggle-typing-status": {},
    "x-update-last-seen": {},
    "x-unread": {},
}
EXTRA_QUERY: dict[str, dict[str, dict[str, Any]]] = {
    "x-list-portal-articles": {
        "query": {"type": "string"},
        "locale": {"type": "string"},
        "category_slug": {"type": "string"},
        "page": {"type": "integer"},
    },
    "x-show-article": {},
    "x-toggle-typing-status": {},
    "x-update-last-seen": {},
    "x-unread": {},
}
EXTRA_BODIES: dict[str, dict[str, Any] | None] = {
    "x-list-portal-articles": None,
    "x-show-article": None,
    "x-toggle-typing-status": {
        "type": "object",
        "required": ["typing_status"],
        "properties": {
            "typing_status": {"type": "string", "enum": ["on", "off"]},
            "is_private": {"type": "boolean"},
        },
    },
    "x-update-last-seen": None,
    "x-unread": None,
}
# Answers the document types too narrowly, by what Chatwoot's serializers send: a snoozed
# conversation's status, and toggle_status reporting pending or snoozed.
EXTRA_COMPONENT_ENUM: dict[tuple[str, ...], list[str]] = {
    ("conversation", "properties", "status"): ["snoozed"],
    ("conversation_status_toggle", "properties", "payload", "properties", "current_status"): [
        "pending",
        "snoozed",
    ],
}
# Answers Chatwoot renders as JSON null: an unassignment (`render json: nil`).
NULL_ANSWERS = {"assign-a-conversation"}
# Statuses any route may answer though no operation lists them: rack-attack's 429 and the
# authentication filter's 401 (both before the controller runs).
ANY_ROUTE_STATUSES = {401, 429}


class ContractViolation(AssertionError):
    """A request or an answer that Chatwoot's document does not allow."""


@dataclass
class Operation:
    name: str
    method: str
    template: str
    pattern: re.Pattern[str]
    params: dict[str, dict[str, Any]]  # query parameters: name -> {schema, required}
    path_params: dict[str, dict[str, Any]]
    body: dict[str, Any] | None
    body_required: bool
    responses: dict[str, Any]
    extra: bool = False


class Contract:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or document_path()
        self.doc = json.loads(self.path.read_text(encoding="utf-8"))
        for (schema, *trail), values in EXTRA_COMPONENT_ENUM.items():
            node = self.doc["components"]["schemas"][schema]
            for step in trail:
                node = node[step]
            node["enum"] = [*node["enum"], *values]
        self.operations: list[Operation] = []
        for template, item in self.doc["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                self.operations.append(self._operation(method.upper(), template, op, shared))
        for (method, template), name in EXTRA_ROUTES.items():
            params = {k: {"schema": v, "required": False} for k, v in EXTRA_QUERY[name].items()}
            body = EXTRA_BODIES[name]
            self.operations.append(
                Operation(
                    name=name,
                    method=method,
                    template=template,
                    pattern=_pattern(template),
                    params=params,
                    path_params={},
                    body=body,
                    body_required=body is not None,
                    responses={"200": EXTRA_SCHEMAS[name], "404": {"type": "object"}},
                    extra=True,
                )
            )
        # Literal segments win over parameters (`/contacts/search` before `/contacts/{id}`).
        self.operations.sort(key=lambda o: o.template.count("{"))
        self.used: set[str] = set()
        # Compiled validators, keyed by the schema object (kept alive beside it).
        self._validators: dict[int, tuple[dict[str, Any], OAS30Validator]] = {}

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/components/"):
            _, _, kind, name = node["$ref"].split("/")
            return self.doc["components"][kind][name]
        return node

    def _operation(self, method: str, template: str, op: dict[str, Any], shared: list[Any]) -> Operation:
        params: dict[str, dict[str, Any]] = {}
        path_params: dict[str, dict[str, Any]] = {}
        for raw in [*shared, *op.get("parameters", [])]:
            param = self._resolve(raw)
            target = path_params if param["in"] == "path" else params if param["in"] == "query" else None
            if target is not None:
                target[param["name"]] = {
                    "schema": param.get("schema", {}),
                    "required": param.get("required", False),
                }
        name = op.get("operationId") or f"{method} {template}"
        for extra, schema in EXTRA_PARAMS.get(name, {}).items():
            params[extra] = {"schema": schema, "required": False}
        body = None
        required = False
        if "requestBody" in op:
            required = bool(op["requestBody"].get("required"))
            body = copy.deepcopy(op["requestBody"]["content"]["application/json"]["schema"])
            body = copy.deepcopy(self._resolve(body))
            props = body.setdefault("properties", {})
            props.update(EXTRA_BODY.get(name, {}))
            for (op_name, field), values in EXTRA_ENUM.items():
                if op_name == name:
                    props[field] = {**props[field], "enum": [*props[field]["enum"], *values]}
        responses: dict[str, Any] = {}
        for status, answer in op.get("responses", {}).items():
            content = (answer or {}).get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            responses[status] = schema
        return Operation(
            name=name,
            method=method,
            template=template.rstrip("/") or "/",
            pattern=_pattern(template.rstrip("/")),
            params=params,
            path_params=path_params,
            body=body,
            body_required=required,
            responses=responses,
        )

    # --- checks ----------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        path = path.rstrip("/") or "/"
        for op in self.operations:
            if op.method != method:
                continue
            found = op.pattern.fullmatch(path)
            if found:
                self.used.add(op.name)
                return op, found.groupdict()
        raise ContractViolation(f"{method} {path}: no such operation in Chatwoot's document")

    def check_request(
        self,
        op: Operation,
        path_args: dict[str, str],
        query: list[tuple[str, str]],
        body: Any,
        has_body: bool,
    ) -> None:
        where = f"{op.method} {op.template} ({op.name})"
        for name, value in path_args.items():
            spec = op.path_params.get(name)
            if spec is not None:
                self._value(spec["schema"], value, f"{where}: path parameter {name!r}")
        seen: dict[str, list[str]] = {}
        for key, value in query:
            name = key[:-2] if key.endswith("[]") else key
            seen.setdefault(name, []).append(value)
        for name, values in seen.items():
            spec = op.params.get(name)
            if spec is None:
                raise ContractViolation(f"{where}: query parameter {name!r} is not in the document")
            schema = spec["schema"]
            if schema.get("type") == "array":
                for value in values:
                    self._value(schema.get("items", {}), value, f"{where}: query parameter {name!r}")
            else:
                if len(values) > 1:
                    raise ContractViolation(f"{where}: query parameter {name!r} given {len(values)} times")
                self._value(schema, values[0], f"{where}: query parameter {name!r}")
        for name, spec in op.params.items():
            if spec["required"] and name not in seen:
                raise ContractViolation(f"{where}: required query parameter {name!r} missing")
        if op.body is None:
            if has_body:
                raise ContractViolation(f"{where}: takes no request body")
            return
        if not has_body:
            if op.body_required:
                raise ContractViolation(f"{where}: a JSON body is required")
            return
        self.validate(op.body, body, f"{where}: request body")
        if isinstance(body, dict):
            unknown = sorted(set(body) - set(op.body.get("properties", {})))
            if unknown:
                raise ContractViolation(
                    f"{where}: request body has fields the document does not name: {unknown}"
                )

    def check_response(self, op: Operation, status: int, body: Any, has_body: bool) -> None:
        where = f"{op.method} {op.template} ({op.name}) answered {status}"
        key = str(status)
        if key not in op.responses:
            if status in ANY_ROUTE_STATUSES:
                return
            raise ContractViolation(f"{where}: the document lists no such answer")
        schema = op.responses[key]
        if body is None and has_body and op.name in NULL_ANSWERS:
            return
        if schema is None:
            if has_body and body is not None:
                raise ContractViolation(f"{where}: the document gives this answer no body")
            return
        self.validate(schema, body, f"{where}: response body")

    def validate(self, schema: dict[str, Any], value: Any, where: str) -> None:
        key = id(schema)
        validator = self._validators.get(key)
        if validator is None:
            inlined = _inline_refs(schema, {**self.doc, "x-article": _ARTICLE})
            validator = self._validators[key] = (schema, OAS30Validator(inlined))
        error = next(iter(validator[1].iter_errors(value)), None)
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path)
            raise ContractViolation(f"{where}: {error.message} (at /{path})")

    def _value(self, schema: dict[str, Any], text: str, where: str) -> None:
        kind = schema.get("type")
        value: Any = text
        if kind in ("integer", "number"):
            if not re.fullmatch(r"-?\d+(\.\d+)?", text) or (kind == "integer" and "." in text):
                raise ContractViolation(f"{where}: {text!r} is not an {kind}")
            value = float(text) if "." in text else int(text)
        elif kind == "boolean":
            if text not in ("true", "false"):
                raise ContractViolation(f"{where}: {text!r} is not a boolean")
            value = text == "true"
        if "enum" in schema and value not in schema["enum"]:
            raise ContractViolation(f"{where}: {text!r} is not one of {schema['enum']}")


# The article as Chatwoot's articles serializer writes it: the document's `article` schema with
# its `status` (typed integer, listing strings) read as the string the serializer sends.
_ARTICLE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "content", "slug", "locale", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "content": {"type": "string"},
        "description": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "published", "archived"]},
        "locale": {"type": "string"},
        "position": {"type": "integer"},
        "views": {"type": "integer"},
        "account_id": {"type": "integer"},
        "portal_id": {"type": "integer"},
        "category_id": {"type": "integer"},
        "updated_at": {"type": "integer"},
        "category": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "slug": {"type": "string"},
                "locale": {"type": "string"},
            },
        },
    },
}


def _inline_refs(node: Any, document: dict[str, Any], depth: int = 0) -> Any:
    """The schema with every $ref replaced by what it names (the document has no cycles)."""
    if depth > 40:
        raise ContractViolation("the document's references nest too deep")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: Any = document
            for part in ref.removeprefix("#/").split("/"):
                if not isinstance(target, dict) or part not in target:
                    return {}  # the document names a schema it lacks (inbox_contact, portal_single)
                target = target[part]
            return _inline_refs(target, document, depth + 1)
        return {k: _inline_refs(v, document, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, document, depth + 1) for v in node]
    return node


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(regex)
