from aislestream.models.world import ClickModel


def _run(world, ranked, relevance, sessions=3000, seed=0):
    sim = world.simulator(seed=seed)
    users = [u.id for u in world.users]
    return [sim.session(users[i % len(users)], ranked, relevance) for i in range(sessions)]


def test_clicks_fall_with_rank(small_world):
    ranked = [p.id for p in small_world.products[:10]]
    relevance = {pid: 2 for pid in ranked}  # equal relevance: only position differs
    outcomes = _run(small_world, ranked, relevance)
    clicks_by_rank = [sum(o.clicks.count(pid) for o in outcomes) for pid in ranked]
    assert clicks_by_rank[0] > 2 * clicks_by_rank[4] > 0
    assert clicks_by_rank[0] > clicks_by_rank[9]


def test_relevant_results_convert_more(small_world):
    q = next(q for q in small_world.queries if q.query_type == "torso")
    relevant = sorted(q.relevance, key=lambda p: -q.relevance[p])[:10]
    irrelevant = [p.id for p in small_world.products if p.id not in q.relevance][:10]
    good = _run(small_world, relevant, q.relevance)
    bad = _run(small_world, irrelevant, q.relevance)
    assert sum(o.converted for o in good) > 5 * max(1, sum(o.converted for o in bad))
    assert sum(o.revenue for o in good) > sum(o.revenue for o in bad)


def test_sessions_are_deterministic_by_seed(small_world):
    ranked = [p.id for p in small_world.products[:10]]
    relevance = {pid: 3 for pid in ranked}
    a = [o.clicks for o in _run(small_world, ranked, relevance, 200, seed=5)]
    b = [o.clicks for o in _run(small_world, ranked, relevance, 200, seed=5)]
    assert a == b


def test_stronger_position_decay_means_fewer_deep_clicks(small_world):
    ranked = [p.id for p in small_world.products[:10]]
    relevance = {pid: 3 for pid in ranked}
    flat = small_world.simulator(seed=1, model=ClickModel(position_decay=0.2))
    steep = small_world.simulator(seed=1, model=ClickModel(position_decay=2.0))
    users = [u.id for u in small_world.users]
    deep = lambda sim: sum(  # noqa: E731
        pid in ranked[5:] for i in range(2000)
        for pid in sim.session(users[i % 50], ranked, relevance).clicks
    )
    assert deep(flat) > 3 * deep(steep)
