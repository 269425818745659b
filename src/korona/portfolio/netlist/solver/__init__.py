"""The exact net-list proposal (forslag til nettoliste): an integer program solved by HiGHS."""
