"""Text helpers for what commands print."""


def last_line(text: str, empty: str = "no output") -> str:
    """The last non-blank line of a command's output: what a one-line error quotes."""
    return (text.strip().splitlines() or [empty])[-1].strip()
