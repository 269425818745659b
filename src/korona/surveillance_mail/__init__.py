"""Surveillance e-mail: subscriptions, the weekly report (Ukentlig oversikt) and signal alerts."""
