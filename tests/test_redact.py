"""Secrets never printed: URLs and DSNs redacted, and the log filter the CLI installs."""

from __future__ import annotations

import logging

import pytest

from aislestream.redact import MASK, RedactingFilter, install_log_filter, redact, redact_url

SECRET = "s3cret"


@pytest.mark.parametrize("url, expected", [
    ("postgresql://app:s3cret@db:5432/ads?sslmode=require", "postgresql://app:***@db:5432/ads?sslmode=require"),
    ("postgresql://app:p%40ss@db/ads", "postgresql://app:***@db/ads"),
    ("https://elastic:s3cret@es-1:9200", "https://elastic:***@es-1:9200"),
    ("https://es-1:9200/?api_key=s3cret", "https://es-1:9200/?api_key=***"),
    ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
    ("rediss://default:s3cret@redis:6380/0?ssl_ca_certs=/etc/ca.pem",
     "rediss://default:***@redis:6380/0?ssl_ca_certs=/etc/ca.pem"),
    ("postgresql://app:s3cret@db/x?password=other", "postgresql://app:***@db/x?password=***"),
])
def test_redact_url_masks_the_password_and_keeps_the_rest(url, expected):
    assert redact_url(url) == expected
    assert redact(f"cannot reach {url} (refused)") == f"cannot reach {expected} (refused)"


@pytest.mark.parametrize("url", ["http://es:9200", "redis://redis:6379/0", "postgresql://postgres@127.0.0.1/postgres"])
def test_urls_without_a_password_are_unchanged(url):
    assert redact_url(url) == url and redact(url) == url


def test_redact_url_of_nothing_is_printable():
    assert redact_url(None) == "None" and redact_url("") == ""


@pytest.mark.parametrize("dsn, expected", [
    ("host=db user=app password=s3cret dbname=ads", f"host=db user=app password={MASK} dbname=ads"),
    ("host=db password='s 3 c r e t' dbname=ads", f"host=db password={MASK} dbname=ads"),
    ("sasl_plain_password=s3cret", f"sasl_plain_password={MASK}"),
    ("token: s3cret", f"token: {MASK}"),
])
def test_keyword_secrets_in_dsns_are_masked(dsn, expected):
    assert redact(dsn) == expected


# quoted keys (dict and JSON reprs, as in a pydantic ValidationError's input_value) and keys with a
# prefix joined by '_' (es_password=, AISLE_BROKER__SASL_PASSWORD=)
@pytest.mark.parametrize("text", ["{'sasl_password': 's3cret'}", '{"password": "s3cret"}',
                                  "es_password=s3cret", "AISLE_BROKER__SASL_PASSWORD=s3cret"])
def test_secrets_in_reprs_and_prefixed_keys_are_masked(text):
    assert SECRET not in redact(text)


def test_redact_url_keeps_an_ipv6_host():
    assert redact_url("postgresql://app:s3cret@[::1]:5432/ads") == "postgresql://app:***@[::1]:5432/ads"


def _record(msg: str, *args: object, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("aisle.test", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_the_filter_masks_the_message_with_its_arguments_merged():
    record = _record("cannot reach PostgreSQL at %s, %s", "postgresql://app:s3cret@db/ads",
                     "password=s3cret")
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == ("cannot reach PostgreSQL at postgresql://app:***@db/ads, "
                                   "password=***")
    assert record.args is None  # merged, so a handler's formatter cannot put the secret back


def test_the_filter_masks_the_traceback():
    try:
        raise ConnectionError("redis://:s3cret@redis:6379/0 refused")
    except ConnectionError:
        import sys

        record = _record("cache down", exc_info=sys.exc_info())
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert SECRET not in text and "redis://:***@redis:6379/0 refused" in text


def test_installed_filter_scrubs_child_logger_records_once(monkeypatch):
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    install_log_filter()
    install_log_filter()  # idempotent: one filter per handler
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    logging.getLogger("aislestream.some.module").error("es at %s", "https://elastic:s3cret@es:9200")
    assert stream.getvalue() == "es at https://elastic:***@es:9200\n"


def test_the_cli_installs_the_filter_on_its_log_handlers(monkeypatch):
    from click.testing import CliRunner

    from aislestream.cli.main import cli

    handler = logging.StreamHandler()
    # basicConfig keeps an existing handler
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    # the group's setup runs before the command's help
    result = CliRunner().invoke(cli, ["world", "--help"])
    assert result.exit_code == 0, result.output
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)


@pytest.mark.parametrize("text", ["postgresql://app:pa/s3cret@db/x",
                                  "redis://u:p@s3cret@cache:6379/0 next", "password=ab,s3cret",
                                  "(password=s3cret)", "dsn: {\"password\": \"s3cret\"}"])
def test_passwords_holding_url_or_separator_characters_are_masked_whole(text):
    assert "s3cret" not in redact(text)


def test_dead_letter_reasons_are_redacted():
    from aislestream.errors import MessageRejected
    from aislestream.streams.decoding import dead_letter

    letter = dead_letter("t", 0, 1, None, b"x", MessageRejected(
        "ad store: PostgreSQL at postgresql://app:s3cret@db/ads refused", "store_refused"))
    assert "s3cret" not in letter.reason and "app:***@db" in letter.reason
