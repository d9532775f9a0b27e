"""guomi.sqlalchemy: encrypted columns with transparent equality for SQLAlchemy 2.

Layer: integration (over :mod:`guomi.fields`). Needs the ``sql`` extra (SQLAlchemy 2)::

    email = Field("customer", "email", keyset, indexes=[BlindIndex("email_bidx", bits=16)])

    class Customer(Base):
        __tablename__ = "customer"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(EncryptedType(email))
        email_bidx: Mapped[int] = blind_index_column(email, "email_bidx")

    session.scalars(select(Customer).where(Customer.email == "Zhang@Bank.cn"))  # index + re-check

``like``, ``<``, ``contains`` and other comparisons raise
:class:`~guomi.exceptions.UnsupportedQueryError` naming the index that would allow them.
"""

from guomi._extras import sql as _requires_sql  # noqa: F401 (a clear error without the extra)
from guomi.sqlalchemy._events import install
from guomi.sqlalchemy._types import BlindMatch, EncryptedType, blind_index_column, text_length

install()

__all__ = ["BlindMatch", "EncryptedType", "blind_index_column", "text_length"]
