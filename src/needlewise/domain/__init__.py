"""needlewise domain."""
