"""What the subcommands of the ``rstheory`` command line share."""

# The level of every bound and certificate unless --alpha says otherwise: the project's
# default, as in Cohen et al. (2019), who certify with alpha = 0.001.
ALPHA = 0.001


def level_or_infer(text: str):
    """The argparse type of ``--alpha`` of ``analyze`` and ``--reference-alpha`` of
    ``validate``: ``"infer"`` as it is, else a float (its range is checked by the reader).

    Example:
      >>> level_or_infer("infer"), level_or_infer("0.01")
      ('infer', 0.01)
    """
    import argparse

    if text == "infer":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a level in (0, 1) or 'infer', got {text!r}"
        ) from None
