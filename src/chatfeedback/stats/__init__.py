"""Statistics as pure functions over counts and per-unit aggregates: no SQL, no Streamlit."""
