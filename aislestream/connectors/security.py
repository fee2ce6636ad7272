"""Kafka client security: ``BrokerSettings`` in the form each client library wants.

Three libraries talk to the brokers and each names the same settings differently: faust (the
worker) takes one ``broker_credentials`` object and hands it to its aiokafka clients; aiokafka
(collectors, the experiments table) takes an ``ssl.SSLContext``; kafka-python (admin, tool
producers, ``aisle chat``) takes file paths. Build every client with the matching function here::

    KafkaAdminClient(bootstrap_servers=bootstrap, **kafka_python_kwargs())
    AIOKafkaConsumer(bootstrap_servers=bootstrap, **aiokafka_kwargs())

Called without settings, these read the broker section of the environment
(``AISLE_BROKER__SECURITY_PROTOCOL`` and the rest), which is what every process the CLI starts
runs with; code that built its ``BrokerSettings`` itself passes them.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from aislestream.settings import BrokerSettings, load_broker_settings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT


def resolve(broker: BrokerSettings | None) -> BrokerSettings:
    return broker if broker is not None else load_broker_settings()


def ssl_context(broker: BrokerSettings) -> ssl.SSLContext:
    """A client context that verifies the brokers against ``ssl_cafile`` (else the system CAs) and
    presents ``ssl_certfile`` when one is given."""
    from aiokafka.helpers import create_ssl_context

    context = create_ssl_context(cafile=broker.ssl_cafile, certfile=broker.ssl_certfile,
                                 keyfile=broker.ssl_keyfile)
    context.check_hostname = broker.ssl_check_hostname  # the certificate itself is always verified
    return context


def _sasl(broker: BrokerSettings) -> dict[str, Any]:
    assert broker.sasl_password is not None  # BrokerSettings checked that SASL_* has all three
    return {"sasl_mechanism": broker.sasl_mechanism, "sasl_plain_username": broker.sasl_username,
            "sasl_plain_password": broker.sasl_password.get_secret_value()}


def aiokafka_kwargs(broker: BrokerSettings | None = None) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer`` / ``AIOKafkaConsumer`` /
    ``AIOKafkaAdminClient``."""
    broker = resolve(broker)
    kwargs: dict[str, Any] = {"security_protocol": broker.security_protocol}
    if broker.uses_tls:
        kwargs["ssl_context"] = ssl_context(broker)
    if broker.uses_sasl:
        kwargs.update(_sasl(broker))
    return kwargs


def kafka_python_kwargs(broker: BrokerSettings | None = None) -> dict[str, Any]:
    """Keyword arguments for kafka-python's ``KafkaAdminClient`` / ``KafkaProducer`` /
    ``KafkaConsumer``; with no ``ssl_cafile`` kafka-python verifies against the system CAs."""
    broker = resolve(broker)
    kwargs: dict[str, Any] = {"security_protocol": broker.security_protocol}
    if broker.uses_tls:
        kwargs["ssl_check_hostname"] = broker.ssl_check_hostname
        files = {"ssl_cafile": broker.ssl_cafile, "ssl_certfile": broker.ssl_certfile,
                 "ssl_keyfile": broker.ssl_keyfile}
        kwargs.update({name: str(path) for name, path in files.items() if path is not None})
    if broker.uses_sasl:
        kwargs.update(_sasl(broker))
    return kwargs


def faust_credentials(broker: BrokerSettings | None = None) -> CredentialsT | None:
    """``faust.App(broker_credentials=...)``; None for PLAINTEXT. faust's aiokafka driver turns
    SSLCredentials into SSL, and SASLCredentials into SASL_SSL when it carries an SSL context,
    else SASL_PLAINTEXT (``credentials_to_aiokafka_auth``)."""
    import faust

    broker = resolve(broker)
    if broker.security_protocol == "PLAINTEXT":
        return None
    context = ssl_context(broker) if broker.uses_tls else None
    if not broker.uses_sasl:
        return faust.SSLCredentials(context)
    assert broker.sasl_password is not None
    return faust.SASLCredentials(username=broker.sasl_username,
                                 password=broker.sasl_password.get_secret_value(),
                                 mechanism=broker.sasl_mechanism, ssl_context=context)
