"""Presentation: words and numbers as people read them. Labels, locale-aware formatting
(the only place that formats with babel) and the Jinja2 templates shared by statements,
documents, the portal and reports."""
