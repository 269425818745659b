"""Outside data feeds (KUHR, MSIS, lab) and the KUHR simulator, each turned into store frames."""
