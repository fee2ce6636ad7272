"""Kafka security settings mapped onto faust, aiokafka and kafka-python, and the TLS context
checked against a real TLS server (no broker here serves TLS: Tansu 0.6.0 does not complete a
handshake)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import pytest

from aislestream.connectors.broker import free_port, wait_for_broker
from aislestream.connectors.security import aiokafka_kwargs, faust_credentials, kafka_python_kwargs
from aislestream.errors import BrokerUnavailable, ConfigError
from aislestream.settings import BrokerSettings, Settings

SERVERS = "kafka-1:9093"
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def sasl(protocol: str, mechanism: str = "PLAIN", **extra) -> BrokerSettings:
    return BrokerSettings(bootstrap_servers=SERVERS, security_protocol=protocol,
                          sasl_mechanism=mechanism, sasl_username="aisle", sasl_password="s3cret",
                          **extra)


def test_plaintext_adds_nothing_but_the_protocol():
    plain = BrokerSettings()
    assert kafka_python_kwargs(plain) == {"security_protocol": "PLAINTEXT"}
    assert aiokafka_kwargs(plain) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(plain) is None


def test_ssl_maps_files_for_kafka_python_and_a_verifying_context_for_aiokafka(tls_files):
    broker = BrokerSettings(bootstrap_servers=SERVERS, security_protocol="SSL",
                            ssl_cafile=tls_files.ca, ssl_certfile=tls_files.client_cert,
                            ssl_keyfile=tls_files.client_key)
    assert kafka_python_kwargs(broker) == {
        "security_protocol": "SSL", "ssl_check_hostname": True, "ssl_cafile": str(tls_files.ca),
        "ssl_certfile": str(tls_files.client_cert), "ssl_keyfile": str(tls_files.client_key)}
    kwargs = aiokafka_kwargs(broker)
    assert (set(kwargs) == {"security_protocol", "ssl_context"}
            and kwargs["security_protocol"] == "SSL")
    context = kwargs["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any(c["subject"] == ((("commonName", "aisle test CA"),),)
               for c in context.get_ca_certs())


def test_ssl_without_a_ca_bundle_uses_the_system_cas_and_may_skip_the_hostname_check():
    broker = BrokerSettings(bootstrap_servers=SERVERS, security_protocol="SSL",
                            ssl_check_hostname=False)
    assert kafka_python_kwargs(broker) == {"security_protocol": "SSL", "ssl_check_hostname": False}
    context = aiokafka_kwargs(broker)["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and not context.check_hostname


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_sasl_plaintext_maps_mechanism_and_credentials(mechanism):
    broker = sasl("SASL_PLAINTEXT", mechanism)
    expected = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
                "sasl_plain_username": "aisle", "sasl_plain_password": "s3cret"}
    assert kafka_python_kwargs(broker) == expected
    assert aiokafka_kwargs(broker) == expected


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_sasl_ssl_maps_credentials_and_tls(mechanism, tls_files):
    broker = sasl("SASL_SSL", mechanism, ssl_cafile=tls_files.ca)
    assert kafka_python_kwargs(broker) == {
        "security_protocol": "SASL_SSL", "ssl_check_hostname": True,
        "ssl_cafile": str(tls_files.ca), "sasl_mechanism": mechanism,
        "sasl_plain_username": "aisle", "sasl_plain_password": "s3cret"}
    kwargs = aiokafka_kwargs(broker)
    assert isinstance(kwargs.pop("ssl_context"), ssl.SSLContext)
    assert kwargs == {"security_protocol": "SASL_SSL", "sasl_mechanism": mechanism,
                      "sasl_plain_username": "aisle", "sasl_plain_password": "s3cret"}


@pytest.mark.parametrize("broker", [
    pytest.param(lambda tls: BrokerSettings(bootstrap_servers=SERVERS, security_protocol="SSL",
                                            ssl_cafile=tls.ca), id="SSL"),
    *[pytest.param(lambda tls, m=m: sasl("SASL_PLAINTEXT", m), id=f"SASL_PLAINTEXT-{m}")
      for m in MECHANISMS],
    *[pytest.param(lambda tls, m=m: sasl("SASL_SSL", m, ssl_cafile=tls.ca), id=f"SASL_SSL-{m}")
      for m in MECHANISMS],
])
def test_faust_credentials_give_faust_the_same_client_settings(broker, tls_files):
    """What faust's aiokafka driver derives from the credentials is what aiokafka_kwargs gives."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    settings = broker(tls_files)
    derived = dict(credentials_to_aiokafka_auth(faust_credentials(settings)))
    ours = aiokafka_kwargs(settings)
    assert isinstance(derived.pop("ssl_context", None), ssl.SSLContext) == ("ssl_context" in ours)
    ours.pop("ssl_context", None)
    assert {k: v for k, v in derived.items() if v is not None} == ours


