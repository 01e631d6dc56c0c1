"""needlewise web."""
