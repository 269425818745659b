"""Inputs (innspill: idé, forslag, tilbud) from public and private actors."""
