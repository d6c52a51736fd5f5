"""Mail: building messages (message.py), the outbox and the SMTP sender."""
