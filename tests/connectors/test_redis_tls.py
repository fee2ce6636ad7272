"""The expansion cache over TLS against a real redis-server started here with a throwaway CA.

redis-py reads TLS options from the URL's query string, so ``AISLE_EXPANSION__REDIS_URL`` alone
configures it: ``rediss://:PASSWORD@host:port/0?ssl_ca_certs=/path/ca.pem`` verifies the server
against that CA (without ``ssl_ca_certs``, against the system CAs).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from urllib.parse import quote

import pytest

from aislestream.connectors.broker import free_port
from aislestream.core.text import WeightedTerm
from aislestream.engines.expansion.base import Expansion
from aislestream.engines.expansion.cache import RedisCache

REDIS_SERVER = shutil.which("redis-server")
PASSWORD = "s3cret-redis"
pytestmark = pytest.mark.skipif(REDIS_SERVER is None,
                                reason="redis-server is not installed: no TLS Redis to test")


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory, tls_files):
    """A TLS-only redis-server (plain port 0: none) requiring a password; yields its port."""
    workdir = tmp_path_factory.mktemp("redis-tls")
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(tls_files.server_cert), "--tls-key-file", str(tls_files.server_key),
         "--tls-ca-cert-file", str(tls_files.ca), "--tls-auth-clients", "no",
         "--requirepass", PASSWORD, "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import redis

        client = redis.Redis.from_url(_url(port, tls_files.ca))
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = (process.stdout.read().decode(errors="replace")
                              if process.poll() is not None else "")
                    pytest.fail(f"TLS redis-server did not come up on port {port}: "
                                f"{output[-2000:]}")
                time.sleep(0.1)
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _url(port: int, ca=None, password: str = PASSWORD) -> str:
    query = f"?ssl_ca_certs={quote(str(ca))}" if ca is not None else ""
    return f"rediss://:{password}@127.0.0.1:{port}/0{query}"


def _expansion(query: str) -> Expansion:
    return Expansion(query, (WeightedTerm("sneakers", 0.2),), "prf", "default")


def test_the_cache_works_over_tls_with_the_ca_in_the_url(tls_redis, tls_files):
    cache = RedisCache(_url(tls_redis, tls_files.ca), ttl_s=60, namespace="tls-test")
    cache.put_many([("red shoes", _expansion("red shoes"))])
    assert cache.get_many(["red shoes", "unknown"]) == [_expansion("red shoes"), None]


def test_an_unverified_server_is_a_miss_not_a_connection(tls_redis, caplog):
    """Without the CA the server's certificate does not verify: TLS is really checked, and the
    cache fails the way it always does (a miss, logged)."""
    cache = RedisCache(_url(tls_redis), ttl_s=60, namespace="tls-test")
    with caplog.at_level(logging.WARNING):
        assert cache.get_many(["red shoes"]) == [None]
    assert "certificate verify failed" in caplog.text


def test_a_wrong_password_is_a_miss_and_is_not_logged(tls_redis, tls_files, caplog):
    cache = RedisCache(_url(tls_redis, tls_files.ca, password="not-the-password"), ttl_s=60,
                       namespace="tls-test")
    with caplog.at_level(logging.WARNING):
        assert cache.get_many(["red shoes"]) == [None]
    assert "redis cache unavailable" in caplog.text and "not-the-password" not in caplog.text
