"""Delivery: compose the report email (message), send it over SMTP (smtp), remember what was sent (sendlog)."""
