"""Leaderboards for papers and the web: LaTeX and HTML from the same records, seeds as mean ± std."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sro_bench.publish.leaderboard import publish
from sro_bench.run.records import new_record
from sro_bench.util.dataclass_json import write_json


def run_record(root: Path, method: str, seed: int, j: float, sta: float, lr: float = 2e-5) -> None:
    write_json(root / f"{method}-{lr}-s{seed}" / "record.json", new_record(
        "run", run_id=f"{method}-s{seed}", seed=seed, method={"name": method, "kind": "objective", "distribution": "x"},
        config={"method": method, "seed": seed, "leader": {"name": "tiny"}, "follower": "nblr", "game": {"lr": lr}},
        perturbation=[], evaluation={"name": "dev", "rows": 3, "digest": "d3"},
        metrics={"STA": sta, "SIM": 0.8, "FL": 0.7, "J": j, "BLEU": 30.0 + seed}, game={"steps": 4, "history": []},
        rewrite_quality={"nonword_rate": 0.01, "repetition_rate": 0.02}, suite={"judges": {"fl": "fl-x"}}))


@pytest.fixture
def board(tmp_path) -> Path:
    root = tmp_path / "records"
    run_record(root, "sro", 0, 0.30, 0.70)
    run_record(root, "sro", 1, 0.40, 0.80)
    run_record(root, "grpo_keep", 0, 0.45, 0.60)
    run_record(root, "sro", 0, 0.10, 0.90, lr=1e-3)  # another configuration: never averaged with the others
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    publish([root], tmp_path / "out" / "board.md", title="Test board", command="sro-bench leaderboard (test)", plot=plot)
    return tmp_path / "out" / "board.md"


def test_latex_is_booktabs_with_spread_and_the_best_in_bold(board):
    tex = board.with_suffix(".tex").read_text()
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert tex.count(rule) == 1
    lines = [line for line in tex.splitlines() if line.endswith("\\\\")][1:]
    assert [line.split(" & ")[0] for line in lines] == ["grpo\\_keep", "sro", "sro"]  # by mean J; escaped
    sro = next(line for line in lines if line.startswith("sro & ") and "0.350" in line)
    assert "0.350 $\\pm$ 0.071" in sro and " & 2 & " in sro  # J over two seeds, sample std
    assert "\\textbf{0.450}" in lines[0] and "\\textbf{0.900}" in lines[2]  # best J; best STA


class Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.links, self.images, self._row = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._row.append(attrs.get("data-value"))
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self.rows.append(self._row)
            self._row = None


def test_html_page_is_self_contained_with_links_and_plot(board):
    page = board.with_suffix(".html").read_text()
    parsed = Rows()
    parsed.feed(page)
    assert len(parsed.rows) == 3 and [r[0] for r in parsed.rows] == ["grpo_keep", "sro", "sro"]
    assert len(parsed.links) == 4 and all((board.parent / link).is_file() for link in parsed.links)
    assert parsed.images and parsed.images[0].startswith("data:image/png;base64,")
    assert "<script>" in page and "http" not in page.replace("http-equiv", "")  # nothing fetched from elsewhere
    means = board.with_name("board-means.csv").read_text().splitlines()
    assert len(means) == 4 and means[0].startswith("eval_set,judges,method") and "J_std" in means[0]


def browser() -> str | None:
    return next((b for b in ("chromium", "chromium-browser", "google-chrome", "chrome") if shutil.which(b)), None)


@pytest.mark.skipif(browser() is None, reason="no headless browser installed (Debian: apt install chromium)")
def test_html_sorts_by_j_in_a_real_browser(board):
    url = board.with_suffix(".html").resolve().as_uri() + "#sort=STA"
    dom = subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url],
                         capture_output=True, text=True, timeout=60).stdout
    parsed = Rows()
    parsed.feed(dom)
    assert len(parsed.rows) == 3
    sta = [float(r[7]) for r in parsed.rows]  # method..seeds, records, then STA
    assert sta == sorted(sta, reverse=True)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_pages_sort_script_orders_rows_by_a_column(board):
    """The page's own script, run by node against a minimal stand-in for the DOM: #sort=STA puts the highest first."""
    import json
    import re

    page = board.with_suffix(".html").read_text()
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    parsed = Rows()
    parsed.feed(page)
    header = ["method", "leader", "follower", "perturbation", "steps", "seeds", "records", "STA"]
    harness = f"""
const rows = {json.dumps(parsed.rows)}.map(values => ({{cells: values.map(v => ({{dataset: {{value: v}}}}))}}));
const order = [];
const body = {{rows, appendChild: row => order.push(row)}};
const cells = {json.dumps(header)}.map(name => ({{dataset: {{column: name}}, addEventListener: () => {{}}}}));
const table = {{tBodies: [body], tHead: {{rows: [{{cells}}]}}}};
global.document = {{querySelectorAll: () => [table]}};
global.location = {{hash: "#sort=STA"}};
{script}
console.log(JSON.stringify(order.map(row => row.cells[7].dataset.value)));
"""
    done = subprocess.run(["node", "-e", harness], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    sta = [float(v) for v in json.loads(done.stdout)]
    assert len(sta) == 3 and sta == sorted(sta, reverse=True) and sta[0] == 0.9


def test_a_board_counts_a_copied_record_once_refuses_infinity_and_says_what_it_did_not_read(tmp_path):
    import json

    from sro_bench.errors import UserError

    root = tmp_path / "records"
    run_record(root, "sro", 0, 0.30, 0.70)
    run_record(root, "sro", 1, 0.40, 0.80)
    shutil.copytree(root / "sro-2e-05-s1", root / "copy-of-s1")  # the same run twice is not a second seed
    shutil.copy(root / "sro-2e-05-s0" / "record.json", root / "eval-output.json")  # `eval --json` named otherwise
    result = publish([root, root / "sro-2e-05-s0" / "record.json"], tmp_path / "board.md", command="test")
    assert result["rows"] == 2 and result["duplicates"] == [root / "sro-2e-05-s1" / "record.json"]
    assert result["unnamed"] == [root / "eval-output.json"]
    assert "| sro | tiny | nblr | - | 4 | 3 | 2 | 0.750 ± 0.071 |" in (tmp_path / "board.md").read_text()  # 2 seeds, not 3

    record = json.loads((root / "sro-2e-05-s0" / "record.json").read_text())
    record["metrics"]["J"] = float("inf")
    (root / "sro-2e-05-s0" / "record.json").write_text(json.dumps(record))  # "Infinity" in the JSON
    with pytest.raises(UserError, match=r"sro-2e-05-s0/record.json: malformed run record: 'metrics' must be an "
                                        r"object of finite numbers \(or null\)"):
        publish([root], tmp_path / "board2.md", command="test")


def test_a_board_is_published_as_one_set_or_not_at_all(board, monkeypatch):
    import errno
    import io
    import os

    from sro_bench.errors import UserError
    from sro_bench.util import files

    before = {p.name: p.read_bytes() for p in board.parent.iterdir()}
    opened, fdopen = [], os.fdopen

    class Full(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    def fill_up(fd, *args, **kwargs):  # the third file of the set meets a full disk
        opened.append(fd)
        if len(opened) == 3:
            os.close(fd)
            return Full()
        return fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(files.os, "fdopen", fill_up)
    with pytest.raises(UserError, match=r"board-means.csv: cannot write \(No space left on device\); none of the 5 "
                                        r"files was replaced"):
        publish([board.parent.parent / "records"], board, title="Test board", command="again")
    assert {p.name: p.read_bytes() for p in board.parent.iterdir()} == before  # the old set, whole, no debris


def test_a_board_marks_pairs_methods_and_shows_the_untrained_start(tmp_path):
    from sro_bench.publish.leaderboard import row
    from sro_bench.run.records import Record

    def record(source: str, start: float | None) -> Record:
        return Record(new_record(
            "run", run_id="r", seed=0, method={"name": "m", "kind": "objective", "distribution": "x"},
            config={"method": "m", "leader": {"name": "tiny"}, "follower": "nblr",
                    "game": {"decode": "infill", "temperature": 0.7} if source == "samples" else {}}, perturbation=[],
            evaluation={"name": "dev", "rows": 3, "digest": "d3"}, metrics={"J": 0.5}, objective={"source": source},
            game={"steps": 12, "history": [{"step": i + 1, "judge_pass": 0.5 if i < 6 else 0.75} for i in range(12)]},
            **({"start": {"metrics": {"J": start}}} if start is not None else {})), None)

    pairs, samples = row(record("pairs", 0.28)), row(record("samples", None))
    assert pairs["method"] == "m (parallel data)" and pairs["follower"] == "-" and pairs["start J"] == 0.28
    assert samples["method"] == "m (decode infill, temperature 0.7)" and samples["follower"] == "nblr"
    assert samples["start J"] is None
    # judge pass over the first 10 steps (six at 0.5, four at 0.75) and the last 10 (four at 0.5, six at 0.75)
    assert samples["judge first 10"] == pytest.approx(0.6) and samples["judge last 10"] == pytest.approx(0.65)
