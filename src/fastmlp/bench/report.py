"""The runner's outputs: the printed table, the JSON file and the PNG chart."""

import json
import os

from fastmlp.bench.suite import ratio

RATIO_NOTE = (
    "ratios = other library's time / fastmlp's time: > 1 means fastmlp is faster; "
    "best of alternating blocks; GFLOP/s and % of peak are fastmlp's "
    "(peak: FMA probe for fastmlp's ISA, the dtype and the threads)"
)

COLUMNS = (
    ("workload", 26, "<"),
    ("shape", 22, "<"),
    ("dtype", 7, "<"),
    ("time", 10, ">"),
    ("GFLOP/s", 8, ">"),
    ("% peak", 6, ">"),
    ("NumPy", 10, ">"),
    ("vs NumPy", 9, ">"),
    ("PyTorch", 10, ">"),
    ("vs torch", 9, ">"),
)


def format_seconds(s):
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _time_cell(result):
    if result is None:
        return "-"
    if result.get("status") != "ok":
        return result["status"]
    mark = "" if result.get("correct", True) else " !"
    return format_seconds(result.get("best_s")) + mark


def _ratio_cell(row, other):
    r = ratio(row, other)
    if r is not None:
        return f"{r:.2f}x"
    status = row["results"].get(other, {}).get("status")
    return status if status not in (None, "ok") else "-"


def header(coretype_column=None):
    cols = list(COLUMNS) + ([(coretype_column, 13, ">")] if coretype_column else [])
    line = "  ".join(f"{name:{align}{width}}" for name, width, align in cols)
    return line + "\n" + "-" * len(line)


def format_row(row, coretype_column=None):
    fast = row["results"].get("fastmlp", {})
    cells = [
        row["workload"],
        row["shape"],
        row["dtype"],
        _time_cell(fast),
        f"{fast['gflops']:.1f}" if "gflops" in fast else "-",
        f"{fast['pct_peak']:.0f}%" if "pct_peak" in fast else "-",
        _time_cell(row["results"].get("numpy")),
        _ratio_cell(row, "numpy"),
        _time_cell(row["results"].get("torch")),
        _ratio_cell(row, "torch"),
    ]
    cols = list(COLUMNS)
    if coretype_column:
        cells.append(_ratio_cell(row, "numpy_coretype") if "numpy_coretype" in row["results"] else "-")
        cols.append((coretype_column, 13, ">"))
    return "  ".join(f"{str(c):{align}{width}}" for c, (_, width, align) in zip(cells, cols))


def footer(rows):
    lines = [RATIO_NOTE]
    if any(not r.get("correct", True) for row in rows for r in row["results"].values()):
        lines.append(
            "! = result differs from the float64 reference beyond the tolerance (see 'error' in the JSON)"
        )
    return "\n".join(lines)


def best_of_runs(runs):
    """The rows of several runs' JSON results (same cases, in the same order) with, per case
    and library, the result whose best time is shortest: the best-of-blocks of one run,
    taken over the blocks of all of them.

    The % of peak is taken against the highest FMA peak the runs probed for the case: a
    probe made while the VM lent a core elsewhere reads half the peak, and the % of that
    run's times (up to 165% on 2 cores of a Zen 4) with it."""
    ids = [[row["id"] for row in run["results"]] for run in runs]
    if any(i != ids[0] for i in ids[1:]):
        raise ValueError("the runs to combine measured different cases")
    rows = []
    for same_case in zip(*(run["results"] for run in runs)):
        peaks = [r["peak_gflops"] for r in same_case if r.get("peak_gflops")]
        row = dict(same_case[0], results={})
        if peaks:
            row["peak_gflops"] = max(peaks)
        for library in same_case[0]["results"]:
            results = [r["results"][library] for r in same_case if library in r["results"]]
            timed = [r for r in results if r.get("status") == "ok" and r.get("best_s")]
            best = min(timed, key=lambda r: r["best_s"]) if timed else results[0]
            if peaks and "pct_peak" in best:
                best = dict(best, pct_peak=100.0 * best["gflops"] / row["peak_gflops"])
            row["results"][library] = best
        rows.append(row)
    return rows


def write_json(path, machine, rows, settings):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(
            {"machine": machine, "settings": settings, "results": rows}, f, indent=1, default=_json_default
        )


