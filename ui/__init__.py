"""Shared Streamlit helpers: the controls table and URL codec, cached core calls, messages."""
