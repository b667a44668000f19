"""The record of image-signing public keys: which one signs now, which ones still verify."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from record.models import Base, utcnow
from states import SigningKeyStatus


class SigningKeyRecord(Base):
    """One image-signing public key (the private key stays on the workers)."""

    __tablename__ = "signing_keys"
    # One active key at most: of two hosts recording their own keys at once, one wins.
    __table_args__ = (Index("uq_signing_keys_one_active", "status", unique=True,
                            sqlite_where=text("status = 'active'"),
                            postgresql_where=text("status = 'active'")),)

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_pem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=SigningKeyStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)
