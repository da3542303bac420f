#!/usr/bin/env python3
"""Plot a Mocha CIFAR-10 run's learning curve from metrics.json (runs on the controller).

    plot_learning_curve.py METRICS_JSON OUT_PNG

The training objective against iterations (left axis), the test accuracy (right axis), the roughly 80% test accuracy
Mocha's tutorial reaches after 70,000 iterations as a reference line, and a dashed line where the run was resumed
(from a snapshot, or restarted), each labelled in the legend.
"""

import json
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

TUTORIAL_ACCURACY = 80.0


def build_figure(metrics):
    """The figure for one run's metrics (a dict as in metrics.json)."""
    fig, ax_obj = plt.subplots(figsize=(8, 4.5), dpi=100)
    obj = metrics.get("objective_curve") or []
    acc = metrics.get("accuracy_curve") or []
    handles = []
    if obj:
        handles += ax_obj.plot([p[0] for p in obj], [p[1] for p in obj], color="tab:blue", linewidth=1, label="training objective")
    ax_obj.set_xlabel("iteration")
    ax_obj.set_ylabel("training objective", color="tab:blue")
    ax_acc = ax_obj.twinx()
    if acc:
        handles += ax_acc.plot([p[0] for p in acc], [p[1] for p in acc], color="tab:red", marker="o", markersize=3,
                               label="test accuracy")
    handles.append(ax_acc.axhline(TUTORIAL_ACCURACY, color="tab:gray", linestyle=":", linewidth=1,
                                  label=f"tutorial: about {TUTORIAL_ACCURACY:.0f}% after 70,000 iterations"))
    for n, resume in enumerate(metrics.get("resumes") or []):
        line = ax_obj.axvline(resume["iteration"], color="tab:green", linestyle="--", linewidth=1,
                              label="resumed" if n == 0 else "_nolegend_")
        if n == 0:
            handles.append(line)
    ax_acc.set_ylabel("test accuracy (%)", color="tab:red")
    ax_acc.set_ylim(0, 100)
    final = metrics.get("final_accuracy")
    title = f"Mocha CIFAR-10 ({metrics.get('backend', '?')} backend)"
    if final is not None:
        title += f": {final:.2f}% after {metrics.get('iterations')} iterations"
    fit_title(fig, [title, f"on {metrics.get('host', '?')}"])
    ax_obj.grid(True, alpha=0.3)
    ax_obj.legend(handles=handles, loc="center right", fontsize="small")
    fig.tight_layout()
    return fig


def fit_title(fig, lines, size=12.0, smallest=8.0):
    """The figure's title, LINES centred on the whole figure and whole at its size: an EC2 inventory name is long, so
    the font shrinks to SMALLEST at most, then a line still too wide is broken (a host name has no spaces)."""
    title = fig.suptitle("\n".join(lines), fontsize=size)
    renderer = fig.canvas.get_renderer()
    room = fig.bbox.width * 0.96
    while title.get_window_extent(renderer).width > room and size > smallest:
        size -= 0.5
        title.set_fontsize(size)
    width = title.get_window_extent(renderer).width
    if width > room:
        longest = max(len(line) for line in lines)
        chars = max(10, int(longest * room / width))
        title.set_text("\n".join(part for line in lines for part in textwrap.wrap(line, chars, break_on_hyphens=True)))
    return title


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[0]) as handle:
        metrics = json.load(handle)
    build_figure(metrics).savefig(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
