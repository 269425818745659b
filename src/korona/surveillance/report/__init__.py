"""The weekly report (Ukentlig oversikt): its figures from the store (:mod:`.data`), its HTML,
text and PDF (:mod:`.render`), and the alert e-mails (:mod:`.alerts`)."""
