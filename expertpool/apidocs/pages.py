"""`/api/v1/openapi.json` and `/api/v1/docs`: the document generated from the views' models, and
a page rendered from it on the server (no external scripts: government networks have no CDN)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from expertpool.accounts.access import public
from expertpool.core.api import PREFIX, SCOPES, document

bp = Blueprint("apidocs", __name__, url_prefix=PREFIX, template_folder="templates")
METHODS = ("get", "post", "put", "patch", "delete")


@bp.route("/openapi.json")
@public
def openapi() -> Any:
    """The OpenAPI 3.1 document of `/api/v1`."""
    return jsonify(document(current_app))


def _schema_name(ref: dict[str, Any] | None) -> str | None:
    if not ref:
        return None
    target = ref.get("$ref")
    return str(target).rsplit("/", 1)[-1] if target else None


def _operations(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            security = op.get("security", doc.get("security", []))
            scopes = [s for entry in security for names in entry.values() for s in names]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            responses = {
                status: _schema_name(r.get("content", {}).get("application/json", {}).get("schema"))
                for status, r in op.get("responses", {}).items()
            }
            entry = {
                "method": method.upper(),
                "path": path,
                "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "public": not security,
                "scopes": scopes,
                "parameters": op.get("parameters", []),
                "body": _schema_name(body.get("schema")),
                "responses": responses,
            }
            for tag in op.get("tags") or ["other"]:
                by_tag.setdefault(tag, []).append(entry)
    return by_tag


@bp.route("/docs")
@public
def docs() -> str:
    """The browsable description of the API."""
    doc = document(current_app)
    schemas = {
        name: json.dumps(schema, ensure_ascii=False, indent=2)
        for name, schema in sorted(doc["components"]["schemas"].items())
    }
    return render_template(
        "apidocs/docs.html",
        doc=doc,
        operations=_operations(doc),
        schemas=schemas,
        scopes=SCOPES,
    )
