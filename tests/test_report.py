"""Replication reports: the study notes files, the report built from a synthetic claims table,
and captions that render as reStructuredText without a docutils message."""

from __future__ import annotations

import io
import math
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from docutils.core import publish_parts

from attnmem import report
from attnmem.claims import COLUMNS
from attnmem.studies import REGISTRY
from attnmem.studies import notes as study_notes
from conftest import REPO

GREATER = "greater: exact sign-flip test of a − b, Holm over the claim's cells, p < 0.05"
WITHIN = "at_least: each cell's median run reaches the published value"


@pytest.mark.parametrize("study", sorted(REGISTRY))
def test_every_study_has_a_notes_file(study):
    notes = study_notes.load(study)
    assert notes["study"] == study
    source = notes["source"]
    assert source["id"].startswith("seed") and source["title"] and source["ran"]
    spec = REPO.parent / "shared" / source["spec"].split(" ")[0]
    if spec.parent.is_dir():  # shared/specs beside the checkout, where it is
        assert spec.is_file(), spec
    assert notes["deviations"] and notes["difficult"]
    for deviation in notes["deviations"]:
        assert deviation["kind"] in study_notes.KINDS, deviation
        assert deviation["what"].strip() and deviation["ref"].strip(), deviation
    # a faithful-mode quirk names its clean fix, or the spec says it has none (a "what" alone)
    assert any(d["kind"] == "faithful" for d in notes["deviations"])
    settings = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())["studies"][study]
    for entry in notes.get("budget", []):
        # the budget key is a real setting of the study's run: block (paper.yaml sets them all)
        assert report._setting(settings["run"], entry["run"]) is not None, entry


def test_studies_of_one_source_agree_on_its_title():
    by_source = study_notes.sources(sorted(REGISTRY))
    assert set(by_source) == {"seed000", "seed001", "seed002", "seed003", "seed004"}
    for studies in by_source.values():
        titles = {study_notes.load(s)["source"]["title"] for s in studies}
        assert len(titles) == 1, titles
    assert list(by_source) == sorted(by_source)


def test_budget_met():
    assert report.budget_met(186, 186) is True
    assert report.budget_met(30, 186) is False
    assert report.budget_met({"default": 20000, "hebbff": 80000}, 5_000_000) is False
    assert report.budget_met({"HalfCheetah-v5": 50000}, {"HalfCheetah-v5": 1470000}) is False
    # a source budget for an env this config does not run says nothing about it
    assert report.budget_met({"a": 10}, {"a": 10, "b": 99}) is True
    assert report.budget_met("faithful", 1) is None and report.budget_met(None, 5) is None


def _row(claim, cell, verdict, **numbers):
    return {
        "claim": claim,
        "study": "plasticity",
        "cell": cell,
        "statement": f"{claim} holds",
        "source": "seed 003 report",
        "metric": "r_conv",
        "rule": WITHIN if "table" in claim else GREATER,
        "verdict": verdict,
        **numbers,
    }


