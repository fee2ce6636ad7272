"""Elasticsearch credentials and TLS: the settings mapped onto the client, checked against a stub
HTTPS server (no Elasticsearch can be installed here) that answers every request with 401 and
records the Authorization header it was sent."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aislestream.connectors.broker import free_port
from aislestream.connectors.search import build_search_store
from aislestream.errors import StoreError
from aislestream.settings import StoreSettings

es_module = pytest.importorskip("aislestream.connectors.search.elasticsearch_store")
client_options = es_module.client_options


def test_api_key_and_tls_options_for_an_https_cluster(tls_files):
    settings = StoreSettings(backend="elasticsearch", es_url="https://es-1:9200", es_api_key="a2V5",
                             es_ca_certs=tls_files.ca)
    assert client_options(settings) == {"api_key": "a2V5", "verify_certs": True,
                                        "ca_certs": str(tls_files.ca)}


def test_basic_auth_and_no_tls_options_for_an_http_cluster():
    settings = StoreSettings(backend="elasticsearch", es_url="http://es-1:9200",
                             es_username="elastic", es_password="s3cret")
    # the client refuses TLS options on http
    assert client_options(settings) == {"basic_auth": ("elastic", "s3cret")}


def test_the_client_takes_the_options(tls_files):
    from elasticsearch import Elasticsearch

    settings = StoreSettings(backend="elasticsearch", es_url="https://es-1:9200",
                             es_verify_certs=False, es_username="elastic", es_password="s3cret")
    with pytest.warns(Warning, match="verify_certs=False is insecure"):  # the client says so, too
        node = (Elasticsearch(settings.es_url, **client_options(settings))
                .transport.node_pool.all()[0].config)
    assert node.verify_certs is False


class _Unauthorized(BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def _answer(self) -> None:
        type(self).seen.append(self.headers.get("authorization"))
        body = json.dumps({"error": {"type": "security_exception"}, "status": 401}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_stub(tls_files):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files.server_cert, tls_files.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Unauthorized.seen = []
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_store_verifies_with_the_ca_and_sends_the_credentials(https_stub, tls_files, tmp_path):
    settings = StoreSettings(backend="elasticsearch", es_url=https_stub, es_ca_certs=tls_files.ca,
                             es_username="elastic", es_password="s3cret")
    with pytest.raises(StoreError, match="refused the credentials") as refused:
        build_search_store(settings, tmp_path)
    assert _Unauthorized.seen[0] == "Basic " + base64.b64encode(b"elastic:s3cret").decode()
    assert "s3cret" not in str(refused.value)


def test_the_store_sends_an_api_key(https_stub, tls_files, tmp_path):
    settings = StoreSettings(backend="elasticsearch", es_url=https_stub, es_ca_certs=tls_files.ca,
                             es_api_key="a2V5")
    with pytest.raises(StoreError, match="refused the credentials"):
        build_search_store(settings, tmp_path)
    assert _Unauthorized.seen[0] == "ApiKey a2V5"


def test_an_unknown_certificate_is_refused(https_stub, tmp_path):
    # system CAs
    settings = StoreSettings(backend="elasticsearch", es_url=https_stub, es_api_key="a2V5")
    with pytest.raises(StoreError, match="cannot reach Elasticsearch .*CERTIFICATE_VERIFY_FAILED"):
        build_search_store(settings, tmp_path)
    assert _Unauthorized.seen == []


def test_an_unreachable_cluster_error_does_not_print_the_password_in_its_url(tmp_path):
    url = f"http://elastic:s3cret@127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match=r"cannot reach Elasticsearch at "
                                         r"http://elastic:\*\*\*@127\.0\.0\.1") as down:
        build_search_store(StoreSettings(backend="elasticsearch", es_url=url), tmp_path)
    assert "s3cret" not in str(down.value)


def test_a_cluster_that_goes_away_is_unavailable_not_a_refusal():
    """Searches against a cluster that stopped answering raise StoreUnavailable, which the stream
    waits out, instead of a per-query error that would dead-letter every query."""
    from elasticsearch import Elasticsearch

    from aislestream.connectors.search.base import SearchRequest
    from aislestream.connectors.search.elasticsearch_store import ElasticsearchStore
    from aislestream.errors import StoreUnavailable
    from tests.tcp_proxy import free_port

    store = object.__new__(ElasticsearchStore)  # built against a live cluster, which then went away
    store.index_name, store._encoder, store._depth = "aisle-products", None, 100
    store._es = Elasticsearch(f"http://elastic:s3cret@127.0.0.1:{free_port()}", request_timeout=1,
                              max_retries=0)
    with pytest.raises(StoreUnavailable) as caught:
        store.search_many([SearchRequest("red shoes")])
    assert "s3cret" not in str(caught.value)
