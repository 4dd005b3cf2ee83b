"""edgeseq: small sequence models from training to a device."""

__version__ = "0.1.0"
