"""Response models of the admin reports."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class TopProduct(BaseModel):
    product_id: int
    sku: str
    units: int = Field(description="Units sold in the range")
    revenue: int = Field(description="Sum of the line totals, in minor units")


class SalesReport(BaseModel):
    start: date = Field(description="First day of the range (UTC), included")
    end: date = Field(description="Day after the range (UTC), excluded")
    orders: int = Field(description="Paid and shipped orders created in the range")
    units: int = Field(description="Units on those orders")
    revenue: int = Field(description="Sum of those orders' totals, in minor units")
    currency: str
    subtotal: int = Field(description="Sum of those orders' subtotals (before discount)")
    discount_total: int = Field(description="Discounts given on those orders")
    shipping_total: int = Field(description="Shipping charged on those orders")
    tax_total: int = Field(description="Tax on those orders (included in the revenue)")
    top_products: list[TopProduct] = Field(description="Best sellers by revenue")
