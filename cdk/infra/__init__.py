"""Constructs of the SD task service's CDK app, one logical unit per module."""
