"""One error format for every API response: {"error": {"status", "code", "detail", "fields"}}."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

NOT_FOUND = "Not found."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def _messages(detail, path: str = "") -> list[str]:
    """Every message under `detail` as plain text; one from a nested field or a list item is prefixed with
    its place (`0: ...`, `rounds.1.number: ...`), so that no Python repr ever reaches an error body."""
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _messages(value, f"{path}.{key}" if path else str(key))]
    if isinstance(detail, list | tuple):
        if any(isinstance(item, dict | list | tuple) for item in detail):
            return [m for i, item in enumerate(detail) for m in _messages(item, f"{path}.{i}" if path else str(i))]
        return [f"{path}: {item}" if path else str(item) for item in detail]
    return [f"{path}: {detail}" if path else str(detail)]


class TooManyPairs(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The run would build more co-action pairs than this server allows."
    default_code = "too_many_pairs"


class OverMemoryBudget(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The run's reduce would need more memory than this server's workers may use."
    default_code = "over_memory_budget"


def _flatten(detail) -> tuple[str, dict | None]:
    if isinstance(detail, dict):
        return "Invalid input.", {str(k): _messages(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return "Invalid input.", {"non_field_errors": _messages(detail)}
    return str(detail), None


def error_body(status_code: int, code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"status": status_code, "code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_handler(exc, context):
    """DRF's handler, with every error reshaped into the one format; a hidden object is a plain 404."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, exceptions.NotFound) or exc.__class__.__name__ == "Http404":
        exc = exceptions.NotFound(NOT_FOUND)
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
    detail, fields = _flatten(response.data if not isinstance(exc, exceptions.APIException) else exc.detail)
    response.data = error_body(response.status_code, code, detail, fields)
    return response


def not_found(request, *args, **kwargs):
    """Any unknown path under the API: the same JSON 404 as a hidden or missing object."""
    return JsonResponse(error_body(status.HTTP_404_NOT_FOUND, "not_found", NOT_FOUND), status=404)
