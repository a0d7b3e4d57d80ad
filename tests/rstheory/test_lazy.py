"""The lazy loader of the packages' public names (rstheory._lazy): a name's module loads
when the name is first touched, not before, and a failed import can be turned into a hint."""

import sys
import types

import pytest

from rstheory._lazy import lazy_module, names_by_module


def _package(tmp_path, monkeypatch, **kwargs):
    """A package ``lazypkg`` with a submodule ``sub`` and a module ``lazydef`` defining ``x``."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "lazydef.py").write_text("x = 42\n")
    (tmp_path / "lazypkg").mkdir()
    (tmp_path / "lazypkg" / "__init__.py").write_text("")
    (tmp_path / "lazypkg" / "sub.py").write_text("y = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("lazydef", "lazypkg", "lazypkg.sub"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import lazypkg

    lazypkg.__getattr__, lazypkg.__dir__ = lazy_module(
        vars(lazypkg),
        submodules=("sub",),
        names={"x": "lazydef", "gone": "no_such_module_anywhere"},
        all_names=["sub", "x"],
        **kwargs,
    )
    return lazypkg


def test_names_load_on_first_use_and_stay(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch)
    assert "lazydef" not in sys.modules and "lazypkg.sub" not in sys.modules
    assert {"sub", "x"} <= set(dir(pkg))  # listed before they load
    assert pkg.x == 42
    assert "lazydef" in sys.modules and "lazypkg.sub" not in sys.modules
    assert pkg.sub.y == 7
    assert vars(pkg)["x"] == 42 and vars(pkg)["sub"] is sys.modules["lazypkg.sub"]


def test_unknown_names_raise_attribute_error(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch)
    with pytest.raises(AttributeError, match="module 'lazypkg' has no attribute 'nope'"):
        pkg.nope  # noqa: B018


def test_a_failed_import_raises_the_hint_or_itself(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch)
    with pytest.raises(ModuleNotFoundError, match="no_such_module_anywhere"):
        pkg.gone  # noqa: B018
    hinted = _package(
        tmp_path / "h", monkeypatch, on_missing=lambda err, what: ModuleNotFoundError(what)
    )
    with pytest.raises(ModuleNotFoundError, match=r"^lazypkg\.gone$") as info:
        hinted.gone  # noqa: B018
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_names_by_module_inverts_and_refuses_a_name_defined_twice():
    assert names_by_module({"a": ("x", "y"), "b": ("z",)}) == {"x": "a", "y": "a", "z": "b"}
    with pytest.raises(ValueError, match="'x' is listed in both a and b"):
        names_by_module({"a": ("x",), "b": ("x",)})


def test_the_packages_use_it():
    import rstheory
    import sampler

    for pkg in (rstheory, sampler):
        assert isinstance(pkg, types.ModuleType)
        assert set(pkg.__all__) <= set(dir(pkg))
    assert sampler.oracles.final_label_of is sampler.final_label_of
