"""Email: composing and sending notifications from the outbox, receiving and threading replies."""
