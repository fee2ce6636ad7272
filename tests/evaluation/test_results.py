import json

from aislestream.evaluation.results import write_results


def test_a_part_lands_under_its_key_and_survives_a_rewrite_of_the_whole(tmp_path):
    write_results("expansion", {"methods": {"none": 1}}, "default table", "aisle eval expansion",
                  docs=tmp_path, page="RESULTS.md")
    write_results("expansion", {"methods": {"none": 2}}, "hard table",
                  "aisle eval expansion --world hard", docs=tmp_path, page="RESULTS.md",
                  part="hard_world")
    data = json.loads((tmp_path / "results" / "expansion.json").read_text())
    assert data["methods"] == {"none": 1} and data["command"] == "aisle eval expansion"
    assert data["hard_world"]["methods"] == {"none": 2} and data["parts"] == ["hard_world"]
    assert data["hard_world"]["command"] == "aisle eval expansion --world hard"
    write_results("expansion", {"methods": {"none": 3}}, "default again", "aisle eval expansion",
                  docs=tmp_path, page="RESULTS.md")
    data = json.loads((tmp_path / "results" / "expansion.json").read_text())
    assert data["methods"] == {"none": 3} and data["hard_world"]["methods"] == {"none": 2}
    page = (tmp_path / "RESULTS.md").read_text()
    assert "default again" in page and "hard table" in page and "default table" not in page
    assert page.count("<!-- bench:expansion_hard_world:start -->") == 1
