"""needlewise interop."""
