"""A griffe extension for the API pages: the spellings of this code base's Google-style
docstrings that griffe's Google parser reads differently from Sphinx's napoleon, and the
reStructuredText markup inside them, which Markdown would show as it is.

* ``Example:`` (singular) opens an examples section, as napoleon reads it; griffe would
  render its ``>>>`` lines as Markdown prose (block quotes and stray reference links).
  ``Example (what it shows):`` opens one too, with its words as the section's first line,
  and so does a line at the header's indentation that ends with ``:`` and is followed by
  more ``>>>`` lines (``and with the sequential rule:``): it stays in the section.
* ``k, n: as cp_lower.``: one entry for several parameters or attributes, as napoleon
  allows; griffe would look for one parameter named ``k, n``. The entry is split into one
  entry per name, each with the same description, so griffe still warns about a name that
  is not in the signature.
* Sphinx roles (``:func:`x```, ``:class:`~a.b```, ``:math:`...```) become inline code
  (``~`` keeps the last name); a ``.. math::`` block becomes a fenced LaTeX block; a
  paragraph's closing ``::`` (a literal block follows) becomes ``:``.

The module source is never changed: only the docstring text that griffe parses.
"""

from __future__ import annotations

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example(?:\s*\(([^)]*)\)([^:]*))?:\s*$")
_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|data|meth|attr|exc|obj|const|math):`(~?)([^`]+)`")
_MATH = re.compile(r"^(\s*)\.\. math::\s*$")
_LITERAL = re.compile(r"(?<=\S)::\s*$")
_ENTRY_SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Attributes|Other Parameters):\s*$")
_NAME = r"\*{0,2}[A-Za-z_]\w*"
_GROUPED = re.compile(rf"^(\s*)({_NAME}(?:\s*,\s*{_NAME})+)\s*:(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _next_text(lines: list[str], i: int) -> str | None:
    """The first non-blank line after ``lines[i]``, or None."""
    return next((line for line in lines[i + 1 :] if line.strip()), None)


def _role(m: re.Match) -> str:
    name = m.group(2)
    return f"``{name.rsplit('.', 1)[-1] if m.group(1) else name}``"


def _math_blocks(lines: list[str]) -> list[str]:
    """``.. math::`` and its indented block as a fenced ``latex`` block at the same indent."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _MATH.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group(1)
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > len(indent)):
            j += 1
        while j > i + 1 and not lines[j - 1].strip():
            j -= 1
        body = lines[i + 1 : j]
        depth = min((_indent(line) for line in body if line.strip()), default=0)
        out.extend(["", f"{indent}```latex"])
        out.extend(f"{indent}{line[depth:]}" if line.strip() else "" for line in body)
        out.extend([f"{indent}```", ""])
        i = j
    return out


def rewrite(text: str) -> str:
    """``text`` with ``Example:`` read as ``Examples:``, grouped entries split and the
    reStructuredText markup turned into Markdown (see the module docstring)."""
    text = _ROLE.sub(_role, text)
    lines = _math_blocks(text.splitlines())
    out: list[str] = []
    i = 0
    section_indent = None  # indentation of the current Args/Attributes header
    example = None  # (header indentation, body indentation) of the current examples section
    while i < len(lines):
        line = lines[i]
        following = _next_text(lines, i)
        m = _EXAMPLE.match(line)
        if m and following is not None and _indent(following) > len(m.group(1)):
            indent, body = m.group(1), " " * _indent(following)
            out.append(f"{indent}Examples:")
            words = f"{m.group(2) or ''}{m.group(3) or ''}".strip(" ,")
            if words:
                out.extend([f"{body}{words[0].upper()}{words[1:]}:", ""])
            example, section_indent = (len(indent), body), None
            i += 1
            continue
        if example is not None and line.strip() and _indent(line) <= example[0]:
            if (
                _indent(line) == example[0]
                and line.rstrip().endswith(":")
                and following is not None
                and following.lstrip().startswith(">>>")
                and _indent(following) > example[0]
            ):
                out.extend([f"{example[1]}{line.strip()}", ""])
                i += 1
                continue
            example = None
        m = _ENTRY_SECTION.match(line)
        if m:
            section_indent = len(m.group(1))
            out.append(line)
            i += 1
            continue
        if section_indent is not None and (not line.strip() or _indent(line) <= section_indent):
            section_indent = None
        m = _GROUPED.match(line) if section_indent is not None else None
        if m:
            indent, names, rest = m.group(1), m.group(2), m.group(3)
            j = i + 1
            while j < len(lines) and lines[j].strip() and _indent(lines[j]) > len(indent):
                j += 1
            continuation = lines[i + 1 : j]
            for name in (n.strip() for n in names.split(",")):
                out.append(f"{indent}{name}:{rest}")
                out.extend(continuation)
            i = j
            continue
        out.append(_LITERAL.sub(":", line))
        i += 1
    return "\n".join(out)


class RsvlmDocstrings(griffe.Extension):
    """Rewrites each docstring as :func:`rewrite` says, before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
