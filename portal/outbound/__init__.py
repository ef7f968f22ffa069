"""Outbound Open311: a department served by an outside Open311 endpoint (a works-management
system). Its tasks are posted there through the outbox and their status is polled back by the
worker; a request closed there completes the task here."""
