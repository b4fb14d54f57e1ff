"""A Telegram Bot API emulator: aiogram talks to it over HTTP; tests drive it via /emulator/."""
