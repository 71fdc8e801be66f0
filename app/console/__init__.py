"""The operator console: server-rendered pages (Jinja2 + htmx) at /console, behind operator sessions."""
