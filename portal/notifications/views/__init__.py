"""The notifications web layer, one module per blueprint: ``notices`` (staff notices: the list,
marking them read, how they are emailed) and ``mail`` (the development mailbox)."""
