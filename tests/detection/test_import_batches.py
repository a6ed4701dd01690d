"""The reading half of the import, without a database: batches, the child process, carried authors."""

import json
import os
import signal
from dataclasses import replace

import pytest

from detection.engine.readers import CanonicalChunk, PostColumns, read_canonical_chunks
from detection.engine.records import SampleFileError
from detection.ingest.batches import _json_list, read_batches
from detection.ingest.reader_process import ReaderProcessError, batches_from_child

HEADER = "platform,post_id,account_id,created_at,text,reshare_of,urls,hashtags,handle\n"


def options(path, **overrides):
    return {
        "path": str(path),
        "fmt": "canonical-csv",
        "platform": None,
        "max_inflated_bytes": 1 << 30,
        "max_inflation_ratio": 100.0,
        "skip_rows": 0,
        "batch_rows": 3,
        "copy_text": True,
        **overrides,
    }


@pytest.fixture
def sample_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        HEADER
        + "x,1,a,2024-01-01T00:00:00Z,hello https://e.example/x?utm_source=t,,https://E.example/x?utm_source=t,#Tag,\n"
        + "x,2,b,2024-01-01T00:01:00Z,台灣 選舉,1,,,\n"
        + "x,1,a,2024-01-01T00:00:00Z,,,,#other,\n"  # an in-file duplicate of post 1, merged
        + "x,3,a,not a time,bad row,,,,\n"
        + "x,4,a,2024-01-01T00:02:00Z,again,,,,\n"  # author a was carried by the first batch
        + "x,5,b,2024-01-01T00:03:00Z,tab\there,,,,bee\n"  # author b brings its first handle
        + "x,6,c,2024-01-01T00:04:00Z,new author,,,,\n",
        encoding="utf-8",
    )
    return path


def summary(batches):
    return [
        (
            b.rows,
            b.duplicates,
            b.accounts_named,
            [(e.line, e.field) for e in b.errors],
            b.payload.posts,
            b.payload.post_keys(),
            b.payload.post_lines,
            b.payload.authors,
            b.payload.post_author_index,
            b.payload.accounts,
        )
        for b in batches
    ]


def test_a_child_process_reads_the_same_batches_as_this_one(sample_file):
    here = summary(read_batches(**options(sample_file)))
    assert summary(batches_from_child(**options(sample_file))) == here
    assert [rows for rows, *_ in here] == [3, 3, 1]


def test_batches_carry_copy_text_merged_duplicates_and_errors(sample_file):
    first, second, third = read_batches(**options(sample_file))
    assert first.duplicates == 1 and first.payload.post_keys() == [("x", "1"), ("x", "2")]
    line = first.payload.post_lines.decode().splitlines()[0].split("\t")
    assert line[:3] == ["x", "1", "2024-01-01T00:00:00+00:00"]
    assert '["https://e.example/x"]' in line and '["tag","other"]' in line
    assert [(e.line, e.field) for e in second.errors] == [(5, "created_at")]
    assert second.payload.post_keys() == [("x", "4"), ("x", "5")]
    assert second.payload.post_lines.decode().splitlines()[1].split("\t")[3] == "tab\\there"
    # Author a was carried by the first batch and brings nothing new: it is named, but has no account entry.
    assert ("x", "a") in second.payload.authors and ("x", "a") not in second.payload.accounts
    # Author b brings its first handle, so it travels again, with the handle.
    assert second.payload.accounts[("x", "b")]["handle"] == "bee"
    assert third.payload.authors == [("x", "c")] and third.payload.accounts == {}


def test_skipped_rows_are_not_read_again(sample_file):
    batches = list(read_batches(**options(sample_file, skip_rows=5)))
    assert [b.payload.post_keys() for b in batches] == [[("x", "5"), ("x", "6")]]
    assert sum(b.rows for b in batches) == 2


def test_the_portable_path_keeps_records_and_every_author(sample_file):
    first, second, _ = read_batches(**options(sample_file, copy_text=False))
    assert first.payload is None and set(first.posts) == {("x", "1"), ("x", "2")}
    assert set(second.accounts) == {("x", "a"), ("x", "b")}  # nothing is left out without the writer's memory


def test_the_child_raises_what_the_reader_raised(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(batches_from_child(**options(tmp_path / "missing.csv")))
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(HEADER.encode("utf-16"))
    with pytest.raises(ValueError, match="UTF-16"):
        list(batches_from_child(**options(utf16)))


def test_a_child_that_dies_is_an_error_not_an_end(sample_file, monkeypatch):
    monkeypatch.setattr("detection.ingest.reader_process._CHILD_COMMAND", "import os; os._exit(3)")
    with pytest.raises(ReaderProcessError, match="exit status 3"):
        list(batches_from_child(**options(sample_file)))


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("import sys; sys.stderr.write('MemoryError: out of room\\n'); sys.exit(1)", "exit status 1.*out of room"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
        (
            "import csv, pickle, sys; "
            "pickle.dump(('error', csv.Error('field larger than field limit')), sys.stdout.buffer)",
            "the reading process failed: Error: field larger than field limit",
        ),
    ],
)
def test_any_failure_of_the_child_is_a_reader_error_that_says_why(sample_file, monkeypatch, command, reason):
    monkeypatch.setattr("detection.ingest.reader_process._CHILD_COMMAND", command)
    with pytest.raises(ReaderProcessError, match=reason) as failure:
        list(batches_from_child(**options(sample_file)))
    assert isinstance(failure.value, SampleFileError)  # the import fails with it, rather than being left running


