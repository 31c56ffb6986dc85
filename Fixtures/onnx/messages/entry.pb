
sourcecafé.keras