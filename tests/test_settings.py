import pytest

from aislestream.errors import ConfigError
from aislestream.settings import load_settings
from aislestream.stack.runtime import settings_env


def test_nested_environment_variables(monkeypatch):
    monkeypatch.setenv("AISLE_BROKER__BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("AISLE_EXPANSION__ENGINE", "identity")
    monkeypatch.setenv("AISLE_STREAM__BATCH_SIZE", "64")
    s = load_settings()
    assert s.broker.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert (s.expansion.engine, s.stream.batch_size) == ("identity", 64)


def test_empty_bootstrap_means_embedded(monkeypatch):
    monkeypatch.setenv("AISLE_BROKER__BOOTSTRAP_SERVERS", " ")
    assert load_settings().broker.bootstrap_servers is None


@pytest.mark.parametrize("var, value, field", [
    ("AISLE_EXPANSION__ENGINE", "gpt", "expansion.engine"),
    ("AISLE_STREAM__BATCH_SIZE", "0", "stream.batch_size"),
    ("AISLE_BROKER__BOOTSTRAP_SERVERS", "no-port", "broker.bootstrap_servers"),
    ("AISLE_STREAM__DEFAULT_K", "500", "stream"),
])
def test_bad_values_name_the_field(monkeypatch, var, value, field):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=f"invalid settings: {field}"):
        load_settings()


def test_settings_round_trip_through_the_environment(monkeypatch):
    original = load_settings(expansion={"engine": "identity", "deadline_ms": 50.0},
                             topics={"prefix": "t."})
    for key, value in settings_env(original).items():
        monkeypatch.setenv(key, value)
    assert load_settings() == original


def test_llm_engine_defaults_to_the_trained_tiny_model_and_a_longer_deadline(tmp_path):
    s = load_settings(data_dir=tmp_path, expansion={"engine": "llm"})
    assert s.expansion.model_path == tmp_path / "lm" / "tiny" / "rl"
    assert s.expansion.deadline_ms == 1000.0
    onnx = load_settings(data_dir=tmp_path,
                         expansion={"engine": "llm", "llm_backend": "onnx", "deadline_ms": 80})
    assert onnx.expansion.model_path == tmp_path / "lm" / "tiny" / "onnx-rl"
    assert onnx.expansion.deadline_ms == 80


def _verdict(tmp_path, serve: bool, fusion: str = "rrf", gate: bool = True,
             drift_filter: bool = False):
    import json

    rl = tmp_path / "lm" / "tiny" / "rl"
    rl.mkdir(parents=True)
    (rl / "config.json").write_text("{}")
    (rl.parent / "serving.json").write_text(json.dumps({"serve": serve, "fusion": fusion,
                                                        "gate": gate,
                                                        "drift_filter": drift_filter}))


def test_auto_serves_no_expansion_without_a_verdict_or_with_a_negative_one(tmp_path):
    assert load_settings(data_dir=tmp_path).expansion.engine == "identity"
    _verdict(tmp_path, serve=False)
    assert load_settings(data_dir=tmp_path).expansion.engine == "identity"


def test_auto_serves_the_llm_the_way_its_evaluation_found_harmless(tmp_path):
    from aislestream.engines.expansion.pool import ExpanderPool

    _verdict(tmp_path, serve=True, fusion="rrf", gate=True)
    s = load_settings(data_dir=tmp_path)
    assert (s.expansion.engine, s.expansion.fusion, s.expansion.gate) == ("llm", "rrf", True)
    assert s.expansion.model_path == tmp_path / "lm" / "tiny" / "rl"
    assert s.expansion.deadline_ms == 1000.0
    explicit = load_settings(data_dir=tmp_path, expansion={"fusion": "mix"})
    assert (explicit.expansion.fusion, explicit.expansion.gate) == ("mix", True)
    # an experiment's prf arm does not inherit the LLM's derived channel
    prf = ExpanderPool(s.expansion, store=None, data_dir=tmp_path,  # type: ignore[arg-type]
                       default=object()).variant_settings("prf")  # type: ignore[arg-type]
    assert (prf.engine, prf.fusion, prf.gate) == ("prf", "mix", False)
    assert load_settings(data_dir=tmp_path, expansion={"engine": "prf"}).expansion.engine == "prf"


def test_auto_serves_the_drift_filter_where_the_verdict_chose_it(tmp_path):
    _verdict(tmp_path, serve=True, fusion="mix", gate=True, drift_filter=True)
    without = load_settings(data_dir=tmp_path)  # its file missing: the filter stays off
    assert (without.expansion.engine, without.expansion.drift_filter) == ("llm", False)
    (tmp_path / "lm" / "tiny" / "drift.npz").write_bytes(b"")
    s = load_settings(data_dir=tmp_path)
    assert (s.expansion.engine, s.expansion.gate, s.expansion.drift_filter) == ("llm", True, True)
    off = load_settings(data_dir=tmp_path, expansion={"drift_filter": False})
    assert off.expansion.drift_filter is False  # an explicit setting wins


