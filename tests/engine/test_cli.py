import csv
import io
import json

from detection.engine.__main__ import main
from detection.engine.output import safe_cell

HEADER = "platform,post_id,account_id,created_at,text,reshare_of,reply_to,urls,hashtags,mentions,media_hashes,lang\n"


def write_sample(path, rows):
    path.write_text(HEADER + "".join(rows), encoding="utf-8")


def test_cli_writes_the_four_outputs(tmp_path):
    sample = tmp_path / "sample.csv"
    rows = []
    for i in range(6):
        rows.append(f"x,{i}a,=cmd|calc,2024-01-13T10:00:{i:02d}Z,,r{i},,,,,,\n")
        rows.append(f"x,{i}b,bob,2024-01-13T10:00:{i + 1:02d}Z,,r{i},,,,,,\n")
    write_sample(sample, rows)
    out = tmp_path / "out"
    status = main([str(sample), "--out", str(out), "--behaviours", "co-reshare", "--min-weight", "2", "--quiet"])
    assert status == 0
    for name in ("edges.csv", "groups.csv", "accounts.csv", "summary.json", "evidence.csv"):
        assert (out / name).is_file()
    edges = list(csv.DictReader((out / "edges.csv").open(encoding="utf-8")))
    assert len(edges) == 1
    assert {edges[0]["source"], edges[0]["target"]} == {"'=cmd|calc", "bob"}
    assert edges[0]["weight"] == "6"
    accounts = list(csv.DictReader((out / "accounts.csv").open(encoding="utf-8")))
    assert [a["account_id"] for a in accounts] == ["'=cmd|calc", "bob"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["behaviours"]["co-reshare"]["edges"] == 1
    assert summary["selection"] == "min_weight"


def test_cli_refuses_bad_input_with_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("this,is,not\na,sample,file\n", encoding="utf-8")
    assert main([str(bad), "--out", str(tmp_path / "o"), "--quiet"]) != 0
    assert "error" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert main([str(bad), "--out", str(tmp_path / "o"), "--behaviours", "co-dance", "--quiet"]) == 2
    assert "unknown behaviour" in capsys.readouterr().err


def test_cli_refuses_a_run_over_its_pair_budget_before_building_it(tmp_path, capsys):
    sample = tmp_path / "one_tag.csv"
    write_sample(sample, [f"x,{i},a{i},2024-01-13T10:{i:02d}:00Z,,,,,#tag,,,\n" for i in range(50)])
    out = tmp_path / "out"
    command = [str(sample), "--out", str(out), "--window", "86400", "--quiet"]
    assert main([*command, "--max-pairs", "1224"]) == 1
    assert "error: This run would build 1,225 co-action pairs (co-hashtag 1,225), more than the limit of 1,224" in (
        capsys.readouterr().err
    )
    assert not out.exists()
    assert main([*command, "--max-pairs", "1225"]) == 0 and (out / "summary.json").is_file()


def test_formula_cells_are_neutralised():
    for cell in ("=1+1", "+1", "-1+2", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(cell).startswith("'")
    assert safe_cell("plain") == "plain"
    assert safe_cell("-12.5") == "-12.5"  # a plain number cannot run
    assert safe_cell(3) == "3"


def test_every_rendered_text_cell_is_neutralised():
    """render applies safe_cell only where a cell could run: check every cell of every file."""
    import re

    from detection.engine import EngineParams, render, run
    from tests.engine.helpers import post

    posts = [
        post("=p1", "=cmd|calc", 0, platform="+x", reshare_of="r", text="same words again and again"),
        post("@p2", "-bob", 5, platform="+x", reshare_of="r"),
        post("-3", "@carol", 9, platform="+x", reshare_of="r"),
        post("p4", "-bob", 70, platform="+x", reshare_of="q"),
        post("p5", "=cmd|calc", 72, platform="+x", reshare_of="q"),
    ]
    rendered = render(run(posts, params=EngineParams(min_weight=1)))
    number = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")
    cells = 0
    for name, text in rendered.items():
        if not name.endswith(".csv"):
            continue
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                cells += 1
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or number.fullmatch(cell), (name, cell)
    assert cells > 50
    assert "'=cmd|calc" in rendered["edges.csv"] and "'@p2" in rendered["evidence.csv"]
