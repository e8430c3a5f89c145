"""Imports the one module that declares every table, so SQLModel.metadata holds the whole schema."""
from core import models  # noqa: F401
