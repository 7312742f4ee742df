"""Pure decisions: desired spec + observed NKS state -> problems, operations, status. No I/O."""
