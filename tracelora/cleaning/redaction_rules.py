"""The redaction rule table: data, not code. One row per detector, in priority order.

Each row is (name, label, kind, pattern, group, check):
- name: stable key counted in the manifest (never the value);
- label: placeholder stem, `<LABEL_n>` is written in place of the secret;
- kind: "secret" or "pii" (reports group recall by it);
- pattern: written in the common subset of RE2 and Python `re` (no look-arounds, no back-references),
  so one table drives both the fast engine (RE2) and the reference engine (stdlib `re`, ASCII mode);
  context needed around a secret is matched outside `group` and kept verbatim;
- group: which capture group is the secret (0 = the whole match);
- check: name of a validator in `tracelora.cleaning.redaction.CHECKS` that must accept the value, or "".

Specific provider formats come first so a key is labelled by its provider, not by a generic rule.
A token with a fixed prefix is anchored on its own grammar (prefix + charset + length, and where the
length is fixed, "not followed by another charset character"), never on `\b`: a key glued to a file
name (`creds_AKIA…_backup.csv`), a path or a percent escape (`%3Dghp_…`) is still found.
Formats follow what the common secret scanners (gitleaks, trufflehog, GitHub secret scanning) detect.
"""
from __future__ import annotations

import base64
import re


def _base64_fragments(words: tuple[str, ...]) -> str:
    """An alternation of the base64 (and base64url) text that each word becomes at each of the three
    byte alignments: only the characters fully determined by the word's own bits. A run of base64
    that holds one of them may be hiding a token or an assignment; the `base64_secret` check decodes
    it and scans the decoded text."""
    frags = set()
    for w in words:
        raw = w.encode()
        for k in range(3):
            enc = base64.b64encode(b"\0" * k + raw).decode()
            frag = enc[-(-8 * k // 6):(8 * (k + len(raw))) // 6]
            if len(frag) >= 4:
                frags.add(frag)
                frags.add(frag.translate(str.maketrans("+/", "-_")))
    return "|".join(re.escape(f) for f in sorted(frags))


# what a secret inside base64 usually starts with: provider prefixes and assignment words
_B64_WORDS = ("AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "xoxa-",
              "xapp-", "sk_live_", "rk_live_", "sk-", "AIza", "hf_", "npm_", "SG.", "dop_v1_", "GOCSPX-", "-----BEGIN",
              "PRIVATE KEY", "TOKEN", "token", "Token", "SECRET", "secret", "PASSWORD", "password", "passwd", "API_KEY",
              "api_key", "apiKey", "AccountKey", "_KEY=", "eyJ", "sk-ant-", "sk-proj-", "sk_test_", "rk_test_",
              # basic-auth style `user:secret` (docker `auths`, .netrc, git credentials)
              "user:", "admin:", "root:", "oauth2:", "x-access-token:", "deploy:", "_json_key:")
_B64 = r"[A-Za-z0-9+/_-]"
_END = r"(?:[^A-Za-z0-9_]|$)"  # a word end that also works where \b cannot (after '-')
_B64END = r"(?:[^A-Za-z0-9/+=]|$)"

RULE_TABLE: tuple[tuple[str, str, str, str, int, str], ...] = (
    # --- key material -------------------------------------------------------------------------
    ("private_key", "SECRET_PRIVATE_KEY", "secret",
     r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|$)", 0, ""),
    # --- encodings: a base64 / base64url run whose decoded text holds a secret is replaced whole ---
    ("base64_secret", "SECRET_BASE64", "secret",
     r"(?:^|[^A-Za-z0-9+/=_-])(" + _B64 + r"*(?:" + _base64_fragments(_B64_WORDS) + r")" + _B64 + r"*={0,2})", 1,
     "base64_secret"),
    # --- cloud providers ----------------------------------------------------------------------
    ("aws_access_key", "SECRET_AWS_ACCESS_KEY", "secret",
     r"((?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16})(?:[^A-Z0-9]|$)", 1, ""),
    ("aws_secret_key", "SECRET_AWS_SECRET_KEY", "secret",
     r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{40})" + _B64END, 1, ""),
    ("gcp_oauth_secret", "SECRET_GCP_OAUTH_SECRET", "secret", r"(GOCSPX-[A-Za-z0-9_-]{28})", 1, ""),
    ("google_api_key", "SECRET_GOOGLE_API_KEY", "secret", r"(AIza[0-9A-Za-z_-]{35})", 1, ""),
    ("azure_connection_string", "SECRET_AZURE_KEY", "secret",
     r"(?i)\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|PrimaryKey|SecondaryKey)\s*=\s*([A-Za-z0-9+/%]{20,}={0,2})", 1, ""),
    ("azure_client_secret", "SECRET_AZURE_CLIENT_SECRET", "secret",
     r"(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)", 1, ""),
    ("digitalocean_token", "SECRET_DIGITALOCEAN_TOKEN", "secret", r"(do[opr]_v1_[a-f0-9]{64})(?:[^a-f0-9]|$)", 1, ""),
    # --- version control --------------------------------------------------------------------
    ("github_token", "SECRET_GITHUB_TOKEN", "secret",
     r"((?:gh[pousr]_[A-Za-z0-9]{36,255})|(?:github_pat_[A-Za-z0-9_]{22,255}))", 1, ""),
    ("gitlab_token", "SECRET_GITLAB_TOKEN", "secret",
     r"((?:glpat|gldt|glrt|glptt|glcbt|glimt|glsoat|glft|gloas)-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,})", 1, ""),
    # --- chat and webhooks ------------------------------------------------------------------
    ("slack_webhook", "SECRET_SLACK_WEBHOOK", "secret",
     r"hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9_/+-]{20,})", 1, ""),
    ("slack_token", "SECRET_SLACK_TOKEN", "secret", r"(xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{20,})", 1, ""),
    ("discord_webhook", "SECRET_DISCORD_WEBHOOK", "secret",
     r"discord(?:app)?\.com/api/webhooks/([0-9]{5,}/[A-Za-z0-9_-]{40,})", 1, ""),
    ("discord_token", "SECRET_DISCORD_TOKEN", "secret",
     r"\b([MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})" + _END, 1, "mixed"),
    ("telegram_bot_token", "SECRET_TELEGRAM_TOKEN", "secret", r"(?:^|[^0-9])([0-9]{8,10}:AA[A-Za-z0-9_-]{33})" + _END, 1, ""),
    # --- payment and SaaS ---------------------------------------------------------------------
    ("stripe_key", "SECRET_STRIPE_KEY", "secret", r"((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{32,})", 1, ""),
    ("twilio_key", "SECRET_TWILIO_KEY", "secret", r"\b(SK[0-9a-f]{32})\b", 1, ""),
    ("sendgrid_key", "SECRET_SENDGRID_KEY", "secret", r"(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})", 1, ""),
    ("mailgun_key", "SECRET_MAILGUN_KEY", "secret", r"\b(key-[0-9a-f]{32})\b", 1, ""),
    ("shopify_token", "SECRET_SHOPIFY_TOKEN", "secret", r"(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})(?:[^a-fA-F0-9]|$)", 1, ""),
    ("npm_token", "SECRET_NPM_TOKEN", "secret", r"(npm_[A-Za-z0-9]{36})(?:[^A-Za-z0-9]|$)", 1, ""),
    ("pypi_token", "SECRET_PYPI_TOKEN", "secret", r"(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})", 1, ""),
    # --- AI providers -------------------------------------------------------------------------
    ("anthropic_key", "SECRET_ANTHROPIC_KEY", "secret", r"(sk-ant-[A-Za-z0-9_-]{20,})", 1, ""),
    ("openai_key", "SECRET_OPENAI_KEY", "secret", r"(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,})", 1, "mixed"),
    # the bare `sk-` prefix also ends words (`disk-usage-...`): not after a letter, unless the
    # token is long and has all three character classes, as the legacy 48-character keys do
    ("openai_key", "SECRET_OPENAI_KEY", "secret", r"(?:^|[^A-Za-z])(sk-[A-Za-z0-9_-]{20,})", 1, "mixed"),
    ("openai_key", "SECRET_OPENAI_KEY", "secret", r"(sk-[A-Za-z0-9]{40,})", 1, "strong"),
    ("huggingface_token", "SECRET_HF_TOKEN", "secret", r"((?:hf_|api_org_)[A-Za-z0-9]{30,})", 1, ""),
    # --- generic tokens -------------------------------------------------------------------------
    ("jwt", "SECRET_JWT", "secret", r"(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})", 1, ""),
    ("bearer_token", "SECRET_BEARER_TOKEN", "secret", r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{16,}=*)", 1, "token"),
    ("basic_auth", "SECRET_BASIC_AUTH", "secret", r"(?i)\bbasic\s+([A-Za-z0-9+/]{12,}={0,2})", 1, "basic_auth"),
    ("url_password", "SECRET_URL_PASSWORD", "secret",
     r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+:([^\s/'\"]+)@", 1, "password"),  # to the last @: `@`, `#` in the password
    ("cli_password", "SECRET_VALUE", "secret",
     r"(?i)(?:^|[^A-Za-z0-9_-])--?(?:password|passwd|pass|token|api-key|apikey|secret|client-secret)[= ][\"']?([^\s\"']{6,})", 1, "password"),
    ("secret_assignment", "SECRET_VALUE", "secret",
     r"(?i)([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key|secret_?key|"
     r"auth_?key|credentials?|_key))[\"']?\s*(?:=|:)\s*[\"']?([^\s\"',;`]{6,})", 2, "assignment"),
    # --- PII ------------------------------------------------------------------------------------
    ("email", "EMAIL", "pii", r"\b([A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b", 1, "email"),
    ("card_number", "CARD_NUMBER", "pii", r"(?:^|[^0-9A-Za-z_.-])((?:[0-9][ -]?){12,18}[0-9])(?:[^0-9A-Za-z_-]|$)", 1, "luhn"),
    ("national_id", "NATIONAL_ID", "pii",
     r"(?:^|[^0-9A-Za-z_.-])([0-9]{3}-[0-9]{2}-[0-9]{4}|[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D])"
     r"(?:[^0-9A-Za-z_-]|$)", 1, "national_id"),
    ("phone", "PHONE", "pii",
     r"(?:^|[^\w+])(\+[0-9]{1,3}[ .-]?\(?[0-9]{1,4}\)?[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,5}|\([0-9]{3}\) ?[0-9]{3}-[0-9]{4})\b", 1, ""),
    ("home_dir_user", "USER", "pii",
     r"(?:/home/|/Users/|[A-Za-z]:\\\\?Users\\\\?)([^/\\\s'\":<>$%{}()\[\]*]{2,32})(?:[/\\\s'\":]|$)", 1, "home_user"),
)