def claims_table(with_new_columns: bool) -> pd.DataFrame:
    nan = math.nan
    rows = [
        _row("plasticity.table1", "memo_MA/50 (n=2 < 5 seeds)", "inconclusive", n_seeds=2,
             published_a=9.0, mean_a=3.0, diff_low=-7.0, diff_high=-5.0),
        _row("plasticity.table1", "overall (0 supported, 0 contradicted, 1 inconclusive)",
             "inconclusive"),
        _row("plasticity.m_beats_a", "50", "supported", n_seeds=5, published_diff=5.0,
             diff=1.5, diff_low=0.5, diff_high=2.5, p_holm=0.03),
        _row("plasticity.m_beats_a", "overall (1 supported, 0 contradicted, 0 inconclusive)",
             "supported"),
        _row("plasticity.m_gains_from_neurons", "overall (no cells run)", "inconclusive",
             published_a=nan),
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if with_new_columns:
        overall = table["cell"].str.startswith("overall")
        table["scope"] = ""
        table["to_decide"] = ""
        table.loc[overall, "scope"] = ["1 of 1 cells run", "1 of 1 cells run", "0 of 2 cells run"]
        table.loc[overall & (table["claim"] == "plasticity.table1"), "to_decide"] = (
            "5 seeds at 4e6 sequences: ~40 CPU-hours"
        )
    return table


def _build(tmp_path: Path, table: pd.DataFrame):
    png = tmp_path / "figures" / "plasticity" / "table1.png"
    png.parent.mkdir(parents=True)
    png.write_bytes(b"\x89PNG fake")
    settings = {
        "plasticity": {
            "axes": {"network": ["memo_MA", "memo_AA"], "size": [50]},
            "seeds": [0, 1],
            "run": {"total_cap": {"default": 20000, "hebbff": 80000}, "stage_cap": 1000000},
        }
    }
    facts = report.Facts("abc123", "f00d", "Linux", "beef" * 16)
    out = tmp_path / "results" / "report"
    figures = [report.StudyFigure("plasticity", str(png), "Table 1 as ``heatmaps``.")]
    report.write(
        "seed003", ["plasticity"], settings, table, figures, png, facts,
        out / "seed003.md", out / "seed003.html",
    )  # fmt: skip
    return (out / "seed003.md").read_text(), (out / "seed003.html").read_text()


@pytest.mark.parametrize("with_new_columns", [False, True])
def test_report_from_a_claims_table(tmp_path, with_new_columns):
    md, page = _build(tmp_path, claims_table(with_new_columns))
    for section in report.SECTIONS:
        assert f"## {section}" in md
    assert "Replication: **partial**" in md  # below the source's budget, and a claim unrun
    # the budget beside the source's, from the notes file and the config
    budget = "| training sequences per run (`run.total_cap`) | default: 20,000, hebbff: 80,000 |"
    assert budget in md
    assert "5,000,000" in md and "| no |" in md
    # verdict table: estimate with interval, published, n, verdict
    assert "| memo_MA/50 (n=2 < 5 seeds) | 9 | 3 [2, 4] | 2 | inconclusive |" in md
    assert "| 50 | +5 | +1.5 [+0.5, +2.5] | 5 | supported |" in md
    assert "1 supported" in md and "0 contradicted" not in md
    # deviations and difficulties come from the notes file, with their spec references
    assert "faithful-mode quirk" in md and "spec §6.5" in md
    assert "## 5. What was difficult" in md and "numba" in md
    # reproducibility facts
    assert "abc123" in md and "beef" * 16 in md and "f00d" in md
    # the figure: linked relative to the report in Markdown, embedded in the HTML page
    assert "](../../figures/plasticity/table1.png)" in md
    assert "data:image/png;base64," in page and "<code>heatmaps</code>" in page
    if with_new_columns:
        assert "To decide: 5 seeds at 4e6 sequences: ~40 CPU-hours" in md
        assert "Scope: 0 of 2 cells run." in md
    else:
        assert "To decide:" not in md and "Scope:" not in md


def test_html_is_well_formed_and_links_its_sections(tmp_path):
    _, page = _build(tmp_path, claims_table(True))

    void = {"meta", "img", "br", "hr", "link"}

    class Checker(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str] = []
            self.ids: set[str] = set()
            self.links: set[str] = set()

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if "id" in attrs:
                self.ids.add(attrs["id"])
            if tag == "a" and attrs.get("href", "").startswith("#"):
                self.links.add(attrs["href"][1:])
            if tag not in void:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            assert self.stack and self.stack.pop() == tag, (tag, self.stack)

    checker = Checker()
    checker.feed(page)
    assert not checker.stack
    assert len(checker.links) == len(report.SECTIONS) and checker.links <= checker.ids


def _docutils_messages(text: str) -> str:
    stream = io.StringIO()
    publish_parts(text, writer="html", settings_overrides={"warning_stream": stream})
    return stream.getvalue()


def test_registry_captions_are_clean_restructuredtext():
    """Snakemake renders each figure's caption as reStructuredText: a stray ``|x|`` is a
    substitution reference there, and the report's build prints an error."""
    for study in REGISTRY.values():
        for figure in study.figures:
            fields = {axis: "x" for axis in figure.per}
            assert not _docutils_messages(figure.caption.format(**fields)), figure.stem


def test_notes_render_as_restructuredtext():
    """The notes' ``code`` marks are reStructuredText too (the HTML report shows them)."""
    for study in REGISTRY:
        notes = study_notes.load(study)
        for deviation in notes["deviations"]:
            for key in ("what", "clean", "why"):
                if deviation.get(key):
                    assert not _docutils_messages(deviation[key]), (study, deviation[key])


def test_why_undecided_and_what_the_rule_needs():
    assert report.why_undecided("supported", ["x"]) == ""
    assert report.why_undecided("inconclusive", []) == "no cells run"
    labels = ["a/50 (n=2 < 5 seeds; budget 16 < 4e+06)", "b/50 (1 diverged)", "c/50"]
    assert report.why_undecided("inconclusive", labels) == (
        "few seeds; budget < source's; diverged runs"
    )
    assert report.why_undecided("inconclusive", ["a (all 5 seeds equal: sign test p = 0.06)"]) == (
        "all seeds equal"
    )
    assert report.why_undecided("inconclusive", ["c/50"]) == "not significant"
    above = "d (every seed above: the metric grows with the budget, the source's is unknown)"
    assert report.why_undecided("inconclusive", [above]) == "above; grows with budget"
    rule = "greater: ... p < 0.05; >= 5 seeds per cell, run.epochs >= 186; overall: >= 0.66"
    assert report.needs(rule) == "5 seeds per cell, run.epochs >= 186"
    assert report.needs("within_range: ...; >= 3 seeds per cell; overall") == "3 seeds per cell"
    assert report.needs("a rule worded otherwise") == ""


def test_what_it_would_take_without_a_to_decide_column(tmp_path):
    md, _ = _build(tmp_path, claims_table(False))
    section = md.split("## 6. What it would take")[1].split("## 7.")[0]
    assert "`plasticity.table1`: few seeds." in section
    assert "`plasticity.m_gains_from_neurons`: its cells are not in this config" in section
    assert "plasticity.m_beats_a`" not in section  # decided: nothing to take
