"""layersadmin: an agency's own web application on top of the Layers Partner API."""

__version__ = "0.1.0"
