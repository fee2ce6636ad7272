"""Typed errors. Retryable ones may succeed if the caller waits; fatal ones need a human.

The CLI turns any :class:`AisleError` into a one-line message and a non-zero exit code,
so library code raises these instead of printing or exiting.
"""


def describe_validation_error(exc) -> str:
    """A pydantic ValidationError as 'field.path: message; ...' (the form every error here uses)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )


class AisleError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(AisleError):
    """A setting, file or argument is invalid. Fatal: fix the input."""


class CatalogError(ConfigError):
    """An external catalog or labelled-query file cannot be used as given."""


class RetryableError(AisleError):
    """A dependency is temporarily unavailable; retrying later may succeed."""


class BrokerUnavailable(RetryableError):
    """No Kafka-compatible broker answered at the configured bootstrap servers."""


class StoreError(AisleError):
    """The search store refused an operation."""


class MessageRejected(AisleError):
    """A stream message is invalid; its ``reason`` goes to the dead-letter topic."""

    def __init__(self, reason: str, error_type: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


class StoreUnavailable(RetryableError):
    """A store cannot be reached right now (connection lost, server down); the request that met it
    is not at fault and should be retried once the store is back, not dead-lettered."""


class BrokerLost(AisleError):
    """The embedded broker this process started has exited. Fatal: it kept everything in memory,
    so restarting it would not bring back the topics, offsets or sessions it held."""


class DeliveryFailed(AisleError):
    """A broker answered but refused some of the records sent to it (too large, not allowed...);
    the caller must not count them as sent."""


class MissingExtra(ConfigError):
    """A command or engine needs an optional dependency group that is not installed."""


def missing_modules(*modules: str) -> list[str]:
    """Which of ``modules`` cannot be imported here, without importing any of them."""
    from importlib.util import find_spec

    def installed(module: str) -> bool:
        try:
            return find_spec(module) is not None
        except (ImportError, ValueError):  # a module that refuses to be found is not there either
            return False

    return [m for m in modules if not installed(m)]


def require_extra(extra: str, *modules: str, needed_by: str) -> None:
    """Fail with the extra to install when any of ``modules`` is missing, before an import deep
    inside a command fails with a bare ModuleNotFoundError. The slim image has no ``ml`` extra."""
    missing = missing_modules(*modules)
    if missing:
        raise MissingExtra(f"{needed_by} needs the '{extra}' extra "
                           f"({', '.join(missing)} not installed): "
                           f"pip install 'aislestream[{extra}]'")
