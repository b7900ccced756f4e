"""The Streamlit client: the only package that imports streamlit."""
