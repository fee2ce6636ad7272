import pytest

from aislestream.errors import ConfigError
from aislestream.runtime import settings_env
from aislestream.settings import load_settings


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
    onnx = load_settings(data_dir=tmp_path, expansion={"engine": "llm", "llm_backend": "onnx", "deadline_ms": 80})
    assert onnx.expansion.model_path == tmp_path / "lm" / "tiny" / "onnx-rl"
    assert onnx.expansion.deadline_ms == 80
