"""needlewise nlp."""
