"""A run's report and a board's page, loaded in a real headless browser (Debian's chromium through selenium).

Skipped, saying why, where chromium, its driver or selenium is missing; `.ci/run` installs them.
Each test leaves a screenshot of its page under its tmp dir.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.publish.leaderboard import publish
from sro_bench.leaders import LeaderConfig
from sro_bench.publish.report import write_run_report
from sro_bench.run.runner import run


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "no headless browser installed (Debian: apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "no chromedriver installed (Debian: apt-get install chromium-driver)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory) -> Path:
    """A trained run and the two training-free rows beside it, on the same 12 dev rows."""
    runs_dir = tmp_path_factory.mktemp("runs")
    game = GameConfig(max_steps=3, batch_size=4, max_train_inputs=24, max_new_tokens=8, checkpoint_every=0)
    for seed in (0, 1):
        run(RunConfig(leader=LeaderConfig(name="tiny"), game=game, eval_limit=12, data_dir=data_dir,
                      runs_dir=runs_dir, run_id=f"sro-s{seed}", seed=seed), progress=False)
    for method in ("delete", "duplicate"):
        run(RunConfig(method=method, eval_limit=12, data_dir=data_dir, runs_dir=runs_dir, run_id=method), progress=False)
    return runs_dir


@pytest.fixture(scope="module")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    yield browser
    browser.quit()


def load(driver, page: Path, screenshot: Path) -> None:
    driver.get(page.resolve().as_uri())
    driver.get_log("browser")  # the log of this load only from here on
    driver.refresh()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(screenshot))
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    assert screenshot.stat().st_size > 10_000


def rendered(driver, element) -> tuple[float, float]:
    box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", element)
    return box[0], box[1]


def column(driver, table, name: str) -> list[str]:
    headers = [th.get_attribute("data-column") for th in table.find_elements("css selector", "thead th")]
    index = headers.index(name)
    return [tr.find_elements("css selector", "td")[index].get_attribute("data-value")
            for tr in table.find_elements("css selector", "tbody tr")]


def test_a_run_report_renders_its_figures_curves_and_rewrites(runs, driver, data_dir, tmp_path):
    page = write_run_report(runs / "sro-s0", data_dir=data_dir)
    load(driver, page, tmp_path / "run-report.png")
    figures = driver.find_element("css selector", "table.figures")
    systems = [tr.find_element("css selector", "td").text for tr in figures.find_elements("css selector", "tbody tr")]
    assert systems == ["this run", "the same leader, untrained", "delete", "duplicate"]
    import json

    record = json.loads((runs / "sro-s0" / "record.json").read_text())
    rows = figures.find_elements("css selector", "tbody tr")
    assert rows[0].find_elements("css selector", "td")[4].text == f"{record['metrics']['J']:.3f}"
    assert rows[1].find_elements("css selector", "td")[4].text == f"{record['start']['metrics']['J']:.3f}"
    curves = driver.find_element("css selector", "figure.curves svg")
    width, height = rendered(driver, curves)
    assert width > 300 and height > 300
    tables = driver.find_elements("css selector", "table.rewrites")
    assert len(tables) == 3
    rows = tables[0].find_elements("css selector", "tbody tr")
    assert len(rows) == 10
    inputs = {line.split("\t")[0] for line in (runs / "sro-s0" / "rewrites.tsv").read_text().splitlines()[1:]}
    assert all(tr.find_element("css selector", "td").text in inputs for tr in rows)
    best, worst = ([float(v) for v in column(driver, t, "J")] for t in tables[1:])
    assert best == sorted(best, reverse=True)
    # the run's own per-sentence J (its 12 rows: the best ten and the worst ten overlap)
    every_j = sorted(float(line.split("\t")[3]) for line in (runs / "sro-s0" / "scores.tsv").read_text().splitlines()[1:])
    assert best == pytest.approx(every_j[::-1][:10], abs=1e-4) and sorted(worst) == pytest.approx(every_j[:10], abs=1e-4)


def test_the_board_sorts_by_a_clicked_column_and_links_each_row_to_its_report(runs, driver, data_dir, tmp_path):
    out = tmp_path / "board" / "board.md"
    publish([runs], out, command="sro-bench leaderboard (test)", plot=runs / "sro-s0" / "meter.png", reports=True,
            data_dir=data_dir)
    load(driver, out.with_suffix(".html"), tmp_path / "board.png")
    table = driver.find_element("css selector", "table.board")
    assert sorted(column(driver, table, "method")) == ["delete", "duplicate", "sro"]
    header = table.find_element("css selector", 'th[data-column="STA"]')
    for _ in range(2):  # descending, then ascending
        header.click()
        values = [float(v) for v in column(driver, table, "STA")]
        descending = header.get_attribute("data-order") == "desc"
        assert values == sorted(values, reverse=descending)
    links = [a.get_attribute("href") for a in table.find_elements("css selector", "tbody a")]
    assert len(links) == 4 and all(link.endswith("/report.html") for link in links)
    image = driver.find_element("css selector", "img.plot")
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
    assert rendered(driver, image)[0] > 100
    driver.find_element("css selector", "tbody a").click()  # a row's link opens its run's report
    assert driver.find_element("css selector", "h1").text.startswith(("sro:", "delete:", "duplicate:"))
