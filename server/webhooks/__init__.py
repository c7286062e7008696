"""Webhooks: configured endpoints (`endpoints`), their delivery (`delivery`), and the
deliveries listing (`routes`)."""

from .delivery import Deliverer, RetryPolicy
from .endpoints import WebhookEndpoint, parse_endpoints

__all__ = ["Deliverer", "RetryPolicy", "WebhookEndpoint", "parse_endpoints"]
