
namesJaJb√©†