"""Pure helpers shared by every layer (no Django): resident IDs, area codes, masking."""
