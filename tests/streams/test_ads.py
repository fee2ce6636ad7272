import json
import shutil

import pytest

from aislestream.connectors.adstore import SqliteAdStore
from aislestream.engines.generation import (
    CreativeServicePool,
    GenerationConfig,
    load_creative_service,
)
from aislestream.errors import MessageRejected
from aislestream.settings import StreamSettings
from aislestream.streams.ads import AdsPipeline, decode_request
from aislestream.streams.experiments.assign import arm_for
from aislestream.streams.experiments.schema import parse_experiment
from aislestream.streams.pipeline import RawMessage


def request(**fields) -> bytes:
    base = {"request_id": "a1", "product_id": "p1", "shape": "bottle", "colour": "red"}
    return json.dumps({**base, **fields}).encode()


@pytest.mark.parametrize("raw, reason", [
    (b"nope", "value is not JSON"),
    (b"\xff\xfe", "value is not UTF-8"),
    (request(shape="vase"), "shape: Input should be 'bottle'"),
    (request(layout="top"), "layout: Input should be 'left', 'center' or 'right'"),
    (json.dumps({"request_id": "x", "shape": "box", "colour": "red"}).encode(),
     "product_id: Field required"),
    (request(colour=3), "colour: Input should be"),
])
def test_bad_ad_requests_are_rejected_with_the_field_named(raw, reason):
    with pytest.raises(MessageRejected) as caught:
        decode_request(raw, StreamSettings())
    assert reason in caught.value.reason


def test_pipeline_stores_and_publishes_every_valid_request(micro_ads, tmp_path):
    _, root = micro_ads
    service = load_creative_service(GenerationConfig(
        root / "generator", root / "reward" / "specialized", inference_steps=4, candidates=2,
        max_attempts=2))
    store = SqliteAdStore(tmp_path / "store")
    pipeline = AdsPipeline(CreativeServicePool(service, {}), store, StreamSettings())
    messages = [RawMessage("ads.requests", 0, 0, b"a1", request()),
                RawMessage("ads.requests", 0, 1, b"bad", b"{"),
                RawMessage("ads.requests", 0, 2, b"a3",
                           request(request_id="a3", layout="left", palette="dark"))]
    out = pipeline.process(messages)
    assert [o.kind for o in out] == ["result", "dead_letter", "result"]
    for o, rid in ((out[0], "a1"), (out[2], "a3")):
        creative = json.loads(o.value)
        assert creative["request_id"] == rid and creative["status"] in {"accepted", "rejected"}
        assert (1 <= creative["attempts"] <= 2
                and set(creative["scores"]) == {"shape", "placement", "colour"})
        assert (creative["status"] == "rejected") == bool(creative["reasons"])
        row = store.get(rid)
        assert (row is not None and row.image_path == creative["image_path"]
                and row.attempts == creative["attempts"])
    assert json.loads(out[1].value)["error_type"] == "not_json"


def test_arms_choose_generator_and_reward_threshold_and_are_recorded(micro_ads, tmp_path):
    _, root = micro_ads
    service = load_creative_service(GenerationConfig(
        root / "generator", root / "reward" / "specialized", inference_steps=2, candidates=1,
        max_attempts=1))
    experiment = parse_experiment({"id": "ads1", "layer": "ads.generation", "salt": "s", "arms": [
        {"name": "strict", "share": 0.5,
         "params": {"generator": "rl", "reward_threshold": 0.999999}},
        {"name": "missing", "share": 0.5, "params": {"generator": "no-such-generator"}}]})
    pool = CreativeServicePool(service, {"rl": root / "rl"})
    pipeline = AdsPipeline(pool, SqliteAdStore(tmp_path / "store"), StreamSettings(),
                           experiments=lambda: [experiment])
    products = [f"p{i}" for i in range(12)]
    out = pipeline.process([RawMessage("ads.requests", 0, i, None,
                                       request(request_id=f"a{i}", product_id=p))
                            for i, p in enumerate(products)])
    for o, product in zip(out, products):
        arm = arm_for(experiment, product).name
        if arm == "missing":  # a variant this worker cannot serve: a dead letter that says so
            assert (o.kind == "dead_letter"
                    and "unknown generator variant" in json.loads(o.value)["reason"])
        else:
            creative = json.loads(o.value)
            assert (creative["arms"] == {"ads1": "strict"}
                    and creative["model_version"].endswith("/rl"))
            assert (creative["status"] == "rejected"
                    and "accept level 1.00" in creative["reasons"][0])
    assert {arm_for(experiment, p).name for p in products} == {"strict", "missing"}


def test_an_arm_naming_a_corrupt_generator_checkpoint_dead_letters_its_requests(
        micro_ads, tmp_path):
    _, root = micro_ads
    service = load_creative_service(GenerationConfig(
        root / "generator", root / "reward" / "specialized", inference_steps=2, candidates=1,
        max_attempts=1))
    shutil.copytree(root / "generator", tmp_path / "broken")
    (tmp_path / "broken" / "model_index.json").write_text("{half a file")  # a copy cut short
    experiment = parse_experiment({"id": "ads2", "layer": "ads.generation", "salt": "s", "arms": [
        {"name": "broken", "share": 1.0, "params": {"generator": "broken"}}]})
    pipeline = AdsPipeline(CreativeServicePool(service, {"broken": tmp_path / "broken"}),
                           SqliteAdStore(tmp_path / "store"), StreamSettings(),
                           experiments=lambda: [experiment])
    for offset in range(2):  # the failure is remembered, never raised out of the batch
        (out,) = pipeline.process([RawMessage("ads.requests", 0, offset, None,
                                              request(request_id=f"a{offset}"))])
        letter = json.loads(out.value)
        assert out.kind == "dead_letter" and letter["error_type"] == "unavailable_variant"
        assert "generator variant 'broken' failed to build" in letter["reason"]
