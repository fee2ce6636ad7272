"""All runtime settings, composed per concern and read from the environment in this one module.

Every field can be set by an environment variable: ``AISLE_<SECTION>__<FIELD>``, for example
``AISLE_BROKER__BOOTSTRAP_SERVERS=kafka-1:9092`` or ``AISLE_EXPANSION__ENGINE=prf``.
Leaving ``bootstrap_servers`` empty means "start the embedded Tansu broker".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


LLM_DEADLINE_MS = 1_000.0  # default expansion deadline when the engine is an LLM


class BrokerSettings(BaseModel):
    bootstrap_servers: str | None = Field(
        default=None,
        description="Comma-separated host:port list of any Kafka-compatible broker; empty = embedded",
    )
    embedded_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    connect_timeout_s: float = Field(default=30.0, gt=0)

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


class TopicSettings(BaseModel):
    prefix: str = Field(default="", description="Prepended to every topic name (namespaces a run)")
    partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"


class StoreSettings(BaseModel):
    backend: Literal["tantivy", "sqlite", "elasticsearch"] = "tantivy"
    path: Path | None = Field(default=None, description="Data directory of an embedded store")
    es_url: str | None = None
    index: str = "aisle-products"


class ExpansionSettings(BaseModel):
    engine: Literal["identity", "prf", "llm"] = "prf"
    variant: str = "default"
    llm_backend: Literal["torch", "onnx", "vllm"] = "torch"
    model_path: Path | None = Field(
        default=None, description="LLM directory (ONNX: the export dir); default <data_dir>/lm/tiny/rl"
    )
    llm_max_new_tokens: int = Field(default=12, ge=1, le=128)
    llm_max_terms: int = Field(default=6, ge=1)
    llm_batch_size: int = Field(default=64, ge=1)
    deadline_ms: float = Field(default=200.0, gt=0)
    lru_size: int = Field(default=10_000, ge=0)
    redis_url: str | None = Field(default=None, description="e.g. redis://127.0.0.1:6379/0")
    redis_ttl_s: int = Field(default=3600, gt=0)
    prf_docs: int = Field(default=10, ge=1)
    prf_terms: int = Field(default=8, ge=1)
    prf_original_weight: float = Field(default=0.8, gt=0, le=1)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Named expanders experiments may select, as overrides of "
        "these settings, e.g. {\"llm-pruned\": {\"engine\": \"llm\", \"model_path\": \"...\"}}")


def apply_llm_defaults(expansion: ExpansionSettings, data_dir: Path) -> ExpansionSettings:
    """engine=llm without a model path serves what `aisle train lm` (tiny) produced, and gets a
    deadline sized for generation on a CPU unless one was set explicitly."""
    if expansion.engine != "llm":
        return expansion
    if expansion.model_path is None:
        stage = "onnx-rl" if expansion.llm_backend == "onnx" else "rl"
        expansion.model_path = data_dir / "lm" / "tiny" / stage
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
    delivery_attempts: int = Field(default=5, ge=1, description="Tries to publish a batch's outputs")
    served_ttl_s: float = Field(
        default=3_600.0, gt=0, description="How long a served result can be joined with its feedback")
    quarantine_after_crashes: int = Field(
        default=3, ge=1, description="A message in flight in this many worker crashes is dead-lettered "
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
    enabled: bool = Field(default=False, description="Run the ad-request agent (needs `aisle train ads`)")
    preset: str = "tiny"
    use_rl: bool = Field(default=True, description="Serve the RL fine-tuned generator when it exists")
    generator_path: Path | None = Field(
        default=None, description="Serve this generator instead (a pruned variant, say); for the onnx "
        "backend, a directory written by `aisle export onnx`")
    generator_backend: Literal["torch", "onnx"] = "torch"
    generator_variants: dict[str, Path] = Field(
        default_factory=dict, description="Generators experiments may select by name (besides `base` and `rl`), "
        "e.g. {\"pruned\": \".aisle/prune/generator/tiny/fft_rdp-n2/healed\"}")
    candidates: int = Field(default=4, ge=1, le=64)
    max_attempts: int = Field(default=4, ge=1, le=32)
    batch_size: int = Field(default=8, ge=1)
    store: Literal["sqlite", "postgres"] = "sqlite"
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    store_path: Path | None = Field(default=None, description="SQLite file + images; default <data_dir>/adstore")


class AssistantSettings(BaseModel):
    enabled: bool = Field(default=True, description="Run the shopping-assistant agent")
    engine: Literal["auto", "rules", "model"] = Field(
        default="auto", description="auto: the trained model when `aisle train assistant` has run, else rules")
    preset: str = "tiny"
    model_path: Path | None = Field(default=None, description="Serve this checkpoint (default: the preset's rl, "
                                    "else sft)")
    backend: Literal["torch", "vllm"] = "torch"
    session_ttl_s: float = Field(default=1_800.0, gt=0, description="Idle time after which a session expires")
    max_turn_chars: int = Field(default=300, ge=8)
    k: int = Field(default=10, ge=1, le=100)


class WorldSettings(BaseModel):
    seed: int = 7
    n_products: int = Field(default=50_000, ge=100)
    n_users: int = Field(default=5_000, ge=1)
    n_queries: int = Field(default=4_000, ge=10)
    catalog_path: Path | None = Field(default=None, description="External catalog (CSV or JSONL)")
    labels_path: Path | None = Field(default=None, description="Labelled queries (CSV or JSONL)")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AISLE_", env_nested_delimiter="__", extra="forbid"
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

    @model_validator(mode="after")
    def _llm_defaults(self) -> "Settings":
        apply_llm_defaults(self.expansion, self.data_dir)
        return self

    def store_path(self) -> Path:
        return self.store.path or self.data_dir / f"store-{self.store.backend}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into a ConfigError."""
    from pydantic import ValidationError

    from aislestream.errors import ConfigError, describe_validation_error

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {describe_validation_error(exc)}") from exc
