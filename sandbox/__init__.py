"""Local stand-in for the Layers Partner API (the endpoints layersadmin uses).

Pure standard library. Start it with ``python -m sandbox`` or in-process with
:class:`sandbox.server.SandboxServer`. See ``sandbox/README.md``.
"""

__all__ = ["__version__"]

__version__ = "1.0.0"
