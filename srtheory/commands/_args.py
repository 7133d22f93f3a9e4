"""What every command shares: argument types that reject a bad value with one line, and the error a
command raises for a combination of values argparse cannot see.

Each type below is an argparse ``type=``: it returns the parsed value or raises
:class:`argparse.ArgumentTypeError`, which the dispatcher's parser prints as one line
(``srtheory radius: argument --tol: must be > 0, got 0``) before exiting with status 2.
"""

from __future__ import annotations

import argparse
import math
import os

__all__ = [
    "UsageError",
    "nonnegative_float",
    "nonnegative_int",
    "output_dir",
    "output_file",
    "positive_float",
    "positive_int",
]


class UsageError(Exception):
    """A command's options are wrong together (e.g. ``--plot`` for a 10-D objective): the
    dispatcher prints the message as one line and exits 2."""


def _number(text: str, kind):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def output_file(text: str) -> str:
    """A file to write: its folder must exist (nothing is created) and it must not be a folder."""
    if not text:
        raise argparse.ArgumentTypeError("empty file name")
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {os.path.dirname(text) or '.'!r} does not exist")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    return text


def output_dir(text: str) -> str:
    """A folder to write into (created when missing): no part of it may be an existing file."""
    if not text:
        raise argparse.ArgumentTypeError("empty folder name")
    path = os.path.abspath(text)
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if os.path.exists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path!r} is a file, not a folder")
    return text
