"""The node lifecycle controller: marks silent nodes unreachable and evicts their workloads."""
