"""The HTTP API (Litestar): thin handlers over the application and the read models."""
