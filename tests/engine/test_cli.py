import csv
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


def test_formula_cells_are_neutralised():
    for cell in ("=1+1", "+1", "-1+2", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(cell).startswith("'")
    assert safe_cell("plain") == "plain"
    assert safe_cell("-12.5") == "-12.5"  # a plain number cannot run
    assert safe_cell(3) == "3"
