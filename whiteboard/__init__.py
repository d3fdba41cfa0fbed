"""Ward Whiteboard: a real-time ward whiteboard server. Importing the package starts nothing."""

__version__ = "0.1.0"
