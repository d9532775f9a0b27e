"""Importing this module checks that the ``bulk`` extra is installed (see :mod:`guomi._extras`)."""

from guomi._extras import require_extra

require_extra("bulk")
