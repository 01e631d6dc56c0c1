"""needlewise: safe dry needling from first reading to weeks after treatment."""

__version__ = "0.1.0"
