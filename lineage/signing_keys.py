"""The record of image-signing public keys: which one signs now, which ones still verify."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lineage.models import Base, utcnow
from states import SigningKeyStatus


class SigningKeyRecord(Base):
    """One image-signing public key (the private key stays on the workers)."""

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_pem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=SigningKeyStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)
