import json

import pytest

from aislestream.errors import CatalogError
from aislestream.models.world import World, WorldConfig, load_catalog, load_external, load_labels


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


def test_missing_required_column_is_named(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("id,title\nx,Some title\n")
    with pytest.raises(CatalogError,
                       match=r"catalog.csv:2: missing required column\(s\): description"):
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
    with pytest.raises(CatalogError, match="missing required column\\(s\\): relevance"):
        load_labels(path, ids)
