"""The programmes back office: setting up programmes, their sessions and eligibility
questions (``common``, ``programmes``, ``sessions``, ``questions``; no Flask there), and the
coordinators' pages and forms for them (``views``, ``session_views``, ``question_views``,
``forms``). The blueprint is ``programmes_admin``; its templates are in ``programmes_admin/``.
"""
