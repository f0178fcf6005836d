"""All models, imported so that the metadata is complete for Alembic."""

from expertpool.db import Base
from expertpool.models.audit import AuditEntry, AuditHead
from expertpool.models.draw import (
    DrawGroup,
    DrawLedgerEntry,
    DrawLedgerHead,
    DrawRequest,
    DrawRequestStatus,
    LedgerKind,
)
from expertpool.models.project import (
    Bidder,
    Lot,
    Project,
    ProjectKind,
    ProjectStatus,
    SecondaryVenue,
)
from expertpool.models.reference import Region, Specialty
from expertpool.models.terminal import Seat, SeatBooking, Terminal, Venue
from expertpool.models.user import ApiToken, Centre, Role, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Bidder",
    "Centre",
    "DrawGroup",
    "DrawLedgerEntry",
    "DrawLedgerHead",
    "DrawRequest",
    "DrawRequestStatus",
    "LedgerKind",
    "Lot",
    "Project",
    "ProjectKind",
    "ProjectStatus",
    "Region",
    "Role",
    "Seat",
    "SeatBooking",
    "SecondaryVenue",
    "Specialty",
    "Terminal",
    "User",
    "Venue",
]
