"""auth status | login | logout, on huggingface_hub's own token store (HF_TOKEN wins when set).

The token is read from stdin or a no-echo prompt, never from argv (shell history, `ps`), and is
never printed: status shows the user, the token's role and where it came from.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from tracelora.ops.hub.client import HubError, api, get_token, sync_environment, with_retry


@dataclass
class AuthStatus:
    logged_in: bool
    user: str = ""
    role: str = ""
    source: str = ""  # "HF_TOKEN" or "token store"
    endpoint: str = ""
    orgs: tuple[str, ...] = ()

    def line(self) -> str:
        if not self.logged_in:
            return f"not logged in ({self.endpoint}): run `tracelora hub auth login` or set HF_TOKEN"
        orgs = f", orgs: {', '.join(self.orgs)}" if self.orgs else ""
        return f"logged in to {self.endpoint} as {self.user} (token role: {self.role or 'unknown'}, from {self.source}{orgs})"


def token_source() -> str:
    return "HF_TOKEN" if (os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")) else "token store"


def status() -> AuthStatus:
    """Who the current token belongs to; a missing token is a status, an invalid one an error."""
    client = api()
    if not get_token():
        return AuthStatus(False, endpoint=client.endpoint)
    info = with_retry(client.whoami)
    role = ((info.get("auth") or {}).get("accessToken") or {}).get("role", "")
    orgs = tuple(o.get("name", "") for o in info.get("orgs") or [])
    return AuthStatus(True, info.get("name", ""), role, token_source(), client.endpoint, orgs)


def login(token: str) -> AuthStatus:
    """Validate the token against the Hub and save it in huggingface_hub's store."""
    from huggingface_hub import login as hf_login

    token = token.strip()
    if not token:
        raise HubError("no token given: paste a token from https://huggingface.co/settings/tokens")
    sync_environment()
    with_retry(hf_login, token=token, add_to_git_credential=False)
    client = api(token)
    info = with_retry(client.whoami)
    role = ((info.get("auth") or {}).get("accessToken") or {}).get("role", "")
    return AuthStatus(True, info.get("name", ""), role, "token store", client.endpoint)


def logout() -> str:
    """Remove every stored token; HF_TOKEN in the environment is the user's to unset."""
    from huggingface_hub import logout as hf_logout

    sync_environment()
    try:
        hf_logout()
    except OSError:
        return "removed the stored tokens, but HF_TOKEN is still set in the environment: unset it to log out"
    return "logged out: stored tokens removed"
