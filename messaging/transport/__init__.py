"""Talking to Telegram: the one `Bot` factory, JSON request bodies, pacing and leased tokens,
flood control (pace, then wait out a 429), the mark-before-send record and late callback answers.
"""
