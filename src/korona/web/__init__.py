"""The web layer: page routers, templates, translations and vendored static assets."""
