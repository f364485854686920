"""Jinja2 templates that ``tausestack init``, ``new-app`` and ``generate`` render.

``project/`` is a whole project, ``app/`` one installed app (with its test), ``generate/`` one
file per component kind. Paths inside a template folder are templates too; a ``dot-`` prefix
stands for ``.`` (package data keeps no dotfiles) and the ``.jinja`` suffix is dropped.
"""
