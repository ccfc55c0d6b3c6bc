"""Powertools logger, tracer and metrics, made once; POWERTOOLS_* variables in template.yaml configure them."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
