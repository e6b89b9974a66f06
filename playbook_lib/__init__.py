"""The Data + Models Playbook library.

Importing this package does no work: models load, files open and threads start only when a function asks for them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
