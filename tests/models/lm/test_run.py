"""Where an external catalog's LM artifacts live, and how its queries are split."""

import json

from aislestream.models.lm.presets import get_preset
from aislestream.models.lm.run import lm_dir, query_split, training_world
from aislestream.settings import load_settings


def _catalog(path, titles):
    path.write_text("".join(json.dumps({"id": f"p{i}", "title": t}) + "\n"
                            for i, t in enumerate(titles)))
    return path


def _labels(path, rows):
    path.write_text("".join(json.dumps({"query": q, "product_id": p, "grade": g}) + "\n"
                            for q, p, g in rows))
    return path


def test_two_catalogs_never_share_a_directory(tmp_path):
    preset = get_preset("micro")
    a = _catalog(tmp_path / "a.jsonl", ["red kettle", "blue lamp"])
    b = _catalog(tmp_path / "b.jsonl", ["red kettle", "green lamp"])
    labels = _labels(tmp_path / "labels.jsonl", [("kettle", "p0", 3)])

    def where(**world):
        return lm_dir(load_settings(data_dir=tmp_path / "data", world=world), preset)

    synthetic = where()
    assert synthetic == tmp_path / "data" / "lm" / "micro"
    dirs = {where(catalog_path=a), where(catalog_path=b), where(catalog_path=a, labels_path=labels),
            where(catalog_path=a, labels_path=labels, relevance_scale="1-4"),
            where(catalog_path=a, labels_path=labels, held_out_fraction=0.3)}
    assert len(dirs) == 5 and synthetic not in dirs  # content, labels and split options all count
    assert all(d.parent == synthetic.parent and d.name.startswith("micro-") for d in dirs)
    assert where(catalog_path=a) == where(catalog_path=a)  # stable: a re-run finds its model


def test_a_test_file_is_the_held_out_set_and_its_queries_never_train(tmp_path):
    catalog = _catalog(tmp_path / "c.jsonl", ["red kettle", "blue lamp", "steel pan"])
    labels = _labels(tmp_path / "train.jsonl", [("kettle", "p0", 3), ("lamp", "p1", 3),
                                                ("pan", "p2", 2)])
    test = _labels(tmp_path / "test.jsonl", [("lamp", "p1", 2), ("red kettel", "p0", 3)])
    settings = load_settings(data_dir=tmp_path, world={
        "catalog_path": catalog, "labels_path": labels, "test_labels_path": test})
    world = training_world(settings, get_preset("micro"))
    train, held = query_split(settings, world)
    assert sorted(q.text for q in held) == ["lamp", "red kettel"]
    assert sorted(q.text for q in train) == ["kettle", "pan"]  # "lamp" is a test query
    assert {q.id for q in train}.isdisjoint(q.id for q in held)


def test_the_held_out_fraction_is_an_option(tmp_path):
    catalog = _catalog(tmp_path / "c.jsonl", ["red kettle"])
    labels = _labels(tmp_path / "l.jsonl", [(f"kettle {i}", "p0", 3) for i in range(200)])

    def held(fraction):
        settings = load_settings(data_dir=tmp_path, world={
            "catalog_path": catalog, "labels_path": labels, "held_out_fraction": fraction})
        return len(query_split(settings, training_world(settings, get_preset("micro")))[1])

    assert 20 < held(0.2) < 60 and 100 < held(0.7) < 180
