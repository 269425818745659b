"""The JSON API (/api/v1): one module per aggregate, thin over the services."""
