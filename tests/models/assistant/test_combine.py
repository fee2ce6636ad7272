"""The per-slot choice between rules and model, scored on what shoppers bought."""

from aislestream.core.products import Product
from aislestream.models.assistant.combine import SLOTS, choose_sources, combine, slot_points
from aislestream.models.world.dimensions import Params


def test_a_source_earns_a_slot_by_values_the_purchase_satisfies_net_of_those_it_breaks():
    bought = Product("p1", "red canvas sandals", "", category="sandals", colour="red",
                     material="canvas", price=30.0)
    state = Params(category="sandals")
    rules = [Params(category="sandals", colour="red"),  # "the red one": right
             Params(category="sandals")]  # "something wallet-friendly": nothing
    model = [Params(category="sandals", colour="blue"),  # wrong colour
             Params(category="sandals", price_max=35.0)]  # right price bound
    rule_points = slot_points(rules, [state] * 2, [bought] * 2)
    model_points = slot_points(model, [state] * 2, [bought] * 2)
    assert (rule_points["colour"], model_points["colour"]) == (1, -1)
    assert (rule_points["price_max"], model_points["price_max"]) == (0, 1)
    assert rule_points["category"] == model_points["category"] == 0  # unchanged: not counted
    sources = choose_sources({"rules": rule_points, "model": model_points})
    assert sources["colour"] == "rules" and sources["price_max"] == "model"
    assert sources["category"] == "rules"  # a tie goes to the baseline
    assert set(sources) == set(SLOTS)
    assert combine(rules[0], model[1], sources) == Params(category="sandals", colour="red",
                                                          price_max=35.0)


def test_exclusions_count_as_satisfied_when_the_purchase_is_none_of_them():
    bought = Product("p2", "black leather boots", "", category="boots", colour="black",
                     material="leather", price=120.0)
    state = Params(category="boots")
    points = slot_points([Params(category="boots", exclude_colours=("red",),
                                 exclude_materials=("leather",))], [state], [bought])
    assert (points["exclude_colours"], points["exclude_materials"]) == (1, -1)
