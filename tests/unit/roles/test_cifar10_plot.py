"""The learning curve (roles/cifar10/files/plot_learning_curve.py): legend, the tutorial's 80% line, resume markers."""

import subprocess
import sys

import pytest
from conftest import REPO, load_source

SCRIPT = REPO / "roles" / "cifar10" / "files" / "plot_learning_curve.py"
METRICS = {"host": "gpu-1", "backend": "cpu", "iterations": 800, "final_accuracy": 61.5,
           "objective_curve": [[200, 2.0], [400, 1.9], [600, 1.8], [800, 1.7]],
           "accuracy_curve": [[400, 40.0], [800, 61.5]],
           "resumes": [{"iteration": 400, "snapshot": "snapshot-000400.jld"}, {"iteration": 600, "snapshot": "snapshot-000600.jld"}]}


def load():
    return load_source(SCRIPT)


def test_figure_has_legend_reference_line_and_resume_markers():
    fig = load().build_figure(METRICS)
    ax_obj, ax_acc = fig.axes
    labels = [t.get_text() for t in ax_obj.get_legend().get_texts()]
    assert labels == ["training objective", "test accuracy", "tutorial: about 80% after 70,000 iterations", "resumed"]
    assert any(list(line.get_ydata()) == [80.0, 80.0] for line in ax_acc.get_lines())
    resumed_at = sorted(line.get_xdata()[0] for line in ax_obj.get_lines() if line.get_linestyle() == "--")
    assert resumed_at == [400, 600]
    (title,) = fig.texts
    assert title.get_text() == "Mocha CIFAR-10 (cpu backend): 61.50% after 800 iterations\non gpu-1"


def test_a_run_never_resumed_has_no_resume_marker():
    fig = load().build_figure(dict(METRICS, resumes=[]))
    assert "resumed" not in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_command_line_writes_a_png(tmp_path):
    import json

    (tmp_path / "m.json").write_text(json.dumps(METRICS))
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "m.json"), str(tmp_path / "c.png")], check=True)
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# An EC2 inventory name (tag Name, then the instance id: inventory/aws_ec2.yml), as long as a sweep variant's gets.
EC2_HOST = "mocha-cloud-lr-scan-fast-20261207T101500Z-i-0123456789abcdef0"


@pytest.mark.parametrize("host", [EC2_HOST, "ec2-203-0-113-250.eu-central-1.compute.amazonaws.com-" + EC2_HOST])
def test_the_whole_title_shows_at_the_default_size(tmp_path, host):
    """Rendered as the role writes it (the command line, default size): the title's extent lies inside the figure,
    above the plot, and it holds the whole host name."""
    import json

    import matplotlib.image

    (tmp_path / "m.json").write_text(json.dumps(dict(METRICS, host=host)))
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "m.json"), str(tmp_path / "c.png")], check=True)
    height, width = matplotlib.image.imread(str(tmp_path / "c.png")).shape[:2]
    fig = load().build_figure(dict(METRICS, host=host))
    assert (fig.bbox.width, fig.bbox.height) == (width, height) == (800, 450)
    (title,) = fig.texts + [ax.title for ax in fig.axes if ax.get_title()]  # the figure's title or an axes' one
    renderer = fig.canvas.get_renderer()
    box = title.get_window_extent(renderer)
    assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, (box, width, height)
    assert box.y0 >= max(ax.get_window_extent(renderer).y1 for ax in fig.axes)
    assert host in title.get_text().replace("\n", "")
