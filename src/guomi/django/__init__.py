"""guomi.django: encrypted model fields with blind-index lookups (``filter(email=...)``).

Layer: integration (over :mod:`guomi.fields`); needs the ``django`` extra::

    email = Field("customer", "email", keyset,
                  indexes=[BlindIndex("email_bidx"), BlindIndex("email_ci", "casefold")])

    class Customer(models.Model):
        email = EncryptedCharField(field=email)
        email_bidx = BlindIndexField(source="email", index="email_bidx")
        email_ci = BlindIndexField(source="email", index="email_ci")

    Customer.objects.filter(email="Zhang@Bank.cn")          # index lookup + re-check
    Customer.objects.filter(email__iexact="zhang@bank.cn")  # through the casefold index
    Customer.objects.filter(email__contains="zh")           # FieldError, never a silent empty result

Add ``"guomi.django"`` to ``INSTALLED_APPS`` for the ``guomi_field`` management command
(column lifecycle).
"""

from guomi._extras import django as _requires_django  # noqa: F401 (a clear error without the extra)
from guomi.django._fields import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedDateField,
    EncryptedDateTimeField,
    EncryptedDecimalField,
    EncryptedField,
    EncryptedIntegerField,
    EncryptedJSONField,
    EncryptedTextField,
    register_field,
)
from guomi.django._queryset import RecheckMixin

__all__ = [
    "BlindIndexField",
    "EncryptedCharField",
    "EncryptedDateField",
    "EncryptedDateTimeField",
    "EncryptedDecimalField",
    "EncryptedField",
    "EncryptedIntegerField",
    "EncryptedJSONField",
    "EncryptedTextField",
    "RecheckMixin",
    "register_field",
]
