"""tallyguard: evidence-first election integrity toolkit.

Every number tallyguard prints can be re-derived by a third party from the same
inputs, and says how sure it is.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tallyguard")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
