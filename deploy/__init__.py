"""How the project runs outside Docker: the embedded servers and their supervisor."""
