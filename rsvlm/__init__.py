"""rsvlm: randomized-smoothing certificates for generative vision-language models.

The distribution's umbrella package. The work is done by :mod:`rstheory` (the mathematics),
:mod:`sampler` (running models) and :mod:`proofs_check` (the theorem checks); ``rsvlm``
holds the end-to-end demonstration, ``python -m rsvlm demo`` (``make demo``), which
measures, certifies, fits, plans and compares theory with measurement, and writes a report
(Markdown, PNG figures and ``report.json``) under ``reports/``.
"""
