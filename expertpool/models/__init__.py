"""All models, imported so that the metadata is complete for Alembic."""

from expertpool.db import Base
from expertpool.models.audit import AuditEntry, AuditHead
from expertpool.models.reference import Region, Specialty
from expertpool.models.room import (
    EvaluationSession,
    RoomChatMessage,
    RoomEventRow,
    RoomParticipant,
)
from expertpool.models.user import ApiToken, Centre, Role, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Centre",
    "EvaluationSession",
    "Region",
    "Role",
    "RoomChatMessage",
    "RoomEventRow",
    "RoomParticipant",
    "Specialty",
    "User",
]
