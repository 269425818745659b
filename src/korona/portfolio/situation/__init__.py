"""Municipal situation reports (kommunal situasjonsrapport): weekly capacity figures and needs."""
