"""Server-rendered page routers (HTML, htmx partials)."""
