"""Developer tools, not the shop: the bundled fake card gateway, the demo catalog, and
synthetic order history for benchmarks and demos.

Nothing in the service's request path imports this package; the ``ecommerce`` command
(``fake-gateway``, ``seed``, ``serve --demo``), tests and bench/ do.
"""
