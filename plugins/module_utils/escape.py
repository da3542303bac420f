# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One value placed safely into Julia code, a systemd unit file or a Makefile: escaped, or refused.

Pure functions behind the filter ``mocha.cloud.escape_for``. Each returns text that the target language
reads back as exactly the value given, or raises EscapeError when no such text exists (a newline in a
unit file setting, for example), so a template never renders a value that changes what the file says.

- ``julia``: a complete string literal, quotes included (``\\``, ``"`` and ``$`` escaped, everything outside
  printable ASCII as ``\\U`` escapes, read alike by Julia 0.4 and later).
- ``systemd``: the value of a unit file setting that takes a path or a URL (``WorkingDirectory=``,
  ``StandardOutput=append:``, ``Documentation=``): ``%`` (specifiers) doubled; control characters, backslashes
  and leading or trailing blanks refused, since systemd would read them as line ends, continuations or trim them.
- ``systemd_exec``: the command (first word) of an ``ExecStart=`` line: as it is when it holds only letters,
  digits and ``/._+:@=,-`` (and does not start with a prefix character), else double-quoted (``\\`` and ``"``
  escaped) with ``%`` doubled. Control characters and ``$`` are refused (systemd runs the path as written but
  expands ``$VAR`` in its argv[0], so no spelling keeps both right).
- ``make``: the value of a GNU make assignment (``name=value``): ``$`` doubled, ``#`` escaped as ``\\#``; control
  characters (a newline would start a new make line), backslashes (escapes, continuations) and leading or
  trailing blanks (make trims them) refused.
"""

import re

FORMATS = ("julia", "systemd", "systemd_exec", "make")


class EscapeError(ValueError):
    """The value cannot be written safely in that format; the message says why."""


def _text(value, fmt):
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        raise EscapeError(f"escape_for({fmt!r}) needs a string or a number, got {type(value).__name__}")
    return str(value)


def _controls(text):
    return sorted({repr(c)[1:-1] for c in text if ord(c) < 0x20 or ord(c) == 0x7F})


def _refuse_controls(text, fmt, why):
    bad = _controls(text)
    if bad:
        raise EscapeError(f"{text!r} cannot be written in {fmt}: it holds control characters ({', '.join(bad)}), {why}")


def _refuse_edge_blanks(text, fmt, why):
    if text != text.strip():
        raise EscapeError(f"{text!r} cannot be written in {fmt}: it starts or ends with blanks, {why}")


_JULIA_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def julia_str(value):
    """Return a Julia string literal whose value is exactly ``value`` (a str): the one way a Python string becomes
    Julia code (the Julia package module imports it).

    Backslash, double quote and ``$`` (interpolation) are escaped; every other character outside
    printable ASCII becomes a ``\\UXXXXXXXX`` escape, which Julia 0.4 and later all read. The
    result is therefore pure printable ASCII and cannot end the literal early or interpolate.
    """
    if not isinstance(value, str):
        raise EscapeError(f"julia_str needs a str, got {type(value).__name__!r}")
    out = ['"']
    for ch in value:
        if ch in _JULIA_ESCAPES:
            out.append(_JULIA_ESCAPES[ch])
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def julia(value):
    return julia_str(_text(value, "julia"))


# Per format: (where, why a control character, why edge blanks, where and why a backslash).
_LINE_RULES = {
    "systemd": ("a unit file", "which would end the setting's line", "which systemd strips",
                "a unit file setting: it holds a backslash"),
    "make": ("a Makefile", "which would start a new make line", "which make strips",
             "a Makefile: it holds a backslash (an escape or a line continuation)"),
}


def _setting_line(value, fmt):
    """The text of a value that must stay within one line of a ``fmt`` file (see _LINE_RULES), or EscapeError."""
    where, line_end, trim, backslash = _LINE_RULES[fmt]
    text = _text(value, fmt)
    _refuse_controls(text, where, line_end)
    _refuse_edge_blanks(text, where, trim)
    if "\\" in text:
        raise EscapeError(f"{text!r} cannot be written in {backslash}")
    return text


def systemd(value):
    return _setting_line(value, "systemd").replace("%", "%%")


_EXEC_ESCAPES = {"\\": "\\\\", '"': '\\"'}


# A word made only of these needs no quoting on an Exec line (the file stays as it was for ordinary paths).
_PLAIN_WORD = re.compile(r"[A-Za-z0-9/._+:@=,-]+")


def systemd_exec(value):
    text = _text(value, "systemd_exec")
    if _PLAIN_WORD.fullmatch(text) and not text.startswith(("-", "@", ":", "+", "!")):
        return text
    _refuse_controls(text, "an Exec command", "which would end the setting's line")
    if "$" in text:
        # systemd runs the command's path as written but expands $VAR in its argv[0]: no spelling keeps both right.
        raise EscapeError(f"{text!r} cannot be written as an Exec command: it holds '$'")
    body = "".join(_EXEC_ESCAPES.get(c, c) for c in text)
    return '"' + body.replace("%", "%%") + '"'


def make(value):
    return _setting_line(value, "make").replace("$", "$$").replace("#", "\\#")


def escape_for(value, fmt):
    """``value`` written for ``fmt`` (one of FORMATS), or EscapeError."""
    handlers = {"julia": julia, "systemd": systemd, "systemd_exec": systemd_exec, "make": make}
    if fmt not in handlers:
        raise EscapeError(f"escape_for: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return handlers[fmt](value)
