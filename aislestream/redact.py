"""Credentials never leave the process in text: every DSN or URL printed is redacted first.

Operators paste error lines and logs into tickets and chat; a password in
``cannot reach PostgreSQL at postgresql://app:s3cret@db/...`` is a leaked password. Two layers:
code that formats a DSN into a message calls :func:`redact_url`; a logging filter installed by
the CLI (:func:`install_log_filter`) scrubs whatever else reaches a handler, including
tracebacks and third-party messages that quote a URL.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# scheme://user:password@host  or  scheme://:password@host  (redis)  -> keep the user, mask the rest
# (the password runs to the authority's last "@": a password may itself hold "/" or "@")
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<secret>\S+?)@"
                       r"(?=[^\s@]*(?:[\s\"'),;]|$))")
# key=value secrets in libpq-style DSNs, query strings, environment lines and dict/JSON reprs
# (a quoted key, as in a pydantic error's input_value); a prefix joined by "_" counts
# (es_password=, AISLE_BROKER__SASL_PASSWORD=)
_KEYVALUE = re.compile(r"(?i)(?P<key>(?<![a-z0-9])[a-z0-9_]*"
                       r"(?:password|passwd|pwd|api_key|apikey|token|secret)"
                       r"(?P<quote>['\"]?))(?P<sep>\s*[=:]\s*)"
                       r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;'\"]+)")


def redact(text: str) -> str:
    """``text`` with the secret parts of every URL userinfo and ``password=...`` pair masked."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _KEYVALUE.sub(lambda m: f"{m['key']}{m['sep']}{_masked(m)}", text)


def _masked(match: re.Match) -> str:
    """The mask; inside quotes when key and value were quoted (a repr stays a readable repr)."""
    value = match["value"]
    return f"{value[0]}{MASK}{value[0]}" if match["quote"] and value[:1] in {"'", '"'} else MASK


def redact_url(url: str | None) -> str:
    """A URL or DSN safe to print: the password masked, everything else (host, port, db) kept."""
    if not url:
        return str(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.password is None:
        return redact(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6: urlsplit drops the brackets
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return redact(urlunsplit(parts._replace(netloc=netloc)))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged) and traceback text before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_filter() -> None:
    """Attach the filter to every handler of the root logger (filters on loggers do not apply to
    records propagated from child loggers; handler filters see them all)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
