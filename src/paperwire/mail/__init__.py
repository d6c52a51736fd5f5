"""Mail: building messages (message.py), the SMTP connection (smtp.py), and the sender that
delivers the outbox (sender.py: Sender, run_sender)."""
