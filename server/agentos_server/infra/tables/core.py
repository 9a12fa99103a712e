"""Tables the server itself needs, whatever the area."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base


class ServerSecretRow(Base):
    """Secrets every replica must share (the page-token HMAC key), created on first start."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
