"""Seeds to the model: markdown sections, trace statements, notes, collections.

Nothing here executes or imports seed content; traces are read with :mod:`ast` and patterns.
"""

from app.parse.collection import resolve
from app.parse.notes import read_note

__all__ = ["read_note", "resolve"]
