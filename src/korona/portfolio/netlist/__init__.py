"""The net list (nettoliste): versions and their items, drafted from a proposal."""
