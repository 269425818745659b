"""E-mail to people: the outbox table and delivery over SMTP."""
