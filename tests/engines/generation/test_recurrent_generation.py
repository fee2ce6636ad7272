from aislestream.core.adspec import ALL_SPECS
from aislestream.engines.generation.recurrent import generate_until_usable
from aislestream.models.ads.generator import load_pipeline
from aislestream.models.ads.reward_models import RewardEnsemble


def test_recurrent_generation_returns_one_outcome_per_request(micro_ads):
    _, root = micro_ads
    pipeline = load_pipeline(root / "generator")
    ensemble = RewardEnsemble.load(root / "reward" / "specialized")
    outcomes = generate_until_usable(pipeline, ensemble, ALL_SPECS[:4], max_attempts=3,
                                     candidates=2, steps=4)
    assert [o.spec for o in outcomes] == ALL_SPECS[:4]
    for o in outcomes:
        assert 1 <= o.attempts <= 3 and o.image.shape == (32, 32, 3)
        assert o.accepted or o.attempts == 3, "a rejected request used every attempt"
