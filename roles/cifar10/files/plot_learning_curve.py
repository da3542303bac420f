#!/usr/bin/env python3
"""Plot a Mocha CIFAR-10 run's learning curve from metrics.json (runs on the controller).

    plot_learning_curve.py METRICS_JSON OUT_PNG

The training objective against iterations (left axis) and the test accuracy (right axis).
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[0]) as handle:
        metrics = json.load(handle)
    fig, ax_obj = plt.subplots(figsize=(8, 4.5), dpi=100)
    obj = metrics.get("objective_curve") or []
    acc = metrics.get("accuracy_curve") or []
    if obj:
        ax_obj.plot([p[0] for p in obj], [p[1] for p in obj], color="tab:blue", linewidth=1, label="training objective")
    ax_obj.set_xlabel("iteration")
    ax_obj.set_ylabel("training objective", color="tab:blue")
    ax_acc = ax_obj.twinx()
    if acc:
        ax_acc.plot([p[0] for p in acc], [p[1] for p in acc], color="tab:red", marker="o", markersize=3, label="test accuracy")
    ax_acc.set_ylabel("test accuracy (%)", color="tab:red")
    ax_acc.set_ylim(0, 100)
    final = metrics.get("final_accuracy")
    title = f"Mocha CIFAR-10 on {metrics.get('host', '?')} ({metrics.get('backend', '?')})"
    if final is not None:
        title += f": {final:.2f}% after {metrics.get('iterations')} iterations"
    ax_obj.set_title(title)
    ax_obj.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
