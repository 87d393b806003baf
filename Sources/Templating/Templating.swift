// Jinja chat-template engine.
