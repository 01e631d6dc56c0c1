"""needlewise services."""
