"""Public names that load on first use (PEP 562 module ``__getattr__`` and ``__dir__``).

A package's ``__init__`` names its submodules and, for each public name, the private
module that defines it; :func:`lazy_module` returns the ``__getattr__`` and ``__dir__``
that import them when first touched and then keep them as plain module attributes. So
``import rstheory`` and ``import sampler`` load neither JAX nor torch (PEP 562, Levkivskyi
2017, "Module __getattr__ and __dir__").

Example:
  >>> import types
  >>> pkg = types.ModuleType("pkg")
  >>> pkg.__getattr__, pkg.__dir__ = lazy_module(
  ...     vars(pkg), submodules=(), names={"sqrt": "math"}, all_names=["sqrt"]
  ... )
  >>> pkg.__getattr__("sqrt")(9.0)
  3.0
  >>> "sqrt" in vars(pkg)  # loaded once, then a plain attribute
  True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping

__all__ = ["lazy_module", "names_by_module"]


def names_by_module(defined_in: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{module: (name, ...)}`` -> ``{name: module}``; a name defined twice is refused."""
    names: dict[str, str] = {}
    for module, defined in defined_in.items():
        for name in defined:
            if name in names:
                raise ValueError(f"{name!r} is listed in both {names[name]} and {module}")
            names[name] = module
    return names


def lazy_module(
    namespace: dict,
    *,
    submodules: Iterable[str],
    names: Mapping[str, str],
    all_names: Iterable[str],
    on_missing: Callable[[ModuleNotFoundError, str], Exception | None] | None = None,
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the package whose globals are ``namespace``.

    Args:
      namespace: the package's ``globals()``; a loaded name is stored there.
      submodules: the submodules ``package.<name>`` loaded on first use.
      names: public name -> the module that defines it (see :func:`names_by_module`).
      all_names: the package's ``__all__``, listed by ``dir()`` before they load.
      on_missing: called with a :class:`ModuleNotFoundError` and the qualified name
        when an import fails; the exception it returns is raised from it (say, one that
        names the extra to install), ``None`` re-raises the original.

    Returns:
      ``(__getattr__, __dir__)``, to assign at the package's top level.
    """
    package = namespace["__name__"]
    submodules = frozenset(submodules)
    names = dict(names)
    listed = tuple(all_names)

    def __getattr__(name: str):
        if name not in submodules and name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            if name in submodules:
                value = importlib.import_module(f"{package}.{name}")
            else:
                value = getattr(importlib.import_module(names[name]), name)
        except ModuleNotFoundError as err:
            hint = None if on_missing is None else on_missing(err, f"{package}.{name}")
            if hint is None:
                raise
            raise hint from err
        namespace[name] = value  # once loaded, a plain module attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *listed})

    return __getattr__, __dir__
