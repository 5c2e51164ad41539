"""The bundled fake card gateway (``ecommerce fake-gateway``): a real HTTP server with
run-time fault switches, for development, demos and tests."""

from ecommerce.devtools.fake_gateway.faults import OPERATIONS, FaultRule, Mode, Operation
from ecommerce.devtools.fake_gateway.server import create_app, run

__all__ = ["OPERATIONS", "FaultRule", "Mode", "Operation", "create_app", "run"]
