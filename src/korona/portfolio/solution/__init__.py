"""The catalogue of existing solutions (eksisterende løsninger)."""
