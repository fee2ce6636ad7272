"""All runtime settings, composed per concern and read from the environment in this one module.

Every field can be set by an environment variable: ``AISLE_<SECTION>__<FIELD>``, for example
``AISLE_BROKER__BOOTSTRAP_SERVERS=kafka-1:9092`` or ``AISLE_EXPANSION__ENGINE=prf``.
Leaving ``bootstrap_servers`` empty means "start the embedded Tansu broker".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from aislestream.core.artifacts import Artifacts

LLM_DEADLINE_MS = 1_000.0  # default expansion deadline when the engine is an LLM
# Secrets dump masked ("**********"); a dump given this context key writes them out, which only
# handing settings to a child process should do (runtime.settings_env).
REVEAL_SECRETS = "reveal_secrets"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
# The expansion engines, named once: the CLI's choices and the variant pool read them from here.
ExpanderEngine = Literal["identity", "prf", "llm"]
EXPANDER_ENGINES: tuple[str, ...] = get_args(ExpanderEngine)
SERVING_VERDICT = "serving.json"  # written by `aisle eval expansion` beside the LLM stages
DRIFT_FILTER_FILE = "drift.npz"  # the catalog's drift filter, written beside them too


def _dump_secret(value: SecretStr | None, info: SerializationInfo) -> SecretStr | str | None:
    if value is None:
        return None
    if info.context and info.context.get(REVEAL_SECRETS):
        return value.get_secret_value()
    return value if info.mode == "python" else str(value)


def _existing_file(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError(f"file {value} does not exist")
    return value


class BrokerSettings(BaseModel):
    """Where the brokers are and how to reach them safely. ``security_protocol`` uses Kafka's own
    names; SASL_* need a mechanism, user and password, *SSL may name a CA bundle (else the
    system's CAs) and a client certificate for mutual TLS. connectors/security.py hands these to
    faust, aiokafka and kafka-python."""

    model_config = ConfigDict(hide_input_in_errors=True)  # an error must not echo the password

    bootstrap_servers: str | None = Field(
        default=None,
        description="Comma-separated host:port list of any Kafka-compatible broker; "
                    "empty = embedded",
    )
    embedded_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    connect_timeout_s: float = Field(default=30.0, gt=0)
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(default=None, description="CA bundle of the brokers' "
                                    "certificates; empty = the system CAs")
    ssl_certfile: Path | None = Field(default=None, description="Client certificate (mutual "
                                      "TLS); PEM, may hold the key too")
    ssl_keyfile: Path | None = Field(default=None, description="Client key, when not in "
                                     "ssl_certfile")
    ssl_check_hostname: bool = Field(default=True, description="Check the broker's certificate "
                                     "names the host connected to")

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_servers(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"bootstrap server {server!r} is not host:port")
        return value.strip()

    _check_files = field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile")(_existing_file)
    _dump_password = field_serializer("sasl_password")(_dump_secret)

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @model_validator(mode="after")
    def _check_security(self) -> "BrokerSettings":
        # A setting that would be silently ignored is an error: a password given with
        # PLAINTEXT most likely means the protocol was forgotten, not that it is unwanted.
        protocol = self.security_protocol
        sasl = {"sasl_mechanism": self.sasl_mechanism, "sasl_username": self.sasl_username,
                "sasl_password": self.sasl_password}
        if self.uses_sasl and (missing := [name for name, value in sasl.items() if value is None]):
            raise ValueError(f"security_protocol={protocol} needs {', '.join(missing)}")
        if not self.uses_sasl and (given := [name for name, value in sasl.items()
                                             if value is not None]):
            raise ValueError(f"{', '.join(given)}: used only with security_protocol "
                             f"SASL_PLAINTEXT or SASL_SSL (it is {protocol})")
        files = {"ssl_cafile": self.ssl_cafile, "ssl_certfile": self.ssl_certfile,
                 "ssl_keyfile": self.ssl_keyfile}
        if not self.uses_tls and (given := [name for name, value in files.items()
                                            if value is not None]):
            raise ValueError(f"{', '.join(given)}: used only with security_protocol SSL or "
                             f"SASL_SSL (it is {protocol})")
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError("ssl_keyfile needs ssl_certfile (the certificate it is the key of)")
        if protocol != "PLAINTEXT" and self.bootstrap_servers is None:
            raise ValueError(f"security_protocol={protocol} needs bootstrap_servers: "
                             "the embedded broker speaks PLAINTEXT only")
        return self


class _BrokerEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AISLE_", env_nested_delimiter="__",
                                      extra="ignore", hide_input_in_errors=True)

    broker: BrokerSettings = BrokerSettings()


def load_broker_settings() -> BrokerSettings:
    """The broker section of the environment alone (``AISLE_BROKER__*``): the security settings of
    Kafka clients that tools build from a bare bootstrap string (connectors/security.py)."""

    from aislestream.errors import ConfigError, describe_validation_error

    try:
        return _BrokerEnvironment().broker
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {describe_validation_error(exc)}") from exc


class TopicSettings(BaseModel):
    prefix: str = Field(default="", description="Prepended to every topic name (namespaces a run)")
    partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"


class StoreSettings(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)  # an error must not echo the password

    backend: Literal["tantivy", "sqlite", "elasticsearch"] = "tantivy"
    path: Path | None = Field(default=None, description="Data directory of an embedded store")
    es_url: str | None = Field(default=None, repr=False, description="e.g. https://es-1:9200; "
                               "credentials go in es_api_key or es_username/es_password "
                               "rather than the URL")
    index: str = "aisle-products"
    dense: bool = Field(default=False, description="Hybrid retrieval: BM25 fused with dense kNN "
                        "over all-MiniLM-L6-v2 embeddings (the dense extra)")
    dense_default: bool = Field(default=True, description="With dense: serve hybrid to requests "
                                "no experiment arm assigns; false keeps hybrid to the arms of "
                                "the search.retrieval layer that choose it")
    vectors: Literal["exact", "usearch", "faiss", "hnswlib"] = Field(
        default="exact", description="The embedded stores' vector index (aisle bench vectors "
        "compares them)")
    dense_weight: float = Field(default=1.0, ge=0, description="The dense channel's weight in "
                                "the reciprocal-rank fusion")
    es_ca_certs: Path | None = Field(default=None, description="CA bundle of the cluster's "
                                     "certificate (https only); empty = the system CAs")
    es_verify_certs: bool = Field(default=True, description="Verify the cluster's certificate "
                                  "(https only)")
    es_api_key: SecretStr | None = Field(default=None, description="API key, the base64 "
                                         "`encoded` form")
    es_username: str | None = Field(default=None, description="Basic auth user (with es_password)")
    es_password: SecretStr | None = None

    _check_ca = field_validator("es_ca_certs")(_existing_file)
    _dump_secrets = field_serializer("es_api_key", "es_password")(_dump_secret)

    @model_validator(mode="after")
    def _check_es_security(self) -> "StoreSettings":
        if (self.es_username is None) != (self.es_password is None):
            raise ValueError("es_username and es_password go together")
        if self.es_api_key is not None and self.es_username is not None:
            raise ValueError("give es_api_key or es_username/es_password, not both")
        https = (self.es_url or "").lower().startswith("https://")
        if not https and (self.es_ca_certs is not None or not self.es_verify_certs):
            raise ValueError("es_ca_certs and es_verify_certs apply to an https:// es_url only")
        return self


class ExpansionSettings(BaseModel):
    # auto: the trained LLM, served the way its evaluation found harmless, else no expansion
    # (RM3 lowered long-tail NDCG@10 on the world and all of it on the hard world)
    engine: ExpanderEngine | Literal["auto"] = "auto"
    variant: str = "default"
    llm_backend: Literal["torch", "onnx", "vllm"] = "torch"
    model_path: Path | None = Field(
        default=None,
        description="LLM directory (ONNX: the export dir); default <data_dir>/lm/tiny/rl"
    )
    llm_max_new_tokens: int = Field(default=12, ge=1, le=128)
    llm_max_terms: int = Field(default=6, ge=1)
    llm_batch_size: int = Field(default=64, ge=1)
    deadline_ms: float = Field(default=200.0, gt=0)
    lru_size: int = Field(default=10_000, ge=0)
    redis_url: str | None = Field(
        repr=False,  # may hold a password; repr(settings) lands in logs
        default=None, description="e.g. redis://127.0.0.1:6379/0; with a password "
        "redis://:PASSWORD@host:6379/0; TLS rediss://host:6380/0?ssl_ca_certs=/path/ca.pem")
    redis_ttl_s: int = Field(default=3600, gt=0)
    prf_docs: int = Field(default=10, ge=1)
    prf_terms: int = Field(default=8, ge=1)
    prf_original_weight: float = Field(
        default=0.8, ge=0.2, le=1,
        description="RM3's weight of the original query; below 0.2 the expansion "
        "outweighs the query more than the expansion cache accepts (4 per query token)")
    fusion: Literal["mix", "rrf"] = Field(
        default="mix", description="How expansion terms reach the search: 'mix' adds them to "
        "the query; 'rrf' searches them as a second channel fused with the original query's "
        "results (connectors/search/fusion.py), which keeps the original's top results on top")
    gate: bool = Field(
        default=False, description="Serve the expansion only where the original retrieval "
        "looks weak (under 10 results, or a query word in none of its top 10)")
    drift_filter: bool = Field(
        default=False, description="LLM only: drop a term that never shares a title with a "
        "query word both common in the catalog (another brand, type or colour); reads "
        "drift.npz beside the model, which `aisle eval expansion` writes")
    fusion_k_original: float = Field(default=10.0, gt=0)
    fusion_k_expansion: float = Field(default=60.0, gt=0)
    fusion_weight: float = Field(default=1.0, ge=0)
    fusion_depth: int = Field(default=100, ge=1)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Named expanders experiments may select, as overrides of "
        "these settings, e.g. {\"llm-pruned\": {\"engine\": \"llm\", \"model_path\": \"...\"}}")


def resolve_auto_engine(expansion: ExpansionSettings, data_dir: Path) -> ExpansionSettings:
    """engine=auto becomes ``llm`` where `aisle eval expansion` left a verdict that the model
    does no harm (``serving.json`` beside the model's stage directory: ``model_path``, default
    the tiny preset's RL stage; its fusion, gate and drift filter are served unless set
    explicitly) and the
    ml extra is installed; else ``identity``, which harms nothing."""
    if expansion.engine != "auto":
        return expansion
    import importlib.util
    import json

    model = expansion.model_path or Artifacts(data_dir).lm("tiny") / "rl"
    try:
        verdict: dict[str, Any] = json.loads((model.parent / SERVING_VERDICT).read_text())
    except (OSError, ValueError):
        verdict = {}
    runnable = all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))
    if (verdict.get("serve") is True and verdict.get("model", "rl") == model.name
            and (model / "config.json").exists() and runnable):
        expansion.engine = "llm"
        if not (model.parent / DRIFT_FILTER_FILE).exists():
            verdict.pop("drift_filter", None)  # without its file the filter cannot be built
        for field in ("fusion", "gate", "drift_filter"):
            if field not in expansion.model_fields_set and field in verdict:
                setattr(expansion, field, verdict[field])
                # derived, not set: variants built from these settings must not inherit it
                expansion.model_fields_set.discard(field)
    else:
        expansion.engine = "identity"
    return expansion


def apply_llm_defaults(expansion: ExpansionSettings, data_dir: Path) -> ExpansionSettings:
    """engine=auto is resolved (``resolve_auto_engine``); engine=llm without a model path serves
    what `aisle train lm` (tiny) produced, and gets a deadline sized for generation on a CPU
    unless one was set explicitly."""
    resolve_auto_engine(expansion, data_dir)
    if expansion.engine != "llm":
        return expansion
    if expansion.model_path is None:
        stage = "onnx-rl" if expansion.llm_backend == "onnx" else "rl"
        expansion.model_path = Artifacts(data_dir).lm("tiny") / stage
    if "deadline_ms" not in expansion.model_fields_set:
        expansion.deadline_ms = LLM_DEADLINE_MS
    return expansion


class StreamSettings(BaseModel):
    app_id: str = "aislestream"
    max_message_bytes: int = Field(default=16_384, ge=256)
    max_query_chars: int = Field(default=512, ge=8)
    default_k: int = Field(default=10, ge=1)
    max_k: int = Field(default=100, ge=1)
    batch_size: int = Field(default=32, ge=1)
    batch_within_s: float = Field(default=0.02, gt=0)
    session_timeout_s: float = Field(default=10.0, gt=0)
    commit_interval_s: float = Field(default=1.0, gt=0)
    delivery_attempts: int = Field(default=5, ge=1,
                                   description="Tries to publish a batch's outputs")
    served_ttl_s: float = Field(
        default=3_600.0, gt=0,
        description="How long a served result can be joined with its feedback")
    quarantine_after_crashes: int = Field(
        default=3, ge=1,
        description="A message in flight in this many worker crashes is dead-lettered "
        "as `quarantined` instead of processed again")
    fetch_max_wait_ms: int = Field(
        default=100, ge=1, description="Consumer long-poll wait; bounds live-tail latency"
    )

    @model_validator(mode="after")
    def _check_k(self) -> "StreamSettings":
        if self.default_k > self.max_k:
            raise ValueError(f"default_k={self.default_k} exceeds max_k={self.max_k}")
        return self


class AdsSettings(BaseModel):
    enabled: bool = Field(default=False,
                          description="Run the ad-request agent (needs `aisle train ads`)")
    preset: str = "tiny"
    use_rl: bool = Field(default=True,
                         description="Serve the RL fine-tuned generator when it exists")
    generator_path: Path | None = Field(
        default=None,
        description="Serve this generator instead (a pruned variant, say); for the onnx "
        "backend, a directory written by `aisle export onnx`")
    generator_backend: Literal["torch", "onnx"] = "torch"
    generator_variants: dict[str, Path] = Field(
        default_factory=dict,
        description="Generators experiments may select by name (besides `base` and `rl`), "
        "e.g. {\"pruned\": \".aisle/prune/generator/tiny/fft_rdp-n2/healed\"}")
    candidates: int = Field(default=4, ge=1, le=64)
    max_attempts: int = Field(default=4, ge=1, le=32)
    batch_size: int = Field(default=8, ge=1)
    store: Literal["sqlite", "postgres"] = "sqlite"
    postgres_dsn: str = Field(default="postgresql://postgres@127.0.0.1:5432/postgres",
                              repr=False)  # may hold a password; repr(settings) lands in logs
    store_path: Path | None = Field(default=None,
                                    description="SQLite file + images; default <data_dir>/adstore")


class AssistantSettings(BaseModel):
    enabled: bool = Field(default=True, description="Run the shopping-assistant agent")
    engine: Literal["auto", "rules", "model"] = Field(
        default="auto",
        description="auto: what `aisle eval assistant` found best on held-out dialogues "
        "(its serving.json: a trained stage or the rules); rules until it has run")
    preset: str = "tiny"
    model_path: Path | None = Field(default=None, description="Serve this checkpoint (default: "
                                    "the preset's rl, else sft)")
    backend: Literal["torch", "vllm"] = "torch"
    lexicon: Literal["baseline", "mined"] = Field(
        default="baseline", description="engine rules or model: the lexicon the rules (and the "
        "model's hint) read with; mined: the cues `aisle train assistant --stage lexicon` "
        "mined from shoppers' purchases (auto takes the verdict's choice)")
    session_ttl_s: float = Field(default=1_800.0, gt=0,
                                 description="Idle time after which a session expires")
    max_turn_chars: int = Field(default=300, ge=8)
    k: int = Field(default=10, ge=1, le=100)


class WorldSettings(BaseModel):
    seed: int = 7
    profile: Literal["default", "hard"] = Field(
        default="default", description="The synthetic world: default, or hard (titles only, "
        "brand-heavy, near-duplicates, human misspellings, rater noise)")
    n_products: int = Field(default=50_000, ge=100)
    n_users: int = Field(default=5_000, ge=1)
    n_queries: int = Field(default=4_000, ge=10)
    catalog_path: Path | None = Field(default=None, description="External catalog (CSV or JSONL)")
    labels_path: Path | None = Field(default=None, description="Labelled queries (CSV or JSONL)")
    relevance_scale: str = Field(
        default="0-3", description="The labels' grade scale: LO-HI (1-4, 1-3...) or "
        "LABEL=GRADE,... mapped onto 0-3")
    held_out_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="Share of labelled queries (by text hash) held out "
        "of LM training for evaluation")
    test_labels_path: Path | None = Field(
        default=None, description="Held-out labelled queries in a file of their own; then every "
        "query of labels_path trains and held_out_fraction is not used")


class MetricsSettings(BaseModel):
    """The worker's Prometheus metrics and HTTP probes (``/metrics``, ``/health/live``,
    ``/health/ready``), served from a thread beside the event loop."""

    enabled: bool = Field(default=True, description="Serve metrics and the HTTP probes")
    host: str = Field(default="127.0.0.1",
                      description="Address to bind; 0.0.0.0 where a scraper reaches the pod")
    port: int = Field(default=9464, ge=0, le=65_535,
                      description="0 picks a free port (the health report records which)")
    probe_max_age_s: float = Field(
        default=30.0, gt=0, description="The HTTP probes' `aisle health --max-age`: a health "
        "report older than this means the event loop is not answering")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AISLE_", env_nested_delimiter="__", extra="forbid",
        hide_input_in_errors=True,  # an error must not echo a password it was given
    )

    data_dir: Path = Path(".aisle")
    broker: BrokerSettings = BrokerSettings()
    topics: TopicSettings = TopicSettings()
    store: StoreSettings = StoreSettings()
    expansion: ExpansionSettings = ExpansionSettings()
    stream: StreamSettings = StreamSettings()
    world: WorldSettings = WorldSettings()
    ads: AdsSettings = AdsSettings()
    assistant: AssistantSettings = AssistantSettings()
    metrics: MetricsSettings = MetricsSettings()

    @model_validator(mode="after")
    def _llm_defaults(self) -> "Settings":
        apply_llm_defaults(self.expansion, self.data_dir)
        return self

    @property
    def artifacts(self) -> Artifacts:
        return Artifacts(self.data_dir)

    def store_path(self) -> Path:
        return self.store.path or self.data_dir / f"store-{self.store.backend}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into a ConfigError."""

    from aislestream.errors import ConfigError, describe_validation_error

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {describe_validation_error(exc)}") from exc
