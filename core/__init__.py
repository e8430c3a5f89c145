"""Threadline's domain: models, services and rules, with no UI and no network."""
