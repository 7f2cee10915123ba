"""One place for talking to the Hub: endpoint and token resolution, retry with backoff on rate
limits, and the mapping of every failure to one clear line (never a traceback, never the token).

The endpoint is read from HF_ENDPOINT at call time (huggingface_hub reads it once at import) and
copied into `huggingface_hub.constants` so its module-level helpers agree with our `HfApi`.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, TypeVar

from tracelora.cleaning.redaction import Redactor

T = TypeVar("T")
MAX_ATTEMPTS = 4  # first try + 3 retries on 429/503
MAX_WAIT_S = 30.0
LOGIN_HINT = "run `tracelora hub auth login` or set HF_TOKEN"


class HubError(RuntimeError):
    """A failure already phrased for the user: one line, no secrets."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def offline_mode() -> bool:
    """HF_HUB_OFFLINE as it is now (huggingface_hub reads it once, at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def sync_environment() -> None:
    """Apply HF_ENDPOINT / HF_HUB_OFFLINE as they are now to huggingface_hub's import-time constants."""
    from huggingface_hub import constants

    constants.ENDPOINT = endpoint()
    constants.HF_HUB_OFFLINE = offline_mode()


def get_token() -> str | None:
    from huggingface_hub import get_token as hf_get_token

    return hf_get_token()


def require_token() -> str:
    token = get_token()
    if not token:
        raise HubError(f"not logged in: {LOGIN_HINT}")
    return token


def api(token: str | None = None) -> Any:
    """An HfApi bound to the current endpoint and token."""
    from huggingface_hub import HfApi

    sync_environment()
    return HfApi(endpoint=endpoint(), token=token or get_token())


def check_repo_id(repo_id: str) -> str:
    """`owner/name` with Hub-legal characters; anything else is a one-line error before any request."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubError(f"bad repo id {repo_id!r}: {str(exc).splitlines()[0]}") from None
    if "/" not in repo_id:
        raise HubError(f"bad repo id {repo_id!r}: expected OWNER/NAME")
    return repo_id


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: BaseException, attempt: int) -> float:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if value is not None and str(value).strip().isdigit():
        return min(float(value), MAX_WAIT_S)
    return min(2.0 ** attempt, MAX_WAIT_S)


def _root_http_error(exc: BaseException) -> BaseException:
    """snapshot_download wraps HTTP errors in LocalEntryNotFoundError: look through the chain."""
    seen = exc
    while seen is not None:
        if _status(seen) is not None:
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def with_retry(fn: Callable[..., T], *args: Any, attempts: int = MAX_ATTEMPTS,
               sleep: Callable[[float], None] = time.sleep, on_retry: Callable[[str], None] | None = None,
               **kwargs: Any) -> T:
    """Call fn, retrying on 429 (and 503) with Retry-After or exponential backoff."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised unless it is a retryable HTTP status
            status = _status(_root_http_error(exc))
            if status not in (429, 503) or attempt == attempts - 1:
                if status == 429:
                    raise HubError(f"rate limited (429): the Hub still refused after {attempts} attempts; wait and retry") from None
                raise
            wait = _retry_after(_root_http_error(exc), attempt)
            (on_retry or _to_stderr)(f"HTTP {status}: retrying in {wait:.0f}s (attempt {attempt + 2}/{attempts})")
            sleep(wait)
    raise AssertionError("unreachable")


def scrub(text: str) -> str:
    """Remove the active token and anything secret-looking from a message."""
    token = None
    try:
        token = get_token()
    except Exception:  # noqa: BLE001 - a broken token store must not hide the original error
        pass
    if token:
        text = text.replace(token, "<SECRET_HF_TOKEN>")
    return Redactor().text(text)


def _server_message(exc: BaseException) -> str:
    msg = getattr(exc, "server_message", None) or ""
    return " ".join(str(msg).split())[:200]


def describe(exc: BaseException) -> str:
    """One line for any failure talking to the Hub."""
    from huggingface_hub.errors import (EntryNotFoundError, HFValidationError, OfflineModeIsEnabled,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    if isinstance(exc, HubError):
        return scrub(str(exc))
    root = _root_http_error(exc)
    status = _status(root)
    detail = _server_message(root)
    suffix = f" ({detail})" if detail else ""
    if isinstance(exc, OfflineModeIsEnabled) or isinstance(exc.__cause__, OfflineModeIsEnabled):
        return "offline mode is on (HF_HUB_OFFLINE is set): unset it to reach the Hub"
    if isinstance(root, RevisionNotFoundError):
        return f"revision not found ({status}): the repository has no such branch, tag or commit{suffix}"
    if isinstance(root, RepositoryNotFoundError):
        hint = f"; if it is private, {LOGIN_HINT}" if status == 401 else ""
        return f"repository not found ({status}): check the id{hint}"
    if isinstance(root, EntryNotFoundError) and status == 404:
        return f"file not found (404) in the repository{suffix}"
    if status == 401:
        return f"not authorized (401): the token is missing, invalid or expired; {LOGIN_HINT}"
    if status == 403:
        return f"forbidden (403): the token lacks permission (pushing and jobs need a write token){suffix}"
    if status == 404:
        return f"not found (404){suffix or ': check the id'}"
    if status == 429:
        return "rate limited (429): wait a minute and retry"
    if status is not None:
        return scrub(f"HTTP {status} from {endpoint()}{suffix}")
    if isinstance(exc, HFValidationError):
        return f"bad repo id: {str(exc).splitlines()[0]}"
    if _is_network_error(exc):
        return f"network: cannot reach {endpoint()} ({type(_network_cause(exc)).__name__}); check the connection or HF_ENDPOINT"
    return scrub(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def _network_cause(exc: BaseException) -> BaseException:
    seen: BaseException | None = exc
    while seen is not None:
        if _is_network_type(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def _is_network_type(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"ConnectError", "TimeoutException", "NetworkError", "ConnectTimeout", "ReadTimeout",
                         "RemoteProtocolError", "ConnectionError"})


def _is_network_error(exc: BaseException) -> bool:
    return _is_network_type(_network_cause(exc))
