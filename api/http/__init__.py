"""The HTTP face of newsprism: `create_app(settings)` builds a FastAPI app over one store."""

from newsprism.api.http.app import create_app

__all__ = ["create_app"]
