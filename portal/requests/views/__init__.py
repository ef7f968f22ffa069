"""Residents' pages, one module per blueprint: ``filing`` (reporting a problem, step by step;
``filing_steps``: the journey's state between pages), ``tracking`` (a request's page and what
its reporter and followers do there) and ``alerts`` (area alerts); forms in ``<part>_forms``."""
