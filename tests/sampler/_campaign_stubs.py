"""The stub setup that the campaign tests share (``test_collect_predict.py``,
``test_run_packed.py``): a folder of random PNG images, a campaign of the stub linear
classifier, the rows of a file by id without their timings, and a writer that raises
``KeyboardInterrupt`` at a given row.

The stub oracle, the image writer and the classifier are those of ``test_run.py``,
re-exported here (``PROMPT``, ``FirstWord``, ``save_png``, ``linear_classifier``).
"""

import sampler._campaign as campaign_module
from sampler.run import read_rows, run
from tests.sampler.test_run import PROMPT, FirstWord, linear_classifier
from tests.sampler.test_run import _save_png as save_png

__all__ = [
    "CLASSIFIER_NAME",
    "PROMPT",
    "FirstWord",
    "interrupt_writes",
    "linear_classifier",
    "rows_by_id",
    "run_classifier",
    "save_images",
    "save_png",
]

#: The model name of the stub classifier's campaigns (part of the configuration hash).
CLASSIFIER_NAME = "linear-8x8"


def save_images(tmp_path, count):
    """``count`` random 32 x 32 PNGs ``00.png``, ``01.png``, ... (image ``i`` from seed
    ``i``) in ``tmp_path / "images"``, the folder returned."""
    root = tmp_path / "images"
    for i in range(count):
        save_png(root / f"{i:02d}.png", i)
    return root


def run_classifier(data, out, config, *, progress=False, **kw):
    """:func:`sampler.run.run` of a fresh stub classifier (the same parameters in every
    call) on ``data`` into ``out``, without a progress bar unless asked; ``kw`` as
    ``run``'s."""
    return run(
        linear_classifier(),
        data,
        out,
        model_name=CLASSIFIER_NAME,
        progress=progress,
        config=config,
        **kw,
    )


def rows_by_id(out):
    """The rows of ``out`` by id, without their timings (which differ from run to run);
    fails unless each id has exactly one row."""
    rows = read_rows(out)
    assert len({r["id"] for r in rows}) == len(rows)  # one row per input
    return {r["id"]: {k: v for k, v in r.items() if k != "timings"} for r in rows}


def interrupt_writes(monkeypatch, *, at=3):
    """Make the campaign writer raise ``KeyboardInterrupt`` on its ``at``-th row (before
    writing it) and write the others; the list of the ids handed to it, in order, which
    grows as the campaign runs. ``monkeypatch.undo()`` restores the writer."""
    write, seen = campaign_module.Writer.write, []

    def interrupting(self, row):
        seen.append(row["id"])
        if len(seen) == at:
            raise KeyboardInterrupt
        return write(self, row)

    monkeypatch.setattr(campaign_module.Writer, "write", interrupting)
    return seen
