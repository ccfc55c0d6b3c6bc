"""Tern: audience segmentation and customer journeys on serverless AWS."""

__version__ = "0.1.0"
