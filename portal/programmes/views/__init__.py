"""The programmes' pages, one module per blueprint: ``public`` (residents browse and enrol;
``public_forms``), ``admin`` (coordinators set programmes up; sessions in ``admin_sessions``,
questions in ``admin_questions``, forms in ``admin_forms``) and ``roster`` (applications,
the roster and attendance)."""
