"""citeqa: cited question answering over news documents."""
