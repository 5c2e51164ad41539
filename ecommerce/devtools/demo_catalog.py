"""A realistic demo catalog: a few hundred products across ten categories, with stock.

Generation is deterministic (fixed seeds), so every run produces the same skus, and
loading inserts only the skus that are missing: rerunning ``ecommerce seed`` (or every
``serve --demo``) never duplicates a product nor undoes what the shop did since (stock
sold, prices edited, products deactivated).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.repositories import product as product_repo


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    items: tuple[str, ...]
    variants: tuple[str, ...]
    price_range: tuple[int, int]  # minor units
    blurb: str


CATEGORIES = (
    Category(
        "APP", "Apparel",
        ("T-shirt", "Hoodie", "Denim jacket", "Chino trousers", "Polo shirt", "Rain jacket",
         "Wool sweater", "Linen shirt"),
        ("Black", "Navy", "Heather grey", "Olive", "Off-white", "Burgundy"),
        (1500, 12000), "Cut for everyday wear, pre-washed to keep its shape.",
    ),
    Category(
        "SHO", "Shoes",
        ("Running shoe", "Leather sneaker", "Chelsea boot", "Trail runner", "Canvas slip-on",
         "Hiking boot"),
        ("size 38", "size 40", "size 42", "size 44", "size 46"),
        (4000, 18000), "Cushioned insole and a sole built for thousands of kilometres.",
    ),
    Category(
        "ELE", "Electronics",
        ("Wireless earbuds", "Bluetooth speaker", "USB-C charger", "Power bank",
         "Mechanical keyboard", "Wireless mouse", "4K webcam", "Noise-cancelling headphones"),
        ("Black", "White", "Graphite", "Midnight blue"),
        (1500, 35000), "Two-year warranty; ships with a USB-C cable.",
    ),
    Category(
        "HOM", "Home & Kitchen",
        ("Chef's knife", "Cast-iron skillet", "French press", "Ceramic mug set", "Cutting board",
         "Stainless kettle", "Glass storage jars", "Linen tea towels"),
        ("small", "medium", "large", "family size"),
        (1200, 16000), "Made to last and dishwasher safe unless stated otherwise.",
    ),
    Category(
        "BOO", "Books",
        ("Field guide to birds", "Sourdough baking", "Modern Python", "Database internals",
         "Mountain trails atlas", "Slow cooking", "Night sky handbook", "Home repair basics",
         "Poetry anthology", "History of maps"),
        ("paperback", "hardcover", "illustrated edition"),
        (900, 6000), "Printed on FSC-certified paper.",
    ),
    Category(
        "SPO", "Sports & Outdoors",
        ("Yoga mat", "Insulated bottle", "Trekking poles", "Camping lantern", "Daypack 20L",
         "Resistance bands", "Sleeping bag", "Climbing chalk bag"),
        ("Forest green", "Slate", "Sunset orange", "Glacier blue"),
        (1000, 22000), "Tested outdoors in every season.",
    ),
    Category(
        "TOY", "Toys & Games",
        ("Wooden train set", "Puzzle 1000 pieces", "Strategy board game", "Building blocks",
         "Plush fox", "Kite", "Card game", "Marble run", "Dominoes", "Chess set"),
        ("classic", "deluxe", "travel size"),
        (800, 9000), "For curious minds; see the box for the recommended age.",
    ),
    Category(
        "BEA", "Beauty",
        ("Face cream", "Lip balm", "Shampoo bar", "Body lotion", "Sunscreen SPF 50",
         "Beard oil"),
        ("unscented", "lavender", "citrus", "cedarwood", "rose"),
        (500, 5000), "Vegan formula, never tested on animals.",
    ),
    Category(
        "GRO", "Grocery",
        ("Arabica coffee beans", "Green tea", "Dark chocolate 85%", "Extra virgin olive oil",
         "Wildflower honey", "Rolled oats", "Basmati rice", "Red lentils", "Earl Grey tea",
         "Roasted almonds"),
        ("250 g", "500 g", "1 kg"),
        (300, 3000), "Sourced directly from small producers.",
    ),
    Category(
        "OFF", "Office",
        ("Dotted notebook", "Fountain pen", "Desk lamp", "Monitor stand", "Cable organiser",
         "Ergonomic chair cushion", "Whiteboard", "Paper tray"),
        ("A5", "A4", "black", "oak"),
        (600, 15000), "Designed for long days at the desk.",
    ),
)  # fmt: skip

PRODUCTS_PER_CATEGORY = 30


def demo_products(currency: str) -> list[dict[str, Any]]:
    """The demo catalog as rows for ``product``; the same list on every call."""
    rows: list[dict[str, Any]] = []
    for category in CATEGORIES:
        rng = random.Random(f"ecommerce-demo-{category.code}")  # stable across runs
        combos = [(item, variant) for item in category.items for variant in category.variants]
        rng.shuffle(combos)
        for number, (item, variant) in enumerate(combos[:PRODUCTS_PER_CATEGORY], start=1):
            low, high = category.price_range
            price = rng.randrange(low, high) // 100 * 100 + 99  # shop prices end in .99
            # A few sold out and a few withdrawn, so the demo shows both.
            stock = 0 if rng.random() < 0.08 else rng.randrange(5, 250)
            rows.append(
                {
                    "sku": f"{category.code}-{number:04d}",
                    "name": f"{item}, {variant}",
                    "description": f"{item} ({variant}). {category.blurb}",
                    "price": price,
                    "currency": currency,
                    "stock": stock,
                    "is_active": rng.random() >= 0.03,
                }
            )
    return rows


async def seed_catalog(session: AsyncSession, currency: str) -> tuple[int, int]:
    """Insert the demo products that are missing; (inserted, size of the demo catalog)."""
    rows = demo_products(currency)
    inserted = await product_repo.insert_missing(session, rows)
    return inserted, len(rows)
