"""The back office's casework pages, one module per blueprint: ``queue`` (the work queues and
bulk actions), ``case`` (the case page; its actions in ``case_actions`` and ``case_tasks``),
``intake`` (a request taken by phone or at the counter), ``search``, ``audit`` (the audit
trail) and ``templates_admin`` (response templates); forms in ``<part>_forms``."""
