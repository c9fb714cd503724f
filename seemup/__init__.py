"""seemup: video super-resolution with BasicVSR / EDVR and the SEEM semantic prior."""

__version__ = "0.1.0"
