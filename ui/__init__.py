"""User interfaces: the command line and the Gradio chat. Nothing imports ui."""
