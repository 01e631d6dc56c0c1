"""needlewise interop/fhir."""
