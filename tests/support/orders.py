"""Moved to tests/support/factories.py; re-exported for tests written before it."""

from tests.support.factories import CatalogProduct as CatalogProduct
from tests.support.factories import add_order as add_order
from tests.support.factories import create_product as create_product
