"""Figures of the plasticity study (seed003 report: Table 1, Fig. "all_p", the Memo heatmaps)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import MaxNLocator

from attnmem.inputs import FigureInputs
from attnmem.plots.common import legend_of_all, mean_band
from attnmem.plots.style import plt, save, setup

# Table 1 groups networks by memory-layer plasticity: M networks in cool colours, A in warm,
# each readout family with its own hue and line style so 14 lines stay tellable apart.
FAMILY_STYLE = {
    "fc": ("-", "o"),
    "nonl": ("--", "s"),
    "dyn": ("-.", "^"),
    "memo": (":", "D"),
    "stack": ("-", "P"),
    "hebbff": ((0, (1, 1)), "x"),
}
COLOURS = {
    "fc_M": "#08519c",
    "nonl_M": "#3182bd",
    "dyn_MM": "#006d2c",
    "dyn_MA": "#31a354",
    "memo_MM": "#54278f",
    "memo_MA": "#807dba",
    "fc_A": "#a50f15",
    "nonl_A": "#de2d26",
    "dyn_AM": "#a63603",
    "dyn_AA": "#fd8d3c",
    "memo_AM": "#7a0177",
    "memo_AA": "#f768a1",
    "stack_MA": "#000000",
    "hebbff": "#737373",
}


def _style(network: str) -> dict:
    line, marker = FAMILY_STYLE[network.split("_")[0]]
    return {"color": COLOURS.get(network, "#999999"), "linestyle": line, "marker": marker}


def _ordered(names, order: Sequence[str]) -> list[str]:
    return sorted(set(names), key=lambda n: (order.index(n) if n in order else len(order), n))


def _sizes(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["size"].astype(str).unique(), key=int)


#: published step-plot metrics and the x (sequences) at which the report's plot has them
STEP_POINTS = {"r_at_100k": 100_000, "r_at_250k": 250_000}


def r_vs_sequences(
    runs: pd.DataFrame,
    stages: pd.DataFrame,
    png: str | Path,
    published: pd.DataFrame | None = None,
) -> None:
    """Current R against sequences trained (the report's step plot), median over seeds with the
    seeds' range as a band; one panel per size.  Every run starts at R = 1 and ends at its own
    number of sequences, whether or not a stage finished.  ``published``: rows (network, size,
    r_at_100k, r_at_250k), the report's step plot read at those iterations, drawn as stars in
    the network's colour."""
    setup()
    sizes = _sizes(runs) or ["?"]
    fig, axes = plt.subplots(
        1, len(sizes), figsize=(6.2 * len(sizes) + 2, 4.6), squeeze=False, constrained_layout=True
    )
    order = list(COLOURS)
    for ax, size in zip(axes[0], sizes, strict=True):
        in_size = runs[runs["size"].astype(str) == size]
        ends = stages[stages["size"].astype(str) == size]
        grid = np.linspace(0, max(1, int(in_size["sequences"].max())), 400)
        for network in _ordered(in_size["network"], order):
            seeds = in_size[in_size.network == network]["seed"]
            # R in force at each point of the grid, per seed: 1 + stages finished so far
            per_seed = np.array(
                [
                    1
                    + np.searchsorted(
                        np.sort(
                            ends[(ends.network == network) & (ends.seed == seed)][
                                "cumulative"
                            ].to_numpy()
                        ),
                        grid,
                        side="right",
                    )
                    for seed in seeds
                ]
            )
            style = _style(network)
            ax.step(
                grid,
                np.median(per_seed, axis=0),
                where="post",
                label=f"{network} (n={len(per_seed)})",
                color=style["color"],
                linestyle=style["linestyle"],
                linewidth=1.6,
            )
            ax.fill_between(
                grid,
                per_seed.min(0),
                per_seed.max(0),
                step="post",
                color=style["color"],
                alpha=0.12,
                linewidth=0,
            )
        for _, row in (published if published is not None else pd.DataFrame()).iterrows():
            if str(row["size"]) != size or row["network"] not in set(in_size["network"]):
                continue
            for metric, x in STEP_POINTS.items():
                if metric in row and pd.notna(row[metric]):
                    style = _style(row["network"])
                    ax.plot(x, row[metric], marker="*", markersize=13, color=style["color"],
                            markeredgecolor="black", linestyle="none")  # fmt: skip
                    ax.annotate(  # to the star's left: it sits at the axis' right end
                        f"report: {row['network']} R={row[metric]:g}",
                        (x, row[metric]),
                        textcoords="offset points",
                        xytext=(-8, -12),
                        ha="right",
                        fontsize=7,
                    )
        ax.set_title(f"size {size} (plastic neurons)")
        ax.set_xlabel("training sequences")
        ax.set_ylabel("current repeat interval R")
        ax.set_ylim(0.5, max(ax.get_ylim()[1], 1.5) + 0.5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    legend_of_all(axes, axes[0][-1], fontsize=8, ncol=2)
    fig.suptitle("Curriculum progress: median R over seeds (band: range of seeds)")
    save(fig, png)


def table_heatmaps(
    summary: pd.DataFrame, published: pd.DataFrame, order: Sequence[str], png: str | Path
) -> None:
    """Table 1 as heatmaps: the report's Max R beside the replicated median R_reached and R_conv."""
    setup()
    networks = [n for n in order if n in set(summary.network) | set(published.network)]
    sizes = sorted(set(summary["size"].astype(str)) | set(published["size"].astype(str)), key=int)

    def grid(frame: pd.DataFrame, value: str) -> np.ndarray:
        out = np.full((len(sizes), len(networks)), np.nan)
        for _, row in frame.iterrows():
            if row["network"] in networks and str(row["size"]) in sizes:
                out[sizes.index(str(row["size"])), networks.index(row["network"])] = row[value]
        return out

    panels = [
        ("published Max R (single run)", grid(published, "max_r")),
        (
            "replicated R_reached (median of seeds)",
            grid(summary[summary.metric == "r_reached"], "median"),
        ),
        (
            "replicated R_conv (median of seeds)",
            grid(summary[summary.metric == "r_conv"], "median"),
        ),
    ]
    top = np.nanmax([np.nanmax(p) if np.isfinite(p).any() else 0 for _, p in panels] + [1])
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(max(7, 0.75 * len(networks)), 1.2 + 1.9 * len(panels)),
        sharex=True,
        constrained_layout=True,
    )
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("#e8e8e8")  # not run / not published
    for ax, (title, values) in zip(axes, panels, strict=True):
        image = ax.imshow(values, cmap=cmap, vmin=0, vmax=top, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            text = "–" if np.isnan(v) else f"{v:g}"
            shade = "black" if np.isnan(v) or v > 0.6 * top else "white"
            ax.text(j, i, text, ha="center", va="center", color=shade, fontsize=9)
        ax.set_yticks(range(len(sizes)), [f"size {s}" for s in sizes])
        ax.set_title(title)
        ax.grid(False)
    axes[-1].set_xticks(range(len(networks)), networks, rotation=35, ha="right", fontsize=8)
    fig.colorbar(image, ax=axes, label="repeat interval R", shrink=0.8)
    save(fig, png)


def generalisation(curves: pd.DataFrame, order: Sequence[str], png: str | Path) -> None:
    """Accuracy, TPR and FPR of the final model against the test interval, per size."""
    setup()
    data = curves[curves.split == "generalisation"]
    sizes = _sizes(data) or ["?"]
    metrics = (
        ("accuracy", "accuracy"),
        ("tpr", "true-positive rate"),
        ("fpr", "false-positive rate"),
    )
    fig, axes = plt.subplots(
        len(sizes),
        3,
        figsize=(15, 0.6 + 3.4 * len(sizes)),
        squeeze=False,
        sharex=True,
        constrained_layout=True,
    )
    for row, size in zip(axes, sizes, strict=True):
        in_size = data[data["size"].astype(str) == size]
        for ax, (metric, label) in zip(row, metrics, strict=True):
            for network in _ordered(in_size.network, order):
                g = in_size[(in_size.network == network) & (in_size.metric == metric)]
                style = _style(network)
                mean_band(
                    ax,
                    g.step,
                    g,
                    style["color"],
                    f"{network} (n={int(g['n'].max())})",
                    alpha=0.1,
                    linestyle=style["linestyle"],
                    marker=style["marker"],
                    markersize=3,
                )
            if metric == "accuracy":
                ax.axhline(2 / 3, color="grey", linewidth=0.8, linestyle="--")
                ax.annotate(
                    "always 'novel' ≈ 2/3",
                    (1, 2 / 3),
                    fontsize=7,
                    color="grey",
                    xytext=(2, 3),
                    textcoords="offset points",
                )
            ax.set_title(f"size {size}: {label}")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("test repeat interval R")
            ax.xaxis.get_major_locator().set_params(integer=True)
    legend_of_all(axes, axes[0][-1], fontsize=7, ncol=2)
    fig.suptitle("Generalisation of the final models (mean over seeds, 95% t-band)")
    save(fig, png)


def _clipped(ax, matrix: np.ndarray, title: str, fig) -> None:
    """A heatmap centred at 0 and clipped to mean ± 2 sd, as the source plotted them."""
    m = np.asarray(matrix, dtype=float)
    spread = 2 * m.std() if m.size > 1 else 1.0
    bound = max(abs(m.mean() - spread), abs(m.mean() + spread), 1e-6)
    image = ax.imshow(
        m, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto", interpolation="nearest"
    )
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("presynaptic (input)", fontsize=8)
    ax.set_ylabel("postsynaptic unit", fontsize=8)
    if m.shape[1] == 1:
        ax.set_xticks([])
    ax.grid(False)
    fig.colorbar(image, ax=ax, shrink=0.8)


def mechanism(
    model: torch.nn.Module,
    trace: list[dict[str, list[torch.Tensor]]],
    outputs: torch.Tensor,
    total_target: torch.Tensor,
    frames: range,
    title: str,
    pngs: Mapping[str, str | Path],
) -> None:
    """Heatmaps of a Memo network: W and η per layer, hidden activity over a window of frames,
    P(t) on the window's last familiar scene, and the effective weights W ⊙ (1 + P) (true, for M)
    beside W ⊙ P (what the source plotted as the "actual weight").  Draws the panels named in
    ``pngs`` (weights, hidden, plastic, effective)."""
    setup()
    layers = list(model.layers)
    window = list(frames)
    if "weights" in pngs:
        # static weights and learning rates
        fig, axes = plt.subplots(
            2, len(layers) + 1, figsize=(4.4 * (len(layers) + 1), 7.4), constrained_layout=True
        )
        for i, layer in enumerate(layers):
            _clipped(axes[0][i], layer.weight.detach(), f"W{i + 1} ({layer.kind})", fig)
            eta = layer.eta.detach()
            _clipped(axes[1][i], eta if eta.dim() == 2 else eta.reshape(1, 1), f"η{i + 1}", fig)
        _clipped(axes[0][-1], model.readout.weight.detach().T, "w_f (readout)", fig)
        decays = ", ".join(
            f"σ(ℓ{i + 1}) = {layer.decay().item():.3f}" for i, layer in enumerate(layers)
        )
        axes[1][-1].axis("off")
        axes[1][-1].text(0, 0.5, decays.replace(", ", "\n"), fontsize=10)
        fig.suptitle(f"{title}: static weights and plasticity rates")
        save(fig, pngs["weights"])

    if "hidden" in pngs:
        # hidden activity over the window, ticks = (prediction, target)
        labels = [f"{int(outputs[t] >= 0.5)},{int(total_target[t])}" for t in window]
        fig, axes = plt.subplots(
            len(layers),
            1,
            figsize=(max(9, 0.22 * len(window)), 3.2 * len(layers)),
            squeeze=False,
            constrained_layout=True,
        )
        for i in range(len(layers)):
            activity = torch.stack([trace[t]["hidden"][i][0] for t in window], dim=1).numpy()
            ax = axes[i][0]
            image = ax.imshow(
                activity, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest"
            )
            ax.set_title(f"layer {i + 1} hidden activity", fontsize=9)
            ax.set_ylabel("unit")
            ax.set_xticks(range(len(window)), labels, rotation=90, fontsize=6)
            ax.grid(False)
            fig.colorbar(image, ax=ax, shrink=0.8)
        axes[-1][0].set_xlabel("frame: (prediction, target; 2 = not scored)")
        fig.suptitle(f"{title}: frames {window[0]}..{window[-1]}")
        save(fig, pngs["hidden"])

    # P(t) over the four frames ending at the window's last familiar scene (or its last scene)
    familiar = [t for t in window if int(total_target[t]) == 1]
    end = familiar[-1] if familiar else window[-1]
    if "plastic" in pngs:
        shown = [t for t in range(end - 3, end + 1) if t >= 0]
        fig, axes = plt.subplots(
            len(layers),
            len(shown),
            figsize=(4.0 * len(shown), 3.6 * len(layers)),
            squeeze=False,
            constrained_layout=True,
        )
        for i in range(len(layers)):
            for j, t in enumerate(shown):
                _clipped(axes[i][j], trace[t]["plastic"][i][0], f"P{i + 1}(t={t})", fig)
        fig.suptitle(f"{title}: plastic matrices on frames {shown[0]}..{shown[-1]}")
        save(fig, pngs["plastic"])

    if "effective" in pngs:
        fig, axes = plt.subplots(
            2, len(layers), figsize=(4.8 * len(layers), 7.4), squeeze=False, constrained_layout=True
        )
        for i, layer in enumerate(layers):
            plastic = trace[end]["plastic"][i][0]
            w = layer.weight.detach()
            effective = w * (1 + plastic) if layer.kind == "M" else w + plastic
            source = w * plastic if layer.kind == "M" else w + plastic
            _clipped(
                axes[0][i],
                effective,
                f"layer {i + 1} ({layer.kind}): effective weight "
                + ("W⊙(1+P)" if layer.kind == "M" else "W+P"),
                fig,
            )
            _clipped(
                axes[1][i],
                source,
                f"layer {i + 1} ({layer.kind}): as the source plotted: "
                + ("W⊙P" if layer.kind == "M" else "W+P"),
                fig,
            )
        fig.suptitle(f"{title}: weights in use at frame {end}")
        save(fig, pngs["effective"])


def draw_progress(f: FigureInputs) -> None:
    from attnmem.published import as_frame
    from attnmem.studies.plasticity import STEP_PLOT_METRICS, STUDY

    points = as_frame(f.published, STUDY.name, STUDY.axes, STEP_PLOT_METRICS)
    r_vs_sequences(f.table("runs"), f.table("stages"), f.png, points)


def draw_table1(f: FigureInputs) -> None:
    from attnmem.studies.plasticity import TABLE_ORDER

    table_heatmaps(f.table("summary"), f.published_values(), TABLE_ORDER, f.png)


def draw_generalisation(f: FigureInputs) -> None:
    from attnmem.studies.plasticity import TABLE_ORDER

    generalisation(f.table("curves"), TABLE_ORDER, f.png)


def draw_mechanism(f: FigureInputs, window: int = 48, seed: int = 0) -> None:
    """One panel (the stem's suffix) of the trained network of the config's ``mechanism`` cell:
    its weights, η, hidden activity, P(t) and effective weights, on a fresh sequence at the
    R it reached."""
    import json

    from attnmem.data.familiarity import generate, train_length
    from attnmem.models.plastic import build_network

    final = json.loads((f.run_folder / "final.json").read_text())
    config = final["config"]
    model = build_network(config["network"], int(config["size"]), config["d"], config["eta"])
    model.load_state_dict(torch.load(f.run_folder / "model.pt"))
    r = max(1, int(final["metrics"]["r_reached"]))
    seqs = generate(
        1, train_length(r), r, torch.Generator().manual_seed(seed), config["d"], config["frames"]
    )
    trace: list = []
    with torch.no_grad():
        outputs = model(seqs.frames, trace=trace)[0]
    start = config["frames"] * r
    frames = range(start, min(start + window, outputs.numel()))
    title = f"{config['network']} size {config['size']}, seed {config['seed']}, at R={r}"
    panel = f.stem.removeprefix("mechanism_")
    mechanism(model, trace, outputs, seqs.total_target[0], frames, title, {panel: f.png})
