"""Population screening over a FHIR Bulk Data export (``needlewise bulk-screen``).

One concept per module:

* :mod:`~needlewise.services.bulk.export` — which files of the export folder are read;
* :mod:`~needlewise.services.bulk.partition` — stream every file once and route each
  resource, as its raw bytes, to a partition file chosen by a hash of its patient;
* :mod:`~needlewise.services.bulk.screen_partition` — the pure per-partition step (group
  by patient, assemble a collection Bundle, screen it); importable by Dask workers
  without the CLI;
* :mod:`~needlewise.services.bulk.summary` — counts per decision and per rule, skipped
  lines, and their text and JSON forms;
* :mod:`~needlewise.services.bulk.run` — the use case: partition, screen in-process or
  on a Dask cluster (:mod:`~needlewise.services.bulk.cluster`), write the results in
  patient order.
"""
