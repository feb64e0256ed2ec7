"""Imports every table module, so Base.metadata is complete (for Alembic and the tests)."""

from app import audit, jobs, mail  # noqa: F401
from app.accounts import models as accounts_models  # noqa: F401
from app.cases import models as cases_models  # noqa: F401
from app.collab import models as collab_models  # noqa: F401
from app.coordination import models as coordination_models  # noqa: F401
from app.db import Base
from app.meetings import models as meetings_models  # noqa: F401
from app.reference import models as reference_models  # noqa: F401

metadata = Base.metadata
