"""needlewise web/api."""
