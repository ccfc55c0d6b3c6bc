"""Journeys: the model, validation, the ASL compiler, the step logic, runs, engagement and analytics."""
