"""What can be bought: the product registry the app hands to the ledger (a typed seam, not a global)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from journeys.catalog import Catalog
from journeys.telegram_html import plain_text


@dataclass(frozen=True)
class Product:
    id: str  # what payments name in `product`: stored with every purchase, so keep it stable
    title: str


class ProductCatalog(Protocol):
    """Which product ids exist. A Mapping[str, Product] is one."""

    def get(self, product_id: str, /) -> Product | None: ...


CLUB = Product("club", "Graduate club")


def products(*products: Product) -> Mapping[str, Product]:
    """The club plus the products given (the journey's offers, as they are added); an id twice is a mistake."""
    known: dict[str, Product] = {CLUB.id: CLUB}
    for product in products:
        if product.id in known:
            raise ValueError(f"product {product.id!r} is defined twice")
        known[product.id] = product
    return known


def products_of(catalog: Catalog) -> Mapping[str, Product]:
    """The club and every offer of the catalog's journeys that can be paid for (a lead is not bought), by offer
    id: payments name what they paid for by the offer. Journeys may share an offer (the catalog checks that they
    sell the same thing at the same price): it is one product."""
    offers = {offer.id: offer for journey in catalog for offer in journey.spec.offers if not offer.lead}
    return products(
        *(Product(offer.id, plain_text(offer.text).strip().split("\n")[0][:120]) for offer in offers.values())
    )
