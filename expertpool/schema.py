"""Every feature's models, imported only so that the metadata is complete for Alembic.

Nothing else imports this module: features import their own models, and each other's through
the feature's `models` module.
"""

from expertpool.accounts import models as accounts_models
from expertpool.bids import models as bids_models
from expertpool.core import models as core_models
from expertpool.core.db import Base
from expertpool.departments import models as departments_models
from expertpool.draws import models as draws_models
from expertpool.events import models as events_models
from expertpool.experts import models as experts_models
from expertpool.fees import models as fees_models
from expertpool.notifications import models as notifications_models
from expertpool.organisations import models as organisations_models
from expertpool.projects import models as projects_models
from expertpool.recommendations import models as recommendations_models
from expertpool.record import models as record_models
from expertpool.reference import models as reference_models
from expertpool.regimes import models as regimes_models
from expertpool.reports import models as reports_models
from expertpool.rooms import models as rooms_models
from expertpool.statistics import models as statistics_models
from expertpool.training import models as training_models

FEATURE_MODELS = (
    core_models,
    accounts_models,
    events_models,
    departments_models,
    reference_models,
    regimes_models,
    experts_models,
    projects_models,
    organisations_models,
    draws_models,
    notifications_models,
    recommendations_models,
    rooms_models,
    bids_models,
    reports_models,
    fees_models,
    training_models,
    statistics_models,
    record_models,
)

__all__ = ["FEATURE_MODELS", "Base"]
