"""meshkg: a knowledge graph of data-mesh practices, built from grounded-theory field notes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("meshkg")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
