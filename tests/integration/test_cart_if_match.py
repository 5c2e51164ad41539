"""A write to a completed cart is 409 whatever its If-Match says; a weak tag never matches."""

from __future__ import annotations

from httpx import AsyncClient

from tests.support.carts import cart_with
from tests.support.gateway import FakeGateway
from tests.support.shop import new_product


async def test_a_completed_cart_is_409_even_with_a_stale_if_match(
    client: AsyncClient, admin_headers: dict[str, str], fake_gateway: FakeGateway
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=800)
    cart = await cart_with(client, [(product["id"], 1)], email="a@example.com")
    url = f"/api/v1/carts/{cart['id']}"
    placed = await client.post(f"{url}/checkout", json={"payment_token": "tok_visa"})
    assert placed.status_code == 201, placed.text
    stale = {"If-Match": '"1"'}
    writes = [
        client.post(
            f"{url}/lines", headers=stale, json={"product_id": product["id"], "quantity": 1}
        ),
        client.patch(url, headers=stale, json={"email": "late@example.com"}),
        client.post(f"{url}/discount-code", headers=stale, json={"code": "ANY"}),
        client.post(f"{url}/checkout", headers=stale, json={"payment_token": "tok_visa"}),
    ]
    for write in writes:
        response = await write
        assert response.status_code == 409, response.text
        assert response.json()["order_id"] == placed.json()["id"]
    assert len((await fake_gateway.ledger())["charges"]) == 1


async def test_a_weak_etag_is_412_on_checkout(
    client: AsyncClient, admin_headers: dict[str, str], fake_gateway: FakeGateway
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=800)
    cart = await cart_with(client, [(product["id"], 1)], email="a@example.com")
    url = f"/api/v1/carts/{cart['id']}/checkout"
    for tag in (f'W/"{cart["version"]}"', str(cart["version"])):
        refused = await client.post(
            url, headers={"If-Match": tag}, json={"payment_token": "tok_visa"}
        )
        assert refused.status_code == 412, refused.text
    assert (await fake_gateway.ledger())["charges"] == []
    strong = {"If-Match": f'"{cart["version"]}"'}
    placed = await client.post(url, headers=strong, json={"payment_token": "tok_visa"})
    assert placed.status_code == 201, placed.text
