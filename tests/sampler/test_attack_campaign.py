"""Tests of attack campaigns (:func:`sampler.attack.attack_campaign`) and of
``python -m sampler attack``: one row per ``(input, budget, against)``, every budget
respected, resume (a rerun writes nothing, a cut last line is redone, another
configuration refused), the summary against an exact count of the rows, and the command
line on the tiny random LLaVA (plumbing: certify, attack, rows, rerun, plot)."""

import json

import numpy as np
import pytest
import scipy.stats
import torch
from PIL import Image

from sampler import CertifyConfig
from sampler.__main__ import main
from sampler.attack import (
    AttackConfig,
    attack_campaign,
    certified_rows,
    robust_curve,
    summarize,
)
from sampler.models import ImageClassifier
from sampler.run import read_rows, run


def _images(folder, count, *, size=4, seed=0):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        pixels = (rng.random((size, size, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")
    return folder


@pytest.fixture
def certified(tmp_path):
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 3))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        net[1].weight.copy_(torch.randn(3, 48, generator=gen))
        net[1].bias.copy_(torch.randn(3, generator=gen))
    clf = ImageClassifier(net)
    cfg = CertifyConfig(n0=20, n=200, sigma=0.25, alpha=0.01, seed=0, num_classes=3)
    out = tmp_path / "certify.jsonl"
    run(clf, _images(tmp_path / "imgs", 4), out, config=cfg, progress=False, model_name="lin")
    return clf, read_rows(out)


def test_campaign_rows_budgets_and_resume(tmp_path, certified):
    clf, rows = certified
    todo = certified_rows(rows)
    assert todo, "the stub certifies some inputs"
    cfg = AttackConfig(eps=(0.05, 0.5), radius_multiples=(2.0,), steps=5, draws=4, n=50)
    out = tmp_path / "attack.jsonl"
    first = attack_campaign(clf, rows, out, config=cfg, progress=False)
    lines = out.read_text().splitlines()
    assert first.written == len(lines) == len(todo) * 3 * 2 and first.errors == 0
    got = [json.loads(x) for x in lines]
    assert len({tuple(r["key"]) for r in got}) == len(got)
    radius = {r["id"]: r["radius"] for r in todo}
    for r in got:
        want = r["value"] * (radius[r["id"]] if r["budget"] == "radius_multiple" else 1.0)
        assert r["eps"] == pytest.approx(want)
        assert r["norm"] <= r["eps"] + 1e-5
        assert r["below_radius"] == (r["eps"] < radius[r["id"]])
    # rerun: nothing to do
    again = attack_campaign(clf, rows, out, config=cfg, progress=False)
    assert (again.written, again.skipped) == (0, len(got))
    # a crash mid-line: the cut row is dropped and done again, the others kept
    out.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])
    redo = attack_campaign(clf, rows, out, config=cfg, progress=False)
    assert redo.written == 1 and len(out.read_text().splitlines()) == len(lines)
    with pytest.raises(ValueError, match="another attack configuration"):
        attack_campaign(clf, rows, out, config=AttackConfig(eps=(0.1,)), progress=False)
    # the summary counts exactly the rows' successes
    rates = {(x.against, x.side): x for x in summarize(got)}
    for (against, side), x in rates.items():
        sel = [r for r in got if r["against"] == against and r["below_radius"] == (side == "below")]
        assert (x.trials, x.successes) == (len(sel), sum(r["success"] for r in sel))
        ci = scipy.stats.binomtest(x.successes, x.trials).proportion_ci(0.95, method="exact")
        assert (x.low, x.high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    curve = robust_curve(got, rows)
    assert [p.eps for p in curve] == [0.05, 0.5]
    for p in curve:
        assert p.certified == pytest.approx(
            np.mean([(0 if r.get("abstained") else r["radius"]) > p.eps for r in rows])
        )
        for against in ("base", "smoothed"):
            sel = [r for r in got if r["budget"] == "absolute" and r["eps"] == p.eps]
            kept = [
                r["certified_class"] == r["predicted"] and not r["abstain"]
                for r in sel
                if r["against"] == against
            ]
            assert getattr(p, against) == pytest.approx(sum(kept) / len(rows))


def test_attack_config_errors():
    with pytest.raises(ValueError, match="at least one budget"):
        AttackConfig()
    with pytest.raises(ValueError, match="eps must lie in"):
        AttackConfig(eps=(-1.0,))
    with pytest.raises(ValueError, match="against must be one of"):
        AttackConfig(eps=(0.1,), against=("clean",))
    with pytest.raises(ValueError, match="text is required"):
        AttackConfig(eps=(0.1,), direction="toward")


def test_cli_on_the_tiny_llava(tmp_path, tiny_llava_15_path, capsys):
    imgs = _images(tmp_path / "imgs", 2, size=16)
    out, cert, plot = tmp_path / "attack.jsonl", tmp_path / "cert.jsonl", tmp_path / "p.png"
    argv = [
        "attack", "--model", str(tiny_llava_15_path), "--data", str(imgs),
        "--certify-out", str(cert), "--n0", "4", "--n", "20", "--sigma", "0.25",
        "--alpha", "0.05", "--prompt", "What is this?", "--out", str(out), "--eps", "0.1",
        "--steps", "1", "--draws", "2", "--judge-n", "6", "--judge-alpha", "0.05",
        "--batch-size", "6", "--max-new-tokens", "3", "--quiet", "--plot", str(plot),
    ]  # fmt: skip
    assert main(argv) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    done = len(certified_rows(read_rows(cert)))
    assert len(rows) == 2 * done and all(r["status"] == "ok" for r in rows)
    assert {r["against"] for r in rows} == ({"base", "smoothed"} if done else set())
    assert all(isinstance(r["objective_text"], str) for r in rows)
    assert plot.is_file() == bool(done)
    printed = capsys.readouterr().out
    assert "| trials | successes |" in printed
    assert ("| inputs | broken |" in printed) == bool(done)  # the per-input table
    rerun = [*argv[: argv.index("--data")], "--rows", str(cert), *argv[argv.index("--out") :]]
    assert main(rerun) == 0
    assert len(out.read_text().splitlines()) == len(rows)
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["written"] == 0


def test_cli_refuses_bad_arguments(tmp_path, capsys):
    base = ["attack", "--model", "efficientnet-lite0", "--out", str(tmp_path / "a.jsonl")]
    assert main([*base, "--rows", str(tmp_path / "missing.jsonl"), "--eps", "0.1"]) == 2
    assert "--rows: no file" in capsys.readouterr().err
    (tmp_path / "c.jsonl").write_text("")
    assert main([*base, "--rows", str(tmp_path / "c.jsonl")]) == 2
    assert "at least one budget" in capsys.readouterr().err
    assert main([*base, "--rows", str(tmp_path / "c.jsonl"), "--eps", "0.1", "--text", "x"]) == 2
    assert "apply to a VLM" in capsys.readouterr().err


def test_cli_names_the_option_of_a_refused_setting(tmp_path, capsys):
    (tmp_path / "c.jsonl").write_text("")
    rows = ["--rows", str(tmp_path / "c.jsonl"), "--eps", "0.1"]
    data = ["--data", str(tmp_path), "--certify-out", str(tmp_path / "c2.jsonl"), "--eps", "0.1"]
    base = ["attack", "--model", "efficientnet-lite0", "--out", str(tmp_path / "a.jsonl")]
    cases = [
        ([*rows, "--judge-alpha", "2"], "--judge-alpha: alpha must lie in (0, 1), got 2.0"),
        ([*rows, "--judge-n", "0"], "--judge-n: n must be an integer >= 1, got 0"),
        ([*rows, "--radius-multiples", "-1"], "--radius-multiples: radius_multiples must lie"),
        (rows[:2], "eps or radius_multiples must hold at least one budget"),  # two options
        # the certification of --data is checked before the model loads
        ([*data, "--sigma", "0.25", "--n0", "0"], "--n0: n0 must be an integer >= 1, got 0"),
        ([*data, "--sigma", "-1"], "--sigma: sigma must lie in (0, inf), got -1.0"),
        ([*data, "--sigma", "0.25", "--alpha", "1.5"], "--alpha: alpha must lie in (0, 1)"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"python -m sampler attack: error: {message}"), err
    assert not (tmp_path / "a.jsonl").exists()
    # the attack rows never go to the certify rows' file, however it is spelled
    (tmp_path / "c.jsonl").write_text('{"id": "0", "status": "ok"}\n')
    same = ["attack", "--model", "efficientnet-lite0", "--eps", "0.1"]
    for extra in (
        ["--rows", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "sub" / ".." / "c.jsonl")],
        ["--data", str(tmp_path), "--sigma", "0.25", "--certify-out", str(tmp_path / "c.jsonl"),
         "--out", str(tmp_path / "c.jsonl")],
    ):  # fmt: skip
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main([*same, *extra]) == 2
        assert "--out: " in capsys.readouterr().err
    assert (tmp_path / "c.jsonl").read_text() == '{"id": "0", "status": "ok"}\n'
    # a file of --rows that is not a certify run's: the message names --rows
    bad = ["--rows", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "a.jsonl")]
    assert main([*same, *bad]) == 2
    assert capsys.readouterr().err.startswith("python -m sampler attack: error: --rows: ")


