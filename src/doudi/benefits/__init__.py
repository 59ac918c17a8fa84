"""Benefits (保障对象与资金发放): enrollments, monthly payment runs, bank files."""
