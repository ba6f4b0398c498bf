"""The claims overview figure, from small synthetic claims tables."""

from __future__ import annotations

import math
from itertools import combinations

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread
from matplotlib.text import Text

from attnmem.claims import COLUMNS
from attnmem.plots.claims import forest, overview

GREATER = "greater: Holm p < 0.05, margin 0.0"
WITHIN = "at_least: each cell's median run reaches the published value"


def _cell(claim, study, cell, rule, verdict, **numbers):
    return {
        "claim": claim,
        "study": study,
        "cell": cell,
        "statement": f"{claim} holds, stated at some length so that the statement must wrap",
        "source": "a report, Table 1",
        "metric": "max_acc" if rule == GREATER else "r_reached",
        "rule": rule,
        "verdict": verdict,
        **numbers,
    }


def synthetic() -> pd.DataFrame:
    """Three studies: greater and at_least claims, NaNs, and a claim whose study ran nothing."""
    nan = math.nan
    rows = [
        _cell("optim.a_gt_b", "optim", "digits/resnet", GREATER, "supported", n_seeds=5,
              diff=1.2, diff_low=0.4, diff_high=2.0, published_diff=3.5),
        _cell("optim.a_gt_b", "optim", "svhn/resnet", GREATER, "contradicted", n_seeds=5,
              diff=-0.8, diff_low=-1.5, diff_high=-0.1, published_diff=nan),
        _cell("optim.a_gt_b", "optim", "overall (1 supported, 1 contradicted, 0 inconclusive)",
              GREATER, "inconclusive"),
        # one seed: an estimate without an interval
        _cell("optim.c_gt_d", "optim", "digits/resnet", GREATER, "inconclusive", n_seeds=1,
              diff=0.3, diff_low=nan, diff_high=nan, published_diff=-0.5),
        _cell("optim.c_gt_d", "optim", "overall (0 supported, 0 contradicted, 1 inconclusive)",
              GREATER, "inconclusive"),
        _cell("plasticity.table1", "plasticity", "fc_M/50 (budget 256 < 4e+06)", WITHIN,
              "supported", n_seeds=3, published_a=12, mean_a=11, diff_low=-4, diff_high=2),
        _cell("plasticity.table1", "plasticity", "fc_A/50", WITHIN, "contradicted", n_seeds=3,
              published_a=30, mean_a=9, diff_low=-24, diff_high=-18),
        # not published: the median alone, no range
        _cell("plasticity.table1", "plasticity", "hebbff/50", WITHIN, "inconclusive",
              n_seeds=3, published_a=nan, mean_a=7, diff_low=nan, diff_high=nan),
        # nothing at all to draw
        _cell("plasticity.table1", "plasticity", "stack_MA/50", WITHIN, "inconclusive",
              n_seeds=0),
        _cell("plasticity.table1", "plasticity", "overall (1 supported, 1 contradicted, "
              "2 inconclusive)", WITHIN, "inconclusive"),
        _cell("sac.attention_gt_mlp", "sac", "overall (no cells run)", GREATER, "inconclusive"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The synthetic table's figure, drawn once for the tests that only inspect it."""
    folder = tmp_path_factory.mktemp("claims")
    return forest(synthetic(), folder / "claims.png"), folder


def _labels(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]


def test_forest_writes_png_and_pdf(drawn):
    _, folder = drawn
    assert (folder / "claims.png").stat().st_size > 20_000
    pdf = (folder / "claims.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000


def test_one_row_per_cell_one_panel_per_claim(drawn):
    fig, _ = drawn
    table = synthetic()
    cells = table[~table["cell"].str.startswith("overall")]
    assert len(fig.axes) == table["claim"].nunique() == 4
    # every cell in table order (the reason an undecided cell gives shortens to a dagger), and
    # the claim without cells keeps a row that says so
    names = [c.split(" (")[0] + " †" if c.endswith(")") else c for c in cells["cell"]]
    assert _labels(fig) == [*names, "(no cells run)"]
    assert "fc_M/50 †" in names
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "no cells run" in texts and "no estimate" in texts
    # each claim's overall verdict is in its header, not a cell verdict
    assert "overall: inconclusive  (1 supported, 1 contradicted)" in texts


def test_each_claim_has_its_own_scale(drawn):
    fig, _ = drawn
    greater, within = fig.axes[0], fig.axes[2]
    low, high = greater.get_xlim()
    assert low < -1.5 and high > 3.5  # the interval, and the published star at +3.5
    low, high = within.get_xlim()
    # the contradicted cell's seeds' range [6, 12] sits on the published value's own scale
    assert low < 6 and 30 < high < 40
    assert any(line.get_xdata()[0] == 0 for line in greater.get_lines())  # zero line
    assert not within.get_lines()


def test_text_does_not_overlap(tmp_path):
    """A realistic mix: 6 claims over 2 studies, one with 28 cells and long labels."""
    rows = []
    for s, study in enumerate(("optim", "plasticity")):
        for c in range(3):
            claim = f"{study}.claim_{c}_with_a_fairly_long_identifier"
            n = 28 if (s, c) == (1, 0) else c + 1
            for i in range(n):
                rows.append(
                    _cell(claim, study, f"network_{i}/size (budget 256 < 4e+06)", GREATER,
                          ("supported", "contradicted", "inconclusive")[i % 3], n_seeds=5,
                          diff=i - 2.0, diff_low=i - 3.0, diff_high=i - 1.0,
                          published_diff=-1e4 if i == 5 else i)  # one in the margin
                )  # fmt: skip
            rows.append(_cell(claim, study, "overall (…)", GREATER, "supported"))
    fig = forest(pd.DataFrame(rows, columns=list(COLUMNS)), tmp_path / "claims.png")
    assert sum(len(ax.get_yticks()) for ax in fig.axes) == 2 * (1 + 2 + 3) - 1 + 28
    canvas = FigureCanvasAgg(fig)  # saving closed the figure: give it a canvas to measure on
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [
        t.get_window_extent(renderer)
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_figure() is fig
    ]
    assert "★ −1e+04" in {t.get_text() for t in fig.findobj(Text)}
    clashes = [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]
    assert not clashes


def test_single_cell_and_empty_tables(tmp_path):
    one = synthetic().iloc[[0, 2]]
    fig = forest(one, tmp_path / "one.png")
    assert _labels(fig) == ["digits/resnet"]
    assert (tmp_path / "one.pdf").exists()
    fig = forest(pd.DataFrame(columns=list(COLUMNS)), tmp_path / "empty.png")
    assert not fig.axes
    assert (tmp_path / "empty.png").stat().st_size > 1_000
    assert (tmp_path / "empty.pdf").read_bytes().startswith(b"%PDF")


def test_published_value_far_off_scale_goes_to_the_margin(tmp_path):
    """A published a − b in another unit must not squash the replicated intervals to a dot."""
    rows = [
        _cell("p.gen", "plasticity", f"cell{i}", GREATER, "inconclusive", n_seeds=5,
              diff=0.01 * i, diff_low=0.01 * i - 0.05, diff_high=0.01 * i + 0.05,
              published_diff=published)
        for i, published in enumerate((0.02, 9.5, -7.0))
    ]  # fmt: skip
    rows.append(_cell("p.gen", "plasticity", "overall (…)", GREATER, "inconclusive"))
    fig = forest(pd.DataFrame(rows, columns=list(COLUMNS)), tmp_path / "claims.png")
    low, high = fig.axes[0].get_xlim()
    assert -0.1 < low < -0.05 and 0.07 < high < 0.2
    texts = {t.get_text() for t in fig.findobj(Text)}
    assert {"★ +9.5", "★ −7"} <= texts and "★ +0.02" not in texts


def many_claims(n_sources: int = 5, per_source: int = 10) -> pd.DataFrame:
    """As many claims as the shipped claims.yaml (~50), each with a few cells."""
    rows = []
    verdicts = ("supported", "contradicted", "inconclusive")
    for s in range(n_sources):
        study = f"study{s}"
        for c in range(per_source):
            claim = f"{study}.claim_{c}_with_a_fairly_long_identifier"
            for i in range(c % 4):
                rows.append(
                    _cell(claim, study, f"cell{i} (n=2 < 5 seeds)" if c % 3 else f"cell{i}",
                          GREATER, verdicts[(c + i) % 3], n_seeds=5, diff=i - 1.0,
                          diff_low=i - 2.0, diff_high=float(i), published_diff=1.5)
                )  # fmt: skip
            rows.append(_cell(claim, study, "overall (…)", GREATER, verdicts[c % 3]))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table


def test_overview_fits_one_screen(tmp_path):
    table = many_claims()
    sources = {f"seed00{s}": [f"study{s}"] for s in range(5)}
    fig = overview(table, tmp_path / "claims.png", sources, {"seed000": "a title"})

    height, width = imread(tmp_path / "claims.png").shape[:2]
    assert width <= 2000 and height <= 1200, (width, height)  # one screen, not fourteen
    assert (tmp_path / "claims.pdf").read_bytes().startswith(b"%PDF")
    texts = [t.get_text() for t in fig.findobj(Text)]
    # one row per claim (its id without the study), each source once
    assert sum(t.startswith("claim_") for t in texts) == 50
    assert all(f"seed00{s}" in texts for s in range(5))
    assert "Claims: 50 — 20 supported, 15 contradicted, 15 inconclusive" in texts


def test_overview_says_why_a_claim_is_undecided(tmp_path):
    rows = [
        _cell("a.few_seeds", "a", "x (n=2 < 5 seeds)", GREATER, "inconclusive", n_seeds=2,
              diff=0.5, diff_low=-1.0, diff_high=2.0, published_diff=1.0),
        _cell("a.few_seeds", "a", "overall (…)", GREATER, "inconclusive"),
        _cell("a.not_run", "a", "overall (no cells run)", GREATER, "inconclusive"),
        _cell("a.plain", "a", "x", GREATER, "inconclusive", n_seeds=9, diff=0.1, diff_low=-0.2,
              diff_high=0.4, published_diff=nan_value()),
        _cell("a.plain", "a", "overall (…)", GREATER, "inconclusive"),
        _cell("a.won", "a", "x", GREATER, "supported", n_seeds=9, diff=1.0, diff_low=0.5,
              diff_high=1.5, published_diff=2.0),
        _cell("a.won", "a", "overall (…)", GREATER, "supported"),
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    fig = overview(table, tmp_path / "old.png")
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert {"few seeds", "no cells run", "not significant"} <= set(texts)
    assert "+0.5 [−1, +2]" in texts and "+1" in texts  # estimate [interval] beside published
    # the claims table's to_decide column (when it has one) follows the reason
    table["to_decide"] = ""
    table.loc[1, "to_decide"] = "10 seeds"
    fig = overview(table, tmp_path / "new.png")
    assert "few seeds — 10 seeds" in [t.get_text() for t in fig.findobj(Text)]


def nan_value() -> float:
    return math.nan
