"""The report pages, one module per blueprint: ``staff`` (the board, a department's drill-down,
hotspots; the period switch in ``staff_forms``), ``public`` (the performance page) and
``open_data`` (the anonymised request list)."""
