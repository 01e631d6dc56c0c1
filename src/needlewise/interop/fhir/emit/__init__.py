"""Emitters: what a clinic recorded, as FHIR R4 JSON (pure codecs: no database, no HTTP).

One module per resource type. Each takes stored rows (read by the caller) and the
knowledge base and returns plain JSON objects, with stable ids built from our row ids
(:mod:`.ids`) and ``meta.lastUpdated``. Codes come from the knowledge base or from FHIR's
own code systems; a concept the knowledge base holds no standard code for is sent as our
own code (``{canonical_base}/CodeSystem/...``) plus text, never with an invented code.
The mapping tables are in ``docs/fhir.md``.
"""
