"""All models, imported so that the metadata is complete for Alembic."""

from expertpool.db import Base
from expertpool.models.audit import AuditEntry, AuditHead
from expertpool.models.notification import (
    ContactAttempt,
    Invitation,
    InvitationState,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from expertpool.models.reference import Region, Specialty
from expertpool.models.user import ApiToken, Centre, Role, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Centre",
    "ContactAttempt",
    "Invitation",
    "InvitationState",
    "OutboxChannel",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Region",
    "Role",
    "Specialty",
    "User",
]