def test_create_app_hands_the_credentials_to_faust(tmp_path, tls_files):
    from faust.types.auth import AuthProtocol

    from aislestream.streams.app import create_app

    settings = Settings(broker=sasl("SASL_SSL", "SCRAM-SHA-512", ssl_cafile=tls_files.ca))
    credentials = create_app(settings, SERVERS, tmp_path).conf.broker_credentials
    assert credentials.protocol is AuthProtocol.SASL_SSL and credentials.username == "aisle"
    assert create_app(Settings(), "127.0.0.1:9092", tmp_path).conf.broker_credentials is None


def test_the_client_libraries_accept_the_kwargs(tls_files):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient

    broker = sasl("SASL_SSL", "SCRAM-SHA-256", ssl_cafile=tls_files.ca,
                  ssl_certfile=tls_files.client_cert, ssl_keyfile=tls_files.client_key)
    for client in (KafkaAdminClient, KafkaProducer, KafkaConsumer):  # these connect when built
        assert set(kafka_python_kwargs(broker)) <= set(client.DEFAULT_CONFIG), client

    # aiokafka checks its security arguments when built, connects on start
    async def build() -> None:
        for client in (AIOKafkaConsumer, AIOKafkaProducer):
            client(bootstrap_servers=SERVERS, **aiokafka_kwargs(broker))

    asyncio.run(build())


def test_without_settings_the_environment_decides(monkeypatch, tls_files):
    monkeypatch.setenv("AISLE_BROKER__BOOTSTRAP_SERVERS", SERVERS)
    monkeypatch.setenv("AISLE_BROKER__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("AISLE_BROKER__SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("AISLE_BROKER__SASL_USERNAME", "aisle")
    monkeypatch.setenv("AISLE_BROKER__SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("AISLE_BROKER__SSL_CAFILE", str(tls_files.ca))
    assert kafka_python_kwargs()["sasl_plain_password"] == "s3cret"
    assert aiokafka_kwargs()["security_protocol"] == "SASL_SSL"
    monkeypatch.delenv("AISLE_BROKER__SASL_PASSWORD")
    with pytest.raises(ConfigError, match="needs sasl_password"):
        kafka_python_kwargs()


def test_an_unreachable_secured_broker_says_which_protocol_was_tried():
    port = free_port()
    broker = BrokerSettings(bootstrap_servers=f"127.0.0.1:{port}", security_protocol="SSL")
    with pytest.raises(BrokerUnavailable, match=f"at 127.0.0.1:{port} within 1s over SSL"):
        wait_for_broker(f"127.0.0.1:{port}", timeout_s=1, security=broker)


class _TlsServer:
    """Accepts TLS connections on 127.0.0.1 with the test server certificate, one at a time."""

    def __init__(self, tls_files, require_client_cert: bool = False) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(tls_files.server_cert, tls_files.server_key)
        if require_client_cert:
            self.context.load_verify_locations(tls_files.ca)
            self.context.verify_mode = ssl.CERT_REQUIRED
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peers: list[dict | None] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.peers.append(tls.getpeercert())
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass

    def handshake(self, context: ssl.SSLContext, server_hostname: str = "127.0.0.1") -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
                return tls.recv(2)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tls_server(tls_files):
    server = _TlsServer(tls_files)
    yield server
    server.close()


def test_the_context_trusts_the_configured_ca_only(tls_server, tls_files):
    trusting = BrokerSettings(bootstrap_servers=SERVERS, security_protocol="SSL",
                              ssl_cafile=tls_files.ca)
    assert tls_server.handshake(aiokafka_kwargs(trusting)["ssl_context"]) == b"ok"
    system_cas = BrokerSettings(bootstrap_servers=SERVERS, security_protocol="SSL")
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_server.handshake(aiokafka_kwargs(system_cas)["ssl_context"])


def test_the_hostname_check_is_on_unless_turned_off(tls_server, tls_files):
    checking = BrokerSettings(bootstrap_servers=SERVERS, security_protocol="SSL",
                              ssl_cafile=tls_files.ca)
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        tls_server.handshake(aiokafka_kwargs(checking)["ssl_context"],
                             server_hostname="kafka.example")
    lenient = checking.model_copy(update={"ssl_check_hostname": False})
    assert tls_server.handshake(aiokafka_kwargs(lenient)["ssl_context"],
                                server_hostname="kafka.example") == b"ok"


def test_the_client_certificate_is_presented_for_mutual_tls(tls_files):
    server = _TlsServer(tls_files, require_client_cert=True)
    try:
        mutual = BrokerSettings(bootstrap_servers=SERVERS, security_protocol="SSL",
                                ssl_cafile=tls_files.ca, ssl_certfile=tls_files.client_cert,
                                ssl_keyfile=tls_files.client_key)
        assert server.handshake(aiokafka_kwargs(mutual)["ssl_context"]) == b"ok"
        assert server.peers[-1]["subject"] == ((("commonName", "aisle-client"),),)
    finally:
        server.close()