def test_a_header_cell_over_the_csv_modules_default_limit_is_refused_alike_in_both_processes(tmp_path):
    """131,072 characters is the csv module's limit in a fresh process (the child): without raising it there
    too, the child died on a header the parent could read."""
    path = tmp_path / "wide.csv"
    path.write_text(HEADER.replace("text", "t" * 200_000) + "x,1,a,2024-01-01T00:00:00Z,,,,,\n" * 100_000)
    assert path.stat().st_size >= 2 * 1024**2
    for reader in (batches_from_child, read_batches):
        with pytest.raises(SampleFileError, match="200,000 characters.*not a header") as refused:
            list(reader(**options(path)))
        assert not isinstance(refused.value, ReaderProcessError)


@pytest.mark.parametrize(
    "items",
    [("a",), ("tag", "other"), ('say "hi"',), ('a"', '"b'), ("back\\slash",), ("line\u2028sep",), ("台灣", "選舉")],
)
def test_lists_become_the_json_they_hold(items):
    text = _json_list(items)
    assert json.loads(text) == list(items)


def reading_processes():
    pids = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as handle:
            pids += [int(pid) for pid in handle.read().split()]
    return [pid for pid in pids if b"child_main" in open(f"/proc/{pid}/cmdline", "rb").read()]


def test_the_reading_process_leaves_sigterm_and_sigint_to_the_importer(tmp_path):
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        pytest.skip("needs Linux's /proc children")
    path = tmp_path / "s.csv"
    # Batches larger than the pipe holds, so the child is still reading (blocked on the pipe) when signalled.
    path.write_text(HEADER + "".join(f"x,{i},a{i % 5},2024-01-01T00:00:00Z,post {i},,,,\n" for i in range(20_000)))
    batches = batches_from_child(**options(path, batch_rows=2_000))
    first = next(batches)
    (child,) = reading_processes()
    os.kill(child, signal.SIGTERM)
    os.kill(child, signal.SIGINT)
    rest = list(batches)
    assert first.rows + sum(b.rows for b in rest) == 20_000
    assert not reading_processes()


def varied_rows(count):
    """Canonical rows with every kind of value the columnar reading must handle as the row-by-row one does."""
    header = (
        "platform,post_id,account_id,created_at,text,reshare_of,reply_to,urls,hashtags,mentions,media_hashes,lang,"
        "handle\n"
    )
    texts = [
        "plain words",
        "台灣 選舉 ＡＢＣ",
        "RT @Someone: copied",
        "tab\there",
        'say "hi"',
        "back\\slash",
        "",
        "same",
    ]
    urls = ["", "", "https://WWW.News.example:443/a?utm_source=x&id=1#top", '["https://a.example/x", "b.example"]']
    tags = ["", "#Tag #TAG", "[Ünïcode, 'other']", "#台灣"]
    rows = []
    for i in range(count):
        bad = i % 97 == 50  # a rejected row now and then, so some batches are read row by row
        duplicate = i % 89 == 40  # an in-file duplicate of the row before
        post_id = str(i - 1) if duplicate else f" {i} "
        rows.append(
            ",".join(
                [
                    ["x", "Twitter", "telegram"][i % 3] if not duplicate else ["x", "Twitter", "telegram"][(i - 1) % 3],
                    post_id,
                    f"a{i % 13}",
                    "not a time" if bad else ["2024-01-13T10:00:00Z", "1705140000", "2024-01-13 18:00:00+08:00"][i % 3],
                    '"' + texts[i % len(texts)].replace('"', '""') + (" line\nbreak" if i % 31 == 0 else "") + '"',
                    str(i - 2) if i % 5 == 0 else "",
                    "",
                    '"' + urls[i % len(urls)].replace('"', '""') + '"',
                    '"' + tags[i % len(tags)].replace('"', '""') + '"',
                    "@Bob" if i % 7 == 0 else "",
                    "",
                    " en " if i % 2 else "",
                    "@handle" + str(i % 13) if i % 11 == 0 else "",
                ]
            )
        )
    return header + "\n".join(rows) + "\n"


@pytest.mark.parametrize("batch_rows", [1, 7, 40, 1000])
def test_columns_and_rows_read_the_same_batches(tmp_path, monkeypatch, batch_rows):
    path = tmp_path / "varied.csv"
    path.write_text(varied_rows(600), encoding="utf-8")
    as_columns = []
    columns = CanonicalChunk.columns

    def counted(chunk):
        as_columns.append(columns(chunk) is not None)
        return columns(chunk)

    monkeypatch.setattr(CanonicalChunk, "columns", counted)
    by_columns = summary(read_batches(**options(path, batch_rows=batch_rows)))
    assert any(as_columns) == (batch_rows <= 40) and not all(as_columns)  # clean chunks as columns, others not
    monkeypatch.setattr(CanonicalChunk, "columns", lambda self: None)
    by_rows = summary(read_batches(**options(path, batch_rows=batch_rows)))
    assert by_columns == by_rows
    assert sum(batch[0] for batch in by_rows) == 600
    assert any(batch[3] for batch in by_rows)  # rejected rows
    assert any(batch[1] for batch in by_rows) == (batch_rows > 1)  # in-file duplicates merged


def test_a_clean_chunk_is_read_as_columns_equal_to_its_records(tmp_path):
    path = tmp_path / "clean.csv"
    path.write_text(HEADER + "x,1,a,2024-01-01T00:00:00Z,hello,,https://E.example/x?utm_source=t,#Tag,@Bee\n")
    (chunk,) = read_canonical_chunks(str(path), chunk_rows=10)
    columns = chunk.columns()
    assert columns is not None
    records = list(columns.records())
    assert [replace(r, line=0) for r in chunk.records()] == records
    assert list(PostColumns.from_records(records).records()) == records
