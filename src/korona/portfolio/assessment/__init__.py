"""Working groups assess inputs: gates, criteria scores, agreed scores, weights, settings."""
