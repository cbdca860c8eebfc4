"""Loaders, bad input, the dev split and the exclusion rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sro_bench import data
from sro_bench.data import datasets as d
from sro_bench.errors import DataError

from .conftest import write

PARADETOX_HEAD = "toxic\tneutral1\tneutral2\tneutral3\n"


def test_paradetox_multiline_quotes_and_references(tmp_path):
    path = write(tmp_path / "p.tsv", PARADETOX_HEAD + 'a "quoted" word\tref one\t\t\n"two\nlines"\tr1\tr2\tr3\n')
    ds = data.load_paradetox(path)
    assert ds.inputs == ['a "quoted" word', "two lines"]
    assert ds.references == [["ref one"], ["r1", "r2", "r3"]]
    assert len(ds.pairs()) == 4


@pytest.mark.parametrize(
    "content, line, problem",
    [
        (PARADETOX_HEAD + 'ok\tfine\t\t\n"never closed\tref\t\t\n', 3, "malformed quoting"),
        (PARADETOX_HEAD + '"closed"junk\tref\t\t\n', 2, "malformed quoting"),
        ("toxic\tother\n" + "x\ty\n", 1, "missing column 'neutral1'"),
        (PARADETOX_HEAD + "toxic only\t\t\t\n", 2, "no neutral reference"),
        (PARADETOX_HEAD + "a\tb\tc\td\te\n", 2, "5 fields, header has 4"),
    ],
)
def test_paradetox_bad_input_names_line_and_problem(tmp_path, content, line, problem):
    path = write(tmp_path / "bad.tsv", content)
    with pytest.raises(DataError) as info:
        data.load_paradetox(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ")
    assert problem in message
    assert "\n" not in message


def test_empty_and_whitespace_files_are_errors(tmp_path):
    for content in ("", "  \n\n"):
        path = write(tmp_path / "empty.tsv", content)
        with pytest.raises(DataError, match="empty file"):
            data.load_paradetox(path)


def test_undecodable_bytes_name_their_line(tmp_path):
    path = write(tmp_path / "latin1.tsv", PARADETOX_HEAD.encode() + b"ok\tfine\t\t\ncaf\xe9\tref\t\t\n")
    with pytest.raises(DataError, match=r":3: undecodable bytes"):
        data.load_paradetox(path)


def test_empty_rows_are_skipped_and_counted(tmp_path):
    path = write(tmp_path / "p.tsv", PARADETOX_HEAD + "a\tb\t\t\n\t\t\t\n\nc\td\t\t\n")
    ds = data.load_paradetox(path)
    assert ds.inputs == ["a", "c"]
    assert ds.skipped_empty == 2


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        data.load_lines(tmp_path / "nope.txt")


def test_dirty_csv_multiline_comments(tmp_path):
    path = write(tmp_path / "dirty.csv", 'id,comment_text,toxic\n1,"line one\nline two",1\n2,,1\n3,plain,1\n')
    ds = data.load_dirty(path)
    assert ds.inputs == ["line one line two", "plain"]
    assert ds.skipped_empty == 1


def test_cannot_rewrite_reasons(tmp_path):
    path = write(
        tmp_path / "c.tsv",
        '\tINPUT:toxic_comment\tOUTPUT:reasons\n0\t"""you idiot"""\t"{""toxic_content"":true}"\n'
        '1\t"""fine text"""\t"{""not_toxic"":true}"\n',
    )
    assert data.load_cannot_rewrite(path).inputs == ["you idiot"]
    bad = write(tmp_path / "bad.tsv", '\tINPUT:toxic_comment\tOUTPUT:reasons\n0\t"x"\tnot json\n')
    with pytest.raises(DataError, match=r":2: 'OUTPUT:reasons' is not JSON"):
        data.load_cannot_rewrite(bad)


def test_eval_files(tmp_path):
    tsv = write(tmp_path / "e.tsv", "input\tref1\tref2\nyou idiot\thello\t\nshut up\tbe quiet\tplease stop\n")
    ds = data.load_eval_file(tsv)
    assert ds.references == [["hello"], ["be quiet", "please stop"]]
    txt = write(tmp_path / "e.txt", "one\n\ntwo\n")
    ds = data.load_eval_file(txt)
    assert ds.inputs == ["one", "two"] and ds.references == [] and ds.skipped_empty == 1
    half = write(tmp_path / "h.csv", "input,ref\na,b\nc,\n")
    with pytest.raises(DataError, match="row 2 has none"):
        data.load_eval_file(half)


def test_normalise_and_exclusion(tmp_path):
    assert data.normalise("  You're an IDIOT!!  ") == "you re an idiot"
    ds = data.Dataset("t", ["You're an idiot!", "you re an idiot", "something else"])
    keys = data.read_exclusion_list(write(tmp_path / "x.txt", "YOU'RE AN IDIOT\n\n"))
    kept = data.exclude(ds, keys)
    assert kept.inputs == ["something else"] and kept.excluded == 2


def test_dev_split_is_fixed_disjoint_and_grouped():
    inputs = [f"sentence {i // 2}" for i in range(40)]  # every sentence twice: a pair must not straddle
    ds = data.Dataset("p", inputs, [[f"clean {x}"] for x in inputs])
    train, dev = data.split_dev(ds, size=10)
    assert len(dev) == 10 and len(train) == 30
    assert not {data.normalise(x) for x in train.inputs} & {data.normalise(x) for x in dev.inputs}
    assert data.split_dev(ds, size=10)[1].inputs == dev.inputs
    assert dev.references == [[f"clean {x}"] for x in dev.inputs]


def test_shared_data_counts(data_dir):
    paradetox = data.load_paradetox(data_dir / d.PARADETOX)
    assert len(paradetox) == 11_927 and len(paradetox.pairs()) == 19_743
    assert len(data.load_dirty(data_dir / d.DIRTY)) == 14_869
    assert len(data.load_lines(data_dir / d.NORMAL_FILES[0])) == 6_648
    assert len(data.load_lines(data_dir / d.NORMAL_FILES[1])) == 10_000
    assert len(data.load_lines(data_dir / d.TOXIC_FILES[0])) == 6_646
    assert len(data.load_lines(data_dir / d.TOXIC_FILES[1])) == 9_991
    assert len(data.load_cannot_rewrite(data_dir / d.CANNOT_REWRITE, reasons=("toxic_content",))) == 7_172
    train, dev = data.split_dev(paradetox)
    assert len(dev) == 671 and len(train) + len(dev) == 11_927
    assert not {data.normalise(x) for x in train.inputs} & {data.normalise(x) for x in dev.inputs}


def test_datasets_are_registered(data_dir):
    dev = data.load_dataset("paradetox-dev", data_dir)
    assert len(dev) == 671 and dev.has_references


def test_cli_bad_input_is_one_line_without_traceback(tmp_path):
    inputs = write(tmp_path / "in.txt", "a\nb\n")
    predictions = write(tmp_path / "pred.txt", b"ok\n\xff\n")
    done = subprocess.run(
        [sys.executable, "-c", "from sro_bench.cli.main import main; main()", "eval", "--inputs", str(inputs),
         "--predictions", str(predictions)],
        capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {predictions}:2: undecodable bytes (not UTF-8) at byte 3"
    assert "Traceback" not in done.stderr


def test_every_command_splits_a_file_into_the_same_lines(tmp_path):
    """One rule for line ends (\\n, \\r\\n, a lone \\r); form feeds and U+2028 are text: `eval`, `rewrite` and
    `run --eval-file` read the same rows from one file (they differed before: str.splitlines against "\\n")."""
    from sro_bench.data.datasets import content_digest
    from sro_bench.run.evaluate import read_aligned_lines

    path = tmp_path / "inputs.txt"
    path.write_bytes("one\rtwo\u2028still two\x0cand still\r\nthree\x85 too\n".encode())
    expected = ["one", "two\u2028still two\x0cand still", "three\x85 too"]
    assert read_aligned_lines(path, allow_empty=False) == expected  # eval --inputs, rewrite --input
    assert d.load_eval_file(path).inputs == expected  # run --eval-file
    assert [text for _, text in data.read_lines(path)[0]] == expected  # --exclude, the data files
    assert data.split_lines("a\n\nb") == ["a", "", "b"] and data.split_lines("a\r\n") == ["a"]
    assert content_digest(read_aligned_lines(path, allow_empty=False)) == content_digest(d.load_eval_file(path).inputs)


@pytest.mark.parametrize("name, content, said", [
    ("refs.tsv", "toxic,neutral1\nyou idiot,you\n", "the header is comma-separated, not tab-separated as the file's name says: rename it .csv"),
    ("refs.csv", "toxic\tneutral1\nyou idiot\tyou\n", "the header is tab-separated, not comma-separated as the file's name says: rename it .tsv"),
])
def test_a_delimited_file_under_the_other_formats_name_is_refused(tmp_path, name, content, said):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=f"{name}:1: {said}"):
        d.load_eval_file(path)
    # one column with commas in its text is still a .tsv
    (tmp_path / "one.tsv").write_text("toxic\nyou, idiot\n")
    assert d.load_eval_file(tmp_path / "one.tsv").inputs == ["you, idiot"]
