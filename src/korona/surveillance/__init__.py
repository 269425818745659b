"""Sykdomspulsen for kommunehelsetjenesten: consultation counts, cases, signals (pure analytics)."""
