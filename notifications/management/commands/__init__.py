"""telegram_chat_ids."""