SASL = {"bootstrap_servers": "kafka-1:9093", "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "aisle", "sasl_password": "s3cret"}


def test_broker_security_from_the_environment(monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not parsed here")
    for field, value in {**SASL, "ssl_cafile": str(ca), "ssl_check_hostname": "false"}.items():
        monkeypatch.setenv(f"AISLE_BROKER__{field.upper()}", value)
    broker = load_settings().broker
    assert ((broker.security_protocol, broker.sasl_mechanism, broker.sasl_username)
            == ("SASL_SSL", "SCRAM-SHA-512", "aisle"))
    assert broker.sasl_password.get_secret_value() == "s3cret"
    assert (broker.ssl_cafile, broker.ssl_check_hostname) == (ca, False)


@pytest.mark.parametrize("broker, message", [
    ({**SASL, "sasl_password": None}, "security_protocol=SASL_SSL needs sasl_password"),
    ({**SASL, "sasl_mechanism": None, "sasl_username": None},
     "security_protocol=SASL_SSL needs sasl_mechanism, sasl_username"),
    ({**SASL, "sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
    ({**SASL, "security_protocol": "SSL"},
     "sasl_mechanism, sasl_username, sasl_password: used only with "
     "security_protocol SASL_PLAINTEXT or SASL_SSL"),
    ({"bootstrap_servers": "k:9092", "sasl_password": "s3cret"}, "sasl_password: used only with"),
    ({"bootstrap_servers": "k:9092", "security_protocol": "SSL", "ssl_cafile": "/no/such/ca.pem"},
     "file /no/such/ca.pem does not exist"),
    ({"security_protocol": "SSL"}, "the embedded broker speaks PLAINTEXT only"),
    ({"security_protocol": "TLS"}, "security_protocol"),
])
def test_bad_broker_security_names_what_is_wrong(broker, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(broker={k: v for k, v in broker.items() if v is not None})


def test_tls_files_need_a_tls_protocol_and_a_key_needs_its_certificate(tmp_path):
    pem = tmp_path / "client.pem"
    pem.write_text("x")
    with pytest.raises(ConfigError,
                       match="ssl_certfile: used only with security_protocol SSL or SASL_SSL"):
        load_settings(broker={"bootstrap_servers": "k:9092", "ssl_certfile": pem})
    with pytest.raises(ConfigError, match="ssl_keyfile needs ssl_certfile"):
        load_settings(broker={"bootstrap_servers": "k:9092", "security_protocol": "SSL",
                              "ssl_keyfile": pem})


def test_secrets_are_masked_wherever_settings_are_printed():
    s = load_settings(broker=SASL, store={"backend": "elasticsearch", "es_url": "https://es:9200",
                                          "es_api_key": "a2V5-s3cret"})
    for text in (repr(s), str(s.broker), s.model_dump_json(), str(s.model_dump())):
        assert "s3cret" not in text, text


def test_secrets_reach_a_worker_started_from_the_settings(monkeypatch):
    """settings_env hands settings to child processes; it used to hand them '**********'."""
    original = load_settings(broker=SASL, store={
        "backend": "elasticsearch", "es_url": "https://es:9200", "es_username": "elastic",
        "es_password": "es-s3cret"})
    env = settings_env(original)
    assert (env["AISLE_BROKER__SASL_PASSWORD"] == "s3cret"
            and env["AISLE_STORE__ES_PASSWORD"] == "es-s3cret")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings() == original


@pytest.mark.parametrize("store, message", [
    ({"es_username": "elastic"}, "es_username and es_password go together"),
    ({"es_username": "elastic", "es_password": "p", "es_api_key": "k"}, "not both"),
    ({"es_url": "http://es:9200", "es_verify_certs": False}, "apply to an https:// es_url only"),
    ({"es_url": "https://es:9200", "es_ca_certs": "/no/such/ca.pem"}, "does not exist"),
])
def test_bad_elasticsearch_security_is_refused(store, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(store={"backend": "elasticsearch", "es_url": "https://es:9200", **store})


# nested in Settings, the outer model's config decides whether the chained ValidationError's
# input_value echoes the broker section
def test_a_settings_error_does_not_echo_the_password():
    with pytest.raises(ConfigError) as refused:
        load_settings(broker={"bootstrap_servers": "k:9092", "sasl_password": "s3cret"})
    assert "s3cret" not in str(refused.value) + str(refused.value.__cause__)


def test_urls_that_may_hold_passwords_stay_out_of_the_settings_repr():
    settings = load_settings(ads={"postgres_dsn": "postgresql://app:s3cret@db/ads"},
                             expansion={"redis_url": "redis://:s3cret@cache:6379/0"},
                             store={"backend": "elasticsearch", "es_url": "http://elastic:s3cret@es:9200"})
    assert "s3cret" not in repr(settings)
    assert settings.ads.postgres_dsn.endswith("@db/ads")  # still there to be used


def test_auto_reads_the_verdict_beside_a_configured_model(tmp_path):
    import json

    model = tmp_path / "lm" / "tiny-abc123" / "rl"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model.parent / "serving.json").write_text(json.dumps(
        {"serve": True, "model": "rl", "fusion": "rrf", "gate": False}))
    s = load_settings(data_dir=tmp_path, expansion={"model_path": str(model)})
    assert (s.expansion.engine, s.expansion.fusion) == ("llm", "rrf")
    other = tmp_path / "lm" / "tiny-abc123" / "sft"  # the verdict judged rl, not this stage
    other.mkdir()
    (other / "config.json").write_text("{}")
    assert load_settings(data_dir=tmp_path,
                         expansion={"model_path": str(other)}).expansion.engine == "identity"
