"""The end user's web widget and its server (Starlette + uvicorn)."""
