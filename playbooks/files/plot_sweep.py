#!/usr/bin/env python3
"""Plot a sweep's test-accuracy curves from comparison.json (runs on the controller).

    plot_sweep.py COMPARISON_JSON OUT_PNG

One curve per variant (test accuracy against iterations), labelled with the variant's name, learning rate and final
accuracy, in the comparison's order (best first); a variant that failed is drawn dashed up to where it stopped and
labelled FAILED; the roughly 80% Mocha's tutorial reaches after 70,000 iterations is a dotted reference line.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

TUTORIAL_ACCURACY = 80.0


def label(row):
    text = f"{row['variant']} (lr {row['lr']:g})"
    if row["status"] == "finished" and row.get("final_accuracy") is not None:
        return f"{text}: {row['final_accuracy']:.2f}%"
    if row["status"] == "running":
        return f"{text}: still running"
    return f"{text}: FAILED"


def build_figure(comparison):
    """The figure for a comparison (a dict as in comparison.json)."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for row in comparison.get("rows") or []:
        curve = row.get("accuracy_curve") or []
        style = "-" if row["status"] == "finished" else "--"
        ax.plot([p[0] for p in curve], [p[1] for p in curve], linestyle=style, marker="o", markersize=3, linewidth=1.2,
                label=label(row))
    ax.axhline(TUTORIAL_ACCURACY, color="tab:gray", linestyle=":", linewidth=1,
               label=f"tutorial: about {TUTORIAL_ACCURACY:.0f}% after 70,000 iterations")
    ax.set_xlabel("iteration")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    rows = comparison.get("rows") or []
    ax.set_title(f"Sweep {comparison.get('sweep', '?')}: test accuracy of {len(rows)} variant(s)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[0]) as handle:
        comparison = json.load(handle)
    build_figure(comparison).savefig(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
