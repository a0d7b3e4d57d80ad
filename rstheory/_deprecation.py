"""Deprecated spellings, kept working for one release with a :class:`DeprecationWarning`.

The project's API rule (README, "API conventions"): the data are positional (``k``, ``n``,
``counts``, ``p``, ``dist``, ``model``, ``image``), every parameter is keyword-only, and
each choice has one spelling. Code written against release 0.1 keeps working in 0.2
through the helpers here, each of which warns once per call site and names the new
spelling; they are removed in 0.3 (:data:`REMOVED_IN`).

* :func:`keyword_only` lets a function whose parameters became keyword-only still take
  them positionally, in their old order.
* :func:`renamed` keeps an old function name as an alias of the new one.
* :func:`renamed_choice` maps an old spelling of a string choice to the new one.
* :func:`renamed_keywords` accepts the 0.1 names of renamed keyword parameters.
* :func:`grouped_keywords` builds a configuration object from the 0.1 flat keywords it
  replaced.

Everything here is plain Python at the boundary: nothing is traced or jitted.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = [
    "REMOVED_IN",
    "grouped_keywords",
    "keyword_only",
    "renamed",
    "renamed_choice",
    "renamed_keywords",
]

REMOVED_IN = "0.3"

F = TypeVar("F", bound=Callable[..., Any])


def _warn(message: str, stacklevel: int) -> None:
    warnings.warn(
        f"{message} (deprecated in 0.2, removed in {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )


def keyword_only(*old_positional: str) -> Callable[[F], F]:
    """Accept parameters that became keyword-only positionally, with a warning.

    Decorate a function whose signature now reads ``f(k, n, *, alpha, ...)`` with
    ``@keyword_only("alpha")``, listing the parameters that 0.1 took positionally after
    the data, in their old order. A call ``f(990, 1000, 0.001)`` then warns and runs as
    ``f(990, 1000, alpha=0.001)``; a call that passes a name both ways, or more
    positional arguments than the old signature had, raises :class:`TypeError`.

    Example:
      >>> import warnings
      >>> @keyword_only("alpha")
      ... def f(k, n, *, alpha):
      ...     return k, n, alpha
      >>> with warnings.catch_warnings(record=True) as w:
      ...     warnings.simplefilter("always")
      ...     f(1, 2, 0.5), str(w[0].message).split(" (")[0]
      ((1, 2, 0.5), 'f(): pass alpha as a keyword, alpha=...')
    """

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        params = sig.parameters
        positional = [
            p.name
            for p in params.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        for name in old_positional:
            if name not in params or params[name].kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"{func.__qualname__}: {name!r} is not a keyword-only parameter")
        limit = len(positional) + len(old_positional)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if len(args) > len(positional):
                extra = args[len(positional) :]
                if len(args) > limit:
                    raise TypeError(
                        f"{func.__qualname__}() takes at most {limit} positional arguments "
                        f"({len(positional)} from 0.2 on), got {len(args)}"
                    )
                names = old_positional[: len(extra)]
                both = [name for name in names if name in kwargs]
                if both:
                    raise TypeError(
                        f"{func.__qualname__}() got multiple values for argument {both[0]!r}"
                    )
                shown = ", ".join(f"{name}=..." for name in names)
                _warn(f"{func.__qualname__}(): pass {', '.join(names)} as a keyword, {shown}", 2)
                kwargs.update(zip(names, extra, strict=True))
                args = args[: len(positional)]
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def renamed(func: F, old_name: str) -> F:
    """An alias of ``func`` under its 0.1 name ``old_name`` that warns on each call.

    Example:
      >>> import warnings
      >>> def new(x):
      ...     return 2 * x
      >>> old = renamed(new, "old")
      >>> with warnings.catch_warnings(record=True) as w:
      ...     warnings.simplefilter("always")
      ...     old(3), str(w[0].message).split(" (")[0]
      (6, 'old is renamed new')
    """

    @functools.wraps(func)
    def alias(*args, **kwargs):
        _warn(f"{old_name} is renamed {func.__name__}", 2)
        return func(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old_name
    alias.__doc__ = f"Deprecated alias of :func:`{func.__name__}` (removed in {REMOVED_IN})."
    return alias  # type: ignore[return-value]


def renamed_choice(name: str, value: Any, old: Mapping[str, str], *, stacklevel: int = 2) -> Any:
    """``value`` with a 0.1 spelling replaced by the current one, warning when it was old.

    Args:
      name: the argument's name, for the message.
      value: what the caller passed.
      old: the 0.1 spellings mapped to the current ones.
      stacklevel: the caller's frame, counted from the function that calls this one.

    Example:
      >>> import warnings
      >>> with warnings.catch_warnings(record=True) as w:
      ...     warnings.simplefilter("always")
      ...     renamed_choice("method", "clopper-pearson", {"clopper-pearson": "clopper_pearson"})
      'clopper_pearson'
    """
    if isinstance(value, str) and value in old:
        _warn(f"{name}={value!r} is spelled {name}={old[value]!r}", stacklevel + 1)
        return old[value]
    return value


def renamed_keywords(**old_to_new: str) -> Callable[[F], F]:
    """Accept 0.1 keyword names of parameters that were renamed, with a warning.

    ``@renamed_keywords(oracle_eps="oracle_error")`` lets a call ``f(..., oracle_eps=0.1)``
    run as ``f(..., oracle_error=0.1)``. Several old names may map to one new name; an old
    keyword passed as ``None`` (0.1's "not given") is dropped after the warning. A call
    that gives one parameter under two names raises :class:`TypeError`.

    Example:
      >>> import warnings
      >>> @renamed_keywords(eps="oracle_error")
      ... def f(*, oracle_error=None):
      ...     return oracle_error
      >>> with warnings.catch_warnings(record=True) as w:
      ...     warnings.simplefilter("always")
      ...     f(eps=0.1), str(w[0].message).split(" (")[0]
      (0.1, 'f(): the keyword eps= is renamed oracle_error=')
    """

    def decorate(func: F) -> F:
        params = inspect.signature(func).parameters
        for old, new in old_to_new.items():
            if new not in params or old in params:
                raise TypeError(f"{func.__qualname__}: cannot rename {old!r} to {new!r}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            given = {}
            for old in [name for name in kwargs if name in old_to_new]:
                new = old_to_new[old]
                _warn(f"{func.__qualname__}(): the keyword {old}= is renamed {new}=", 2)
                value = kwargs.pop(old)
                if value is None:
                    continue
                if new in kwargs:
                    first = given.get(new, new)
                    raise TypeError(
                        f"{func.__qualname__}() got {new!r} twice, as {first}= and {old}="
                    )
                kwargs[new], given[new] = value, old
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def grouped_keywords(param: str, cls: type, names: tuple[str, ...]) -> Callable[[F], F]:
    """Accept 0.1's flat keywords of parameters that became fields of one object ``cls``.

    ``@grouped_keywords("throughput", Throughput, ("batch_size", "devices"))`` on
    ``f(n, *, throughput)`` lets a call ``f(n, batch_size=100, devices=2)`` warn and run as
    ``f(n, throughput=Throughput(batch_size=100, devices=2))``: the keywords given build the
    object (which validates them; the others keep its defaults). A call that passes both
    ``param`` and flat keywords raises :class:`TypeError`; a keyword outside ``names``
    stays an unexpected keyword.

    Example:
      >>> import dataclasses, warnings
      >>> @dataclasses.dataclass(frozen=True)
      ... class Speed:
      ...     rate: float = 1.0
      >>> @grouped_keywords("speed", Speed, ("rate",))
      ... def f(n, *, speed):
      ...     return n / speed.rate
      >>> with warnings.catch_warnings(record=True) as w:
      ...     warnings.simplefilter("always")
      ...     f(10, rate=4.0), str(w[0].message).split(" (")[0]
      (2.5, 'f(): pass speed=Speed(rate=...) instead of the keywords rate=')
    """

    def decorate(func: F) -> F:
        params = inspect.signature(func).parameters
        if param not in params or any(name in params for name in names):
            raise TypeError(f"{func.__qualname__}: cannot group {names} into {param!r}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            flat = {name: kwargs.pop(name) for name in names if name in kwargs}
            if flat:
                if param in kwargs:
                    raise TypeError(
                        f"{func.__qualname__}(): pass {param}= or the 0.1 keywords "
                        f"{', '.join(f'{k}=' for k in flat)}, not both"
                    )
                shown = ", ".join(f"{k}=..." for k in flat)
                _warn(
                    f"{func.__qualname__}(): pass {param}={cls.__name__}({shown}) instead of "
                    f"the keywords {', '.join(f'{k}=' for k in flat)}",
                    2,
                )
                kwargs[param] = cls(**flat)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
