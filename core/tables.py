"""Imports every module that defines tables, so SQLModel.metadata holds the whole schema."""
from core import models  # noqa: F401
from core import email_templates  # noqa: F401
from core import triggers  # noqa: F401
from core import listing  # noqa: F401
from core import inbound  # noqa: F401
from core import rate_limits  # noqa: F401
from core import opt_outs  # noqa: F401
