"""Importing this module checks that the ``django`` extra is installed (see :mod:`guomi._extras`)."""

from guomi._extras import require_extra

require_extra("django")
