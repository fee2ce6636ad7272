import json

import pytest

from aislestream.errors import CatalogError
from aislestream.models.world import (
    RelevanceScale,
    World,
    WorldConfig,
    load_catalog,
    load_external,
    load_labels,
)


def test_export_then_load_round_trips(tmp_path):
    world = World.generate(WorldConfig(seed=3, n_products=300, n_users=5, n_queries=15))
    catalog, labels = world.export(tmp_path)
    loaded = load_external(catalog, labels)
    assert [p.id for p in loaded.products] == [p.id for p in world.products]
    assert loaded.products[0].colour == world.products[0].colour
    assert loaded.products[0].features == world.products[0].features
    by_text = {q.text: q for q in world.queries}
    for q in loaded.queries:
        assert q.relevance == by_text[q.text].relevance
        assert q.query_type == by_text[q.text].query_type


def test_csv_catalog_with_extra_attribute_columns(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("id,title,description,color,price,warranty\n"
                    "a1,Red kettle,Boils water,red,19.5,2 years\n"
                    "a2,Blue kettle,Boils water fast,blue,,\n")
    products = load_catalog(path)
    assert products[0].colour == "red" and products[0].price == 19.5
    assert products[0].attributes()["warranty"] == "2 years"
    assert products[1].price == 0.0 and "warranty" not in products[1].attributes()


def test_titles_only_catalogs_are_accepted_and_a_missing_title_is_named(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("id,title,description\nx,Some title,\ny,Other title,Has one\n")
    products = load_catalog(path)  # an empty description is no error: many catalogs have none
    assert [p.description for p in products] == ["", "Has one"]
    (tmp_path / "bare.csv").write_text("id,title\nx,Some title\n")
    assert load_catalog(tmp_path / "bare.csv")[0].title == "Some title"
    path.write_text("id,title\nx,\n")
    with pytest.raises(CatalogError, match=r"catalog.csv:2: missing required column\(s\): title"):
        load_catalog(path)


@pytest.mark.parametrize("content, message", [
    ('{"id": "1", "title": "t", "description": "d", "price": "cheap"}\n',
     "price 'cheap' is not a number"),
    ('{"id": "1", "title": "t", "description": "d"}\n'
     '{"id": "1", "title": "t", "description": "d"}\n',
     "duplicate product id '1'"),
    ("not json\n", "not valid JSON"),
    ('["a list"]\n', "expected a JSON object"),
])
def test_bad_catalog_rows_are_reported_with_line(tmp_path, content, message):
    path = tmp_path / "catalog.jsonl"
    path.write_text(content)
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_unsupported_format_and_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="unsupported format '.xml'"):
        load_catalog(tmp_path / "x.xml") if (tmp_path / "x.xml").write_text("<a/>") else None
    with pytest.raises(CatalogError, match="file not found"):
        load_catalog(tmp_path / "nope.csv")


def test_labels_validate_grades_and_product_ids(tmp_path):
    ids = {"p1", "p2"}
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"query": "q", "product_id": "p1", "relevance": 7}) + "\n")
    with pytest.raises(CatalogError, match="outside 0-3"):
        load_labels(path, ids)
    path.write_text(json.dumps({"query": "q", "product_id": "zz", "relevance": 2}) + "\n")
    with pytest.raises(CatalogError, match="1 label\\(s\\) name products not in the catalog"):
        load_labels(path, ids)
    path.write_text(json.dumps({"query": "q", "product_id": "p1"}) + "\n")
    with pytest.raises(CatalogError, match="missing required column\\(s\\): relevance or grade"):
        load_labels(path, ids)
    path.write_text(json.dumps({"query": "q", "product_id": "p1", "relevance": 2.5}) + "\n")
    with pytest.raises(CatalogError, match="not an integer grade .*--relevance-scale"):
        load_labels(path, ids)


@pytest.mark.parametrize("scale, raw, grade", [
    ("0-3", 2, 2), ("1-4", 1, 0), ("1-4", 4, 3), ("1-4", "3", 2),
    ("1-3", 2.33, 2), ("1-3", 2.67, 3), ("1-3", 1, 0), ("1-3", 3, 3),
    ("irrelevant=0,partial=1,exact=3", "exact", 3),
])
def test_a_relevance_scale_maps_onto_zero_to_three(scale, raw, grade):
    assert RelevanceScale.parse(scale).grade(raw) == grade


@pytest.mark.parametrize("scale", ["4", "4-1", "a-b", "good=5", "=1"])
def test_a_bad_relevance_scale_is_refused(scale):
    with pytest.raises(CatalogError, match="relevance scale"):
        RelevanceScale.parse(scale)


def test_labels_on_another_scale_in_a_grade_column(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("query,product_id,grade\nred kettle,p1,4\nred kettle,p2,1\nlamp,p2,2.5\n")
    queries = load_labels(path, {"p1", "p2"}, RelevanceScale.parse("1-4"))
    assert {q.text: q.relevance for q in queries} == {"red kettle": {"p1": 3}, "lamp": {"p2": 2}}
    path.write_text("query,product_id,grade\nlamp,p2,5\n")
    with pytest.raises(CatalogError, match="labels.csv:2: grade 5 is outside 1-4"):
        load_labels(path, {"p2"}, RelevanceScale.parse("1-4"))
    path.write_text("query,product_id,grade\nlamp,p2,meh\n")
    with pytest.raises(CatalogError, match="'meh' is not one of"):
        load_labels(path, {"p2"}, RelevanceScale.parse("bad=0,good=2"))
