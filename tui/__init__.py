"""The Textual agent console."""
