"""One replication report per source: ``results/report/<source>.md`` and ``.html``.

What a replication report gives (the ML Reproducibility Challenge and ReScience C templates):
what was replicated and at which budget, what differs from the source and why, each claim's
verdict with its estimate and interval, the figures, what was hard, what it would take to decide
the rest, and the facts needed to reproduce it.  Everything comes from data: the study registry,
each study's notes file (``attnmem.studies.notes``), the config, ``claims.csv`` and the
manifest; the report holds no number typed by hand.

The report is built once as a list of blocks (heading, paragraph, list, table, figure) and
written twice, as Markdown and as a standalone HTML page with relative links to the figures, so
no Markdown renderer is needed and the two never disagree.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from attnmem.claims import VALUE_KINDS
from attnmem.files import config_hash, write_text
from attnmem.studies import REGISTRY
from attnmem.studies import notes as study_notes

VERDICTS = ("supported", "contradicted", "inconclusive")
SECTIONS = (
    "1. Scope",
    "2. Verdicts",
    "3. Figures",
    "4. Deviations from the source",
    "5. What was difficult",
    "6. What it would take",
    "7. Reproducibility",
)
KIND_LABEL = {"faithful": "faithful-mode quirk", "deviation": "deviation of this replication"}


# --- the document ---------------------------------------------------------------------------


@dataclass
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass
class Paragraph:
    text: str
    css: str = ""


@dataclass
class Items:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    css: list[str] = field(default_factory=list)  # one class per row ("" for none)


@dataclass
class Image:
    path: str  # relative to the report (the Markdown links it)
    caption: str
    file: str = ""  # the PNG itself (the HTML embeds it, so the page stands alone)


Block = Heading | Paragraph | Items | Table | Image

_CODE = re.compile(r"``(.+?)``")
_LINK = re.compile(r"\[([^\]]+)\]\((#[\w-]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EMPHASIS = re.compile(r"(?<![*\w])\*([^*\s][^*]*?)\*(?![*\w])")


def _md_inline(text: str) -> str:
    return _CODE.sub(r"`\1`", text).replace("|", "\\|")


def slug(text: str) -> str:
    """The anchor GitHub gives a Markdown heading (the HTML page uses the same ids)."""
    text = _CODE.sub(r"\1", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _html_inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = _CODE.sub(r"<code>\1</code>", text)
    text = _LINK.sub(r'<a href="\2">\1</a>', text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _EMPHASIS.sub(r"<em>\1</em>", text)


def to_markdown(blocks: Sequence[Block]) -> str:
    """The report as GitHub-flavoured Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + _md_inline(block.text), ""]
        elif isinstance(block, Paragraph):
            out += [_md_inline(block.text), ""]
        elif isinstance(block, Items):
            out += [f"- {_md_inline(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            out.append("| " + " | ".join(map(_md_inline, block.header)) + " |")
            out.append("|" + "---|" * len(block.header))
            out += ["| " + " | ".join(map(_md_inline, row)) + " |" for row in block.rows]
            out.append("")
        else:
            out += [f"![{_md_inline(block.caption)}]({block.path})", "", f"*{block.caption}*", ""]
    return "\n".join(out).rstrip() + "\n"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 64rem;
  margin: 2rem auto; padding: 0 1.5rem; line-height: 1.45; color: #1f1f1f; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #444; padding-bottom: .3rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #bbb; }
h3 { font-size: 1.08rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr.supported td:first-child { border-left: 6px solid #009E73; }
tr.contradicted td:first-child { border-left: 6px solid #D55E00; }
tr.inconclusive td:first-child { border-left: 6px solid #808080; }
.verdict-supported { color: #007a59; font-weight: 600; }
.verdict-contradicted { color: #b34700; font-weight: 600; }
.verdict-inconclusive { color: #555; font-weight: 600; }
p.lead { font-size: 1.05rem; background: #f6f6f6; padding: .6rem .8rem; border-radius: 4px; }
p.todecide { background: #fff6e0; padding: .3rem .6rem; border-left: 4px solid #e0a000; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .88rem; color: #444; margin-top: .3rem; }
code { background: #f2f2f2; padding: 0 .2rem; border-radius: 3px; font-size: .92em; }
nav { font-size: .92rem; }
"""


def _cell_html(text: str) -> str:
    inner = _html_inline(text)
    for verdict in VERDICTS:
        if text == verdict:
            return f'<span class="verdict-{verdict}">{inner}</span>'
    return inner


def to_html(blocks: Sequence[Block], title: str, embed: bool = True) -> str:
    """The report as one standalone HTML page: figures embedded (``embed``), so that the page
    opens anywhere, inside Snakemake's HTML report too; else linked relative to it."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{block.anchor or slug(block.text)}"'
            out.append(f"<h{block.level}{anchor}>{_html_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = f' class="{block.css}"' if block.css else ""
            out.append(f"<p{css}>{_html_inline(block.text)}</p>")
        elif isinstance(block, Items):
            out.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in block.items))
            out.append("</ul>")
        elif isinstance(block, Table):
            out.append("<table><thead><tr>")
            out.append("".join(f"<th>{_html_inline(h)}</th>" for h in block.header))
            out.append("</tr></thead><tbody>")
            classes = block.css or [""] * len(block.rows)
            for row, css in zip(block.rows, classes, strict=True):
                attr = f' class="{css}"' if css else ""
                out.append(f"<tr{attr}>" + "".join(f"<td>{_cell_html(c)}</td>" for c in row))
                out.append("</tr>")
            out.append("</tbody></table>")
        else:
            src = html.escape(block.path)
            if embed and block.file and Path(block.file).exists():
                data = base64.b64encode(Path(block.file).read_bytes()).decode()
                src = f"data:image/png;base64,{data}"
            out.append(
                f'<figure><a href="{src}"><img src="{src}" alt="{html.escape(block.caption)}">'
                f"</a><figcaption>{_html_inline(block.caption)}</figcaption></figure>"
            )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- the facts ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _fmt(value: float, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "–"
    text = f"{value:+.3g}" if signed else f"{value:.3g}"
    return text.replace("-", "−")


def _setting(run: Mapping[str, Any], dotted: str) -> Any:
    node: Any = run
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _show(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def budget_met(here: Any, source: Any) -> bool | None:
    """Whether a setting reaches the source's (None: not comparable).  Either side may be a
    mapping (steps per env, epochs per data set): each of the source's keys must be met where
    this config runs it; a scalar on one side stands for every key."""
    if isinstance(source, Mapping):
        verdicts = [
            budget_met(here.get(key) if isinstance(here, Mapping) else here, value)
            for key, value in source.items()
            if not isinstance(here, Mapping) or key in here
        ]
        known = [v for v in verdicts if v is not None]
        return all(known) if known else None
    if isinstance(here, Mapping):
        known = [budget_met(v, source) for v in here.values()]
        known = [v for v in known if v is not None]
        return all(known) if known else None
    if isinstance(here, bool) or isinstance(source, bool):
        return None
    if isinstance(here, int | float) and isinstance(source, int | float):
        return here >= source
    return None


@dataclass
class Facts:
    """What a reader needs to reproduce a report."""

    commit: str
    config_hash: str
    platform: str
    manifest: str  # SHA-256 of MANIFEST.sha256


def git_commit(repo: str | Path) -> str:
    """HEAD of the repository the workflow runs from, "+ local changes" when dirty."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + local changes" if dirty else "")


def facts(repo: str | Path, config: Mapping[str, Any], manifest: str | Path) -> Facts:
    """Commit, config hash, platform and the manifest's digest."""
    import numpy
    import torch

    versions = (
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {numpy.__version__}, pandas {pd.__version__}"
    )
    return Facts(
        commit=git_commit(repo),
        config_hash=config_hash(dict(config)),
        platform=f"{platform.platform()} ({platform.machine()}); {versions}",
        manifest=hashlib.sha256(Path(manifest).read_bytes()).hexdigest(),
    )


# --- claims ---------------------------------------------------------------------------------


@dataclass
class ClaimView:
    id: str
    study: str
    statement: str
    source: str
    rule: str
    verdict: str
    tally: str
    scope: str
    to_decide: str
    cells: pd.DataFrame


def claim_views(claims: pd.DataFrame, studies: Sequence[str]) -> list[ClaimView]:
    """The claims of ``studies`` in claims.csv, each with its overall row's verdict, scope and
    "to decide" text (columns that older claims tables lack read as empty)."""
    views = []
    chosen = claims[claims["study"].isin(list(studies))]
    for claim_id, group in chosen.groupby("claim", sort=False):
        overall_mask = group["cell"].astype(str).str.startswith("overall")
        overall = group[overall_mask]
        first = overall.iloc[0] if len(overall) else group.iloc[0]
        cell_text = _text(first["cell"])
        views.append(
            ClaimView(
                id=str(claim_id),
                study=_text(first["study"]),
                statement=_text(first["statement"]),
                source=_text(first["source"]),
                rule=_text(first["rule"]),
                verdict=_text(first["verdict"]) if len(overall) else "inconclusive",
                tally=_short_tally(cell_text.removeprefix("overall").strip(" ()")),
                scope=_text(first.get("scope")),
                to_decide=_text(first.get("to_decide")),
                cells=group[~overall_mask],
            )
        )
    return views


def _short_tally(text: str) -> str:
    """ "0 supported, 0 contradicted, 3 inconclusive" -> "3 inconclusive"."""
    parts = [p.strip() for p in text.split(",") if not p.strip().startswith("0 ")]
    return ", ".join(parts) or text


def _estimate_row(claim: ClaimView, row: pd.Series) -> list[str]:
    """cell, published, replicated estimate [interval], n, verdict."""
    if claim.rule.split(":")[0] in VALUE_KINDS:  # a claim about published values
        pub = _num(row.get("published_a"))
        centre = _num(row.get("mean_a"))
        low, high = pub + _num(row.get("diff_low")), pub + _num(row.get("diff_high"))
        published = _fmt(pub)
        signed = False
    else:
        pub = _num(row.get("published_diff"))
        centre, low, high = (_num(row.get(k)) for k in ("diff", "diff_low", "diff_high"))
        published = _fmt(pub, signed=True) if math.isfinite(pub) else "not published"
        signed = True
    interval = (
        f" [{_fmt(low, signed)}, {_fmt(high, signed)}]"
        if math.isfinite(low) and math.isfinite(high)
        else ""
    )
    n = _num(row.get("n_seeds"))
    return [
        _text(row["cell"]),
        published,
        _fmt(centre, signed) + interval,
        f"{n:g}" if math.isfinite(n) else "–",
        _text(row["verdict"]),
    ]


def _estimate_header(claim: ClaimView) -> list[str]:
    value = claim.rule.split(":")[0] in VALUE_KINDS
    what = "replicated mean [95% t-interval]" if value else "replicated a − b [95% interval]"
    published = "published" if value else "published a − b"
    return ["cell", published, what, "n seeds", "verdict"]


def _tally(verdicts: Sequence[str]) -> str:
    return ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS if verdicts.count(v)) or "none"


# --- why a claim is undecided ----------------------------------------------------------------

#: What the reasons a cell's label gives in brackets (claims.py writes them, ";" between them)
#: come to, the most specific key first: the claims overview and the reports say them briefly.
REASONS = (
    ("diverged", "diverged runs"),
    ("grows with the budget", "above; grows with budget"),
    ("seeds equal", "all seeds equal"),
    ("straddles", "interval on the band's edge"),
    ("budget", "budget < source's"),
    ("run.", "budget < source's"),
    ("seeds", "few seeds"),
)
_NEEDS = re.compile(r">= (\d+) seeds per cell([^;]*)")


def why_undecided(verdict: str, cells: Sequence[str]) -> str:
    """A few words on why a claim is undecided, from its cells' labels ("" when decided)."""
    if verdict in ("supported", "contradicted"):
        return ""
    if not cells:
        return "no cells run"
    found: list[str] = []
    for label in cells:
        note = label.split(" (", 1)[1] if " (" in label and label.endswith(")") else ""
        for part in note.split(";"):  # each reason the label gives, by its first match
            text = next((text for key, text in REASONS if key in part), None)
            if text and text not in found:
                found.append(text)
    return "; ".join(found) or "not significant"


def needs(rule: str) -> str:
    """What a claim's rule asks of every cell ("5 seeds per cell, sequences >= 4e+06"), from
    its text; "" when the text does not say."""
    match = _NEEDS.search(rule)
    if not match:
        return ""
    extra = match[2].strip(" ,")
    return f"{match[1]} seeds per cell" + (f", {extra}" if extra else "")


# --- the report -----------------------------------------------------------------------------


@dataclass
class StudyFigure:
    study: str
    png: str
    caption: str


def _relative(path: str | Path, out_dir: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), out_dir.resolve())).as_posix()


def build(
    source: str,
    studies: Sequence[str],
    settings: Mapping[str, Mapping[str, Any]],
    claims: pd.DataFrame,
    figures: Sequence[StudyFigure],
    forest: str | Path,
    facts: Facts,
    out_dir: str | Path,
) -> tuple[str, list[Block]]:
    """The report of ``source`` (its ``studies`` as configured): (title, blocks)."""
    out_dir = Path(out_dir)
    notes = {study: study_notes.load(study) for study in studies}
    first = notes[studies[0]]["source"]
    title = f"Replication report: {first['title']} ({source})"
    views = claim_views(claims, studies)
    verdicts = [v.verdict for v in views]
    budgets = {study: _budget_rows(notes[study], settings[study]) for study in studies}
    below = [study for study in studies if any(row[-1] == "below" for row in budgets[study])]
    unrun = [v.id for v in views if "no cells run" in v.tally or not len(v.cells)]

    blocks: list[Block] = [Heading(1, title)]
    extent = "partial" if below or unrun else "full"
    lead = (
        f"**{len(views)} claim{'s' * (len(views) != 1)}: {_tally(verdicts)}.**  "
        f"Studies: {', '.join(f'``{s}``' for s in studies)}.  Replication: **{extent}**"
    )
    reasons = []
    if below:
        reasons.append(f"below the source's budget in {', '.join(below)}")
    if unrun:
        reasons.append(f"{len(unrun)} claim{'s' * (len(unrun) != 1)} with no cell run")
    lead += f" ({'; '.join(reasons)})." if reasons else "."
    blocks.append(Paragraph(lead, "lead"))
    blocks.append(
        Paragraph(
            "Contents: "
            + " · ".join(f"[{name}](#{slug(name)})" for name in SECTIONS)
            + ".  Every number "
            "below comes from this run's results (``claims.csv``), the config, or the source "
            "(``config/claims.yaml``); the notes on deviations and difficulties come from "
            f"``src/attnmem/studies/notes/<study>.yaml``.  Spec: ``{first['spec']}``."
        )
    )

    # 1. scope
    blocks.append(Heading(2, "1. Scope"))
    for study in studies:
        setting = settings[study]
        axes = ", ".join(
            f"{axis} ({len(values)}: {', '.join(map(str, values))})"
            for axis, values in setting.get("axes", {}).items()
        )
        seeds = setting.get("seeds", [])
        blocks.append(Heading(3, f"``{study}``: {REGISTRY[study].source}"))
        blocks.append(
            Paragraph(
                f"The source ran {notes[study]['source']['ran']}.  Here: cells {axes}; "
                f"{len(seeds)} seed{'s' * (len(seeds) != 1)} per cell."
            )
        )
        if budgets[study]:
            blocks.append(
                Table(
                    ["budget", "this config", "the source", "reference", "at the source's?"],
                    [
                        [*row[:4], {"met": "yes", "below": "no"}.get(row[4], "–")]
                        for row in budgets[study]
                    ],
                )
            )
    study_views = [v for v in views if v.scope]
    if study_views:
        blocks.append(Paragraph("Each claim's scope (cells it names that ran):"))
        blocks.append(Items([f"``{v.id}``: {v.scope}" for v in study_views]))

    # 2. verdicts
    blocks.append(Heading(2, "2. Verdicts"))
    blocks.append(
        Paragraph(
            "One row per claim: its overall verdict by the rule stated in "
            "``config/claims.yaml``, the tally of its cells, and, for an undecided claim, what "
            "would decide it.  Each claim's cells follow."
        )
    )
    blocks.append(
        Table(
            ["claim", "verdict", "cells", "to decide"],
            [[f"``{v.id}``", v.verdict, v.tally, v.to_decide or "–"] for v in views],
            [v.verdict for v in views],
        )
    )
    for v in views:
        blocks.append(Heading(3, f"``{v.id}``: {v.verdict}"))
        blocks.append(Paragraph(f"**{v.statement}** ({v.source})"))
        blocks.append(Paragraph(f"Rule: {v.rule}."))
        if v.scope:
            blocks.append(Paragraph(f"Scope: {v.scope}."))
        if v.to_decide:
            blocks.append(Paragraph(f"To decide: {v.to_decide}", "todecide"))
        if len(v.cells):
            rows = [_estimate_row(v, row) for _, row in v.cells.iterrows()]
            blocks.append(Table(_estimate_header(v), rows, [r[-1] for r in rows]))
        else:
            blocks.append(Paragraph("No cell of this claim ran in this config."))

    # 3. figures
    blocks.append(Heading(2, "3. Figures"))
    blocks.append(
        Image(
            _relative(forest, out_dir),
            f"Every claim of {source}, cell by cell: the replicated estimate with its interval "
            "beside the published value (star), coloured by verdict (green: supported, "
            "vermillion: contradicted, hollow grey: inconclusive).",
            str(forest),
        )
    )
    for study in studies:
        mine = [f for f in figures if f.study == study]
        if mine:
            blocks.append(Heading(3, f"``{study}``"))
        for figure in mine:
            blocks.append(Image(_relative(figure.png, out_dir), figure.caption, figure.png))

    # 4. deviations
    blocks.append(Heading(2, "4. Deviations from the source"))
    blocks.append(
        Paragraph(
            "A faithful-mode quirk is a behaviour of the source (often a bug) that the faithful "
            "mode keeps, so that the published numbers can be reproduced; its clean fix is what "
            "the clean mode does instead.  A deviation is a choice of this replication."
        )
    )
    for study in studies:
        rows = [
            [
                KIND_LABEL.get(d["kind"], d["kind"]),
                d["what"].strip(),
                _text(d.get("clean") or d.get("why")) or "–",
                _text(d.get("ref")),
            ]
            for d in notes[study].get("deviations", [])
        ]
        if rows:
            blocks.append(Heading(3, f"``{study}``"))
            blocks.append(Table(["kind", "what", "clean fix / why", "spec"], rows))

    # 5. difficulties
    blocks.append(Heading(2, "5. What was difficult"))
    blocks.append(
        Items([f"``{s}``: {d.strip()}" for s in studies for d in notes[s].get("difficult", [])])
    )

    # 6. what it would take
    blocks.append(Heading(2, "6. What it would take"))
    undecided = [v for v in views if v.verdict == "inconclusive"]
    if not undecided:
        blocks.append(Paragraph("Every claim is decided."))
    else:
        items = [f"``{v.id}``: {v.to_decide or _would_take(v)}" for v in undecided]
        blocks.append(Items(items))
        if below:
            blocks.append(
                Paragraph(
                    "``config/paper.yaml`` runs the source's budgets; ``config/README.md`` "
                    "gives their measured cost per study."
                )
            )

    # 7. reproducibility
    blocks.append(Heading(2, "7. Reproducibility"))
    blocks.append(
        Table(
            ["fact", "value"],
            [
                ["commit", facts.commit],
                [
                    "config hash (SHA-256 of the canonical JSON of the whole config)",
                    facts.config_hash,
                ],
                *[
                    [f"``{s}`` run: block hash", config_hash(dict(settings[s].get("run", {})))]
                    for s in studies
                ],
                ["platform", facts.platform],
                ["``MANIFEST.sha256`` digest (SHA-256 of the manifest file)", facts.manifest],
            ],
        )
    )
    blocks.append(
        Paragraph(
            "Rerun with the same config, code and platform: every file the manifest lists is "
            "byte-identical; ``sha256sum -c results/MANIFEST.sha256`` checks them."
        )
    )
    return title, blocks


def _would_take(claim: ClaimView) -> str:
    """What would decide a claim, from its cells and rule, for claims tables that do not say."""
    reason = why_undecided(claim.verdict, [_text(c) for c in claim.cells["cell"]])
    want = needs(claim.rule)
    if reason == "no cells run":
        text = "its cells are not in this config (``config/paper.yaml`` runs them)"
    elif reason == "not significant":
        text = "the test did not reach its level at these seeds: more seeds"
    else:
        text = reason
    return text + (f"; the rule asks for {want}" if want else "") + "."


def _budget_rows(notes: Mapping[str, Any], setting: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for entry in notes.get("budget", []):
        here = _setting(setting.get("run", {}), entry["run"])
        met = budget_met(here, entry["source"])
        rows.append(
            [
                f"{entry['label']} (``run.{entry['run']}``)",
                _show(here),
                _show(entry["source"]),
                _text(entry.get("ref")),
                {True: "met", False: "below", None: "–"}[met],
            ]
        )
    return rows


def write(
    source: str,
    studies: Sequence[str],
    settings: Mapping[str, Mapping[str, Any]],
    claims: pd.DataFrame,
    figures: Sequence[StudyFigure],
    forest: str | Path,
    facts: Facts,
    markdown: str | Path,
    html_path: str | Path,
) -> None:
    """Write the Markdown and HTML reports of ``source`` (both beside each other)."""
    out_dir = Path(markdown).parent
    title, blocks = build(source, studies, settings, claims, figures, forest, facts, out_dir)
    write_text(markdown, to_markdown(blocks))
    write_text(html_path, to_html(blocks, title))


def sources_of(studies: Sequence[str]) -> dict[str, list[str]]:
    """Source id -> its configured studies (re-exported for the scripts)."""
    return study_notes.sources(studies)
