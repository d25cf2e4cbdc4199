"""The Streamlit results dashboard (``streamlit run dashboard/app.py``); its page logic is ``components.dashboard``."""
