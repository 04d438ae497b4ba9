"""Money: the ledger of purchases (Stars and the school's checkout), student tokens and staff refunds."""

from bot.revenue.ledger import Ledger
from bot.revenue.products import Product, ProductCatalog
from bot.revenue.refunds import StaffRefunds
from bot.revenue.tokens import StudentTokens

__all__ = ["Ledger", "Product", "ProductCatalog", "StaffRefunds", "StudentTokens"]
