"""The end of ``python -m sampler collect``: the JSON summary on stdout, the one-line
summaries on stderr, and the exit codes of :mod:`sampler._cli_collect` (those of
:func:`sampler._cli_exit.rows_exit`)."""

from __future__ import annotations

import sys

from sampler._cli_exit import rows_exit

__all__ = []


def _one_line(text: str, width: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."


def _finish(summary, inputs) -> int:
    """Print the summary (JSON on stdout); the exit code of the module docstring, with its
    one line on stderr."""
    import collections
    import json
    import pathlib

    from sampler._run_rows import read_rows

    print(
        json.dumps(
            {
                k: (str(v) if isinstance(v, pathlib.Path) else v)
                for k, v in summary._asdict().items()
            }
        )
    )
    if summary.packing is not None:
        pack = summary.packing
        print(
            f"packing: {pack['calls']} calls of up to {pack['batch_size']} copies, "
            f"{pack['copies']} copies, fill {pack['fill']:.2f}",
            file=sys.stderr,
        )
    ids = {x.id for x in inputs}
    last = {
        r["id"]: r
        for r in read_rows(summary.out)
        if r["config_hash"] == summary.config_hash and r["id"] in ids
    }
    failed = [r for r in last.values() if r["status"] != "ok"]
    ran = summary.ok + summary.errors
    if not failed:
        if ran == 0:
            print(f"nothing to do: all {len(ids)} inputs already have rows", file=sys.stderr)
        return rows_exit(errors=0)
    errors = [r.get("error") or {} for r in failed]
    kind, count = collections.Counter(str(e.get("type")) for e in errors).most_common(1)[0]
    example = collections.Counter(
        str(e.get("message")) for e in errors if str(e.get("type")) == kind
    ).most_common(1)[0][0]
    print(
        f"collect: {len(failed)} of {len(ids)} inputs failed (error rows in {summary.out}; "
        f"--retry-errors runs them again); most common: {kind} ({count} of {len(failed)}), "
        f"e.g. {_one_line(example)}",
        file=sys.stderr,
    )
    none_ok = summary.ok == 0 and (ran > 0 or len(failed) == len(ids))
    return rows_exit(errors=len(failed), none_ok=none_ok)
