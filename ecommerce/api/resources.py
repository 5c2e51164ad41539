"""The composition root's product: every long-lived resource of one process.

The lifespan (main.py) builds one ``Resources``, yields it as the application state and
closes its parts on shutdown in reverse order. Endpoints reach its parts only through
the ``Annotated`` dependencies of api/dependencies.py; tests get it from a fixture.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.services.catalog_cache import CatalogCache
from ecommerce.services.consumer import Consumer
from ecommerce.services.order_export import ExportSlots
from ecommerce.services.payment import PaymentGateway
from ecommerce.services.reconciler import Reconciler

STATE_KEY = "resources"


@dataclass(frozen=True)
class Resources:
    settings: Settings
    database: Database
    gateway: PaymentGateway  # the one gateway client session of this process
    reconciler: Reconciler
    export_slots: ExportSlots
    catalog_cache: CatalogCache  # public product reads; kept fresh by catalog_listener
    # The job consumer of this worker (with its webhook HTTP session and mailer); None
    # when ECOMMERCE_WORKER_IN_PROCESS is off and `ecommerce worker` processes do it.
    consumer: Consumer | None = None
