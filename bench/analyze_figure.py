"""Certified accuracy against radius of Cohen et al.'s (2019) ImageNet CERTIFY logs, from
``rstheory analyze``; writes docs/analyze_imagenet.png (run from the repository root)."""

import sys
from pathlib import Path

from rstheory._cli import main

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "data/cohen2019/certify/imagenet/resnet50"

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs/analyze_imagenet.png")
    files = [str(LOGS / f"noise_{s}/test/sigma_{s}") for s in ("0.25", "0.50", "1.00")]
    radii = ["0.5", "1.0", "1.5", "2.0", "2.5", "3.0"]
    sys.exit(main(["analyze", *files, "--radii", *radii, "--table", "markdown", "--plot", out]))
