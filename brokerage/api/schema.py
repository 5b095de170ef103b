"""The OpenAPI schema's conventions, so a new view gets them without annotations: a tag
from its path, and the error answers it can give in the one error shape.

Generic errors follow from what an operation is (a body, a path parameter, throttles,
authentication); an operation's domain errors (409, 422, a 404 of a collection) are
declared on its view with `error_responses(...)`.
"""

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent
from drf_spectacular.utils import OpenApiResponse

from brokerage.api.errors import ErrorCode

ERROR_SCHEMA_NAME = "ErrorResponse"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}


def _components() -> list[ResolvedComponent]:
    """Built anew for each schema: drf-spectacular's enum hook rewrites them in place."""
    field_error = {
        "type": "object",
        "description": "One rejected input: the field (`body` for the body as a whole), "
        "a machine-readable code and a message.",
        "properties": {
            "field": {"type": "string"},
            "code": {"type": "string"},
            "message": {"type": "string"},
        },
        "required": ["field", "code", "message"],
    }
    error = {
        "type": "object",
        "description": "Every error answer of the API.",
        "properties": {
            "error_code": {
                "type": "integer",
                "enum": [int(code) for code in ErrorCode],
                "description": ", ".join(f"`{int(c)}` {c.name}" for c in ErrorCode),
            },
            "error_message": {"type": "string"},
            "error_detail": {
                "type": "array",
                "description": "Invalid input lists its fields; a domain error (e.g. 2006) "
                "gives the figures involved (e.g. `required`, `available`).",
                "items": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/FieldError"},
                        {
                            "type": "object",
                            "description": "A domain error's figures.",
                            "not": {"required": ["field"]},  # field errors: FieldError whole
                        },
                    ]
                },
            },
        },
        "required": ["error_code", "error_message", "error_detail"],
        "additionalProperties": False,
    }
    return [
        ResolvedComponent("FieldError", ResolvedComponent.SCHEMA, field_error, "FieldError"),
        ResolvedComponent(ERROR_SCHEMA_NAME, ResolvedComponent.SCHEMA, error, ERROR_SCHEMA_NAME),
    ]


ERROR_DESCRIPTIONS = {
    400: "Invalid input (1000): a bad field, malformed JSON, UUID or cursor.",
    401: "Not authenticated, or a bad or expired token (1200).",
    403: "Not allowed (1201): staff only, or a browser session without its CSRF token.",
    404: "Not found (1001, or the record's own: 2003 user, 2005 stock, 2011 order, 2023 token).",
    409: "Conflict with the record's state.",
    413: "Request body too large (1000).",
    415: "Unsupported media type (1004).",
    422: "Not enough available cash (2006) or shares (2007).",
    429: "Throttled (1003); `Retry-After` says when to try again.",
}

_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}

_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# The path's first segment after /api[/vN]/ names the tag; these read better renamed.
_API_PREFIX = re.compile(r"^/api(?:/v\d+)?/")
TAG_ALIASES = {"users": "accounts", "ready": "health"}
LEGACY_TAG = "legacy"  # the original API's `resource:verb` paths (orders:buy ...)


def tag_for_path(path: str) -> str:
    segment = _API_PREFIX.sub("", path).split("/")[0]
    if ":" in segment:
        return LEGACY_TAG
    return TAG_ALIASES.get(segment, segment)


def error_response(status: int) -> dict[str, Any]:
    """The OpenAPI response object of one error status, in the error shape."""
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status == 429:
        response["headers"] = _RETRY_AFTER
    return response


def error_responses(*statuses: int | tuple[int, str]) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries for an operation's domain errors: a status,
    or a status with what it means there."""
    responses = {}
    for entry in statuses:
        status, description = entry if isinstance(entry, tuple) else (entry, None)
        responses[status] = OpenApiResponse(
            response=ERROR_REF, description=description or ERROR_DESCRIPTIONS[status]
        )
    return responses


class BrokerageAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with path-derived tags and generic error answers.

    `extend_schema(tags=...)` and documented statuses on a view still win.
    """

    def get_tags(self) -> list[str]:
        return [tag_for_path(self.path)]

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for component in _components():
            registry.register_on_missing(component)
        responses = operation["responses"]
        for status in self.generic_error_statuses(operation):
            responses.setdefault(str(status), error_response(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def generic_error_statuses(self, operation: dict[str, Any]) -> list[int]:
        """What any operation of this kind can answer, whatever its domain."""
        unsafe = self.method in _UNSAFE_METHODS
        has_body = "requestBody" in operation
        authenticated = any(requirement for requirement in operation.get("security", []))
        statuses = []
        if operation.get("parameters") or has_body or unsafe:
            statuses.append(400)
        if authenticated:  # a bad token is refused even where no account is needed
            statuses.append(401)
        if authenticated and unsafe:  # permissions, and CSRF for browser sessions
            statuses.append(403)
        if "{" in self.path:
            statuses.append(404)
        if unsafe:  # RequestGuardMiddleware, before any view
            statuses.append(413)
        if has_body:
            statuses.append(415)
        if self.view.get_throttles():
            statuses.append(429)
        return statuses
