"""Importing this module checks that pydantic, which ``guomi.api`` needs, is installed.

The ``client`` and ``server`` extras both bring it; the error names ``client``, the smaller.
"""

from guomi._extras import require_extra

require_extra("client", ("pydantic",), "the custody service's HTTP contract (guomi.api)")
