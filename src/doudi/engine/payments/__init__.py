"""资金发放 (payments), pure: the monthly roster of amounts owed (`roster`)."""
