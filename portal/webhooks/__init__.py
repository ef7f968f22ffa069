"""Webhooks (issue 24): a city's other systems hear what happens to requests.

An admin registers an endpoint (an https URL) and the events it wants; each event is written,
with the change that causes it, as one outbox message per endpoint, and the worker posts it
signed the Standard Webhooks way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``),
retrying with the outbox's backoff. Every delivery is logged (``WebhookDelivery``).
"""
