from dataclasses import replace

import numpy as np

from aislestream.engines.assistant.rules import RuleAssistant
from aislestream.models.assistant.dialogue import SessionState, find_products
from aislestream.models.world.dimensions import Params, generate_dialogues, satisfies, score_slots


def final_f1(assistant, dialogues):
    scores = []
    for d in dialogues:
        state = SessionState()
        for turn in d.turns:
            state, _ = assistant.respond(state, turn.text)
        scores.append(score_slots(state.params, d.needs).f1)
    return float(np.mean(scores))


def test_the_lexicon_baseline_knows_training_phrasings_and_misses_held_out_ones():
    rules = RuleAssistant()
    train, held = (final_f1(rules, generate_dialogues(300, "train")),
                   final_f1(rules, generate_dialogues(300, "held_out")))
    assert train > 0.9 and held < train - 0.1


def test_it_asks_for_the_category_before_searching_and_tracks_corrections(tantivy_store):
    rules = RuleAssistant(tantivy_store)
    state, reply = rules.respond(SessionState(), "something cheap in red")
    assert reply.question and not reply.products and reply.params.colour == "red"
    state, reply = rules.respond(state, "I'm looking for sandals")
    # a new product starts over
    assert reply.question is None and reply.params == Params(category="sandals")
    state, reply = rules.respond(state, "in red")
    state, reply = rules.respond(state, "actually, make it blue")
    assert reply.params.colour == "blue" and state.turns[-1] == "actually, make it blue"


def test_products_found_with_the_parameters_meet_the_hard_constraints(small_world, tantivy_store):
    products = {p.id: p for p in small_world.products}
    checked = 0
    for d in generate_dialogues(60, "train", seed=5):
        needs = d.needs
        for hit in find_products(tantivy_store, needs, k=10):
            p = products[hit.id]
            attrs = {"category": p.category, "colour": p.colour, "material": p.material,
                     "price": p.price, "features": p.features}
            # features rank, not filter
            assert satisfies(attrs, replace(needs, feature=None)), (needs, attrs)
            checked += 1
    assert checked > 50



def test_words_no_slot_explains_rank_products_as_free_text(small_world, tantivy_store):
    from aislestream.models.assistant.dialogue import free_text_remainder

    assert free_text_remainder(["I need kicks", "in red", "ideally from fitcore",
                                "something cheap"]) == "fitcore"
    shoes = next(p for p in small_world.products if p.category == "running shoes")
    brand = shoes.brand.split()[0]
    state, _ = RuleAssistant(tantivy_store).respond(SessionState(), "I need running shoes")
    _, reply = RuleAssistant(tantivy_store).respond(state, f"preferably {brand}")
    products = {p.id: p for p in small_world.products}
    assert reply.products and brand.lower() in products[reply.products[0].id].brand.lower()


def talk(*turns, state=None):
    state = state or SessionState()
    for turn in turns:
        state, _ = RuleAssistant().respond(state, turn)
    return state.params


def test_excluding_the_wanted_colour_drops_it_and_asking_for_an_excluded_one_lifts_the_exclusion():
    later_no = talk("I'm looking for running shoes", "in red", "please no red")
    assert later_no.colour is None and later_no.exclude_colours == ("red",)
    later_yes = talk("I'm looking for running shoes", "please no red", "in red")
    assert later_yes.colour == "red" and later_yes.exclude_colours == ()
    assert talk("I'm looking for running shoes", "not red",
                "except crimson").exclude_colours == ("red",)


def test_excluding_the_wanted_material_drops_it():
    # the rules never set a wanted material themselves, but a session's params may carry one
    state = SessionState(Params(category="running shoes", material="mesh"))
    params = talk("no mesh", state=state)
    assert params.material is None and params.exclude_materials == ("mesh",)
    assert talk("not made of mesh", state=SessionState(params)).exclude_materials == ("mesh",)


def test_a_price_bound_that_crosses_the_other_one_replaces_it():
    cheap_last = talk("I'm looking for running shoes", "something premium", "something cheap")
    assert (cheap_last.price_min, cheap_last.price_max) == (None, 89.0)
    premium_last = talk("I'm looking for running shoes", "something cheap", "something premium")
    assert (premium_last.price_min, premium_last.price_max) == (131.0, None)
    cheaper = talk("I'm looking for running shoes", "something premium", "a bit cheaper")
    assert (cheaper.price_min, cheaper.price_max) == (None, 71.0)


def test_a_negation_is_a_word_not_letters_inside_one():
    # "anorak" and "merino" hold the letters "no"; neither turn negates anything
    assert talk("I need an anorak in red").colour == "red"
    assert talk("I need an anorak", "in red").exclude_colours == ()
    assert talk("I need socks", "merino wool in red").exclude_materials == ()


def _training_turns(ptype):
    """Strategies for one turn drawn from the training phrasings, about ``ptype``."""
    from hypothesis import strategies as st

    from aislestream.models.world import dimensions as dim
    from aislestream.models.world.vocab import COLOURS

    def wrap(table, key, values):
        return st.builds(lambda p, v: p.format(**{key: v}),
                         st.sampled_from(table["train"]), st.sampled_from(values))

    colours = [alias for aliases in COLOURS.values() for alias in aliases]
    words = lambda table: st.sampled_from(table["train"])  # noqa: E731
    return st.one_of(
        wrap(dim.OPENERS, "noun", [ptype.name, *ptype.slang]),
        wrap(dim.COLOUR_WRAP, "c", colours), wrap(dim.CORRECT_COLOUR, "c", colours),
        wrap(dim.NOT_COLOUR, "c", colours), wrap(dim.NOT_MATERIAL, "m", list(ptype.materials)),
        st.builds(lambda p, w: p.format(w=w), words(dim.CHEAP_WRAP), words(dim.CHEAP)),
        st.builds(lambda p, w: p.format(w=w), words(dim.PREMIUM_WRAP), words(dim.PREMIUM)),
        words(dim.CHEAPER), words(dim.CHATTER), wrap(dim.USE_WRAP, "u", list(ptype.uses)),
        wrap(dim.FEATURE_WRAP, "f", list(ptype.features)),
        *(words(table) for table in dim.FEATURE_PHRASES.values()),
    )


def test_no_sequence_of_training_phrasings_yields_contradictory_parameters():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from aislestream.models.world.vocab import PRODUCT_TYPES

    dialogues = st.sampled_from(PRODUCT_TYPES).flatmap(
        lambda t: st.tuples(st.just(t), st.lists(_training_turns(t), min_size=1, max_size=8)))
    rules = RuleAssistant()

    @settings(max_examples=300, deadline=None)
    @given(dialogues)
    def check(dialogue):
        ptype, turns = dialogue
        state, _ = rules.respond(SessionState(), f"I'm looking for {ptype.name}")
        for turn in turns:
            state, _ = rules.respond(state, turn)
            p = state.params
            assert p.colour not in p.exclude_colours, (turns, p)
            assert p.material is None or p.material not in p.exclude_materials, (turns, p)
            assert (p.price_min is None or p.price_max is None
                    or p.price_min <= p.price_max), (turns, p)
            assert len(set(p.exclude_colours)) == len(p.exclude_colours), (turns, p)

    check()
