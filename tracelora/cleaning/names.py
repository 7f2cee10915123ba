"""User names learned from home paths, and their removal everywhere else.

A home path (`/home/<n>`, `/Users/<n>`, `C:\\Users\\<n>`) names the user, and the same name then
turns up where no path rule can see it: Claude Code project slugs (`-Users-<n>-dev-app`,
`C--Users-<n>-Documents-app`), temp paths (`/tmp/claude/-Users-<n>-…`), the owner columns of
`ls -l`, git author lines, prompts. So the names a session reveals in its paths (and the local
user's own) are collected first and then replaced as whole tokens in every string, file name and
report line. Matching ignores case and treats anything but a letter or digit as a boundary, so
`jdoe_backup` and `-Users-jdoe-` are caught while `jdoes` is not.
"""
from __future__ import annotations

import getpass
import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional

# names that are accounts or words, not people: never learned (replacing them would wreck text)
GENERIC = frozenset({"runner", "ubuntu", "root", "user", "username", "me", "you", "ec2-user", "vagrant", "circleci",
                     "travis", "jenkins", "node", "app", "shared", "public", "default", "runneradmin", "linuxbrew",
                     "your-user", "your_user", "yourname", "name", "someone", "guest", "all users", "default user",
                     "admin", "administrator", "dev", "developer", "test", "tests", "home", "users", "src", "code",
                     "work", "data", "build", "docker", "git", "www", "www-data", "nobody", "system", "local"})
_HOME = re.compile(r"(?:/home/|/Users/|\b[A-Za-z]:(?:\\\\?|/)Users(?:\\\\?|/))([A-Za-z0-9][A-Za-z0-9._ -]{0,31}?)"
                   r"(?=[/\\'\"\s:,;)\]}>]|$)")
_SLUG = re.compile(r"(?:^|[-/\\])(?:Users|home)-([A-Za-z0-9._]{2,32})-")


def usable(name: str) -> bool:
    n = name.strip()
    return len(n) >= 2 and n.lower() not in GENERIC and not n.startswith((".", "<")) and not n.isdigit()


def names_in(strings: Iterable[str]) -> set[str]:
    """User names in the home paths and project slugs of `strings`."""
    out: set[str] = set()
    for s in strings:
        if "Users" not in s and "home" not in s:
            continue
        out.update(n for n in _HOME.findall(s) if usable(n))
        out.update(n for n in _SLUG.findall(s) if usable(n))
    return out


def local_names() -> set[str]:
    """The name of the user running the command (their home folder's name and login)."""
    out = {Path.home().name}
    try:
        out.add(getpass.getuser())
    except (KeyError, OSError):  # no passwd entry (containers)
        pass
    out.add(os.environ.get("USER", ""))
    return {n for n in out if usable(n)}


def pattern(names: Iterable[str]) -> Optional[re.Pattern[str]]:
    """One case-insensitive whole-token pattern for `names` (longest first), or None."""
    names = sorted({n for n in names if usable(n)}, key=lambda n: (-len(n), n))
    if not names:
        return None
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z0-9])", re.I)


def scrub_text(s: str, pat: Optional[re.Pattern[str]], replacement: str = "user") -> str:
    return pat.sub(replacement, s) if pat is not None and s else s


def scrub_value(v: Any, pat: Optional[re.Pattern[str]], replacement: str = "user") -> Any:
    """Every string of a JSON value (dict keys too) with the names replaced."""
    if pat is None:
        return v
    if isinstance(v, str):
        return pat.sub(replacement, v)
    if isinstance(v, list):
        return [scrub_value(x, pat, replacement) for x in v]
    if isinstance(v, dict):
        return {scrub_value(k, pat, replacement): scrub_value(x, pat, replacement) for k, x in v.items()}
    return v
