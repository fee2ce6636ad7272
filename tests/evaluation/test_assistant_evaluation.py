from aislestream.engines.assistant.rules import RuleAssistant
from aislestream.evaluation.assistant import DialogueOutcome, play, summarise
from aislestream.models.assistant.judge import Judge
from aislestream.models.world.dimensions import Params, generate_dialogues


def test_summary_counts_slots_by_type_conversion_and_turns():
    needs = Params(category="sandals", colour="red")
    outcomes = [DialogueOutcome("a", needs, needs, 2, 0, 0),
                DialogueOutcome("b", Params(category="sandals", colour="blue"), needs, None, 1, 1)]
    s = summarise(outcomes)
    assert s["slot_f1"] == 0.75 and s["exact_match"] == 0.5 and s["conversion"] == 0.5
    assert s["mean_turns_to_success"] == 2 and s["wrong_question_rate"] == 0.5
    assert s["slot_f1_by_type"] == {"category": 1.0, "colour": 0.5}
    assert s["failures"] == {"understanding": 1, "retrieval": 0}


def test_playing_dialogues_turn_by_turn(small_world, tantivy_store):
    judge = Judge(tantivy_store, {p.id: p for p in small_world.products})
    dialogues = generate_dialogues(40, "train", seed=8)
    outcomes = play(RuleAssistant(tantivy_store), dialogues, judge)
    assert [o.needs for o in outcomes] == [d.needs for d in dialogues]
    vague = [o for o, d in zip(outcomes, dialogues) if d.turns[0].kind == "vague"]
    assert vague and all(o.questions >= 1 for o in vague)  # it asked when no product was named
    summary = summarise(outcomes)
    assert summary["slot_f1"] > 0.9 and summary["conversion"] > 0.3
