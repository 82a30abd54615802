"""The platform's web layer: request context and views helpers, middleware, error pages,
and the platform's own screens (login, account, administration)."""
