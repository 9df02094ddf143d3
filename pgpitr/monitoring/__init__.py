"""What makes recovery risks visible: the exporter's extra queries and the alert rules."""
