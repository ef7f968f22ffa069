"""The city's back-office pages, one module per blueprint: ``profile`` (the read-only city
page), ``catalogue`` (departments, groups, categories, questions) and ``areas`` (the areas
file); each blueprint's forms are in ``<part>_forms``."""
