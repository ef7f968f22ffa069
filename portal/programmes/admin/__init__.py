"""The programmes back office: setting up programmes, their sessions and eligibility
questions (``common``, ``programmes``, ``sessions``, ``questions``; no Flask there). The
coordinators' pages and forms for them are in ``portal.programmes.views.admin``
(``admin_sessions``, ``admin_questions``, ``admin_forms``): the blueprint ``programmes_admin``,
its templates in ``programmes/admin/``.
"""
