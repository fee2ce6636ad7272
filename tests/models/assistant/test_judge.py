from dataclasses import replace

from aislestream.models.assistant.data import target_json
from aislestream.models.assistant.dialogue import find_products
from aislestream.models.assistant.judge import Judge
from aislestream.models.world.dimensions import Params, generate_dialogues


def test_the_reward_orders_exact_partial_wrong_question_and_invalid_outputs(
        small_world, tantivy_store):
    judge = Judge(tantivy_store, {p.id: p for p in small_world.products})
    needs = Params(category="sandals", colour="red")
    exact, partial, asked, invalid = judge.rewards(
        [target_json(needs), target_json(Params(category="sandals")),
         '{"category":"sandals","ask":"category"}', '{"category":"sand'],
        [needs] * 4)
    assert exact > partial > asked > invalid == -1.0
    assert exact == 1.5  # slot F1 1 + a retrieved product satisfies the needs


def test_asking_is_right_exactly_when_no_product_is_known(small_world, tantivy_store):
    judge = Judge(tantivy_store, {p.id: p for p in small_world.products})
    asked = '{"ask":"category"}'
    right, wrong = judge.judge_many([(Params(), "q"), (Params(colour="red"), None)],
                                    [Params(), Params(colour="red")])
    assert right.success and not right.wrong_question and wrong.wrong_question and not wrong.success
    assert judge.rewards([asked], [Params()]) == [1.5]


def test_retrieval_success_is_the_shoppers_own_check(small_world, tantivy_store):
    judge = Judge(tantivy_store, {p.id: p for p in small_world.products})
    for d in generate_dialogues(30, "train", seed=9):
        hits = [h.id for h in find_products(tantivy_store, d.needs)]
        [j] = judge.judge_many([(d.needs, None)], [d.needs])
        assert j.success == judge.satisfied(hits, d.needs)
        impossible = replace(d.needs, price_max=0.0)
        assert not judge.judge_many([(impossible, None)], [d.needs])[0].success
