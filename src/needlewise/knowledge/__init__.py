"""needlewise knowledge."""