def _json_default(x):
    if hasattr(x, "item"):  # NumPy scalars
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x)}")


# --- chart ---------------------------------------------------------------------------

STYLE = {
    "fastmlp": ("tab:red", "fastmlp"),
    "numpy": ("tab:blue", "NumPy"),
    "torch": ("tab:green", "PyTorch"),
    "numpy_coretype": ("tab:cyan", "NumPy (coretype)"),
}


def _curve(ax, rows, library, label_suffix="", linestyle="-"):
    pts = sorted(
        (r["size"], r["results"][library]["gflops"])
        for r in rows
        if "gflops" in r["results"].get(library, {})
    )
    if pts:
        color, label = STYLE[library]
        ax.plot(*zip(*pts), linestyle, marker="o", ms=3, color=color, label=label + label_suffix)


def _gflops_panel(ax, rows, series, title, xlabel, peak=None):
    if not rows:  # a run of other cases (--only): no empty axes, no empty legend
        ax.set_axis_off()
        return
    for key, label_suffix, linestyle in series:
        subset = [r for r in rows if key(r)]
        for library in STYLE:
            _curve(ax, subset, library, label_suffix, linestyle)
    if peak:
        ax.axhline(peak, color="gray", lw=0.8, ls=":", label=f"FMA peak f32 ({peak:.0f})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("GFLOP/s")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _bars_panel(ax, rows, title, unit_scale, unit):
    libraries = [lib for lib in ("fastmlp", "numpy", "torch")]
    width = 0.8 / len(libraries)
    for i, row in enumerate(rows):
        for j, lib in enumerate(libraries):
            r = row["results"].get(lib, {})
            x = i + (j - (len(libraries) - 1) / 2) * width
            if "best_s" in r:
                v = r["best_s"] / unit_scale
                ax.bar(x, v, width, color=STYLE[lib][0], label=STYLE[lib][1] if i == 0 else None)
                ax.text(x, v, f"{v:.3g}", ha="center", va="bottom", fontsize=6)
            else:
                ax.text(
                    x,
                    0,
                    r.get("status", "n/a").replace(" ", "\n"),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    rotation=90,
                    color=STYLE[lib][0],
                )
                ax.bar(x, 0, width, color=STYLE[lib][0], label=STYLE[lib][1] if i == 0 else None)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{r['shape']}\n{r['workload']}" for r in rows], fontsize=7)
    ax.set_ylabel(unit)
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def draw_png(path, machine, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    by_subject = {}
    for row in rows:
        by_subject.setdefault(row["subject"], []).append(row)
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    peak = next((r["peak_gflops"] for r in by_subject.get("matmul", []) if r["dtype"] == "float32"), None)
    _gflops_panel(
        axes[0, 0],
        by_subject.get("matmul", []),
        [(lambda r: r["dtype"] == "float32", " f32", "-"), (lambda r: r["dtype"] == "float64", " f64", "--")],
        "matmul n x n x n",
        "n",
        peak,
    )
    dense = by_subject.get("dense_forward", [])
    batches = sorted({int(r["shape"].split("x")[0]) for r in dense})
    _gflops_panel(
        axes[0, 1],
        dense,
        [
            (lambda r, b=b: r["shape"].startswith(f"{b}x"), f" batch {b}", ls)
            for b, ls in zip(batches, ("-", "--", ":", "-."))
        ],
        "linear + relu forward, float32 (batch x width -> width)",
        "width",
    )
    epochs = by_subject.get("train_epoch", [])
    if epochs:
        _bars_panel(axes[1, 0], epochs, "one training epoch (lower is better)", 1e-3, "ms")
    else:
        axes[1, 0].set_axis_off()
    predict = by_subject.get("predict_latency", [])
    if predict:
        _bars_panel(axes[1, 1], predict, "predict latency, 1 sample (lower is better)", 1e-6, "us")
    else:
        axes[1, 1].set_axis_off()
    fig.suptitle(
        f"fastmlp vs NumPy vs PyTorch - {machine['cpu']}, {machine['threads']} threads, "
        f"fastmlp {machine['fastmlp_isa']}, NumPy {machine['numpy_blas']['internal_api']} "
        f"{machine['numpy_blas']['architecture']}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
