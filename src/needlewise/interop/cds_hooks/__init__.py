"""CDS Hooks 2.0 codecs: request, context, card, response, feedback and discovery models,
prefetch templates and reading, dry needling in a hook's context, and cards from a
screening. No HTTP and no database here (the door is :mod:`needlewise.web.cds_hooks`,
the use cases :mod:`needlewise.services.cds_hooks`)."""
