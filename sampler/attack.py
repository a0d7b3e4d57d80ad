"""Adversarial attacks that test certificates: L2 PGD against the base and the smoothed
model (:mod:`sampler._attack`, :mod:`sampler._attack_pgd`, :mod:`sampler._attack_loss`),
attack campaigns over a certify run's rows (:mod:`sampler._attack_run`), tied to the model
that certified them (:mod:`sampler._attack_model`), and what their rows say about the
certificates (:mod:`sampler._attack_report`). Guide: ``docs/guides/attack.md``."""

from sampler._attack import AGAINST, AttackResult, Judgement, attack, judge
from sampler._attack_pgd import PGDResult, l2_pgd, project_l2
from sampler._attack_report import (
    CertifiedCurve,
    CurvePoint,
    RateRow,
    certified_curve,
    format_table,
    plot_curve,
    robust_curve,
    summarize,
)
from sampler._attack_run import (
    AttackConfig,
    CampaignSummary,
    attack_campaign,
    certified_rows,
    read_attack_rows,
)

__all__ = [
    "AGAINST",
    "AttackConfig",
    "AttackResult",
    "CampaignSummary",
    "CertifiedCurve",
    "CurvePoint",
    "Judgement",
    "PGDResult",
    "RateRow",
    "attack",
    "attack_campaign",
    "certified_curve",
    "certified_rows",
    "format_table",
    "judge",
    "l2_pgd",
    "plot_curve",
    "project_l2",
    "read_attack_rows",
    "robust_curve",
    "summarize",
]