@pytest.fixture
def tiny_rows(tmp_path, vlm15):
    """Certify rows of the tiny LLaVA on three images, every input certified (the radius is
    not what these tests check), written to a file beside the images."""
    from sampler.oracles import RefusalJudge

    cfg = CertifyConfig(n0=4, n=20, sigma=0.25, alpha=0.05, seed=0, batch_size=10)
    out = tmp_path / "cert.jsonl"
    run(vlm15, _images(tmp_path / "imgs", 3, size=16), out, config=cfg, oracle=RefusalJudge(),
        oracle_name="refusal", prompt="What is this?", progress=False)  # fmt: skip
    rows = read_rows(out)
    for r in rows:
        r.update(abstained=False, radius=max(float(r["radius"] or 0), 0.05))
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, rows


def _cli(tiny_llava_15_path, rows_path, out, *extra):
    return [
        "attack", "--model", str(tiny_llava_15_path), "--rows", str(rows_path), "--out",
        str(out), "--eps", "0.1", "--against", "base", "--steps", "1", "--max-new-tokens", "3",
        "--quiet", *extra,
    ]  # fmt: skip


def test_cli_exit_codes_of_error_rows_and_interrupts(
    tmp_path, tiny_llava_15_path, tiny_rows, capsys, monkeypatch
):
    import sampler._attack_run as attack_run

    rows_path, rows = tiny_rows
    out = tmp_path / "attack.jsonl"

    def fails(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(attack_run, "attack", fails)
    assert main(_cli(tiny_llava_15_path, rows_path, out)) == 3
    written = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(written) == len(rows) and {r["status"] for r in written} == {"error"}
    # a rerun skips the error rows: they are still there, so the exit code is still 3
    assert main(_cli(tiny_llava_15_path, rows_path, out)) == 3
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["written"] == 0
    # only the inputs of this command count: the first, without error rows elsewhere
    monkeypatch.undo()
    fresh = tmp_path / "fresh.jsonl"
    assert main(_cli(tiny_llava_15_path, rows_path, fresh, "--limit", "1")) == 0

    def interrupts(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(attack_run, "attack", interrupts)
    assert main(_cli(tiny_llava_15_path, rows_path, fresh)) == 130
    err = capsys.readouterr().err
    assert f"interrupted: the rows written so far are kept in {fresh}" in err
    assert len(fresh.read_text().splitlines()) == 1  # the first input's row, kept
    # interrupted while certifying --data: the message names both files
    import sampler._run

    monkeypatch.setattr(sampler._run, "run", interrupts)
    cert = tmp_path / "cert2.jsonl"
    argv = _cli(tiny_llava_15_path, rows_path, fresh)
    argv[argv.index("--rows") : argv.index("--rows") + 2] = ["--data", str(tmp_path / "imgs")]
    argv += ["--certify-out", str(cert), "--sigma", "0.25", "--prompt", "What is this?"]
    assert main(argv) == 130
    assert f"kept in {cert} and {fresh}; run the same" in capsys.readouterr().err


def test_cli_plot_with_limit_is_over_the_inputs_attacked(
    tmp_path, tiny_llava_15_path, tiny_rows, monkeypatch, capsys
):
    import sampler._attack_report as report

    rows_path, rows = tiny_rows
    drawn = {}

    def capture(points, path, *, title=None, certified=None):
        drawn.update(points=points, certified=certified)
        return path

    monkeypatch.setattr(report, "plot_curve", capture)
    out, plot = tmp_path / "attack.jsonl", tmp_path / "p.png"
    assert main(_cli(tiny_llava_15_path, rows_path, out, "--plot", str(plot))) == 0
    assert drawn["certified"].inputs == len(rows) == 3
    assert "Loading weights" not in capsys.readouterr().err  # --quiet: no bar at all
    # --limit 1 on the same file (its rows of all three inputs): one input on both curves
    assert main(_cli(tiny_llava_15_path, rows_path, out, "--limit", "1", "--plot", str(plot))) == 0
    first = next(json.loads(x) for x in out.read_text().splitlines())
    assert first["id"] == str(rows[0]["id"])
    (point,) = drawn["points"]
    assert drawn["certified"].inputs == point.inputs == 1
    want = float(not first["abstain"] and first["predicted"] == first["certified_class"])
    assert point.base == want
    assert point.certified == float(rows[0]["radius"] > 0.1)
