"""The user's text and buttons: callback data, commands, keyboards, reply templates, push cards."""
