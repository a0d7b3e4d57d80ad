"""What the subcommands of the ``rstheory`` command line share."""

# The level of every bound and certificate unless --alpha says otherwise: the project's
# default, as in Cohen et al. (2019), who certify with alpha = 0.001.
ALPHA = 0.001
