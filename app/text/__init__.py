"""The rule-based language layer: normalisation, language, money and numbers, phones, CSV files, wording."""
